//! Audit reads on SQLite: one thing's history, and the export with its visibility rule.

use async_trait::async_trait;
use serde_json::json;

use super::{SqliteStore, parse_id, parse_json, parse_ts, ts};
use crate::domain::*;
use crate::store::{AuditFilter, AuditStore, StoreResult, now};

type AuditRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn to_entry(row: AuditRow) -> StoreResult<AuditEntry> {
    let (id, at, actor_id, action, target_type, target_id, detail, aws_request_id, error) = row;
    Ok(AuditEntry {
        id: parse_id(&id)?,
        at: parse_ts(&at)?,
        actor_id: actor_id.as_deref().map(parse_id).transpose()?,
        action,
        target_type,
        target_id,
        detail: parse_json(&detail)?,
        aws_request_id,
        error,
    })
}

const AUDIT_SELECT: &str =
    "SELECT e.id, e.at, e.actor_id, e.action, e.target_type, e.target_id, e.detail,
        e.aws_request_id, e.error FROM audit_entries e";

#[async_trait]
impl AuditStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn audit_for(&self, target_type: &str, target_id: &str) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(&format!(
            "{AUDIT_SELECT} WHERE e.target_type = ?1 AND e.target_id = ?2 ORDER BY e.at, e.id"
        ))
        .bind(target_type)
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_entry).collect()
    }

    /// Non-admins see entries about requests they may see (their own, their teams', those
    /// for products they manage) and products they may see (published ones, or managed).
    #[tracing::instrument(skip_all)]
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let (all, teams, user) = match &filter.visible_to {
            None => (true, Vec::new(), None),
            Some((teams, user)) => (
                false,
                teams.iter().map(|t| t.to_string()).collect(),
                Some(user.to_string()),
            ),
        };
        let rows: Vec<AuditRow> = sqlx::query_as(&format!(
            "{AUDIT_SELECT}
             WHERE (?1 = 1
                OR (e.target_type = 'access_request' AND EXISTS (
                    SELECT 1 FROM access_requests r JOIN products p ON p.id = r.product_id
                    WHERE r.id = e.target_id AND (
                        r.requester_id = ?3
                        OR r.consumer_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each(?2)))
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each(?2)))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = ?3))))
                OR (e.target_type = 'product' AND EXISTS (
                    SELECT 1 FROM products p WHERE p.id = e.target_id AND (
                        p.status <> 'draft'
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each(?2)))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = ?3)))))
               AND (?4 IS NULL OR e.target_type = ?4)
               AND (?5 IS NULL OR e.target_id = ?5)
               AND (?6 IS NULL OR e.actor_id = ?6)
               AND (?7 IS NULL OR e.at >= ?7)
               AND (?8 IS NULL OR e.id > ?8)
             ORDER BY e.id LIMIT ?9"
        ))
        .bind(all)
        .bind(json!(teams).to_string())
        .bind(user)
        .bind(&filter.target_type)
        .bind(&filter.target_id)
        .bind(filter.actor.map(|a| a.to_string()))
        .bind(filter.since.map(ts))
        .bind(filter.after.map(|a| a.to_string()))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_entry).collect()
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
                 VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(ts(now()))
            .bind(format!("aws.{}", call.operation))
            .bind(target.0)
            .bind(target.1)
            .bind(json!({"attempts": call.attempts}).to_string())
            .bind(&call.request_id)
            .bind(&call.error)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
