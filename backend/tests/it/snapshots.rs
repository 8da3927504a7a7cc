//! Snapshots of representative answers (a product's and an access request's JSON, the
//! product page's main section), with ids, times and dates redacted, so every change to
//! what the API answers or a page shows turns up in review.
//!
//! After an intended change, update them and review the diff:
//!
//! ```sh
//! INSTA_UPDATE=always cargo test -p wharf --test it snapshots
//! git diff backend/tests/it/snapshots/
//! ```

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::world::{Market, Orders, date_in};
use crate::common::{body_json, body_text};

/// Settings that redact what differs from run to run: ids (UUIDs), times, dates (the
/// chart's "21 Sep" too), and the CSRF token a page carries.
fn redacting() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let hex = |n: usize| format!("[0-9a-f]{{{n}}}");
    settings.add_filter(
        &format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12)),
        "[id]",
    );
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[time]",
    );
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?( UTC)?)?",
        "[date]",
    );
    settings.add_filter(
        r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b",
        "[day]",
    );
    settings.add_filter(
        r#"name="csrf_token" value="[^"]*""#,
        r#"name="csrf_token" value="[csrf]""#,
    );
    settings
}

/// The world with a pending request of ana's for `sales.orders` (`id`) and `sales.returns`.
async fn with_a_request() -> (Market, String) {
    let w = Orders::default().publish().await;
    let body = json!({
        "product": "orders", "principal_id": w.principal, "justification": "Churn analysis for Q3",
        "until": date_in(30), "tables": [{"table": "sales.orders", "columns": ["id"]}, {"table": "sales.returns"}],
    });
    let created = w
        .app
        .api("POST", "/api/v1/access-requests", Some(&w.ana), Some(body))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = body_json(created).await["id"].as_str().unwrap().to_owned();
    (w, id)
}

async fn get_json(w: &Market, token: &str, path: &str) -> Value {
    let response = w.app.api("GET", path, Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    body_json(response).await
}

#[tokio::test]
async fn a_product_as_json() {
    let (w, _) = with_a_request().await;
    let product = get_json(&w, &w.ana, "/api/v1/products/orders").await;
    redacting().bind(|| insta::assert_json_snapshot!("product", product));
}

#[tokio::test]
async fn an_access_request_as_json() {
    let (w, id) = with_a_request().await;
    let request = get_json(&w, &w.ana, &format!("/api/v1/access-requests/{id}")).await;
    redacting().bind(|| insta::assert_json_snapshot!("access_request", request));
}

#[tokio::test]
async fn the_product_page() {
    let (w, _) = with_a_request().await;
    let omar = w.app.sign_in("omar").await;
    let response = w.app.get_as(&omar, "/products/orders").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    let start = html.find("<main").expect("the page has a main section");
    let end = html.find("</main>").expect("the main section ends") + "</main>".len();
    redacting().bind(|| insta::assert_snapshot!("product_page", &html[start..end]));
}
