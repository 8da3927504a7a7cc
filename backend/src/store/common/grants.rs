//! Grants: who holds what, with the request, requester and approver behind it. Which
//! grants a caller may list is the dialect's `GRANT_VISIBLE`.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::grants::{GrantScope, GrantView};
use crate::domain::*;
use crate::store::types::{IdList, TextList, Ts, Uid};
use crate::store::{GrantFilter, GrantStore, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: Uid,
    request_id: RequestId,
    request_status: String,
    item_id: Uid,
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
    requester_id: UserId,
    requester_name: String,
    requester_email: Option<String>,
    justification: String,
    granted_at: Ts,
    until: Ts,
    health: String,
    health_detail: Option<String>,
    last_verified_at: Option<Ts>,
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

fn grant_view(row: GrantRow, approvers: &HashMap<RequestId, PersonRef>) -> StoreResult<GrantView> {
    Ok(GrantView {
        id: row.id.0,
        request_id: row.request_id,
        request_status: RequestStatus::parse(&row.request_status).map_err(corrupt)?,
        item_id: row.item_id.0,
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
            id: row.requester_id,
            name: row.requester_name,
            email: row.requester_email,
        },
        approver: approvers.get(&row.request_id).cloned(),
        justification: row.justification,
        granted_at: row.granted_at.0,
        until: row.until.0,
        health: row.health,
        health_detail: row.health_detail,
        last_verified_at: row.last_verified_at.map(|t| t.0),
    })
}

for_both! {
    async fn grants_where(
        store: &Store,
        filter: &GrantFilter,
        only: Option<uuid::Uuid>,
    ) -> StoreResult<Vec<GrantView>> {
        let (all, teams, user) = match &filter.scope {
            GrantScope::All => (true, TextList::default(), None),
            GrantScope::VisibleTo { teams, user } => (
                false,
                TextList(teams.iter().map(|t| t.to_string()).collect()),
                Some(*user),
            ),
        };
        let rows: Vec<GrantRow> = sqlx::query_as(&format!("{GRANT_SELECT} {GRANT_VISIBLE}"))
            .bind(all)
            .bind(teams)
            .bind(user)
            .bind(&filter.principal_arn)
            .bind(&filter.product)
            .bind(filter.team.as_ref().map(|t| t.to_string()))
            .bind(filter.include_removed)
            .bind(filter.after.map(Uid))
            .bind(only.map(Uid))
            .bind(filter.limit)
            .fetch_all(&store.pool)
            .await?;
        let ids = IdList(rows.iter().map(|r| r.request_id.0).collect());
        let approvals: Vec<(RequestId, UserId, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT d.request_id, u.id, u.name, u.email FROM access_decisions d
             JOIN users u ON u.id = d.actor_id
             WHERE d.decision = 'approved' AND d.request_id {}
             ORDER BY d.created_at, d.id",
            any_of(1)
        ))
        .bind(ids)
        .fetch_all(&store.pool)
        .await?;
        let approvers: HashMap<RequestId, PersonRef> = approvals
            .into_iter()
            .map(|(request, id, name, email)| (request, PersonRef { id, name, email }))
            .collect();
        rows.into_iter()
            .map(|row| grant_view(row, &approvers))
            .collect()
    }

    #[async_trait]
    impl GrantStore for Store {
        #[tracing::instrument(skip_all)]
        async fn list_grants(&self, filter: &GrantFilter) -> StoreResult<Vec<GrantView>> {
            grants_where(self, filter, None).await
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
            grants_where(self, &filter, Some(id))
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound)
        }
    }
}
