//! Access requests on SQLite. A transition is one conditional `UPDATE … WHERE status = ?`
//! inside the transaction that also writes the decision, audit entry, event and job, so
//! concurrent approvals produce exactly one job.

use async_trait::async_trait;
use serde_json::json;
use sqlx::SqliteConnection;

use super::{SqliteStore, parse_id, parse_ts, record_change, ts};
use crate::domain::access::{
    AccessRequest, Decision, NewAccessRequest, RequestItem, Transition, next_status, worst,
};
use crate::domain::effects;
use crate::domain::grants::ItemResult;
use crate::domain::*;
use crate::store::common::sqlite_peers::jobs::insert_job;
use crate::store::{AccessStore, ItemOutcome, NewJob, RequestFilter, StoreError, StoreResult, now};

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    product_id: String,
    product_slug: String,
    product_name: String,
    requester_id: String,
    requester_name: String,
    requester_email: Option<String>,
    consumer_team: String,
    principal_id: String,
    principal_arn: String,
    justification: String,
    requested_until: String,
    status: String,
    version: i64,
    created_at: String,
    updated_at: String,
}

const REQUEST_SELECT: &str = "SELECT r.id, r.product_id, p.slug AS product_slug, p.name AS product_name,
        u.id AS requester_id, u.name AS requester_name, u.email AS requester_email, t.name AS consumer_team,
        r.principal_id, cp.arn AS principal_arn, r.justification, r.requested_until, r.status, r.version,
        r.created_at, r.updated_at
     FROM access_requests r
     JOIN products p ON p.id = r.product_id
     JOIN users u ON u.id = r.requester_id
     JOIN teams t ON t.id = r.consumer_team_id
     JOIN consumer_principals cp ON cp.id = r.principal_id";

fn corrupt(e: Invalid) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

type ItemRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type DecisionRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

