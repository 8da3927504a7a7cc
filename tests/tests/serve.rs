//! `wharf serve`, `wharf migrate` and the configuration, as an operator meets them.

use std::time::Duration;

use sqlx::Connection;
use wharf_e2e::{PgDatabase, Wharf, free_port, one_line_error, run_wharf};

/// The catalog home page, as a signed-in demo user sees it.
async fn home(wharf: &Wharf) -> String {
    let client = wharf.dev_client("ana").await;
    let response = client
        .get(format!("{}/", wharf.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn sqlite_by_default_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    assert_eq!(wharf.get("/readyz").await.status(), 200);
    let html = home(&wharf).await;
    assert!(
        html.contains("Finance") && html.contains("· 4 domains"),
        "{html}"
    );
    assert!(wharf.stop(), "SIGTERM ends serve cleanly");
    assert!(
        dir.path().join("wharf-data/wharf.db").exists(),
        "SQLite in ./wharf-data"
    );

    let wharf = Wharf::start(dir.path(), &[], &[]).await;
    let html = home(&wharf).await;
    assert!(
        html.contains("Finance") && html.contains("· 4 domains"),
        "{html}"
    );
    assert!(wharf.stop());

    // --demo again adds nothing twice.
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    assert!(home(&wharf).await.contains("· 4 domains"));
    assert!(wharf.stop());
}

/// Kubernetes injects `WHARF_PORT`, `WHARF_SERVICE_HOST`, … for a Service named `wharf`.
#[tokio::test]
async fn unknown_wharf_variables_are_warned_about_by_name_and_serve_starts() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("WHARF_PORT", "tcp://10.96.0.12:8080"),
        ("WHARF_SERVICE_HOST", "10.96.0.12"),
    ];
    let wharf = Wharf::start(dir.path(), &[], &env).await;
    assert_eq!(wharf.get("/readyz").await.status(), 200);
    let log = wharf.log_text();
    assert!(
        log.contains("WHARF_PORT") && log.contains("WHARF_SERVICE_HOST"),
        "{log}"
    );
    assert!(wharf.stop());
}

#[tokio::test]
async fn postgres_url_switches_backend_and_data_survives_a_restart() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("WHARF_DATABASE_URL", db.url.as_str())];
    let wharf = Wharf::start(dir.path(), &["--demo"], &env).await;
    assert!(home(&wharf).await.contains("· 4 domains"));
    assert!(
        wharf.log_text().contains("postgres"),
        "{}",
        wharf.log_text()
    );
    assert!(wharf.stop());
    assert!(
        !dir.path().join("wharf-data/wharf.db").exists(),
        "no SQLite file with PostgreSQL"
    );

    let wharf = Wharf::start(dir.path(), &[], &env).await;
    assert!(home(&wharf).await.contains("Operations"));
    assert!(wharf.stop());
    db.drop().await;
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Wharf::start(dir.path(), &[], &[]).await;
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let output = run_wharf(dir.path(), &["serve"], &[("WHARF_LISTEN", &listen)]);
    let error = one_line_error(&output);
    assert!(
        error.contains("already using") && error.contains(&first.pid().to_string()),
        "{error}"
    );
    assert_eq!(
        first.get("/readyz").await.status(),
        200,
        "the first one is unharmed"
    );
    assert!(first.stop());
}

#[tokio::test]
async fn configuration_mistakes_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.toml"),
        "listen = \"127.0.0.1:1\"\ndatabse_url = \"x\"\n",
    )
    .unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--config", "typo.toml", "serve"], &[], "databse_url"),
        (&["--config", "missing.toml", "serve"], &[], "missing.toml"),
        (&["serve"], &[("WHARF_LISTEN", "everywhere")], "listen"),
        (
            &["serve"],
            &[("WHARF_DATABASE_URL", "mysql://db/wharf")],
            "database_url",
        ),
        (
            &["serve"],
            &[("WHARF_REQUEST_TIMEOUT_SECS", "-3")],
            "request_timeout_secs",
        ),
        (
            &["serve"],
            &[(
                "WHARF_DATABASE_URL",
                "postgres://wharf:s3cret@127.0.0.1:1/wharf",
            )],
            "cannot connect to the database",
        ),
    ];
    for (args, env, expected) in cases {
        let output = run_wharf(dir.path(), args, env);
        let error = one_line_error(&output);
        assert!(error.contains(expected), "{args:?} {env:?}: {error}");
        assert!(
            !error.contains("s3cret"),
            "passwords never reach the output: {error}"
        );
    }
    assert!(
        !dir.path().join("wharf-data/wharf.db").exists(),
        "nothing was created"
    );
}

