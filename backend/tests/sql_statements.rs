//! Pages are fast: each issues a handful of SQL statements, however big the catalog.
//! sqlx reports every statement it executes as a tracing event with target `sqlx::query`;
//! a global subscriber counts them (the SQLite driver runs statements on its own thread, so
//! a thread-local subscriber would miss them). One test function, so nothing else runs SQL
//! while it counts.

// The support shared with the `it` binary, of which this one uses a part.
#[allow(unused)]
mod common;

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use axum::http::StatusCode;
use common::{Browser, TestApp, body_text};
use serde_json::{Value, json};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
/// The statements' text as sqlx summarises it, for the failure message.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Every page reads who is asking (the session with its teams and how far the outbox has
/// got, the inbox count, the unread count: [`CALLER`]; none of it while the session's
/// caller is kept in memory), then its own few things; the requests page needs 6 more (9
/// in all, the most of any page). More means a query per row crept in, or a page that
/// should share a query.
const BUDGET: usize = 9;
const CALLER: usize = 3;
/// A product page whose kept part must be loaded again (something changed): the caller,
/// then product, tables, history, environment, roles and the timeline's requests.
const PRODUCT_PAGE_LOAD: usize = 9;

struct CountStatements;

impl<S: tracing::Subscriber> Layer<S> for CountStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        struct Statement(String);
        impl tracing::field::Visit for Statement {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "db.statement" {
                    self.0 = value.split_whitespace().collect::<Vec<_>>().join(" ");
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn Debug) {
                if field.name() == "db.statement" && self.0.is_empty() {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut statement = Statement(String::new());
        event.record(&mut statement);
        // A pool connection opened mid-request sets itself up: not the page's statements.
        if statement.0.starts_with("PRAGMA") {
            return;
        }
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
        SEEN.lock().unwrap().push(statement.0);
    }
}

fn count_statements() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let layer = CountStatements.with_filter(filter_fn(|m| m.target() == "sqlx::query"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the only subscriber in this test binary");
    });
}

/// The statements one GET issues, measured on its second visit (the first may open pool
/// connections, whose set-up statements are not the page's, and fills in-memory caches).
async fn statements_for(app: &TestApp, browser: &Browser, path: &str) -> usize {
    let warm = app.get_as(browser, path).await;
    assert_eq!(warm.status(), StatusCode::OK, "{path}");
    first_visit_statements(app, browser, path).await
}

/// The statements one GET issues, without a visit before it.
async fn first_visit_statements(app: &TestApp, browser: &Browser, path: &str) -> usize {
    STATEMENTS.store(0, Ordering::SeqCst);
    SEEN.lock().unwrap().clear();
    let response = app.get_as(browser, path).await;
    let counted = STATEMENTS.load(Ordering::SeqCst);
    if counted > BUDGET {
        for statement in SEEN.lock().unwrap().iter() {
            println!("      {}", statement.chars().take(160).collect::<String>());
        }
    }
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    body_text(response).await;
    counted
}

