//! Tails the outbox and broadcasts each new event to the live streams (SSE) and the relay
//! scheduler. It follows the store, not local writes, so events written by a `wharf
//! worker` or another replica reach this process's pages too.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use crate::domain::OutboxEvent;
use crate::store::Store;

/// How often the hub looks for events nobody woke it for (other processes' writes).
const POLL: Duration = Duration::from_millis(200);
const BATCH: i64 = 500;

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<OutboxEvent>>,
    wake: Arc<Notify>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
            wake: Arc::new(Notify::new()),
        }
    }
}

impl Hub {
    /// Every event written from now on. A receiver that falls more than 1,024 events
    /// behind is told it lagged; the stream then resumes from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OutboxEvent>> {
        self.sender.subscribe()
    }

    /// Look at the outbox now: something was just written here.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn run(self, store: Arc<dyn Store>, mut shutdown: watch::Receiver<bool>) {
        let mut last = loop {
            match store.latest_event_seq().await {
                Ok(seq) => break seq,
                Err(error) => {
                    tracing::warn!(%error, "event hub cannot read the outbox");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        while !*shutdown.borrow() {
            match store.events_after(last, BATCH).await {
                Ok(events) if !events.is_empty() => {
                    for event in events {
                        last = event.seq;
                        // Nobody listening is fine: the events stay in the outbox.
                        let _ = self.sender.send(Arc::new(event));
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "event hub cannot read the outbox"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
