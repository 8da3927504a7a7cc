//! schemathesis (pinned in tests/aws/requirements.txt) fuzzes the whole REST API of a
//! live `wharf serve --demo` against the OpenAPI document that server serves, with an
//! admin's API token: no 5xx, no status code, header, content type or body that the
//! document does not describe, and invalid input refused. It runs once on SQLite and once
//! on PostgreSQL (the two runs side by side), because the databases do not refuse the
//! same input (PostgreSQL cannot store a NUL character, SQLite can): what one stores and
//! the other fails on is only found by fuzzing both.
//!
//! `WHARF_FUZZ_EXAMPLES` (default 30) sets the cases per operation and phase;
//! `WHARF_FUZZ_SEED` changes the (fixed, so reproducible) seed. Settings that are not
//! command-line options live in `tests/schemathesis.toml`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wharf_e2e::moto::Moto;
use wharf_e2e::{Backend, TestDatabase, Wharf};

/// The `st` command of the test virtualenv (beside its python).
fn schemathesis() -> PathBuf {
    let python = std::env::var("WHARF_TEST_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/wharf-venv/bin/python")
    });
    let st = Path::new(&python).with_file_name("st");
    assert!(
        st.exists(),
        "schemathesis is needed for this test: run tests/run.sh, which installs it ({})",
        st.display()
    );
    st
}

/// The same fuzzing, with the same budget and seed, on each database.
mod schemathesis_finds_no_server_errors_and_no_schema_violations {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite() {
        fuzz(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres() {
        fuzz(Backend::Postgres).await;
    }
}

async fn fuzz(backend: Backend) {
    let st = schemathesis();
    let database = TestDatabase::new(backend).await;
    // Glue calls of any `aws` environment the fuzzer creates go to moto on loopback.
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    // No job worker: nothing the fuzzer subscribes (webhooks to any URL it makes up) is
    // ever delivered, so no traffic leaves loopback. The API itself is all in-process.
    let mut env = vec![
        ("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()),
        ("WHARF_SERVE_WORKER", "false"),
    ];
    env.extend(database.env());
    let wharf = Wharf::start(dir.path(), &["--demo"], &env).await;
    let token = wharf.api_token("root").await;
    let request_id = access_request(&wharf).await;
    let examples = std::env::var("WHARF_FUZZ_EXAMPLES").unwrap_or_else(|_| "30".into());
    let seed = std::env::var("WHARF_FUZZ_SEED").unwrap_or_else(|_| "20261122".into());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    let started = Instant::now();
    let output = Command::new(&st)
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", wharf.base_url)])
        .args(["--url", &wharf.base_url])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Every check but `positive_data_acceptance`, which expects every request that
        // matches the schema to succeed: Wharf's rules go beyond what a schema can say
        // (a product's domain must exist, a principal must be registered to your team,
        // a cursor must come from the list it pages), and those answer a documented 4xx
        // naming the field.
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--max-examples", &examples, "--seed", &seed])
        // One worker: Python 3.11's parser is not thread-safe, and hypothesis parses
        // lambdas while it generates ("AST constructor recursion depth mismatch").
        .args(["--workers", "1", "--request-timeout", "10"])
        .args(["--output-truncate", "false"])
        .env("WHARF_FUZZ_REQUEST_ID", &request_id)
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = summary(&stdout);
    println!(
        "schemathesis on {backend:?}: {summary} in {:.0} s (seed {seed}, {examples} examples per phase)",
        elapsed.as_secs_f64()
    );
    assert!(
        output.status.success(),
        "schemathesis found problems on {backend:?}:\n{stdout}\n{}\nwharf's log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        tail(&wharf.log_text(), 60),
    );
    // And nothing it created points AWS calls away from loopback.
    let environments: serde_json::Value = wharf
        .api("GET", "/api/v1/environments?limit=200", &token, None)
        .await
        .json()
        .await
        .unwrap();
    for environment in environments.as_array().unwrap() {
        let endpoint = environment["endpoint_url"]
            .as_str()
            .unwrap_or("http://127.0.0.1");
        assert!(
            endpoint.starts_with("http://127.0.0.1"),
            "an environment with a non-loopback endpoint: {environment}"
        );
    }
    assert!(
        !wharf.log_text().contains("panicked"),
        "wharf panicked:\n{}",
        wharf.log_text()
    );
    wharf.stop();
    database.drop().await;
    drop(moto);
}

/// Ana asks for the demo's orders for her team's role, so the operations on one request
/// (approve, reject, cancel, revoke, verify…) have a real request that the admin may move.
async fn access_request(wharf: &Wharf) -> String {
    let ana = wharf.api_token("ana").await;
    let principal = wharf
        .api(
            "POST",
            "/api/v1/environments/sandbox/principals",
            &ana,
            Some(serde_json::json!({"team": "analytics", "arn": "arn:aws:iam::123456789012:role/fuzz"})),
        )
        .await;
    assert_eq!(principal.status(), 201);
    let principal: serde_json::Value = principal.json().await.unwrap();
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .date()
        .to_string();
    let request = wharf
        .api(
            "POST",
            "/api/v1/access-requests",
            &ana,
            Some(serde_json::json!({
                "product": "orders", "principal_id": principal["id"], "until": until,
                "justification": "Fuzzing the API with schemathesis",
                "tables": [{"table": "sales_curated.orders"}],
            })),
        )
        .await;
    assert_eq!(request.status(), 201);
    let request: serde_json::Value = request.json().await.unwrap();
    request["id"].as_str().unwrap().to_owned()
}

/// The lines of schemathesis's summary that say how much it covered.
fn summary(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("Tested:") || l.contains(" generated,")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
