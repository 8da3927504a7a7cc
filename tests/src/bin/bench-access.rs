//! Benchmark: approve → Granted (every item applied and verified) against moto on loopback,
//! for 1, 20 and 100 tables, p50/p95 over N runs; and the throughput of 1,000 item grants.
//!
//!   cargo run --release -p wharf-e2e --bin bench-access -- [--runs 50]
//!
//! Needs the test venv (tests/run.sh prepares it) and a built `wharf` (WHARF_TEST_BIN, or
//! the binary next to this one).

use std::time::{Duration, Instant};

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::{Value, json};
use wharf_e2e::Wharf;
use wharf_e2e::moto::Moto;

const ROLE: &str = "arn:aws:iam::123456789012:role/analytics";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .map(|v| v.parse().expect("--runs N"))
        .unwrap_or(50);
    let moto = Moto::start().await;
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("bench").build().unwrap())
        .send()
        .await
        .unwrap();
    for n in 0..1000 {
        let columns = vec![
            Column::builder()
                .name("id")
                .r#type("bigint")
                .build()
                .unwrap(),
        ];
        let table = TableInput::builder()
            .name(format!("t{n:04}"))
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .build(),
            )
            .build()
            .unwrap();
        glue.create_table()
            .database_name("bench")
            .table_input(table)
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(
        dir.path(),
        &[],
        &[
            ("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()),
            ("WHARF_LOG", "warn"),
        ],
    )
    .await;
    let (root, omar, ana) = (
        wharf.api_token("root").await,
        wharf.api_token("omar").await,
        wharf.api_token("ana").await,
    );
    wharf
        .api(
            "POST",
            "/api/v1/domains",
            &root,
            Some(json!({"name": "Bench"})),
        )
        .await;
    let env = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "us-east-1",
        "owner_team": "sales-data"});
    wharf
        .api("POST", "/api/v1/environments", &root, Some(env))
        .await;
    let principal: Value = wharf
        .api(
            "POST",
            "/api/v1/environments/lake/principals",
            &ana,
            Some(json!({"team": "analytics", "arn": ROLE})),
        )
        .await
        .json()
        .await
        .unwrap();
    let product = json!({"name": "Bench", "domain": "bench", "owner_team": "sales-data", "environment": "lake", "max_access_days": 30});
    wharf
        .api("POST", "/api/v1/products", &omar, Some(product))
        .await;
    for chunk in (0..1000).collect::<Vec<_>>().chunks(200) {
        let glue: Vec<Value> = chunk
            .iter()
            .map(|n| json!({"database": "bench", "table": format!("t{n:04}")}))
            .collect();
        let added = wharf
            .api(
                "POST",
                "/api/v1/products/bench/assets",
                &omar,
                Some(json!({"glue": glue})),
            )
            .await;
        assert_eq!(added.status(), 201);
    }
    wharf
        .api("POST", "/api/v1/products/bench/publish", &omar, None)
        .await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
        .date()
        .to_string();

    // One request → approve → wait for Granted, then revoke so the next run starts clean.
    let journey = |tables: Vec<usize>| {
        let (wharf, omar, ana, principal, until) = (&wharf, &omar, &ana, &principal, &until);
        async move {
            let tables: Vec<Value> = tables
                .iter()
                .map(|n| json!({"table": format!("bench.t{n:04}")}))
                .collect();
            let body = json!({"product": "bench", "principal_id": principal["id"], "justification": "benchmark run", "until": until, "tables": tables});
            let request: Value = wharf
                .api("POST", "/api/v1/access-requests", ana, Some(body))
                .await
                .json()
                .await
                .unwrap();
            let id = request["id"].as_str().unwrap().to_owned();
            let started = Instant::now();
            let approved = wharf
                .api(
                    "POST",
                    &format!("/api/v1/access-requests/{id}/approve"),
                    omar,
                    None,
                )
                .await;
            assert_eq!(approved.status(), 200);
            loop {
                let now: Value = wharf
                    .api("GET", &format!("/api/v1/access-requests/{id}"), ana, None)
                    .await
                    .json()
                    .await
                    .unwrap();
                match now["status"].as_str().unwrap() {
                    "granted" => break,
                    "failed" => panic!("grant failed: {now}"),
                    _ => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
            let elapsed = started.elapsed();
            wharf
                .api(
                    "POST",
                    &format!("/api/v1/access-requests/{id}/revoke"),
                    ana,
                    None,
                )
                .await;
            loop {
                let now: Value = wharf
                    .api("GET", &format!("/api/v1/access-requests/{id}"), ana, None)
                    .await
                    .json()
                    .await
                    .unwrap();
                if now["status"] == "revoked" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            elapsed
        }
    };

    println!(
        "approve → Granted (all items applied and verified), moto on loopback, {runs} runs each"
    );
    for size in [1usize, 20, 100] {
        let mut samples = Vec::with_capacity(runs);
        for run in 0..runs {
            let first = (run * size) % (1000 - size);
            samples.push(journey((first..first + size).collect()).await);
        }
        samples.sort();
        println!(
            "  {size:>3} tables: p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
            percentile(&samples, 0.5).as_secs_f64() * 1000.0,
            percentile(&samples, 0.95).as_secs_f64() * 1000.0,
            samples.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    let mut granted = 0;
    for batch in 0..10 {
        let elapsed = journey((batch * 100..batch * 100 + 100).collect()).await;
        granted += 100;
        let _ = elapsed;
    }
    let total = started.elapsed();
    println!(
        "  throughput: {granted} item grants (10 requests of 100, each also revoked) in {:.2} s = {:.0} items/s including revokes",
        total.as_secs_f64(),
        f64::from(granted) / total.as_secs_f64()
    );
    assert!(wharf.stop());
}
