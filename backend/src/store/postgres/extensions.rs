//! Extensions on PostgreSQL. Asking and deciding are each one transaction with the decision
//! row, the audit entry and the outbox event; a partial unique index keeps one pending
//! extension per request, and a conditional `UPDATE … WHERE status = 'pending'` lets only
//! one decision through.

use async_trait::async_trait;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{decide, event, load_one};
use super::{PgStore, record_change};
use crate::domain::effects;
use crate::domain::extensions::{Extension, ExtensionStatus, NewExtension};
use crate::domain::*;
use crate::store::{ExtensionStore, StoreError, StoreResult, now};

type ExtensionRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    Option<String>,
    OffsetDateTime,
    OffsetDateTime,
    String,
    String,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    String,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

const EXTENSION_SELECT: &str = "SELECT e.id, e.request_id, ru.id, ru.name, ru.email, e.requested_until,
        e.previous_until, e.reason, e.status, du.id, du.name, du.email, e.comment, e.created_at, e.decided_at
     FROM access_extensions e
     JOIN users ru ON ru.id = e.requested_by
     LEFT JOIN users du ON du.id = e.decided_by";

fn to_extension(row: ExtensionRow) -> StoreResult<Extension> {
    let decided_by = match (row.9, row.10) {
        (Some(id), Some(name)) => Some(PersonRef {
            id: UserId(id),
            name,
            email: row.11,
        }),
        _ => None,
    };
    Ok(Extension {
        id: row.0,
        request_id: RequestId(row.1),
        requested_by: PersonRef {
            id: UserId(row.2),
            name: row.3,
            email: row.4,
        },
        until: row.5,
        previous_until: row.6,
        reason: row.7,
        status: ExtensionStatus::parse(&row.8).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        decided_by,
        comment: row.12,
        created_at: row.13,
        decided_at: row.14,
    })
}

async fn load_extension(conn: &mut PgConnection, id: Uuid) -> StoreResult<Extension> {
    let row: ExtensionRow = sqlx::query_as(&format!("{EXTENSION_SELECT} WHERE e.id = $1"))
        .bind(id)
        .fetch_one(conn)
        .await?;
    to_extension(row)
}

fn extension_event(
    event_type: EventType,
    request: &crate::domain::access::AccessRequest,
    extension: &Extension,
) -> NewEvent {
    let mut event = event(event_type, request);
    event.data["extension"] = json!({
        "id": extension.id, "until": extension.until, "previous_until": extension.previous_until,
        "reason": extension.reason, "status": extension.status,
    });
    event
}

#[async_trait]
impl ExtensionStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn request_extension(
        &self,
        actor: Actor,
        request: RequestId,
        extension: &NewExtension,
    ) -> StoreResult<Extension> {
        let mut tx = self.begin().await?;
        let current: Option<(String, OffsetDateTime)> = sqlx::query_as(
            "SELECT status, requested_until FROM access_requests WHERE id = $1 FOR UPDATE",
        )
        .bind(request.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, previous) = current.ok_or(StoreError::NotFound)?;
        if status != RequestStatus::Granted.as_str() {
            return Err(StoreError::Conflict(format!(
                "only granted access can be extended; this request is {status}"
            )));
        }
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO access_extensions (id, request_id, requested_by, requested_until, previous_until, reason, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
        )
        .bind(id)
        .bind(request.0)
        .bind(actor.user_id().map(|u| u.0))
        .bind(extension.until)
        .bind(previous)
        .bind(&extension.reason)
        .bind(now())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(
                    "an extension of this request is already waiting for a decision".into(),
                ));
            }
            other => {
                other?;
            }
        }
        let rid = request.0;
        decide(
            &mut tx,
            rid,
            actor,
            effects::extension_request().decision,
            &extension.reason,
        )
        .await?;
        let created = load_extension(&mut tx, id).await?;
        let current = load_one(&mut tx, rid).await?;
        record_change(
            &mut tx,
            actor,
            effects::extension_request().audit_action,
            ("access_request", &rid.to_string()),
            &json!({"extension": id, "until": created.until, "previous_until": created.previous_until, "reason": created.reason}),
            extension_event(effects::extension_request().event, &current, &created),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all)]
    async fn decide_extension(
        &self,
        actor: Actor,
        request: RequestId,
        extension: uuid::Uuid,
        approve: bool,
        comment: &str,
    ) -> StoreResult<Extension> {
        let (rid, eid) = (request.0, extension);
        let status = if approve {
            ExtensionStatus::Approved
        } else {
            ExtensionStatus::Rejected
        };
        let now = now();
        let mut tx = self.begin().await?;
        let decided = sqlx::query(
            "UPDATE access_extensions SET status = $1, decided_by = $2, comment = $3, decided_at = $4
             WHERE id = $5 AND request_id = $6 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(actor.user_id().map(|u| u.0))
        .bind(comment)
        .bind(now)
        .bind(eid)
        .bind(rid)
        .execute(&mut *tx)
        .await?;
        if decided.rows_affected() == 0 {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT status FROM access_extensions WHERE id = $1 AND request_id = $2",
            )
            .bind(eid)
            .bind(rid)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match found {
                Some(status) => StoreError::Conflict(format!(
                    "this extension was already {status}; nothing was changed"
                )),
                None => StoreError::NotFound,
            });
        }
        let decided = load_extension(&mut tx, eid).await?;
        if approve {
            let moved = sqlx::query(
                "UPDATE access_requests SET requested_until = $1, expiry_warned_at = NULL, version = version + 1, updated_at = $2
                 WHERE id = $3 AND status = 'granted'",
            )
            .bind(decided.until)
            .bind(now)
            .bind(rid)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                return Err(StoreError::Conflict(
                    "the access is no longer granted; nothing was changed".into(),
                ));
            }
        }
        let effects = effects::extension_decision(approve);
        decide(&mut tx, rid, actor, effects.decision, comment).await?;
        let current = load_one(&mut tx, rid).await?;
        record_change(
            &mut tx,
            actor,
            effects.audit_action,
            ("access_request", &rid.to_string()),
            &json!({"extension": eid, "until": decided.until, "previous_until": decided.previous_until, "comment": comment}),
            extension_event(effects.event, &current, &decided),
        )
        .await?;
        tx.commit().await?;
        Ok(decided)
    }

    #[tracing::instrument(skip_all)]
    async fn extensions_of(&self, request: RequestId) -> StoreResult<Vec<Extension>> {
        let rows: Vec<ExtensionRow> = sqlx::query_as(&format!(
            "{EXTENSION_SELECT} WHERE e.request_id = $1 ORDER BY e.created_at, e.id"
        ))
        .bind(request.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_extension).collect()
    }
}