#[tokio::test]
async fn migrate_reports_the_version_and_a_newer_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_wharf(dir.path(), &["migrate"], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The newest migration's number, so adding one does not break this test.
    let latest = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.get(..4)?.parse::<i64>().ok())
        .max()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("schema version {latest}")),
        "{stdout}"
    );

    let db = dir.path().join("wharf-data/wharf.db");
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let output = run_wharf(dir.path(), &["serve"], &[("WHARF_LISTEN", "127.0.0.1:0")]);
    let error = one_line_error(&output);
    assert!(
        error.contains("newer Wharf") && error.contains("9999"),
        "{error}"
    );

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let environments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM environments")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(environments, 0, "nothing was written to the newer database");
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &[], &[("WHARF_LOG_FORMAT", "json")]).await;
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", wharf.base_url))
        .header("x-request-id", "req-e2e-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-e2e-42");
    let mut log = wharf.log_text();
    for _ in 0..100 {
        if log.contains("req-e2e-42") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = wharf.log_text();
    }
    let line = log
        .lines()
        .find(|l| l.contains("req-e2e-42"))
        .unwrap_or_else(|| panic!("{log}"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(entry["span"]["request_id"], "req-e2e-42", "{entry}");
    assert!(wharf.stop());
}

#[tokio::test]
async fn the_search_index_is_rebuilt_when_its_directory_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let search = |wharf: &Wharf, token: &str| {
        let url = format!("{}/api/v1/products?q=invoices", wharf.base_url);
        let token = token.to_owned();
        async move {
            let page: serde_json::Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["product_slug"] == "invoices")
        }
    };
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let token = wharf.api_token("sofia").await;
    assert!(
        search(&wharf, &token).await,
        "the demo catalog is searchable"
    );
    assert!(wharf.stop());

    let index = dir.path().join("wharf-data/index");
    assert!(index.exists());
    std::fs::remove_dir_all(&index).unwrap();
    let wharf = Wharf::start(dir.path(), &[], &[]).await;
    assert!(
        search(&wharf, &token).await,
        "rebuilt from the database at start-up"
    );
    assert!(wharf.stop());
}

/// A newcomer's first look: the demo teams have roles, and there is a little history (a
/// granted request, one waiting for the owner, one whose access ends within days).
#[tokio::test]
async fn the_demo_has_roles_and_requests_in_every_state_a_newcomer_should_see() {
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let ana = wharf.dev_client("ana").await;
    let page = ana
        .get(format!("{}/products/orders", wharf.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/products/orders/request\""),
        "ana can ask for access at once: {page}"
    );
    let omar = wharf.api_token("omar").await;
    let started = std::time::Instant::now();
    let requests = loop {
        let requests: serde_json::Value = wharf
            .api("GET", "/api/v1/access-requests?scope=inbox", &omar, None)
            .await
            .json()
            .await
            .unwrap();
        let statuses: Vec<_> = requests
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .collect();
        if statuses.iter().filter(|s| *s == "granted").count() == 2 {
            assert_eq!(statuses.len(), 3, "{requests}");
            assert!(statuses.contains(&"submitted".to_owned()), "{requests}");
            break requests;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the worker never granted the demo requests: {requests}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    assert!(
        requests.as_array().unwrap().iter().any(|r| {
            r["status"] == "granted"
                && time::OffsetDateTime::parse(
                    r["requested_until"].as_str().unwrap_or_default(),
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok_and(|until| until < soon)
        }),
        "one grant expires within a week: {requests}"
    );
    assert!(wharf.stop());

    // Seeding again adds nothing twice.
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let omar = wharf.api_token("omar").await;
    let again: serde_json::Value = wharf
        .api("GET", "/api/v1/access-requests?scope=inbox", &omar, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.as_array().unwrap().len(), 3);
    assert!(wharf.stop());
}
