//! Delivering the outbox to everyone who should know: a relay (a durable job) hands each
//! event, in sequence order, to every configured sink — DynamoDB, webhook fan-out, in-app
//! notifications — each with its own cursor, so a slow or failing sink holds up only
//! itself. The hub tails the outbox for the live stream the pages listen to.

pub mod dynamodb;
mod hub;
mod notify;
mod relay;
pub mod webhooks;

pub use hub::Hub;
pub use notify::NotificationSink;
pub use relay::{EventSink, RELAY_JOB, Relay, RelayJob, schedule_relay};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::store::{Store, now};

/// The sinks the configuration asks for: notifications and webhooks always, DynamoDB
/// when a table is named.
pub fn sinks(config: &Config, store: &Arc<dyn Store>) -> Vec<Arc<dyn EventSink>> {
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![
        Arc::new(NotificationSink(store.clone())),
        Arc::new(webhooks::WebhookFanout(store.clone())),
    ];
    if let Some(table) = &config.events_dynamodb_table {
        sinks.push(Arc::new(dynamodb::DynamoDbSink::new(
            store.clone(),
            table.clone(),
            config.public_url.clone(),
            config.aws_endpoint_url.clone(),
            config.events_dynamodb_create,
        )));
    }
    sinks
}

/// How far ahead requesters are told their access is ending.
const EXPIRY_WARNING: time::Duration = time::Duration::days(3);

/// Tell requesters, once, when their access ends within three days.
pub async fn warn_expiring(
    store: Arc<dyn Store>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match store.warn_expiring(now() + EXPIRY_WARNING).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "requesters told their access ends soon"),
            Err(error) => tracing::warn!(%error, "cannot look for access ending soon"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
