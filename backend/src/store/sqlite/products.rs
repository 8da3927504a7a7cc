//! Data products, tables and schema history on SQLite. A product loads in one statement,
//! its tags and stewards as JSON arrays beside it: every statement is a hop to the
//! connection's thread, which costs more than the query itself on a page.

use async_trait::async_trait;
use serde_json::json;
use sqlx::SqliteConnection;

use super::{SqliteStore, parse_id, parse_json, parse_ts, record_change, ts};
use crate::domain::*;
use crate::store::common::sqlite_peers::environments::team_id;
use crate::store::{ProductStore, ResyncOutcome, StoreError, StoreResult, now};

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: String,
    slug: String,
    name: String,
    description: String,
    domain_slug: String,
    domain_name: String,
    owner_team: String,
    environment_slug: String,
    environment_name: String,
    environment_kind: String,
    classification: String,
    status: String,
    auto_approve: bool,
    max_access_days: i32,
    version: i64,
    created_at: String,
    updated_at: String,
    /// `["tag", …]`, in tag order.
    tags: String,
    /// `[[id, name, email], …]`, in name order.
    stewards: String,
}

const PRODUCT_SELECT: &str = "SELECT p.id, p.slug, p.name, p.description,
        d.slug AS domain_slug, d.name AS domain_name, t.name AS owner_team,
        e.slug AS environment_slug, e.name AS environment_name, e.kind AS environment_kind,
        p.classification, p.status, p.auto_approve, p.max_access_days, p.version,
        p.created_at, p.updated_at,
        (SELECT json_group_array(tag ORDER BY tag) FROM product_tags
         WHERE product_id = p.id) AS tags,
        (SELECT json_group_array(json_array(u.id, u.name, u.email) ORDER BY u.name)
         FROM product_stewards s JOIN users u ON u.id = s.user_id
         WHERE s.product_id = p.id) AS stewards
     FROM products p
     JOIN domains d ON d.id = p.domain_id
     JOIN teams t ON t.id = p.owner_team_id
     JOIN environments e ON e.id = p.environment_id";

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

