//! Audit reads: one thing's history, and the export with its visibility rule (its
//! conditions are the dialect's `AUDIT_VISIBLE`).

use async_trait::async_trait;

use crate::domain::*;
use crate::store::types::{TextList, Ts, Uid};
use crate::store::{AuditFilter, AuditStore, StoreResult, now};

type AuditRow = (
    Uid,
    Ts,
    Option<UserId>,
    String,
    String,
    String,
    serde_json::Value,
    Option<String>,
    Option<String>,
);

fn to_entry(row: AuditRow) -> AuditEntry {
    let (id, at, actor_id, action, target_type, target_id, detail, aws_request_id, error) = row;
    AuditEntry {
        id: id.0,
        at: at.0,
        actor_id,
        action,
        target_type,
        target_id,
        detail,
        aws_request_id,
        error,
    }
}

const AUDIT_SELECT: &str =
    "SELECT e.id, e.at, e.actor_id, e.action, e.target_type, e.target_id, e.detail,
        e.aws_request_id, e.error FROM audit_entries e";

for_both! {
    #[async_trait]
    impl AuditStore for Store {
        #[tracing::instrument(skip_all)]
        async fn audit_for(&self, target_type: &str, target_id: &str) -> StoreResult<Vec<AuditEntry>> {
            let rows: Vec<AuditRow> = sqlx::query_as(&format!(
                "{AUDIT_SELECT} WHERE e.target_type = $1 AND e.target_id = $2 ORDER BY e.at, e.id"
            ))
            .bind(target_type)
            .bind(target_id)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(to_entry).collect())
        }

        /// Non-admins see entries about requests they may see (their own, their teams', those
        /// for products they manage) and products they may see (published ones, or managed).
        #[tracing::instrument(skip_all)]
        async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
            let (all, teams, user) = match &filter.visible_to {
                None => (true, TextList::default(), None),
                Some((teams, user)) => (
                    false,
                    TextList(teams.iter().map(|t| t.to_string()).collect()),
                    Some(*user),
                ),
            };
            let rows: Vec<AuditRow> = sqlx::query_as(&format!("{AUDIT_SELECT} {AUDIT_VISIBLE}"))
                .bind(all)
                .bind(teams)
                .bind(user)
                .bind(&filter.target_type)
                .bind(&filter.target_id)
                .bind(filter.actor)
                .bind(filter.since.map(Ts))
                .bind(filter.after.map(Uid))
                .bind(filter.limit)
                .fetch_all(&self.pool)
                .await?;
            Ok(rows.into_iter().map(to_entry).collect())
        }

        #[tracing::instrument(skip_all)]
        async fn record_aws_calls(&self, target: (&str, &str), calls: &[AwsCall]) -> StoreResult<()> {
            if calls.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin().await?;
            for call in calls {
                sqlx::query(
                    "INSERT INTO audit_entries (id, at, actor_id, action, target_type, target_id, detail, aws_request_id, error)
                     VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8)",
                )
                .bind(Uid::new())
                .bind(Ts(now()))
                .bind(format!("aws.{}", call.operation))
                .bind(target.0)
                .bind(target.1)
                .bind(serde_json::json!({"attempts": call.attempts}))
                .bind(&call.request_id)
                .bind(&call.error)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }
    }
}
