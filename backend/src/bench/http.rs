//! The HTTP half of `wharf-bench`: the real router over a real (temporary SQLite) store and
//! a prebuilt index, served on loopback. Sequential latency is measured by a client in this
//! process; load by `wrk` when it is installed (else by that client), which shares this
//! machine's cores with the server, as a deployment's load balancer would not.
//!
//! Prints: search through `/api/v1/products?q=` (latency of sequential requests, and
//! requests/s with 2 concurrent connections), and product-page throughput and p99 with 32
//! concurrent connections next to a minimal axum + sqlx + askama page in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use askama::Template;
use axum::Router;
use axum::response::Html;
use wharf::app::{App, AppState, router};
use wharf::config::Config;
use wharf::domain::*;
use wharf::search::CatalogIndex;
use wharf::store::Store;

/// How a request says who is asking: a header name and its value.
type Credential = (&'static str, String);

/// A started app: its base URL, and a bearer token and a browser session of a user who may
/// search.
pub struct Served {
    pub base: String,
    pub token: Credential,
    pub session: Credential,
    pub store: Arc<dyn Store>,
    _dir: Scratch,
}

/// A directory of its own under the system's temp dir, removed when dropped (the benchmark
/// needs no more than this, so `tempfile` stays a dependency of the tests only).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        let name = format!("wharf-bench-{}", uuid::Uuid::now_v7().simple());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn serve(index: Arc<CatalogIndex>) -> anyhow::Result<Served> {
    let dir = Scratch::new()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let env = vec![
        // Served on a free loopback port: port 0 lets the host check accept any.
        ("WHARF_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
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
    let sha256 = |secret: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
    let token = "wharf_bench-token-for-loopback-only";
    store
        .create_api_token(&NewApiToken {
            user_id: user.id,
            name: "bench".into(),
            token_hash: sha256(token),
            prefix: "wharf_benc".into(),
            expires_at: None,
        })
        .await?;
    let session = "bench-session-for-loopback-only";
    let ends = wharf::store::now() + time::Duration::hours(1);
    store
        .create_session(&NewSession {
            id_hash: sha256(session),
            user_id: user.id,
            csrf_token: "bench".into(),
            id_token_hint: None,
            idle_expires_at: ends,
            expires_at: ends,
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
        token: ("authorization", format!("Bearer {token}")),
        session: ("cookie", format!("wharf_session={session}")),
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

/// Latency of `urls` requested one after another (after a warm-up pass over them all).
async fn sequential(urls: &[String], credential: &Credential) -> Vec<Duration> {
    let http = client(1);
    for url in urls {
        if let Ok(response) = http
            .get(url)
            .header(credential.0, &credential.1)
            .send()
            .await
        {
            let _ = response.bytes().await;
        }
    }
    let mut latencies = Vec::with_capacity(urls.len());
    for url in urls {
        let started = Instant::now();
        let response = http
            .get(url)
            .header(credential.0, &credential.1)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let _ = response.bytes().await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

/// What a load of concurrent connections saw.
struct Load {
    per_second: f64,
    p99_ms: f64,
    /// What drove it: `wrk` (its own process), or this process's client when wrk is missing.
    driver: &'static str,
}

/// `connections` concurrent connections cycling through `urls` for `seconds`, driven by
/// wrk when it is installed (Debian's `wrk`: a C client costing the server's cores far
/// less than a Rust client in this process would), else by this process's client.
async fn load(urls: &[String], credential: &Credential, connections: usize, seconds: u64) -> Load {
    match wrk(urls, credential, connections, seconds).await {
        Ok(Some(load)) => load,
        Ok(None) => in_process_load(urls, credential, connections, seconds).await,
        Err(error) => panic!("wrk failed: {error:#}"),
    }
}

/// Ok(None) when wrk is not installed.
async fn wrk(
    urls: &[String],
    credential: &Credential,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Option<Load>> {
    let base = urls.first().context("no urls")?;
    let origin_end = base
        .match_indices('/')
        .nth(2)
        .map_or(base.len(), |(i, _)| i);
    let paths: Vec<String> = urls
        .iter()
        .map(|url| format!("{:?}", &url[origin_end..]))
        .collect();
    // Each wrk thread cycles through the paths; `done` prints one line this parses.
    let script = format!(
        "local paths = {{{}}}\n\
         local i = 0\n\
         request = function()\n\
           i = i % #paths + 1\n\
           return wrk.format(\"GET\", paths[i])\n\
         end\n\
         done = function(summary, latency, requests)\n\
           local e = summary.errors\n\
           io.write(string.format(\"wharf-bench %d %d %d %d\\n\", summary.requests, summary.duration,\n\
             e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(99)))\n\
         end\n",
        paths.join(",")
    );
    let dir = Scratch::new()?;
    let file = dir.path().join("paths.lua");
    std::fs::write(&file, script)?;
    let threads = connections.min(2);
    let output = tokio::process::Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(&file)
        .args(["-H", &format!("{}: {}", credential.0, credential.1)])
        .arg(&base[..origin_end])
        .output()
        .await;
    let output = match output {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        result => result?,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("wharf-bench "))
        .with_context(|| format!("no summary from wrk: {stdout}"))?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [requests, micros, errors, p99_micros] = numbers[..] else {
        anyhow::bail!("unexpected wrk summary: {line}");
    };
    anyhow::ensure!(
        errors == 0.0,
        "{errors} of {requests} requests failed: {stdout}"
    );
    Ok(Some(Load {
        per_second: requests / (micros / 1e6),
        p99_ms: p99_micros / 1000.0,
        driver: "wrk",
    }))
}

async fn in_process_load(
    urls: &[String],
    credential: &Credential,
    connections: usize,
    seconds: u64,
) -> Load {
    let http = client(connections);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (http, urls, credential) = (http.clone(), urls.to_vec(), credential.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = http
                    .get(&urls[i % urls.len()])
                    .header(credential.0, &credential.1)
                    .send()
                    .await
                    .expect("request");
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await;
                seen.push(started.elapsed());
                i += connections;
            }
            seen
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies.sort();
    Load {
        per_second: latencies.len() as f64 / seconds as f64,
        p99_ms: percentile(&latencies, 0.99),
        driver: "a client in this process; wrk would take less of the cores",
    }
}

/// Search through HTTP: `queries` are ready-made query strings (`q=…&domain=…`).
pub async fn search(served: &Served, queries: &[String]) {
    let urls: Vec<String> = queries
        .iter()
        .map(|q| format!("{}/api/v1/products?{q}", served.base))
        .collect();
    let latencies = sequential(&urls, &served.token).await;
    println!(
        "search through HTTP (/api/v1/products?q=…), {} queries one at a time: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    let loaded = load(&urls, &served.token, 2, 10).await;
    println!(
        "  with 2 connections ({}): {:.0} requests/s, p99 {:.2} ms",
        loaded.driver, loaded.per_second, loaded.p99_ms
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
    // A warm-up pass, as for search (the page's kept part, the pools' connections).
    sequential(&wharf_urls, &served.token).await;
    sequential(&baseline_urls, &served.token).await;
    let baseline = load(&baseline_urls, &served.token, 32, 10).await;
    println!(
        "minimal axum+sqlx+askama page, 32 connections ({}): {:.0} pages/s (p99 {:.2} ms)",
        baseline.driver, baseline.per_second, baseline.p99_ms,
    );
    // Automation reads it with a token; people with a session, whose pages also count
    // their inbox and unread notifications for the header.
    for (caller, credential) in [
        ("API token", &served.token),
        ("browser session", &served.session),
    ] {
        let wharf = load(&wharf_urls, credential, 32, 10).await;
        println!(
            "product page, 32 connections, {caller}: {:.0} pages/s (p99 {:.2} ms): ratio {:.2}",
            wharf.per_second,
            wharf.p99_ms,
            wharf.per_second / baseline.per_second
        );
    }
    Ok(())
}
