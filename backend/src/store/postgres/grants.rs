//! Grants on PostgreSQL: who holds what, with the request, requester and approver behind it.

use std::collections::HashMap;

use async_trait::async_trait;

use time::OffsetDateTime;
use uuid::Uuid;

use super::PgStore;
use crate::domain::grants::{GrantScope, GrantView};
use crate::domain::*;
use crate::store::{GrantFilter, GrantStore, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: Uuid,
    request_id: Uuid,
    request_status: String,
    item_id: Uuid,
    principal_arn: String,
    consumer_team: String,
    product_slug: String,
    product_name: String,
    owner_team: String,
    glue_database: String,
    glue_table: String,
    columns: Option<serde_json::Value>,
    permissions: serde_json::Value,
    driver: String,
    state: String,
    requester_id: Uuid,
    requester_name: String,
    requester_email: Option<String>,
    justification: String,
    granted_at: OffsetDateTime,
    until: OffsetDateTime,
    health: String,
    health_detail: Option<String>,
    last_verified_at: Option<OffsetDateTime>,
}

const GRANT_SELECT: &str = "SELECT g.id, r.id AS request_id, r.status AS request_status, i.id AS item_id,
        g.principal_arn, ct.name AS consumer_team, p.slug AS product_slug, p.name AS product_name,
        ot.name AS owner_team, a.glue_database, a.glue_table, i.columns, g.permissions, g.driver, g.state,
        u.id AS requester_id, u.name AS requester_name, u.email AS requester_email, r.justification,
        g.created_at AS granted_at, r.requested_until AS until, g.health, g.health_detail, g.last_verified_at
     FROM grants g
     JOIN access_request_items i ON i.id = g.item_id
     JOIN access_requests r ON r.id = i.request_id
     JOIN products p ON p.id = r.product_id
     JOIN teams ot ON ot.id = p.owner_team_id
     JOIN teams ct ON ct.id = r.consumer_team_id
     JOIN assets a ON a.id = i.asset_id
     JOIN users u ON u.id = r.requester_id";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl PgStore {
    async fn grants_where(
        &self,
        filter: &GrantFilter,
        only: Option<uuid::Uuid>,
    ) -> StoreResult<Vec<GrantView>> {
        let (all, teams, user) = match &filter.scope {
            GrantScope::All => (true, Vec::new(), None),
            GrantScope::VisibleTo { teams, user } => (
                false,
                teams.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                Some(user.0),
            ),
        };
        let rows: Vec<GrantRow> = sqlx::query_as(&format!(
            "{GRANT_SELECT}
             WHERE ($1
                    OR ct.name = ANY($2)
                    OR ot.name = ANY($2)
                    OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3))
               AND ($4::TEXT IS NULL OR g.principal_arn = $4)
               AND ($5::TEXT IS NULL OR p.slug = $5)
               AND ($6::TEXT IS NULL OR ct.name = $6)
               AND ($7 OR g.state = 'applied')
               AND ($8::UUID IS NULL OR g.id < $8)
               AND ($9::UUID IS NULL OR g.id = $9)
             ORDER BY g.id DESC LIMIT $10"
        ))
        .bind(all)
        .bind(&teams)
        .bind(user)
        .bind(&filter.principal_arn)
        .bind(&filter.product)
        .bind(filter.team.as_ref().map(|t| t.to_string()))
        .bind(filter.include_removed)
        .bind(filter.after)
        .bind(only)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.request_id).collect();
        let approvals: Vec<(Uuid, Uuid, String, Option<String>)> = sqlx::query_as(
            "SELECT d.request_id, u.id, u.name, u.email FROM access_decisions d
             JOIN users u ON u.id = d.actor_id
             WHERE d.decision = 'approved' AND d.request_id = ANY($1)
             ORDER BY d.created_at, d.id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        let mut approvers: HashMap<Uuid, PersonRef> = HashMap::new();
        for (request, id, name, email) in approvals {
            approvers.insert(
                request,
                PersonRef {
                    id: UserId(id),
                    name,
                    email,
                },
            );
        }
        rows.into_iter()
            .map(|row| {
                Ok(GrantView {
                    id: row.id,
                    request_id: RequestId(row.request_id),
                    request_status: RequestStatus::parse(&row.request_status).map_err(corrupt)?,
                    item_id: row.item_id,
                    principal_arn: row.principal_arn,
                    consumer_team: TeamName::parse(&row.consumer_team).map_err(corrupt)?,
                    product_slug: row.product_slug,
                    product_name: row.product_name,
                    owner_team: TeamName::parse(&row.owner_team).map_err(corrupt)?,
                    database: row.glue_database,
                    table: row.glue_table,
                    columns: row
                        .columns
                        .map(serde_json::from_value)
                        .transpose()
                        .map_err(corrupt)?,
                    permissions: serde_json::from_value(row.permissions).map_err(corrupt)?,
                    driver: row.driver,
                    state: row.state,
                    requester: PersonRef {
                        id: UserId(row.requester_id),
                        name: row.requester_name,
                        email: row.requester_email,
                    },
                    approver: approvers.get(&row.request_id).cloned(),
                    justification: row.justification,
                    granted_at: row.granted_at,
                    until: row.until,
                    health: row.health,
                    health_detail: row.health_detail,
                    last_verified_at: row.last_verified_at,
                })
            })
            .collect()
    }
}

#[async_trait]
impl GrantStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn list_grants(&self, filter: &GrantFilter) -> StoreResult<Vec<GrantView>> {
        self.grants_where(filter, None).await
    }

    #[tracing::instrument(skip_all)]
    async fn grant_by_id(&self, id: uuid::Uuid) -> StoreResult<GrantView> {
        let filter = GrantFilter {
            scope: GrantScope::All,
            principal_arn: None,
            product: None,
            team: None,
            include_removed: true,
            after: None,
            limit: 1,
        };
        self.grants_where(&filter, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)
    }
}
