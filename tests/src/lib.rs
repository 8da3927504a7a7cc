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
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // AWS stand-ins accept any credentials; never let the SDK look for instance metadata.
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Start `wharf worker` in `dir` (stop it with `kill`, or `kill -9` to simulate a crash).
pub fn start_worker(dir: &Path, env: &[(&str, &str)]) -> Child {
    base_command(dir, env)
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("worker-{}.log", free_port()))).unwrap())
        .spawn()
        .expect("start wharf worker")
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
        Self::start_on(free_port(), dir, args, env).await
    }

    /// Start on a given port (when something, like the IdP, must know it in advance).
    pub async fn start_on(port: u16, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
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

    /// A cookie-keeping client signed in through the development sign-in.
    pub async fn dev_client(&self, login: &str) -> reqwest::Client {
        let client = browser();
        let response = client
            .post(format!("{}/auth/dev-login", self.base_url))
            .form(&[("user", login)])
            .send()
            .await
            .expect("dev sign-in");
        assert_eq!(response.status(), 303, "dev sign-in as {login}");
        client
    }

    /// A personal API token for a demo user (through the development sign-in).
    pub async fn api_token(&self, login: &str) -> String {
        let client = self.dev_client(login).await;
        self.token_for(&client).await
    }

    /// A personal API token for `login`, signing in through the IdP's login form.
    pub async fn idp_api_token(&self, login: &str) -> String {
        let client = browser();
        let journey = follow(&client, &format!("{}/auth/login", self.base_url), login).await;
        assert_eq!(
            journey.last.status(),
            200,
            "signed in: {:?}",
            journey.visited
        );
        self.token_for(&client).await
    }

    /// A personal API token created by a signed-in browser client.
    async fn token_for(&self, client: &reqwest::Client) -> String {
        let page = client
            .get(format!("{}/account", self.base_url))
            .send()
            .await
            .expect("account page");
        let csrf = scrape_csrf(&page.text().await.expect("html")).expect("csrf token");
        let response = client
            .post(format!("{}/api/v1/tokens", self.base_url))
            .header("x-csrf-token", csrf)
            .json(&serde_json::json!({"name": "e2e"}))
            .send()
            .await
            .expect("create token");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Call the API with a bearer token.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.base_url),
            )
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
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

/// Which database a Wharf under test keeps its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a file in the data directory.
    Sqlite,
    /// A fresh database on the server at `WHARF_TEST_DATABASE_URL`.
    Postgres,
}

/// The database of one test: SQLite's default file, or a PostgreSQL database made for it.
pub struct TestDatabase {
    pg: Option<PgDatabase>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        Self {
            pg: match backend {
                Backend::Sqlite => None,
                Backend::Postgres => Some(PgDatabase::create().await),
            },
        }
    }

    /// The settings that point `wharf serve` and `wharf worker` at it.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        match &self.pg {
            Some(pg) => vec![("WHARF_DATABASE_URL", pg.url.as_str())],
            None => Vec::new(),
        }
    }

    /// Drop the PostgreSQL database (after the processes using it stopped).
    pub async fn drop(self) {
        if let Some(pg) = self.pg {
            pg.drop().await;
        }
    }
}

/// Run an `async fn(Backend)` test on SQLite and on PostgreSQL: `both_databases!(name);`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_databases {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                super::$test($crate::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$test($crate::Backend::Postgres).await;
            }
        }
    )*};
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

/// An HTTP client that keeps cookies and does not follow redirects (tests follow them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The CSRF token a Wharf page carries in its forms.
pub fn scrape_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned()).filter(|t| !t.is_empty())
}

/// The npm `oidc-provider` test IdP (`tests/idp/server.mjs`), on a free loopback port.
pub struct Idp {
    pub issuer: String,
    child: Child,
}

impl Idp {
    /// Start the IdP for a Wharf that will listen on `wharf_port`.
    pub async fn start(wharf_port: u16) -> Self {
        use std::io::{BufRead, BufReader};
        let tools = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            tools.join("node_modules/oidc-provider").exists(),
            "the test IdP needs its npm packages: run `npm ci` in tests/ (tests/run.sh does)"
        );
        let port = free_port();
        let wharf = format!("http://127.0.0.1:{wharf_port}");
        let mut child = Command::new("node")
            .arg(tools.join("idp/server.mjs"))
            .env("IDP_PORT", port.to_string())
            .env("IDP_REDIRECT_URIS", format!("{wharf}/auth/callback"))
            .env("IDP_POST_LOGOUT_REDIRECT_URIS", format!("{wharf}/"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node is needed for the test IdP");
        let stdout = child.stdout.take().expect("piped stdout");
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find(|l| l.starts_with("IDP_READY "))
        });
        let line = tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("the IdP starts within 30 s")
            .expect("reader")
            .expect("the IdP printed IDP_READY");
        Self {
            issuer: line.trim_start_matches("IDP_READY ").trim().to_owned(),
            child,
        }
    }

    /// The Wharf settings that point at this IdP.
    pub fn wharf_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WHARF_OIDC_ISSUER", self.issuer.clone()),
            ("WHARF_OIDC_CLIENT_ID", "wharf".into()),
            ("WHARF_OIDC_CLIENT_SECRET", "wharf-secret".into()),
            ("WHARF_OIDC_SCOPES", "openid email profile groups".into()),
            ("WHARF_OIDC_AUDIENCE", "urn:wharf".into()),
        ]
    }

    /// A client-credentials JWT access token for the `automation` client.
    pub async fn machine_token(&self, resource: &str) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth("automation", Some("automation-secret"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "api"),
            ])
            .send()
            .await
            .expect("token request");
        assert!(
            response.status().is_success(),
            "token endpoint: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Where a browser ended up after following a sign-in.
pub struct Journey {
    /// Every URL visited, in order.
    pub visited: Vec<String>,
    /// The last response (not a redirect).
    pub last: reqwest::Response,
}

/// Follow redirects like a browser from `start`, logging in at the IdP's login form with
/// `login` and `login-pw` when it appears.
pub async fn follow(client: &reqwest::Client, start: &str, login: &str) -> Journey {
    let mut url = reqwest::Url::parse(start).expect("start URL");
    let mut visited = Vec::new();
    let mut response = client.get(url.clone()).send().await.expect("request");
    for _ in 0..20 {
        visited.push(url.to_string());
        if response.status().is_redirection() {
            let location = response.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned();
            url = url.join(&location).expect("redirect URL");
            response = client.get(url.clone()).send().await.expect("request");
            continue;
        }
        if response.status() == 200 && url.path().starts_with("/interaction/") {
            let html = response.text().await.expect("login page");
            let action = html
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a login form");
            url = url.join(action).expect("form action");
            let password = format!("{login}-pw");
            response = client
                .post(url.clone())
                .form(&[("login", login), ("password", password.as_str())])
                .send()
                .await
                .expect("login");
            continue;
        }
        return Journey {
            visited,
            last: response,
        };
    }
    panic!("too many redirects: {visited:?}");
}

pub mod faults;
pub mod html_forms;
pub mod moto;
