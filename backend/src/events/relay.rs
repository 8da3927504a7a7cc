//! The relay: a durable job that reads the outbox in sequence order and hands it to every
//! sink. Each sink keeps its own cursor, moved in the same transaction as its writes (or,
//! for DynamoDB, after conditional puts that a replay cannot duplicate), so a crash at any
//! point resumes where it stopped and never skips an event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{broadcast, watch};

use crate::domain::OutboxEvent;
use crate::jobs::{JobHandler, JobQueue};
use crate::store::{NewJob, Store, now};

pub const RELAY_JOB: &str = "events.relay";
const BATCH: i64 = 200;
/// How long one relay job may run before it makes way for other jobs.
const BUDGET: Duration = Duration::from_millis(500);
/// How often the scheduler checks for work nobody announced (a sink that failed).
const CHECK: Duration = Duration::from_secs(1);
const AGAIN: Duration = Duration::from_millis(50);

/// A destination for events.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// The name its cursor is kept under.
    fn name(&self) -> &'static str;
    /// Handle `events` (in sequence order, the first right after `from`) and move this
    /// sink's cursor from `from` to the last one's sequence number.
    async fn deliver(&self, from: i64, events: &[OutboxEvent]) -> anyhow::Result<()>;
}

pub struct Relay {
    store: Arc<dyn Store>,
    sinks: Vec<Arc<dyn EventSink>>,
    /// Sinks that failed, with how often in a row and when to try them again. A failing
    /// sink backs off alone; the others keep delivering.
    backoff: Mutex<HashMap<&'static str, (i32, Instant)>>,
}

impl Relay {
    pub fn new(store: Arc<dyn Store>, sinks: Vec<Arc<dyn EventSink>>) -> Self {
        Self {
            store,
            sinks,
            backoff: Mutex::default(),
        }
    }

    /// Deliver to every sink until each is caught up or `budget` is spent. Sinks run side
    /// by side, so a slow one does not hold up the others.
    pub async fn drain(&self, budget: Duration) {
        let deadline = Instant::now() + budget;
        let ready: Vec<&Arc<dyn EventSink>> =
            self.sinks.iter().filter(|s| self.ready(s.name())).collect();
        let results = futures::future::join_all(
            ready
                .iter()
                .map(|sink| self.drain_sink(sink.as_ref(), deadline)),
        )
        .await;
        let mut backoff = self.backoff.lock().expect("relay backoff lock");
        for (sink, result) in ready.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    backoff.remove(sink.name());
                }
                Err(error) => {
                    let failures = backoff.get(sink.name()).map_or(0, |b| b.0) + 1;
                    let pause = crate::jobs::backoff(failures);
                    tracing::warn!(
                        sink = sink.name(),
                        error = format!("{error:#}"),
                        retry_in_secs = pause.as_secs(),
                        "event sink failed"
                    );
                    backoff.insert(sink.name(), (failures, Instant::now() + pause));
                }
            }
        }
    }

    fn ready(&self, sink: &str) -> bool {
        let backoff = self.backoff.lock().expect("relay backoff lock");
        backoff
            .get(sink)
            .is_none_or(|(_, at)| *at <= Instant::now())
    }

    async fn drain_sink(&self, sink: &dyn EventSink, deadline: Instant) -> anyhow::Result<()> {
        loop {
            let from = self.store.sink_cursor(sink.name()).await?;
            let events = self.store.events_after(from, BATCH).await?;
            if events.is_empty() {
                return Ok(());
            }
            sink.deliver(from, &events).await?;
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// Whether some sink that is not backing off has events left to handle.
    pub async fn behind(&self) -> anyhow::Result<bool> {
        let latest = self.store.latest_event_seq().await?;
        for sink in self.sinks.iter().filter(|s| self.ready(s.name())) {
            if self.store.sink_cursor(sink.name()).await? < latest {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The relay as a job kind: any worker (in `serve` or `wharf worker`) may run it, and the
/// job's lease keeps two workers from relaying at once.
pub struct RelayJob(pub Arc<Relay>);

#[async_trait]
impl JobHandler for RelayJob {
    async fn run(&self, _payload: &serde_json::Value) -> anyhow::Result<()> {
        self.0.drain(BUDGET).await;
        Ok(())
    }
}

/// Enqueue a relay job whenever the outbox has events some sink has not handled and no
/// relay job is already waiting.
pub async fn schedule_relay(
    relay: Arc<Relay>,
    store: Arc<dyn Store>,
    queue: JobQueue,
    mut written: broadcast::Receiver<Arc<OutboxEvent>>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let behind = relay.behind().await;
        match &behind {
            Ok(true) => {
                let job = NewJob {
                    kind: RELAY_JOB.into(),
                    payload: serde_json::json!({}),
                    run_at: now(),
                    max_attempts: 20,
                };
                match store.enqueue_job_once(&job).await {
                    Ok(Some(_)) => queue.wake(),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "cannot enqueue the event relay"),
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot read the event sinks' progress"),
        }
        // While behind, look again soon: the job in flight may stop at its budget.
        let pause = if matches!(behind, Ok(true)) {
            AGAIN
        } else {
            CHECK
        };
        tokio::select! {
            _ = written.recv() => {}
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}
