//! Data products, tables and schema history on PostgreSQL. Lists load in three statements
//! (products, tags, stewards), never one per product.

use async_trait::async_trait;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, record_change};
use crate::domain::*;
use crate::store::common::postgres_peers::environments::team_id;
use crate::store::{ProductStore, ResyncOutcome, StoreError, StoreResult, now};

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
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
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

const PRODUCT_SELECT: &str = "SELECT p.id, p.slug, p.name, p.description,
        d.slug AS domain_slug, d.name AS domain_name, t.name AS owner_team,
        e.slug AS environment_slug, e.name AS environment_name, e.kind AS environment_kind,
        p.classification, p.status, p.auto_approve, p.max_access_days, p.version::BIGINT AS version,
        p.created_at, p.updated_at
     FROM products p
     JOIN domains d ON d.id = p.domain_id
     JOIN teams t ON t.id = p.owner_team_id
     JOIN environments e ON e.id = p.environment_id";

fn corrupt(e: Invalid) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl ProductRow {
    fn into_product(self, tags: Vec<String>, stewards: Vec<PersonRef>) -> StoreResult<Product> {
        Ok(Product {
            id: ProductId(self.id),
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
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Which products to load.
enum Which<'a> {
    All,
    Id(ProductId),
    Slug(&'a Slug),
}

async fn load_products(conn: &mut PgConnection, which: Which<'_>) -> StoreResult<Vec<Product>> {
    let all = format!("{PRODUCT_SELECT} ORDER BY p.name, p.id");
    let by_id = format!("{PRODUCT_SELECT} WHERE p.id = $1");
    let by_slug = format!("{PRODUCT_SELECT} WHERE p.slug = $1");
    let query = match which {
        Which::All => sqlx::query_as(&all),
        Which::Id(id) => sqlx::query_as(&by_id).bind(id.0),
        Which::Slug(slug) => sqlx::query_as(&by_slug).bind(slug.as_str()),
    };
    let rows: Vec<ProductRow> = query.fetch_all(&mut *conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let tags: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT product_id, tag FROM product_tags WHERE product_id = ANY($1) ORDER BY tag",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let stewards: Vec<(Uuid, Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT s.product_id, u.id, u.name, u.email FROM product_stewards s JOIN users u ON u.id = s.user_id
         WHERE s.product_id = ANY($1) ORDER BY u.name",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let own_tags = tags
                .iter()
                .filter(|(p, _)| *p == row.id)
                .map(|(_, t)| t.clone())
                .collect();
            let own_stewards = stewards
                .iter()
                .filter(|(p, ..)| *p == row.id)
                .map(|(_, id, name, email)| PersonRef {
                    id: UserId(*id),
                    name: name.clone(),
                    email: email.clone(),
                })
                .collect();
            row.into_product(own_tags, own_stewards)
        })
        .collect()
}

async fn load_one(conn: &mut PgConnection, which: Which<'_>) -> StoreResult<Product> {
    load_products(conn, which)
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

struct Resolved {
    domain: Uuid,
    team: Uuid,
    environment: Uuid,
    stewards: Vec<Uuid>,
}

async fn resolve(conn: &mut PgConnection, fields: &ProductFields) -> StoreResult<Resolved> {
    let domain: Option<Uuid> = sqlx::query_scalar("SELECT id FROM domains WHERE slug = $1")
        .bind(fields.domain.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let domain = domain.ok_or_else(|| {
        Invalid::new(
            "domain",
            format!("there is no domain {:?}", fields.domain.as_str()),
        )
    })?;
    let environment: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM environments WHERE slug = $1")
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
        let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1")
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
        team: team.0,
        environment,
        stewards,
    })
}

async fn replace_tags_and_stewards(
    conn: &mut PgConnection,
    product: Uuid,
    tags: &[String],
    stewards: &[Uuid],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM product_tags WHERE product_id = $1")
        .bind(product)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM product_stewards WHERE product_id = $1")
        .bind(product)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO product_tags (product_id, tag) SELECT $1, unnest($2::TEXT[])")
        .bind(product)
        .bind(tags)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO product_stewards (product_id, user_id) SELECT $1, unnest($2::UUID[])")
        .bind(product)
        .bind(stewards)
        .execute(&mut *conn)
        .await?;
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
    tx: &mut crate::store::WriteTx<sqlx::Postgres>,
    actor: Actor,
    action: &str,
    event_type: EventType,
    product: &Product,
    detail: serde_json::Value,
) -> StoreResult<()> {
    let event = product_event(event_type, product);
    record_change(
        tx,
        actor,
        action,
        ("product", &product.id.to_string()),
        &detail,
        event,
    )
    .await
}

async fn bump_version(conn: &mut PgConnection, product: ProductId) -> StoreResult<()> {
    sqlx::query("UPDATE products SET version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(product.0)
        .execute(conn)
        .await?;
    Ok(())
}

type AssetRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    Option<String>,
    serde_json::Value,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
);
type ColumnRow = (Uuid, String, String, String, bool, bool);

#[async_trait]
impl ProductStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_product(
        &self,
        actor: Actor,
        slug: &Slug,
        fields: &ProductFields,
    ) -> StoreResult<Product> {
        let mut tx = self.begin().await?;
        let ids = resolve(&mut tx, fields).await?;
        let id = ProductId::new();
        sqlx::query(
            "INSERT INTO products (id, slug, name, description, domain_id, owner_team_id, environment_id,
                 classification, status, auto_approve, max_access_days, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $12, $12)",
        )
        .bind(id.0)
        .bind(slug.as_str())
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(ids.domain)
        .bind(ids.team)
        .bind(ids.environment)
        .bind(fields.classification.as_str())
        .bind(fields.auto_approve)
        .bind(fields.max_access_days)
        .bind(actor.user_id().map(|u| u.0))
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("a product with slug {:?} already exists", slug.as_str())),
            other => other,
        })?;
        replace_tags_and_stewards(&mut tx, id.0, &fields.tags, &ids.stewards).await?;
        let product = load_one(&mut tx, Which::Id(id)).await?;
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
        let locked: Option<i64> =
            sqlx::query_scalar("SELECT version::BIGINT FROM products WHERE id = $1 FOR UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let version = locked.ok_or(StoreError::NotFound)?;
        if expected_version.is_some_and(|v| v != version) {
            return Err(StoreError::StaleVersion);
        }
        let ids = resolve(&mut tx, fields).await?;
        sqlx::query(
            "UPDATE products SET name = $1, description = $2, domain_id = $3, owner_team_id = $4, environment_id = $5,
                 classification = $6, auto_approve = $7, max_access_days = $8, version = version + 1, updated_at = $9
             WHERE id = $10",
        )
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(ids.domain)
        .bind(ids.team)
        .bind(ids.environment)
        .bind(fields.classification.as_str())
        .bind(fields.auto_approve)
        .bind(fields.max_access_days)
        .bind(now())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        replace_tags_and_stewards(&mut tx, id.0, &fields.tags, &ids.stewards).await?;
        let product = load_one(&mut tx, Which::Id(id)).await?;
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
        let before = load_one(&mut tx, Which::Id(id)).await?;
        sqlx::query(
            "UPDATE products SET status = $1, version = version + 1, updated_at = $2,
                 published_at = CASE WHEN $1 = 'published' THEN COALESCE(published_at, $2) ELSE published_at END
             WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(now())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let product = load_one(&mut tx, Which::Id(id)).await?;
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
        load_one(&mut conn, Which::Slug(slug)).await
    }

    #[tracing::instrument(skip_all)]
    async fn product_by_id(&self, id: ProductId) -> StoreResult<Product> {
        let mut conn = self.pool.acquire().await?;
        load_one(&mut conn, Which::Id(id)).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_products(&self) -> StoreResult<Vec<Product>> {
        let mut conn = self.pool.acquire().await?;
        load_products(&mut conn, Which::All).await
    }

    #[tracing::instrument(skip_all)]
    async fn assets_of(&self, products: &[ProductId]) -> StoreResult<Vec<Asset>> {
        let ids: Vec<Uuid> = products.iter().map(|p| p.0).collect();
        let rows: Vec<AssetRow> = sqlx::query_as(
            "SELECT id, product_id, glue_database, glue_table, description, location, parameters, removed_at, last_synced_at
             FROM assets WHERE product_id = ANY($1) ORDER BY glue_database, glue_table",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        let columns: Vec<ColumnRow> = sqlx::query_as(
            "SELECT c.asset_id, c.name, c.data_type, c.description, c.is_pii, c.is_partition_key
             FROM asset_columns c JOIN assets a ON a.id = c.asset_id
             WHERE a.product_id = ANY($1) ORDER BY c.asset_id, c.position",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
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
                    last_synced_at,
                )| {
                    let own = columns
                        .iter()
                        .filter(|c| c.0 == id)
                        .map(
                            |(_, name, data_type, description, is_pii, is_partition_key)| Column {
                                name: name.clone(),
                                data_type: data_type.clone(),
                                description: description.clone(),
                                is_pii: *is_pii,
                                is_partition_key: *is_partition_key,
                            },
                        )
                        .collect();
                    Asset {
                        id: AssetId(id),
                        product_id: ProductId(product_id),
                        database,
                        table,
                        description,
                        location,
                        parameters,
                        columns: own,
                        removed_at,
                        last_synced_at,
                    }
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn put_asset(
        &self,
        actor: Actor,
        product: &Product,
        table: &TableDefinition,
    ) -> StoreResult<Asset> {
        let mut tx = self.begin().await?;
        let asset_id: Uuid = sqlx::query_scalar(
            "INSERT INTO assets (id, product_id, glue_database, glue_table, description, location, parameters,
                                 last_synced_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)
             ON CONFLICT (product_id, glue_database, glue_table) DO UPDATE SET
                 description = excluded.description, location = excluded.location, parameters = excluded.parameters,
                 removed_at = NULL, last_synced_at = excluded.last_synced_at, updated_at = excluded.updated_at
             RETURNING id",
        )
        .bind(AssetId::new().0)
        .bind(product.id.0)
        .bind(&table.database)
        .bind(&table.table)
        .bind(&table.description)
        .bind(&table.location)
        .bind(&table.parameters)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        write_columns(&mut tx, asset_id, &table.columns).await?;
        bump_version(&mut tx, product.id).await?;
        let name = format!("{}.{}", table.database, table.table);
        let detail = json!({ "asset_id": asset_id, "table": name, "columns": table.columns.len() });
        let mut event = product_event(EventType::ProductAssetsChanged, product);
        event.data["table"] = json!(name);
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
            .find(|a| a.id.0 == asset_id)
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
        let now = now();
        let table: (String, String) =
            sqlx::query_as("SELECT glue_database, glue_table FROM assets WHERE id = $1")
                .bind(asset.0)
                .fetch_one(&mut *tx)
                .await?;
        let name = format!("{}.{}", table.0, table.1);
        let (changes, refreshed) = match outcome {
            ResyncOutcome::Present {
                definition,
                changes,
                refreshed,
            } => {
                sqlx::query(
                    "UPDATE assets SET description = $1, location = $2, parameters = $3, removed_at = NULL,
                         last_synced_at = $4, updated_at = $4 WHERE id = $5",
                )
                .bind(&definition.description)
                .bind(&definition.location)
                .bind(&definition.parameters)
                .bind(now)
                .bind(asset.0)
                .execute(&mut *tx)
                .await?;
                write_columns(&mut tx, asset.0, &definition.columns).await?;
                (changes.clone(), *refreshed)
            }
            ResyncOutcome::Removed => {
                sqlx::query(
                    "UPDATE assets SET removed_at = COALESCE(removed_at, $1), last_synced_at = $1, updated_at = $1
                     WHERE id = $2",
                )
                .bind(now)
                .bind(asset.0)
                .execute(&mut *tx)
                .await?;
                let removed = SchemaChange::TableRemoved {
                    table: name.clone(),
                };
                (vec![removed], true)
            }
        };
        for change in &changes {
            sqlx::query("INSERT INTO schema_changes (id, product_id, asset_id, change, detected_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::now_v7())
                .bind(product.id.0)
                .bind(asset.0)
                .bind(json!(change))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        // Schema changes go to the history; other differences (descriptions, location,
        // parameters) are not history, but what the product says about its tables changed.
        if !changes.is_empty() || refreshed {
            bump_version(&mut tx, product.id).await?;
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
        let rows: Vec<(serde_json::Value, OffsetDateTime)> = sqlx::query_as(
            "SELECT change, detected_at FROM schema_changes WHERE product_id = $1 ORDER BY detected_at DESC, id DESC",
        )
        .bind(product.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(change, detected_at)| {
                Ok(SchemaChangeEntry {
                    change: serde_json::from_value(change)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    detected_at,
                })
            })
            .collect()
    }
}

async fn write_columns(
    conn: &mut PgConnection,
    asset: Uuid,
    columns: &[Column],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM asset_columns WHERE asset_id = $1")
        .bind(asset)
        .execute(&mut *conn)
        .await?;
    for (position, column) in columns.iter().enumerate() {
        sqlx::query(
            "INSERT INTO asset_columns (asset_id, position, name, data_type, description, is_pii, is_partition_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(asset)
        .bind(position as i32)
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
