//! The journeys people make, in a real browser: Debian's Chromium driven by npm
//! `playwright-core` (tests/browser/journeys.mjs) against a real `wharf serve`, the npm
//! `oidc-provider` IdP and moto. This file starts the services and sets up the catalog
//! through the API; the browser script walks the pages (axe-checked, screenshotted at
//! 1440 and 390 px into tests/artifacts/screenshots/), and between its phases this file
//! checks what Lake Formation (moto) holds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::{Value, json};
use wharf_e2e::moto::Moto;
use wharf_e2e::{Idp, Wharf, free_port};

const ANALYTICS_ROLE: &str = "arn:aws:iam::123456789012:role/analytics";
const CHROMIUM: &str = "/usr/bin/chromium";

fn tools() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Everything the browser script needs, or a loud failure saying what is missing.
fn require_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's chromium \
         (`apt-get install chromium`; tests/run.sh installs it)"
    );
    for package in ["playwright-core", "axe-core"] {
        assert!(
            tools().join("node_modules").join(package).exists(),
            "npm package {package} is missing: run `npm ci` in tests/ (tests/run.sh does)"
        );
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = tools().join("artifacts/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    dir
}

/// Run one phase of the browser script; its output is shown, and a failure fails the test.
async fn journey(phase: &str, base_url: &str, state_dir: &Path) {
    let mut command = tokio::process::Command::new("node");
    command
        .arg(tools().join("browser/journeys.mjs"))
        .arg(phase)
        .env("WHARF_URL", base_url)
        .env("JOURNEY_STATE_DIR", state_dir)
        .env("SCREENSHOTS_DIR", screenshots_dir())
        .env("CHROMIUM", CHROMIUM)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(240), command.output())
        .await
        .unwrap_or_else(|_| panic!("browser phase {phase} took longer than 240 s"))
        .expect("node runs the browser script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- browser phase {phase}\n{stdout}{stderr}");
    assert!(
        output.status.success(),
        "browser phase {phase} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

async fn glue_tables(moto: &Moto) {
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("sales").build().unwrap())
        .send()
        .await
        .unwrap();
    for (name, columns) in [
        ("orders", vec!["order_id", "customer_id", "amount"]),
        ("customers", vec!["customer_id", "email", "country"]),
    ] {
        let columns = columns
            .into_iter()
            .map(|c| Column::builder().name(c).r#type("string").build().unwrap())
            .collect();
        let table = TableInput::builder()
            .name(name)
            .description(format!("Every {name} row, refreshed nightly"))
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .build(),
            )
            .build()
            .unwrap();
        glue.create_table()
            .database_name("sales")
            .table_input(table)
            .send()
            .await
            .unwrap();
    }
}

async fn call(wharf: &Wharf, method: &str, path: &str, token: &str, body: Value) -> Value {
    let response = wharf.api(method, path, token, Some(body)).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Two domains, an AWS environment on moto, the analysts' role, and two published
/// products whose names share a word (so a facet has something to narrow).
async fn catalog(wharf: &Wharf) {
    let (root, omar, ana) = (
        wharf.idp_api_token("root").await,
        wharf.idp_api_token("omar").await,
        wharf.idp_api_token("ana").await,
    );
    for name in ["Sales", "Finance"] {
        call(
            wharf,
            "POST",
            "/api/v1/domains",
            &root,
            json!({"name": name}),
        )
        .await;
    }
    let env = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "us-east-1",
        "owner_team": "sales-data"});
    call(wharf, "POST", "/api/v1/environments", &root, env).await;
    let role = json!({"team": "analytics", "arn": ANALYTICS_ROLE, "label": "Analytics dashboards"});
    call(
        wharf,
        "POST",
        "/api/v1/environments/lake/principals",
        &ana,
        role,
    )
    .await;

    let orders = json!({"name": "Customer Orders", "domain": "sales", "owner_team": "sales-data",
        "environment": "lake", "classification": "internal", "tags": ["revenue", "orders"],
        "description": "Every order our **customers** placed, with amounts. Updated nightly from the shop."});
    call(wharf, "POST", "/api/v1/products", &omar, orders).await;
    let import = json!({"glue": [{"database": "sales", "table": "orders"}, {"database": "sales", "table": "customers"}]});
    call(
        wharf,
        "POST",
        "/api/v1/products/customer-orders/assets",
        &omar,
        import,
    )
    .await;
    call(
        wharf,
        "POST",
        "/api/v1/products/customer-orders/publish",
        &omar,
        json!({}),
    )
    .await;

    let invoices = json!({"name": "Customer Invoices", "domain": "finance", "owner_team": "sales-data",
        "classification": "confidential", "tags": ["billing"],
        "description": "Invoices sent to customers."});
    call(wharf, "POST", "/api/v1/products", &omar, invoices).await;
    let table = json!({"tables": [{"database": "finance", "table": "invoices",
        "columns": [{"name": "invoice_id", "data_type": "bigint"}, {"name": "total", "data_type": "decimal(12,2)"}]}]});
    call(
        wharf,
        "POST",
        "/api/v1/products/customer-invoices/assets",
        &omar,
        table,
    )
    .await;
    call(
        wharf,
        "POST",
        "/api/v1/products/customer-invoices/publish",
        &omar,
        json!({}),
    )
    .await;
}

fn held(permissions: &[(String, Vec<String>)], resource: &str) -> bool {
    permissions
        .iter()
        .any(|(r, p)| r == resource && p.iter().any(|x| x == "SELECT"))
}

#[tokio::test]
async fn analyst_requests_owner_approves_and_revokes_in_a_real_browser() {
    require_browser();
    let moto = Moto::start().await;
    glue_tables(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let idp = Idp::start(port).await;
    let mut env = idp.wharf_env();
    env.push(("WHARF_AWS_ENDPOINT_URL", moto.url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let wharf = Wharf::start_on(port, dir.path(), &[], &env).await;
    catalog(&wharf).await;
    let state = tempfile::tempdir().unwrap();

    // 1 and 2: the analyst asks, the owner approves, the analyst's page turns Granted.
    journey("request-and-approve", &wharf.base_url, state.path()).await;
    let granted = moto.permissions_of(ANALYTICS_ROLE).await;
    assert!(
        held(&granted, "table sales.orders") && held(&granted, "table sales.customers"),
        "Lake Formation holds SELECT on both tables after approval: {granted:?}"
    );

    // 3: the owner revokes; the page shows Revoked; Lake Formation no longer holds it.
    journey("revoke", &wharf.base_url, state.path()).await;
    let left = moto.permissions_of(ANALYTICS_ROLE).await;
    assert!(
        !held(&left, "table sales.orders") && !held(&left, "table sales.customers"),
        "nothing is selectable after revoking: {left:?}"
    );
    assert!(wharf.stop(), "wharf stops cleanly");
}

#[tokio::test]
async fn the_demo_signs_in_with_the_development_sign_in() {
    require_browser();
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let state = tempfile::tempdir().unwrap();
    journey("demo", &wharf.base_url, state.path()).await;
    assert!(wharf.stop(), "wharf stops cleanly");
}
