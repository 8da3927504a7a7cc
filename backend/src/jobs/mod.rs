//! The durable job queue's worker: claims jobs from the store, runs the handler for their
//! kind, and records the outcome with exponential backoff. A job that dies mid-way is
//! claimed again after its lease expires, so every handler must be safe to run twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};

use crate::domain::JobId;
use crate::store::{ClaimedJob, NewJob, Store, StoreResult, now};

/// How long a claimed job is ours before another worker may take it over.
const LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for due work that no wake-up announced
/// (retries coming due, jobs enqueued by another process).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, payload: &serde_json::Value) -> anyhow::Result<()>;
}

/// Enqueues jobs and wakes local workers at once.
#[derive(Clone)]
pub struct JobQueue {
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
}

impl JobQueue {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    pub async fn enqueue(&self, kind: &str, payload: serde_json::Value) -> StoreResult<JobId> {
        let id = self
            .store
            .enqueue_job(&NewJob {
                kind: kind.into(),
                payload,
                run_at: now(),
                max_attempts: 10,
            })
            .await?;
        self.wake();
        Ok(id)
    }

    /// Wake local workers: a job was just enqueued (possibly inside another transaction).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }
}

/// A worker loop. Stops between jobs when shutdown is signalled: a running job finishes.
pub struct Worker {
    name: String,
    lease: Duration,
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Worker {
    pub fn new(queue: &JobQueue) -> Self {
        Self {
            name: format!("{}-{}", hostname(), uuid::Uuid::now_v7().simple()),
            lease: LEASE,
            store: queue.store.clone(),
            wake: queue.wake.clone(),
            handlers: HashMap::new(),
        }
    }

    /// How long a claimed job stays this worker's (a dead worker's jobs wait this long).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn with_handler(mut self, kind: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    /// Run until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.name, "worker started");
        while !*shutdown.borrow() {
            let wake = self.wake.notified();
            match self.store.claim_job(&self.name, self.lease).await {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = wake => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not claim a job");
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
        tracing::info!(worker = %self.name, "worker stopped");
    }

    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind, attempt = job.attempts))]
    async fn run_job(&self, job: ClaimedJob) {
        let outcome = match self.handlers.get(job.kind.as_str()) {
            Some(handler) => handler.run(&job.payload).await,
            None => Err(anyhow::anyhow!("no handler for job kind {:?}", job.kind)),
        };
        let recorded = match outcome {
            Ok(()) => self.store.complete_job(job.id, &self.name).await,
            Err(error) => {
                let message = format!("{error:#}");
                let retry_at = (job.attempts < job.max_attempts
                    && self.handlers.contains_key(job.kind.as_str()))
                .then(|| now() + backoff(job.attempts));
                tracing::warn!(error = %message, retrying = retry_at.is_some(), "job failed");
                self.store
                    .fail_job(job.id, &self.name, &message, retry_at)
                    .await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%error, "could not record the job's outcome; its lease will expire");
        }
    }
}

/// Exponential backoff: 1 s, 2 s, 4 s … capped at 10 minutes.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = attempt.clamp(1, 20) as u32 - 1;
    Duration::from_secs(2u64.saturating_pow(exponent).min(600))
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "wharf".into())
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(600));
    }
}
