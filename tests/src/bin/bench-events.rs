//! Benchmark: events per second through the relay into DynamoDB (moto on loopback).
//! Writes N events (domains created over the API) with the DynamoDB sink off, then starts
//! Wharf with it on and times how long the relay takes to catch up.
//!
//!   cargo run --release -p wharf-e2e --bin bench-events -- [--events 2000]
//!
//! Needs the test venv (tests/run.sh prepares it) and a built `wharf` (WHARF_TEST_BIN, or
//! the binary next to this one).

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::sqlite::SqlitePoolOptions;
use wharf_e2e::Wharf;
use wharf_e2e::moto::Moto;

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .skip_while(|a| a != "--events")
        .nth(1)
        .map(|v| v.parse().expect("--events N"))
        .unwrap_or(2000);
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &[], &[]).await;
    let root = wharf.api_token("root").await;
    let started = Instant::now();
    for n in 0..events {
        let created = wharf
            .api(
                "POST",
                "/api/v1/domains",
                &root,
                Some(json!({"name": format!("Domain {n}")})),
            )
            .await;
        assert_eq!(created.status(), 201);
    }
    println!(
        "wrote {events} events in {:.1} s ({:.0} changes/s through the API)",
        started.elapsed().as_secs_f64(),
        events as f64 / started.elapsed().as_secs_f64()
    );
    assert!(wharf.stop(), "clean stop");

    let db = SqlitePoolOptions::new()
        .connect(&format!(
            "sqlite://{}/wharf-data/wharf.db",
            dir.path().display()
        ))
        .await
        .unwrap();
    let latest: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM outbox_events")
        .fetch_one(&db)
        .await
        .unwrap();
    let env = [
        ("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()),
        ("WHARF_EVENTS_DYNAMODB_TABLE", "bench-events"),
        ("WHARF_EVENTS_DYNAMODB_CREATE", "true"),
        ("AWS_REGION", "us-east-1"),
    ];
    let started = Instant::now();
    let wharf = Wharf::start(dir.path(), &[], &env).await;
    loop {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM event_sink_cursors WHERE sink = 'dynamodb'")
                .fetch_optional(&db)
                .await
                .unwrap();
        if seq.unwrap_or(0) >= latest {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "relay caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let items = moto.scan_all("bench-events").await.len();
    println!(
        "relayed {latest} events to DynamoDB in {:.2} s (start-up included): {:.0} events/s; the table holds {items}",
        elapsed.as_secs_f64(),
        latest as f64 / elapsed.as_secs_f64()
    );
    drop(wharf);
}
