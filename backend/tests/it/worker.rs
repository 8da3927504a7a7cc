//! The job worker against a real (SQLite) store: runs handlers, retries failures with
//! backoff, and stops between jobs on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::TestApp;
use async_trait::async_trait;
use tokio::sync::watch;
use wharf::jobs::{JobHandler, Worker};

struct Counting {
    runs: AtomicUsize,
    fail_first: bool,
    delay: Duration,
    /// Signalled when a run begins.
    started: tokio::sync::Notify,
}

#[async_trait]
impl JobHandler for Counting {
    async fn run(&self, _payload: &serde_json::Value) -> anyhow::Result<()> {
        self.started.notify_one();
        tokio::time::sleep(self.delay).await;
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if self.fail_first && n == 0 {
            anyhow::bail!("transient failure");
        }
        Ok(())
    }
}

async fn wait_for_empty_queue(app: &TestApp) {
    for _ in 0..100 {
        if app.store().job_queue_depth().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the queue never drained");
}

#[tokio::test]
async fn worker_runs_enqueued_jobs_and_retries_failures() {
    let app = TestApp::new().await;
    let handler = Arc::new(Counting {
        runs: AtomicUsize::new(0),
        fail_first: true,
        delay: Duration::ZERO,
        started: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(
        Worker::new(&app.state.jobs)
            .with_handler("count", handler.clone())
            .run(stopped),
    );

    app.state
        .jobs
        .enqueue("count", serde_json::json!({}))
        .await
        .unwrap();
    wait_for_empty_queue(&app).await;
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        2,
        "failed once, then retried after backoff"
    );

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_lets_the_running_job_finish() {
    let app = TestApp::new().await;
    let handler = Arc::new(Counting {
        runs: AtomicUsize::new(0),
        fail_first: false,
        delay: Duration::from_millis(300),
        started: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(
        Worker::new(&app.state.jobs)
            .with_handler("slow", handler.clone())
            .run(stopped),
    );
    app.state
        .jobs
        .enqueue("slow", serde_json::json!({}))
        .await
        .unwrap();
    app.state
        .jobs
        .enqueue("slow", serde_json::json!({}))
        .await
        .unwrap();
    // Stop while the first job is running (not before it was claimed).
    tokio::time::timeout(Duration::from_secs(10), handler.started.notified())
        .await
        .unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        1,
        "the running job finished, the next was left"
    );
    assert_eq!(app.store().job_queue_depth().await.unwrap(), 1);
}
