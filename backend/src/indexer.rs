//! Keeps the search index in step with the store by following the outbox: every event about
//! a product (`products/<slug>`) re-indexes that product. Each replica runs its own indexer
//! over its own index, so an edit on one replica is searchable on all of them within a poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::domain::{Product, Slug, markdown};
use crate::search::{CatalogIndex, ColumnDoc, ProductDoc, TableDoc};
use crate::store::{Store, StoreError};

/// How often the indexer looks for events written by other processes.
const POLL: Duration = Duration::from_millis(300);
const BATCH: i64 = 500;

pub struct Indexer {
    store: Arc<dyn Store>,
    index: Arc<CatalogIndex>,
    wake: Arc<Notify>,
}

impl Indexer {
    pub fn new(store: Arc<dyn Store>, index: Arc<CatalogIndex>, wake: Arc<Notify>) -> Self {
        Self { store, index, wake }
    }

    /// Bring the index up to date at start-up: rebuild it when it is new, or when it is ahead
    /// of this database (it belongs to another one); otherwise replay what it missed.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        let latest = self.store.latest_event_seq().await?;
        let indexed = self.index.indexed_seq();
        if indexed == 0 || indexed > latest {
            self.rebuild(latest).await
        } else {
            self.catch_up().await
        }
    }

    /// Index every product from the store.
    pub async fn rebuild(&self, seq: i64) -> anyhow::Result<()> {
        let products = self.store.list_products().await?;
        let docs = self.documents(products).await?;
        let index = self.index.clone();
        let count = docs.len();
        tokio::task::spawn_blocking(move || index.rebuild(docs.into_iter(), seq)).await??;
        tracing::info!(products = count, seq, "search index rebuilt");
        Ok(())
    }

    /// Apply every outbox event after the index's sequence number.
    pub async fn catch_up(&self) -> anyhow::Result<()> {
        loop {
            let events = self
                .store
                .events_after(self.index.indexed_seq(), BATCH)
                .await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            let mut slugs: Vec<String> = events
                .iter()
                .filter_map(|e| e.subject.strip_prefix("products/").map(str::to_owned))
                .collect();
            slugs.sort();
            slugs.dedup();
            let mut products = Vec::new();
            let mut removed = Vec::new();
            for slug in slugs {
                let Ok(slug) = Slug::parse(&slug) else {
                    continue;
                };
                match self.store.product_by_slug(&slug).await {
                    Ok(product) => products.push(product),
                    Err(StoreError::NotFound) => {
                        if let Some(id) = events
                            .iter()
                            .find(|e| e.subject == format!("products/{slug}"))
                            .and_then(|e| e.data["id"].as_str())
                            .and_then(|id| id.parse().ok())
                        {
                            removed.push(id);
                        }
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            let docs = self.documents(products).await?;
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.apply(&docs, &removed, last)).await??;
        }
    }

    async fn documents(&self, products: Vec<Product>) -> anyhow::Result<Vec<ProductDoc>> {
        let ids: Vec<_> = products.iter().map(|p| p.id).collect();
        let assets = self.store.assets_of(&ids).await?;
        Ok(products
            .into_iter()
            .map(|product| ProductDoc {
                id: product.id.0,
                slug: product.slug.to_string(),
                description: markdown::plain_text(&product.description),
                domain: product.domain_name.clone(),
                classification: product.classification.to_string(),
                owner_team: product.owner_team.to_string(),
                environment: product.environment_name.clone(),
                is_draft: product.status == crate::domain::ProductStatus::Draft,
                stewards: product.stewards.iter().map(|s| s.id.0).collect(),
                tables: assets
                    .iter()
                    .filter(|a| a.product_id == product.id && a.removed_at.is_none())
                    .map(|a| TableDoc {
                        id: a.id.0,
                        database: a.database.clone(),
                        name: a.table.clone(),
                        description: a.description.clone(),
                        columns: a
                            .columns
                            .iter()
                            .map(|c| ColumnDoc {
                                name: c.name.clone(),
                                data_type: c.data_type.clone(),
                                description: c.description.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
                tags: product.tags,
                name: product.name,
            })
            .collect())
    }

    /// Follow the outbox until shutdown: at once when woken by a local write, else by polling.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(error) = self.catch_up().await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "search index could not catch up"
                );
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
