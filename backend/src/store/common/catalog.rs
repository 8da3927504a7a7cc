//! Domains and environments.

use async_trait::async_trait;
use serde_json::json;

use crate::domain::*;
use crate::store::types::Ts;
use crate::store::{CatalogStore, StoreError, StoreResult, now};

#[derive(sqlx::FromRow)]
pub(super) struct DomainRow {
    id: DomainId,
    slug: String,
    name: String,
    description: String,
    created_at: Ts,
}

impl DomainRow {
    pub(super) fn into_domain(self) -> StoreResult<BusinessDomain> {
        Ok(BusinessDomain {
            id: self.id,
            slug: Slug::parse(&self.slug).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            name: self.name,
            description: self.description,
            created_at: self.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EnvironmentRow {
    id: EnvironmentId,
    slug: String,
    name: String,
    kind: String,
    aws_account_id: Option<String>,
    aws_region: Option<String>,
    aws_role_arn: Option<String>,
    endpoint_url: Option<String>,
    owner_team: Option<String>,
}

impl EnvironmentRow {
    pub(super) fn into_environment(self) -> StoreResult<Environment> {
        let corrupt = |e: Invalid| StoreError::Corrupt(e.to_string());
        Ok(Environment {
            id: self.id,
            slug: Slug::parse(&self.slug).map_err(corrupt)?,
            name: self.name,
            kind: EnvironmentKind::parse(&self.kind).map_err(corrupt)?,
            aws_account_id: self.aws_account_id,
            aws_region: self.aws_region,
            aws_role_arn: self.aws_role_arn,
            endpoint_url: self.endpoint_url,
            owner_team: self
                .owner_team
                .map(|team| TeamName::parse(&team))
                .transpose()
                .map_err(corrupt)?,
        })
    }
}

pub(super) const DOMAIN_COLUMNS: &str = "id, slug, name, description, created_at";
pub(super) const ENVIRONMENT_COLUMNS: &str =
    "id, slug, name, kind, aws_account_id, aws_region, aws_role_arn, endpoint_url,
     (SELECT t.name FROM teams t WHERE t.id = environments.owner_team_id) AS owner_team";

for_both! {
    use peers::changes::record_change;

    #[async_trait]
    impl CatalogStore for Store {
        #[tracing::instrument(skip_all)]
        async fn create_domain(&self, actor: Actor, domain: &NewDomain) -> StoreResult<BusinessDomain> {
            let now = now();
            let mut tx = self.begin().await?;
            let row: DomainRow = sqlx::query_as(&format!(
                "INSERT INTO domains (id, slug, name, description, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING {DOMAIN_COLUMNS}"
            ))
            .bind(DomainId::new())
            .bind(domain.slug.as_str())
            .bind(&domain.name)
            .bind(&domain.description)
            .bind(Ts(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "a domain with slug {:?} already exists",
                    domain.slug.as_str()
                )),
                other => other,
            })?;
            let created = row.into_domain()?;
            let data = json!({ "id": created.id, "slug": created.slug, "name": created.name });
            record_change(
                &mut tx,
                actor,
                "domain.created",
                ("domain", &created.id.to_string()),
                &data,
                NewEvent {
                    event_type: EventType::DomainCreated,
                    subject: format!("domains/{}", created.slug),
                    data: data.clone(),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(created)
        }

        #[tracing::instrument(skip_all)]
        async fn list_domains(&self) -> StoreResult<Vec<BusinessDomain>> {
            let rows: Vec<DomainRow> = sqlx::query_as(&format!(
                "SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY name, id"
            ))
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter().map(DomainRow::into_domain).collect()
        }

        #[tracing::instrument(skip_all)]
        async fn domain_by_slug(&self, slug: &Slug) -> StoreResult<BusinessDomain> {
            let row: DomainRow = sqlx::query_as(&format!(
                "SELECT {DOMAIN_COLUMNS} FROM domains WHERE slug = $1"
            ))
            .bind(slug.as_str())
            .fetch_one(&self.pool)
            .await?;
            row.into_domain()
        }

        #[tracing::instrument(skip_all)]
        async fn ensure_sandbox_environment(&self) -> StoreResult<Environment> {
            sqlx::query(
                "INSERT INTO environments (id, slug, name, kind, created_at, updated_at)
                 VALUES ($1, 'sandbox', 'Sandbox', 'sandbox', $2, $2)
                 ON CONFLICT (slug) DO NOTHING",
            )
            .bind(EnvironmentId::new())
            .bind(Ts(now()))
            .execute(&self.pool)
            .await?;
            let row: EnvironmentRow = sqlx::query_as(&format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE slug = 'sandbox'"
            ))
            .fetch_one(&self.pool)
            .await?;
            row.into_environment()
        }

        #[tracing::instrument(skip_all)]
        async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
            let rows: Vec<EnvironmentRow> = sqlx::query_as(&format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM environments ORDER BY name, id"
            ))
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(EnvironmentRow::into_environment)
                .collect()
        }

        #[tracing::instrument(skip_all)]
        async fn catalog_counts(&self) -> StoreResult<CatalogCounts> {
            let (domains, products, assets, environments): (i64, i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM domains),
                        (SELECT COUNT(*) FROM products WHERE status <> 'draft'),
                        (SELECT COUNT(*) FROM assets a JOIN products p ON p.id = a.product_id
                          WHERE a.removed_at IS NULL AND p.status <> 'draft'),
                        (SELECT COUNT(*) FROM environments)",
            )
            .fetch_one(&self.pool)
            .await?;
            Ok(CatalogCounts {
                domains,
                products,
                assets,
                environments,
            })
        }
    }
}
