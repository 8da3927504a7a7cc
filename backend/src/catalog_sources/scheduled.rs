//! Re-sync on a schedule: a durable job per `aws` product (`catalog.resync`), enqueued
//! every `resync_interval_minutes`, so schema drift is recorded even when nobody asks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};

use super::source_for;
use super::sync::resync_product;
use crate::domain::{Actor, EnvironmentKind, ProductId};
use crate::jobs::{JobHandler, JobQueue};
use crate::store::Store;

pub const RESYNC_JOB: &str = "catalog.resync";

/// Runs one product's re-sync.
pub struct ResyncJob {
    pub store: Arc<dyn Store>,
    pub global_endpoint: Option<String>,
    pub index_wake: Arc<Notify>,
}

#[async_trait]
impl JobHandler for ResyncJob {
    async fn run(&self, payload: &serde_json::Value) -> anyhow::Result<()> {
        let id: ProductId = serde_json::from_value(payload["product_id"].clone())?;
        let product = self.store.product_by_id(id).await?;
        let environment = self.store.environment_by_slug(&product.environment).await?;
        let Some(source) = source_for(&environment, self.global_endpoint.as_deref()).await else {
            return Ok(());
        };
        let changes = resync_product(self.store.as_ref(), &source, Actor::System, &product).await?;
        if !changes.is_empty() {
            tracing::info!(product = %product.slug, changes = changes.len(), "scheduled re-sync recorded changes");
            self.index_wake.notify_one();
        }
        Ok(())
    }
}

/// Enqueue a re-sync of every `aws` product now and then every `interval`, until shutdown.
pub async fn schedule(
    store: Arc<dyn Store>,
    jobs: JobQueue,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        match store.list_products().await {
            Ok(products) => {
                for product in products
                    .iter()
                    .filter(|p| p.environment_kind == EnvironmentKind::Aws)
                {
                    let payload = serde_json::json!({ "product_id": product.id });
                    if let Err(error) = jobs.enqueue(RESYNC_JOB, payload).await {
                        tracing::warn!(%error, "could not enqueue a re-sync");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not list products to re-sync"),
        }
    }
}