fn corrupt(e: Invalid) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl ProductRow {
    fn into_product(self) -> StoreResult<Product> {
        let tags: Vec<String> = from_json(&self.tags)?;
        let stewards: Vec<(String, String, Option<String>)> = from_json(&self.stewards)?;
        let stewards = stewards
            .into_iter()
            .map(|(id, name, email)| {
                Ok(PersonRef {
                    id: parse_id(&id)?,
                    name,
                    email,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Product {
            id: parse_id(&self.id)?,
            slug: Slug::parse(&self.slug).map_err(corrupt)?,
            name: self.name,
            description: self.description,
            domain: Slug::parse(&self.domain_slug).map_err(corrupt)?,
            domain_name: self.domain_name,
            owner_team: TeamName::parse(&self.owner_team).map_err(corrupt)?,
            environment: Slug::parse(&self.environment_slug).map_err(corrupt)?,
            environment_name: self.environment_name,
            environment_kind: EnvironmentKind::parse(&self.environment_kind).map_err(corrupt)?,
            classification: Classification::parse(&self.classification).map_err(corrupt)?,
            status: ProductStatus::parse(&self.status).map_err(corrupt)?,
            tags,
            stewards,
            auto_approve: self.auto_approve,
            max_access_days: self.max_access_days,
            version: self.version,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
        })
    }
}

/// Products matching `filter` (a SQL condition on `p` with one bind), with tags and stewards.
async fn load_products(
    conn: &mut SqliteConnection,
    filter: &str,
    bind: String,
) -> StoreResult<Vec<Product>> {
    let rows: Vec<ProductRow> = sqlx::query_as(&format!(
        "{PRODUCT_SELECT} WHERE {filter} ORDER BY p.name, p.id"
    ))
    .bind(bind)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(ProductRow::into_product).collect()
}

async fn load_one(conn: &mut SqliteConnection, filter: &str, bind: String) -> StoreResult<Product> {
    load_products(conn, filter, bind)
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

/// The ids behind a product's names, or `Invalid` naming what does not exist.
struct Resolved {
    domain: String,
    team: String,
    environment: String,
    stewards: Vec<String>,
}

async fn resolve(conn: &mut SqliteConnection, fields: &ProductFields) -> StoreResult<Resolved> {
    let domain: Option<String> = sqlx::query_scalar("SELECT id FROM domains WHERE slug = ?")
        .bind(fields.domain.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let domain = domain.ok_or_else(|| {
        Invalid::new(
            "domain",
            format!("there is no domain {:?}", fields.domain.as_str()),
        )
    })?;
    let environment: Option<String> =
        sqlx::query_scalar("SELECT id FROM environments WHERE slug = ?")
            .bind(fields.environment.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let environment = environment.ok_or_else(|| {
        Invalid::new(
            "environment",
            format!("there is no environment {:?}", fields.environment.as_str()),
        )
    })?;
    let mut stewards = Vec::new();
    for email in &fields.steward_emails {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = ?")
            .bind(email)
            .fetch_optional(&mut *conn)
            .await?;
        stewards.push(id.ok_or_else(|| {
            Invalid::new(
                "stewards",
                format!("nobody with the email {email} has signed in to Wharf yet"),
            )
        })?);
    }
    let team = team_id(conn, &fields.owner_team).await?;
    Ok(Resolved {
        domain,
        team: team.to_string(),
        environment,
        stewards,
    })
}

async fn replace_tags_and_stewards(
    conn: &mut SqliteConnection,
    product: &str,
    tags: &[String],
    stewards: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_tags WHERE product_id = ?")
        .bind(product)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM product_stewards WHERE product_id = ?")
        .bind(product)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO product_tags (product_id, tag) VALUES (?, ?)")
            .bind(product)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    for steward in stewards {
        sqlx::query("INSERT INTO product_stewards (product_id, user_id) VALUES (?, ?)")
            .bind(product)
            .bind(steward)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn product_event(event_type: EventType, product: &Product) -> NewEvent {
    NewEvent {
        event_type,
        subject: format!("products/{}", product.slug),
        data: json!({
            "id": product.id, "slug": product.slug, "name": product.name, "status": product.status,
            "domain": product.domain, "owner_team": product.owner_team, "version": product.version,
        }),
    }
}

async fn audit_product(
    conn: &mut crate::store::WriteTx<sqlx::Sqlite>,
    actor: Actor,
    action: &str,
    event_type: EventType,
    product: &Product,
    detail: serde_json::Value,
) -> StoreResult<()> {
    let event = product_event(event_type, product);
    record_change(
        conn,
        actor,
        action,
        ("product", &product.id.to_string()),
        &detail,
        event,
    )
    .await
}

type AssetRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
);
/// A column as the assets query aggregates it: name, type, description, PII, partition key.
type ColumnJson = (String, String, String, bool, bool);

#[async_trait]
impl ProductStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn create_product(
        &self,
        actor: Actor,
        slug: &Slug,
        fields: &ProductFields,
    ) -> StoreResult<Product> {
        let mut tx = self.begin().await?;
        let ids = resolve(&mut tx, fields).await?;
        let id = ProductId::new().to_string();
        let now = ts(now());
        sqlx::query(
            "INSERT INTO products (id, slug, name, description, domain_id, owner_team_id, environment_id,
                 classification, status, auto_approve, max_access_days, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(slug.as_str())
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&ids.domain)
        .bind(&ids.team)
        .bind(&ids.environment)
        .bind(fields.classification.as_str())
        .bind(fields.auto_approve)
        .bind(fields.max_access_days)
        .bind(actor.user_id().map(|u| u.to_string()))
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("a product with slug {:?} already exists", slug.as_str())),
            other => other,
        })?;
        replace_tags_and_stewards(&mut tx, &id, &fields.tags, &ids.stewards).await?;
        let product = load_one(&mut tx, "p.id = ?", id).await?;
        audit_product(
            &mut tx,
            actor,
            "product.created",
            EventType::ProductCreated,
            &product,
            json!({"name": product.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    #[tracing::instrument(skip_all)]
    async fn update_product(
        &self,
        actor: Actor,
        id: ProductId,
        expected_version: Option<i64>,
        fields: &ProductFields,
    ) -> StoreResult<Product> {
        let mut tx = self.begin().await?;
        let before = load_one(&mut tx, "p.id = ?", id.to_string()).await?;
        if expected_version.is_some_and(|v| v != before.version) {
            return Err(StoreError::StaleVersion);
        }
        let ids = resolve(&mut tx, fields).await?;
        sqlx::query(
            "UPDATE products SET name = ?, description = ?, domain_id = ?, owner_team_id = ?, environment_id = ?,
                 classification = ?, auto_approve = ?, max_access_days = ?, version = version + 1, updated_at = ?
             WHERE id = ?",
        )
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(&ids.domain)
        .bind(&ids.team)
        .bind(&ids.environment)
        .bind(fields.classification.as_str())
        .bind(fields.auto_approve)
        .bind(fields.max_access_days)
        .bind(ts(now()))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        replace_tags_and_stewards(&mut tx, &id.to_string(), &fields.tags, &ids.stewards).await?;
        let product = load_one(&mut tx, "p.id = ?", id.to_string()).await?;
        audit_product(
            &mut tx,
            actor,
            "product.updated",
            EventType::ProductUpdated,
            &product,
            json!({"version": product.version}),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    #[tracing::instrument(skip_all)]
    async fn set_product_status(
        &self,
        actor: Actor,
        id: ProductId,
        status: ProductStatus,
    ) -> StoreResult<Product> {
        let mut tx = self.begin().await?;
        let before = load_one(&mut tx, "p.id = ?", id.to_string()).await?;
        sqlx::query(
            "UPDATE products SET status = ?1, version = version + 1, updated_at = ?2,
                 published_at = CASE WHEN ?1 = 'published' THEN COALESCE(published_at, ?2) ELSE published_at END
             WHERE id = ?3",
        )
        .bind(status.as_str())
        .bind(ts(now()))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let product = load_one(&mut tx, "p.id = ?", id.to_string()).await?;
        let (action, event) = match status {
            ProductStatus::Published => ("product.published", EventType::ProductPublished),
            ProductStatus::Deprecated => ("product.deprecated", EventType::ProductDeprecated),
            ProductStatus::Draft => ("product.unpublished", EventType::ProductUpdated),
        };
        audit_product(
            &mut tx,
            actor,
            action,
            event,
            &product,
            json!({"from": before.status, "to": status}),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    #[tracing::instrument(skip_all)]
    async fn product_by_slug(&self, slug: &Slug) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await?;
        load_one(&mut conn, "p.slug = ?", slug.to_string()).await
    }

    #[tracing::instrument(skip_all)]
    async fn product_by_id(&self, id: ProductId) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await?;
        load_one(&mut conn, "p.id = ?", id.to_string()).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        let mut conn = self.pool.acquire().await?;
        load_products(&mut conn, "p.id <> ?", String::new()).await
    }

    #[tracing::instrument(skip_all)]
    async fn assets_of(&self, products: &[ProductId]) -> StoreResult<Vec<Asset>> {
        let ids =
            serde_json::to_string(&products.iter().map(|p| p.to_string()).collect::<Vec<_>>())
                .unwrap_or_default();
        let rows: Vec<AssetRow> = sqlx::query_as(
            "SELECT a.id, a.product_id, a.glue_database, a.glue_table, a.description, a.location,
                    a.parameters, a.removed_at, a.last_synced_at,
                    (SELECT json_group_array(
                                json_array(c.name, c.data_type, c.description,
                                           json(iif(c.is_pii, 'true', 'false')),
                                           json(iif(c.is_partition_key, 'true', 'false')))
                                ORDER BY c.position)
                     FROM asset_columns c WHERE c.asset_id = a.id)
             FROM assets a WHERE a.product_id IN (SELECT value FROM json_each(?))
             ORDER BY a.glue_database, a.glue_table",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    product_id,
                    database,
                    table,
                    description,
                    location,
                    parameters,
                    removed_at,
                    synced_at,
                    columns,
                )| {
                    let columns: Vec<ColumnJson> = from_json(&columns)?;
                    Ok(Asset {
                        id: parse_id(&id)?,
                        product_id: parse_id(&product_id)?,
                        database,
                        table,
                        description,
                        location,
                        parameters: parse_json(&parameters)?,
                        columns: columns
                            .into_iter()
                            .map(|(name, data_type, description, is_pii, is_partition_key)| {
                                Column {
                                    name,
                                    data_type,
                                    description,
                                    is_pii,
                                    is_partition_key,
                                }
                            })
                            .collect(),
                        removed_at: removed_at.as_deref().map(parse_ts).transpose()?,
                        last_synced_at: synced_at.as_deref().map(parse_ts).transpose()?,
                    })
                },
            )
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn put_asset(
        &self,
        actor: Actor,
        product: &Product,
        table: &TableDefinition,
    ) -> StoreResult<Asset> {
        let mut tx = self.begin().await?;
        let now = ts(now());
        let asset_id: String = sqlx::query_scalar(
            "INSERT INTO assets (id, product_id, glue_database, glue_table, description, location, parameters,
                                 last_synced_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)
             ON CONFLICT (product_id, glue_database, glue_table) DO UPDATE SET
                 description = excluded.description, location = excluded.location, parameters = excluded.parameters,
                 removed_at = NULL, last_synced_at = excluded.last_synced_at, updated_at = excluded.updated_at
             RETURNING id",
        )
        .bind(AssetId::new().to_string())
        .bind(product.id.to_string())
        .bind(&table.database)
        .bind(&table.table)
        .bind(&table.description)
        .bind(&table.location)
        .bind(table.parameters.to_string())
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        write_columns(&mut tx, &asset_id, &table.columns).await?;
        sqlx::query("UPDATE products SET version = version + 1, updated_at = ? WHERE id = ?")
            .bind(&now)
            .bind(product.id.to_string())
            .execute(&mut *tx)
            .await?;
        let detail = json!({ "asset_id": asset_id, "table": format!("{}.{}", table.database, table.table), "columns": table.columns.len() });
        let mut event = product_event(EventType::ProductAssetsChanged, product);
        event.data["table"] = json!(format!("{}.{}", table.database, table.table));
        record_change(
            &mut tx,
            actor,
            "product.asset_put",
            ("product", &product.id.to_string()),
            &detail,
            event,
        )
        .await?;
        tx.commit().await?;
        let assets = self.assets_of(&[product.id]).await?;
        assets
            .into_iter()
            .find(|a| a.id.to_string() == asset_id)
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all)]
    async fn record_resync(
        &self,
        actor: Actor,
        product: &Product,
        asset: AssetId,
        outcome: &ResyncOutcome,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let now = ts(now());
        let table: (String, String) =
            sqlx::query_as("SELECT glue_database, glue_table FROM assets WHERE id = ?")
                .bind(asset.to_string())
                .fetch_one(&mut *tx)
                .await?;
        let name = format!("{}.{}", table.0, table.1);
        let (changes, refreshed) = match outcome {
            ResyncOutcome::Present {
                definition,
                changes,
                refreshed,
            } => {
                sqlx::query("UPDATE assets SET description = ?1, location = ?2, parameters = ?3, removed_at = NULL, last_synced_at = ?4, updated_at = ?4 WHERE id = ?5")
                    .bind(&definition.description)
                    .bind(&definition.location)
                    .bind(definition.parameters.to_string())
                    .bind(&now)
                    .bind(asset.to_string())
                    .execute(&mut *tx)
                    .await?;
                write_columns(&mut tx, &asset.to_string(), &definition.columns).await?;
                (changes.clone(), *refreshed)
            }
            ResyncOutcome::Removed => {
                sqlx::query("UPDATE assets SET removed_at = COALESCE(removed_at, ?1), last_synced_at = ?1, updated_at = ?1 WHERE id = ?2")
                    .bind(&now)
                    .bind(asset.to_string())
                    .execute(&mut *tx)
                    .await?;
                let removed = SchemaChange::TableRemoved {
                    table: name.clone(),
                };
                (vec![removed], true)
            }
        };
        for change in &changes {
            sqlx::query("INSERT INTO schema_changes (id, product_id, asset_id, change, detected_at) VALUES (?, ?, ?, ?, ?)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(product.id.to_string())
                .bind(asset.to_string())
                .bind(serde_json::to_string(change).unwrap_or_default())
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }
        // Schema changes go to the history; other differences (descriptions, location,
        // parameters) are not history, but what the product says about its tables changed.
        if !changes.is_empty() || refreshed {
            sqlx::query("UPDATE products SET version = version + 1, updated_at = ? WHERE id = ?")
                .bind(&now)
                .bind(product.id.to_string())
                .execute(&mut *tx)
                .await?;
            let (event_type, audit_action, detail) = if changes.is_empty() {
                (
                    EventType::ProductAssetsChanged,
                    "product.asset_refreshed",
                    json!({ "table": name }),
                )
            } else {
                (
                    EventType::ProductSchemaChanged,
                    "product.schema_changed",
                    json!({ "table": name, "changes": changes }),
                )
            };
            let mut event = product_event(event_type, product);
            event.data["table"] = json!(name);
            if !changes.is_empty() {
                event.data["changes"] = json!(changes);
            }
            record_change(
                &mut tx,
                actor,
                audit_action,
                ("product", &product.id.to_string()),
                &detail,
                event,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn schema_history(&self, product: ProductId) -> StoreResult<Vec<SchemaChangeEntry>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT change, detected_at FROM schema_changes WHERE product_id = ? ORDER BY detected_at DESC, id DESC",
        )
        .bind(product.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(change, at)| {
                Ok(SchemaChangeEntry {
                    change: serde_json::from_str(&change)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    detected_at: parse_ts(&at)?,
                })
            })
            .collect()
    }
}

async fn write_columns(
    conn: &mut SqliteConnection,
    asset: &str,
    columns: &[Column],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM asset_columns WHERE asset_id = ?")
        .bind(asset)
        .execute(&mut *conn)
        .await?;
    for (position, column) in columns.iter().enumerate() {
        sqlx::query(
            "INSERT INTO asset_columns (asset_id, position, name, data_type, description, is_pii, is_partition_key)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(asset)
        .bind(position as i64)
        .bind(&column.name)
        .bind(&column.data_type)
        .bind(&column.description)
        .bind(column.is_pii)
        .bind(column.is_partition_key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