async fn load(
    conn: &mut SqliteConnection,
    rows: Vec<RequestRow>,
) -> StoreResult<Vec<AccessRequest>> {
    let ids = serde_json::to_string(&rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
        .unwrap_or_default();
    let items: Vec<ItemRow> = sqlx::query_as(
        "SELECT i.request_id, i.id, i.asset_id, a.glue_database, a.glue_table, i.columns, i.status, i.error,
                g.health, g.health_detail, g.last_verified_at
         FROM access_request_items i JOIN assets a ON a.id = i.asset_id
         LEFT JOIN grants g ON g.item_id = i.id AND g.state = 'applied'
         WHERE i.request_id IN (SELECT value FROM json_each(?1)) ORDER BY a.glue_database, a.glue_table",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let decisions: Vec<DecisionRow> = sqlx::query_as(
        "SELECT d.request_id, u.id, u.name, u.email, d.decision, d.comment, d.created_at
         FROM access_decisions d LEFT JOIN users u ON u.id = d.actor_id
         WHERE d.request_id IN (SELECT value FROM json_each(?1)) ORDER BY d.created_at, d.id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let own_items = items
                .iter()
                .filter(|i| i.0 == row.id)
                .map(
                    |(
                        _,
                        id,
                        asset,
                        database,
                        table,
                        columns,
                        status,
                        error,
                        health,
                        health_detail,
                        verified,
                    )| {
                        Ok(RequestItem {
                            id: parse_id(id)?,
                            asset_id: parse_id(asset)?,
                            database: database.clone(),
                            table: table.clone(),
                            columns: columns
                                .as_deref()
                                .map(serde_json::from_str)
                                .transpose()
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            status: RequestStatus::parse(status).map_err(corrupt)?,
                            error: error.clone(),
                            health: health.clone(),
                            health_detail: health_detail.clone(),
                            last_verified_at: verified.as_deref().map(parse_ts).transpose()?,
                        })
                    },
                )
                .collect::<StoreResult<Vec<_>>>()?;
            let own_decisions = decisions
                .iter()
                .filter(|d| d.0 == row.id)
                .map(|(_, actor, name, email, decision, comment, at)| {
                    Ok(Decision {
                        actor: match (actor, name) {
                            (Some(id), Some(name)) => Some(PersonRef {
                                id: parse_id(id)?,
                                name: name.clone(),
                                email: email.clone(),
                            }),
                            _ => None,
                        },
                        decision: decision.clone(),
                        comment: comment.clone(),
                        at: parse_ts(at)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(AccessRequest {
                id: parse_id(&row.id)?,
                product_id: parse_id(&row.product_id)?,
                product_slug: row.product_slug,
                product_name: row.product_name,
                requester: PersonRef {
                    id: parse_id(&row.requester_id)?,
                    name: row.requester_name,
                    email: row.requester_email,
                },
                consumer_team: TeamName::parse(&row.consumer_team).map_err(corrupt)?,
                principal_id: parse_id(&row.principal_id)?,
                principal_arn: row.principal_arn,
                justification: row.justification,
                requested_until: parse_ts(&row.requested_until)?,
                status: RequestStatus::parse(&row.status).map_err(corrupt)?,
                items: own_items,
                decisions: own_decisions,
                version: row.version,
                created_at: parse_ts(&row.created_at)?,
                updated_at: parse_ts(&row.updated_at)?,
            })
        })
        .collect()
}

pub(super) async fn load_one(conn: &mut SqliteConnection, id: &str) -> StoreResult<AccessRequest> {
    let rows: Vec<RequestRow> = sqlx::query_as(&format!("{REQUEST_SELECT} WHERE r.id = ?1"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    load(conn, rows)
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

pub(super) fn event(event_type: EventType, request: &AccessRequest) -> NewEvent {
    NewEvent {
        event_type,
        subject: format!("access-requests/{}", request.id),
        data: json!({
            "id": request.id, "product": request.product_slug, "consumer_team": request.consumer_team,
            "principal": request.principal_arn, "status": request.status,
            "items": request.items.iter().map(|i| json!({
                "table": format!("{}.{}", i.database, i.table), "columns": i.columns, "status": i.status, "error": i.error,
            })).collect::<Vec<_>>(),
        }),
    }
}

pub(super) async fn decide(
    conn: &mut SqliteConnection,
    request: &str,
    actor: Actor,
    decision: &str,
    comment: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO access_decisions (id, request_id, actor_id, decision, comment, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(request)
        .bind(actor.user_id().map(|u| u.to_string()))
        .bind(decision)
        .bind(comment)
        .bind(ts(now()))
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl AccessStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn create_request(
        &self,
        new: &NewAccessRequest,
        auto_approve: bool,
        grant_job: &NewJob,
    ) -> StoreResult<AccessRequest> {
        let mut tx = self.begin().await?;
        if let Some(key) = &new.idempotency_key {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM access_requests WHERE requester_id = ?1 AND idempotency_key = ?2",
            )
            .bind(new.requester.to_string())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = existing {
                return load_one(&mut tx, &id).await;
            }
        }
        let team: String = sqlx::query_scalar("SELECT id FROM teams WHERE name = ?1")
            .bind(new.consumer_team.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Invalid::new("consumer_team", "no such team"))?;
        let effects = effects::submission(auto_approve);
        let status = effects.status;
        let id = new_request_id();
        let now = ts(now());
        sqlx::query(
            "INSERT INTO access_requests (id, product_id, requester_id, consumer_team_id, principal_id, justification,
                 requested_until, status, idempotency_key, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        )
        .bind(&id)
        .bind(new.product_id.to_string())
        .bind(new.requester.to_string())
        .bind(&team)
        .bind(new.principal_id.to_string())
        .bind(&new.justification)
        .bind(ts(new.requested_until))
        .bind(status.as_str())
        .bind(&new.idempotency_key)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        for (asset, columns) in &new.items {
            sqlx::query(
                "INSERT INTO access_request_items (id, request_id, asset_id, columns, status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&id)
            .bind(asset.to_string())
            .bind(columns.as_ref().map(|c| json!(c).to_string()))
            .bind(status.as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        decide(
            &mut tx,
            &id,
            Actor::User(new.requester),
            effects.submitted.decision,
            &new.justification,
        )
        .await?;
        let mut request = load_one(&mut tx, &id).await?;
        record_change(
            &mut tx,
            Actor::User(new.requester),
            effects.submitted.audit_action,
            ("access_request", &id),
            &json!({}),
            event(effects.submitted.event, &request),
        )
        .await?;
        if let Some(approval) = effects.auto_approval {
            decide(
                &mut tx,
                &id,
                Actor::System,
                approval.decision,
                effects::AUTO_APPROVE_COMMENT,
            )
            .await?;
            let mut job = grant_job.clone();
            job.payload["request_id"] = json!(id);
            insert_job(&mut tx, &job).await?;
            record_change(
                &mut tx,
                Actor::System,
                approval.audit_action,
                ("access_request", &id),
                &json!({"auto": true}),
                event(approval.event, &request),
            )
            .await?;
            request = load_one(&mut tx, &id).await?;
        }
        tx.commit().await?;
        Ok(request)
    }

    #[tracing::instrument(skip_all)]
    async fn access_request(&self, id: RequestId) -> StoreResult<AccessRequest> {
        let mut conn = self.pool.acquire().await?;
        load_one(&mut conn, &id.to_string()).await
    }

    #[tracing::instrument(skip_all)]
    async fn request_by_idempotency_key(
        &self,
        requester: UserId,
        key: &str,
    ) -> StoreResult<Option<AccessRequest>> {
        let mut conn = self.pool.acquire().await?;
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM access_requests WHERE requester_id = ?1 AND idempotency_key = ?2",
        )
        .bind(requester.to_string())
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        match id {
            Some(id) => Ok(Some(load_one(&mut conn, &id).await?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequest>> {
        let (teams, steward) = match &filter.managed_by {
            Some((teams, user)) => (
                teams.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                Some(user.to_string()),
            ),
            None => (Vec::new(), None),
        };
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<RequestRow> = sqlx::query_as(&format!(
            "{REQUEST_SELECT}
             WHERE (?1 = 1 OR r.requester_id = ?2
                    OR p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each(?3)))
                    OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = r.product_id AND s.user_id = ?4))
               AND (?5 = '[]' OR r.status IN (SELECT value FROM json_each(?5)))
               AND (?6 IS NULL OR r.created_at < ?6 OR (r.created_at = ?6 AND r.id < ?7))
             ORDER BY r.created_at DESC, r.id DESC LIMIT ?8"
        ))
        .bind(filter.all)
        .bind(filter.requester.map(|u| u.to_string()))
        .bind(json!(teams).to_string())
        .bind(steward)
        .bind(json!(statuses).to_string())
        .bind(filter.before.map(|(at, _)| ts(at)))
        .bind(filter.before.map(|(_, id)| id.to_string()))
        .bind(i64::from(filter.limit.unwrap_or(500)))
        .fetch_all(&mut *conn)
        .await?;
        load(&mut conn, rows).await
    }

    #[tracing::instrument(skip_all)]
    async fn transition_request(
        &self,
        actor: Actor,
        id: RequestId,
        from: RequestStatus,
        transition: Transition,
        comment: &str,
        job: Option<&NewJob>,
    ) -> StoreResult<AccessRequest> {
        let to = next_status(from, transition, false)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let mut tx = self.begin().await?;
        let moved = sqlx::query("UPDATE access_requests SET status = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3 AND status = ?4")
            .bind(to.as_str())
            .bind(ts(now()))
            .bind(id.to_string())
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() == 0 {
            let current = load_one(&mut tx, &id.to_string()).await?;
            return Err(StoreError::Conflict(format!(
                "the request is {} now; nothing was changed",
                current.status
            )));
        }
        let before = load_one(&mut tx, &id.to_string()).await?;
        for item in &before.items {
            if let Ok(next) = next_status(item.status, transition, false) {
                sqlx::query("UPDATE access_request_items SET status = ?1, error = NULL, updated_at = ?2 WHERE id = ?3")
                    .bind(next.as_str())
                    .bind(ts(now()))
                    .bind(item.id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let request = load_one(&mut tx, &id.to_string()).await?;
        if let Some(effects) = effects::transition_effects(transition) {
            decide(&mut tx, &id.to_string(), actor, effects.decision, comment).await?;
            let detail = json!({"from": from, "to": to, "comment": comment});
            record_change(
                &mut tx,
                actor,
                effects.audit_action,
                ("access_request", &id.to_string()),
                &detail,
                event(effects.event, &request),
            )
            .await?;
        }
        if let Some(job) = job {
            insert_job(&mut tx, job).await?;
        }
        tx.commit().await?;
        Ok(request)
    }

    #[tracing::instrument(skip_all)]
    async fn record_item_outcomes(
        &self,
        id: RequestId,
        outcomes: &[ItemOutcome],
        event_type: Option<EventType>,
    ) -> StoreResult<AccessRequest> {
        let mut tx = self.begin().await?;
        let now = ts(now());
        for outcome in outcomes {
            sqlx::query("UPDATE access_request_items SET status = ?1, error = ?2, updated_at = ?3 WHERE id = ?4 AND request_id = ?5")
                .bind(outcome.status.as_str())
                .bind(&outcome.error)
                .bind(&now)
                .bind(outcome.item.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            if let Some(grant) = &outcome.grant {
                sqlx::query(
                    "INSERT INTO grants (id, item_id, principal_arn, resource, permissions, driver, state, health, last_verified_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'applied', 'healthy', ?7, ?7, ?7)
                     ON CONFLICT (item_id) DO UPDATE SET principal_arn = excluded.principal_arn, resource = excluded.resource,
                         permissions = excluded.permissions, driver = excluded.driver, state = 'applied', health = 'healthy',
                         health_detail = NULL, last_verified_at = excluded.last_verified_at, updated_at = excluded.updated_at",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(outcome.item.to_string())
                .bind(&grant.principal_arn)
                .bind(grant.resource.to_string())
                .bind(json!(grant.permissions).to_string())
                .bind(&grant.driver)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            if matches!(
                outcome.status,
                RequestStatus::Revoked | RequestStatus::Expired
            ) {
                sqlx::query(
                    "UPDATE grants SET state = 'revoked', updated_at = ?1 WHERE item_id = ?2",
                )
                .bind(&now)
                .bind(outcome.item.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
        let statuses: Vec<String> =
            sqlx::query_scalar("SELECT status FROM access_request_items WHERE request_id = ?1")
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        let statuses = statuses
            .iter()
            .map(|s| RequestStatus::parse(s).map_err(corrupt))
            .collect::<StoreResult<Vec<_>>>()?;
        if let Some(status) = worst(statuses) {
            sqlx::query("UPDATE access_requests SET status = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3")
                .bind(status.as_str())
                .bind(&now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let request = load_one(&mut tx, &id.to_string()).await?;
        let detail = json!({ "items": outcomes.iter().map(|o| json!({"item": o.item, "status": o.status, "error": o.error})).collect::<Vec<_>>() });
        match event_type {
            Some(event_type) => {
                record_change(
                    &mut tx,
                    Actor::System,
                    "request.worker_result",
                    ("access_request", &id.to_string()),
                    &detail,
                    event(event_type, &request),
                )
                .await?
            }
            None => {
                super::record_audit(
                    &mut tx,
                    Actor::System,
                    "request.worker_result",
                    ("access_request", &id.to_string()),
                    &detail,
                )
                .await?
            }
        }
        tx.commit().await?;
        Ok(request)
    }

    #[tracing::instrument(skip_all)]
    async fn requests_due_for_expiry(&self) -> StoreResult<Vec<RequestId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM access_requests WHERE status = 'granted' AND requested_until <= ?1",
        )
        .bind(ts(now()))
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|id| parse_id(id)).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn record_verification(
        &self,
        id: RequestId,
        results: &[ItemResult<()>],
    ) -> StoreResult<AccessRequest> {
        let mut tx = self.begin().await?;
        let now = ts(now());
        for ItemResult { item, result } in results {
            sqlx::query("UPDATE grants SET health = ?1, health_detail = ?2, last_verified_at = ?3, updated_at = ?3 WHERE item_id = ?4 AND state = 'applied'")
                .bind(if result.is_ok() { "healthy" } else { "unhealthy" })
                .bind(result.as_ref().err())
                .bind(&now)
                .bind(item.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let request = load_one(&mut tx, &id.to_string()).await?;
        let unhealthy: Vec<_> = results
            .iter()
            .filter_map(|ItemResult { item, result: r }| {
                r.as_ref()
                    .err()
                    .map(|e| json!({"item": item, "missing": e}))
            })
            .collect();
        let detail = json!({ "checked": results.len(), "unhealthy": unhealthy });
        let target = ("access_request", &*id.to_string());
        if unhealthy.is_empty() {
            super::record_audit(&mut tx, Actor::System, "grant.verified", target, &detail).await?;
        } else {
            record_change(
                &mut tx,
                Actor::System,
                "grant.verified",
                target,
                &detail,
                event(EventType::AccessUnhealthy, &request),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(request)
    }

    #[tracing::instrument(skip_all)]
    async fn granted_requests(&self) -> StoreResult<Vec<RequestId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM access_requests WHERE status = 'granted' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|id| parse_id(id)).collect()
    }
}

fn new_request_id() -> String {
    RequestId::new().to_string()
}
