//! The HTTP half of `wharf-bench`: the real router over a real (temporary SQLite) store and
//! a prebuilt index, served on loopback, driven by a client in the same process (the two
//! share this machine's cores, as a deployment's load balancer would not).
//!
//! Prints: search through `/api/v1/products?q=` (latency of sequential requests, and
//! requests/s with 2 concurrent clients), and product-page throughput and p99 with 32
//! concurrent connections next to a minimal axum + sqlx + askama page in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::response::Html;
use wharf::app::{App, AppState, router};
use wharf::config::Config;
use wharf::domain::*;
use wharf::search::CatalogIndex;
use wharf::store::Store;

/// A started app: its base URL and a bearer token that may search.
pub struct Served {
    pub base: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

pub async fn serve(index: Arc<CatalogIndex>) -> anyhow::Result<Served> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let env = vec![
        ("WHARF_DATABASE_URL".to_owned(), url),
        (
            "WHARF_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
    ];
    let config = Config::from_sources(None, env)?;
    let store = wharf::server::open_store(&config).await?;
    let admins = [TeamName::parse(&config.admin_group)?];
    let user = store
        .sign_in_user(
            &UserClaims {
                subject: "bench".into(),
                email: None,
                name: "Bench".into(),
            },
            &admins,
        )
        .await?;
    let token = "wharf_bench-token-for-loopback-only";
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    store
        .create_api_token(&NewApiToken {
            user_id: user.id,
            name: "bench".into(),
            token_hash: hash,
            prefix: "wharf_benc".into(),
            expires_at: None,
        })
        .await?;
    let app = AppState(Arc::new(App::new(config, store.clone(), index)?));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(app)).await;
    });
    Ok(Served {
        base,
        token: token.into(),
        store,
        _dir: dir,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client")
}

/// Sequential latency; then, with `concurrency` clients for `seconds`, throughput and the
/// latency each request saw under that load.
async fn measure(
    urls: &[String],
    token: &str,
    concurrency: usize,
    seconds: u64,
) -> (Vec<Duration>, Vec<Duration>, f64) {
    let http = client(concurrency);
    // A pass to warm the page cache and the connection pool, as the search benchmark does.
    for url in urls {
        let response = http.get(url).bearer_auth(token).send().await;
        if let Ok(response) = response {
            let _ = response.bytes().await;
        }
    }
    let mut sequential = Vec::with_capacity(urls.len());
    for url in urls {
        let started = Instant::now();
        let response = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let _ = response.bytes().await;
        sequential.push(started.elapsed());
    }
    sequential.sort();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, urls, token) = (http.clone(), urls.to_vec(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = http
                    .get(&urls[i % urls.len()])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("request");
                let _ = response.bytes().await;
                seen.push(started.elapsed());
                i += concurrency;
            }
            seen
        }));
    }
    let mut loaded = Vec::new();
    for task in tasks {
        loaded.extend(task.await.unwrap_or_default());
    }
    loaded.sort();
    let rate = loaded.len() as f64 / seconds as f64;
    (sequential, loaded, rate)
}

/// Search through HTTP: `queries` are ready-made query strings (`q=…&domain=…`).
pub async fn search(served: &Served, queries: &[String]) {
    let urls: Vec<String> = queries
        .iter()
        .map(|q| format!("{}/api/v1/products?{q}", served.base))
        .collect();
    let (latencies, _, per_second) = measure(&urls, &served.token, 2, 10).await;
    println!(
        "search through HTTP (/api/v1/products?q=…), {} queries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} requests/s with 2 clients",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        per_second
    );
}

#[derive(Template)]
#[template(
    source = "<!doctype html><title>{{ name }}</title><h1>{{ name }}</h1><ul>{% for t in tables %}<li>{{ t }}</li>{% endfor %}</ul>",
    ext = "html"
)]
struct MinimalPage {
    name: String,
    tables: Vec<String>,
}

/// The product page (a demo-sized product) against a minimal axum + sqlx + askama page.
pub async fn product_page(served: &Served) -> anyhow::Result<()> {
    let store = &served.store;
    store
        .create_domain(
            Actor::System,
            &NewDomain {
                slug: Slug::parse("bench")?,
                name: "Bench".into(),
                description: String::new(),
            },
        )
        .await?;
    let fields = ProductFields {
        name: "Bench orders".into(),
        description: "Orders **for the benchmark**.".into(),
        domain: Slug::parse("bench")?,
        owner_team: TeamName::parse("bench-team")?,
        environment: Slug::parse("sandbox")?,
        classification: Classification::Internal,
        tags: vec!["bench".into()],
        steward_emails: vec![],
        auto_approve: false,
        max_access_days: 30,
    };
    let product = store
        .create_product(Actor::System, &Slug::parse("bench-orders")?, &fields)
        .await?;
    for n in 0..4 {
        let columns = (0..15)
            .map(|c| Column {
                name: format!("col_{c}"),
                data_type: "string".into(),
                description: "a column".into(),
                is_pii: c == 3,
                is_partition_key: c == 14,
            })
            .collect();
        let table = TableDefinition {
            database: "bench".into(),
            table: format!("t{n}"),
            description: String::new(),
            location: None,
            parameters: serde_json::json!({}),
            columns,
        };
        store.put_asset(Actor::System, &product, &table).await?;
    }
    store
        .set_product_status(Actor::System, product.id, ProductStatus::Published)
        .await?;

    // The baseline: one query, one template, nothing else.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        served._dir.path().join("bench.db").display()
    ))
    .await?;
    let baseline = Router::new().route(
        "/p",
        axum::routing::get(move || {
            let pool = pool.clone();
            async move {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT glue_table FROM assets ORDER BY glue_table")
                        .fetch_all(&pool)
                        .await
                        .unwrap_or_default();
                let page = MinimalPage {
                    name: "Bench orders".into(),
                    tables: rows.into_iter().map(|r| r.0).collect(),
                };
                Html(page.render().unwrap_or_default())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let baseline_url = format!("http://{}/p", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, baseline).await;
    });

    let wharf_urls = vec![format!("{}/products/bench-orders", served.base); 200];
    let baseline_urls = vec![baseline_url; 200];
    let (_, wharf_latency, wharf_rate) = measure(&wharf_urls, &served.token, 32, 10).await;
    let (_, base_latency, base_rate) = measure(&baseline_urls, &served.token, 32, 10).await;
    println!(
        "product page, 32 connections: {wharf_rate:.0} pages/s (p99 {:.2} ms) vs minimal axum+sqlx+askama page {base_rate:.0} pages/s (p99 {:.2} ms): ratio {:.2}",
        percentile(&wharf_latency, 0.99),
        percentile(&base_latency, 0.99),
        wharf_rate / base_rate
    );
    Ok(())
}
