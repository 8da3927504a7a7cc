//! Importing tables into a product and re-syncing them with their catalog.

use crate::catalog_sources::{CatalogSource, SourceError};
use crate::domain::{Actor, Asset, Product, SchemaChange, TableDefinition, diff_columns};
use crate::store::{ResyncOutcome, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Add tables from the catalog to a product. Every table is looked up first: if one is
/// missing, nothing is written and the error names it.
pub async fn import_tables(
    store: &dyn Store,
    source: &dyn CatalogSource,
    actor: Actor,
    product: &Product,
    tables: &[(String, String)],
) -> Result<Vec<Asset>, SyncError> {
    let mut definitions = Vec::with_capacity(tables.len());
    for (database, table) in tables {
        let definition = source
            .get_table(database, table)
            .await?
            .ok_or_else(|| SourceError::TableNotFound(format!("{database}.{table}")))?;
        definitions.push(definition);
    }
    put_tables(store, actor, product, &definitions).await
}

/// Add or refresh tables defined by hand (the sandbox) or already fetched.
pub async fn put_tables(
    store: &dyn Store,
    actor: Actor,
    product: &Product,
    definitions: &[TableDefinition],
) -> Result<Vec<Asset>, SyncError> {
    let mut assets = Vec::with_capacity(definitions.len());
    for definition in definitions {
        assets.push(store.put_asset(actor, product, definition).await?);
    }
    Ok(assets)
}

/// Compare every table of the product with its catalog; record and return what changed.
pub async fn resync_product(
    store: &dyn Store,
    source: &dyn CatalogSource,
    actor: Actor,
    product: &Product,
) -> Result<Vec<SchemaChange>, SyncError> {
    let mut all_changes = Vec::new();
    for asset in store.assets_of(&[product.id]).await? {
        if asset.removed_at.is_some() {
            continue;
        }
        let outcome = match source.get_table(&asset.database, &asset.table).await? {
            None => ResyncOutcome::Removed,
            Some(mut definition) => {
                // PII flags and descriptions written in Wharf survive a re-sync.
                for column in &mut definition.columns {
                    if let Some(before) = asset.columns.iter().find(|c| c.name == column.name) {
                        column.is_pii = before.is_pii;
                        if column.description.is_empty() {
                            column.description.clone_from(&before.description);
                        }
                    }
                }
                let name = format!("{}.{}", asset.database, asset.table);
                let changes = diff_columns(&name, &asset.columns, &definition.columns);
                ResyncOutcome::Present {
                    refreshed: !asset.is_defined_by(&definition),
                    definition,
                    changes,
                }
            }
        };
        match &outcome {
            ResyncOutcome::Removed => all_changes.push(SchemaChange::TableRemoved {
                table: format!("{}.{}", asset.database, asset.table),
            }),
            ResyncOutcome::Present { changes, .. } => all_changes.extend(changes.iter().cloned()),
        }
        store
            .record_resync(actor, product, asset.id, &outcome)
            .await?;
    }
    Ok(all_changes)
}