#[tokio::test]
async fn catalog_and_product_pages_issue_a_handful_of_statements() {
    count_statements();
    // Callers are kept for a minute, so what a visit costs does not depend on how fast this
    // machine runs the test (the default second could pass between two visits).
    let app = TestApp::builder()
        .env("WHARF_CALLER_CACHE_SECS", "60")
        .build()
        .await;
    wharf::demo::seed(app.store()).await.expect("demo data");
    app.state.indexer().catch_up().await.expect("index");
    let (omar, ana) = (app.token("omar").await, app.token("ana").await);
    // One product with a single table, one with twelve; the analyst asks for the big one
    // three times, so the requests page lists requests with many tables each.
    for (slug, tables) in [("small", 1), ("big", 12)] {
        let product = json!({"name": slug, "domain": "sales", "owner_team": "sales-data"});
        call(&app, "POST", "/api/v1/products", &omar, product).await;
        let tables: Vec<_> = (0..tables)
            .map(|i| json!({"database": "db", "table": format!("{slug}_{i}"),
                "columns": [{"name": "id", "data_type": "bigint"}, {"name": "v", "data_type": "string"}]}))
            .collect();
        let path = format!("/api/v1/products/{slug}/assets");
        call(&app, "POST", &path, &omar, json!({ "tables": tables })).await;
        call(
            &app,
            "POST",
            &format!("/api/v1/products/{slug}/publish"),
            &omar,
            json!({}),
        )
        .await;
    }
    let role = json!({"team": "analytics", "arn": "arn:aws:iam::123456789012:role/bi"});
    let principal = call(
        &app,
        "POST",
        "/api/v1/environments/sandbox/principals",
        &ana,
        role,
    )
    .await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
        .date()
        .to_string();
    let ask = |i: usize| {
        let tables: Vec<_> = (0..12)
            .map(|t| json!({"table": format!("db.big_{t}")}))
            .collect();
        json!({"product": "big", "principal_id": principal["id"], "until": until,
            "justification": format!("Dashboard number {i}"), "tables": tables})
    };
    call(&app, "POST", "/api/v1/access-requests", &ana, ask(0)).await;
    app.state.indexer().catch_up().await.expect("index");
    let browser = app.sign_in("ana").await;
    let owner = app.sign_in("omar").await;
    let one_request = statements_for(&app, &browser, "/requests").await;
    let inbox_of_one = statements_for(&app, &owner, "/requests").await;
    for i in 1..4 {
        call(&app, "POST", "/api/v1/access-requests", &ana, ask(i)).await;
    }

    let mut counts = Vec::new();
    for path in [
        "/",
        "/?q=orders",
        "/?domain=Sales",
        "/catalog/results?q=customer",
        "/products/big",
        "/products/small",
        "/requests",
    ] {
        let n = statements_for(&app, &browser, path).await;
        println!("{n:>3} statements  GET {path}");
        counts.push((path, n));
    }
    assert!(
        one_request > 0 && counts[6].1 > 0,
        "the counter sees statements (the requests page reads them): {counts:?}"
    );
    let over: Vec<_> = counts.iter().filter(|(_, n)| *n > BUDGET).collect();
    assert!(over.is_empty(), "pages over {BUDGET} statements: {over:?}");
    assert_eq!(
        counts[4].1, counts[5].1,
        "a product with 12 tables costs what one with 1 costs"
    );
    assert_eq!(
        counts[4].1, 0,
        "a product page kept in memory, for a caller kept in memory, costs no statement"
    );
    // Any change moves the outbox and retires kept callers: the next product page reads
    // its caller and loads its part again.
    call(&app, "POST", "/api/v1/access-requests", &ana, ask(9)).await;
    for path in ["/products/big", "/products/small"] {
        let n = first_visit_statements(&app, &browser, path).await;
        println!("{n:>3} statements  GET {path} after a change");
        assert!(
            n > CALLER && n <= PRODUCT_PAGE_LOAD,
            "{path}: {n} statements after a change"
        );
    }
    // A busy API client: after its first call, who it is costs nothing, and a search none.
    let search = "/api/v1/products?q=orders";
    for visit in 0..2 {
        STATEMENTS.store(0, Ordering::SeqCst);
        let response = app.api("GET", search, Some(&ana), None).await;
        assert_eq!(response.status(), StatusCode::OK, "search, visit {visit}");
    }
    assert_eq!(
        STATEMENTS.load(Ordering::SeqCst),
        0,
        "a search by a kept API token's caller"
    );
    assert_eq!(
        counts[6].1, one_request,
        "four requests of 12 tables cost what one costs"
    );
    assert_eq!(
        statements_for(&app, &owner, "/requests").await,
        inbox_of_one,
        "an inbox of four costs what an inbox of one costs"
    );
}

async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> Value {
    let response = app.api(method, path, Some(token), Some(body)).await;
    let status = response.status();
    let text = body_text(response).await;
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
