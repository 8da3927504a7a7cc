//! Helpers for end-to-end tests: start the real `wharf` binary on a free loopback port,
//! wait until it is ready, and stop it by its process id.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// The `wharf` binary under test: `WHARF_TEST_BIN`, or the one cargo built beside us.
pub fn wharf_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("WHARF_TEST_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = profile_dir.join("wharf");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p wharf` (tests/run.sh does)",
        bin.display()
    );
    bin
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run `wharf ARGS` to completion (for commands that should exit).
pub fn run_wharf(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    base_command(dir, env)
        .args(args)
        .output()
        .expect("run wharf")
}

fn base_command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(wharf_bin());
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// A running `wharf serve`.
pub struct Wharf {
    pub base_url: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Wharf {
    /// Start `wharf serve ARGS` in `dir` and wait for `/readyz`.
    pub async fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(format!("wharf-{port}.log"));
        let child = base_command(dir, env)
            .env("WHARF_LISTEN", &listen)
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start wharf");
        let wharf = Self {
            base_url: format!("http://{listen}"),
            child: Some(child),
            log,
        };
        wharf.wait_ready().await;
        wharf
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < Duration::from_secs(60) {
            let ready = client.get(format!("{}/readyz", self.base_url)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("wharf never became ready; its log:\n{}", self.log_text());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base_url))
            .await
            .expect("request")
    }

    /// Send SIGTERM and wait for the process to exit; returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        let mut child = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Wharf {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL database created for one test on the server at `WHARF_TEST_DATABASE_URL`.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        let admin = std::env::var("WHARF_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL did not answer at {admin}: {e}; tests/run.sh starts one")
            });
        let name = format!("wharf_t_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        Self {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    }

    pub async fn drop(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

/// The stderr of a finished command, which must be exactly one line.
pub fn one_line_error(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected failure, got {:?}",
        output.status
    );
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line, got:\n{stderr}");
    stderr
}
