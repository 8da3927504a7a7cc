//! Webhook subscriptions on PostgreSQL: fan-out, claims, attempts and the delivery log.
//! Claims use `FOR UPDATE SKIP LOCKED`, so two dispatchers never send one delivery at the
//! same time.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::notifications::insert_notification;
use super::{PgStore, record_audit};
use crate::domain::*;
use crate::store::common::postgres_peers::delivery::move_cursor;
use crate::store::{
    Attempt, AttemptOutcome, DeliveryLog, DueDelivery, NewDelivery, NewNotification, NewWebhook,
    StoreError, StoreResult, Webhook, WebhookStore, now,
};

const WEBHOOK_SELECT: &str =
    "SELECT w.id, w.url, w.event_types, p.slug, w.product_id, w.created_by,
        w.status, w.consecutive_failures, w.created_at
    FROM webhook_subscriptions w LEFT JOIN products p ON p.id = w.product_id";

type WebhookRow = (
    Uuid,
    String,
    serde_json::Value,
    Option<String>,
    Option<Uuid>,
    Uuid,
    String,
    i32,
    OffsetDateTime,
);

fn webhook_from(row: WebhookRow) -> StoreResult<Webhook> {
    let (id, url, types, product, product_id, created_by, status, failures, created_at) = row;
    Ok(Webhook {
        id: WebhookId(id),
        url,
        event_types: serde_json::from_value(types)
            .map_err(|e| StoreError::Corrupt(format!("event types: {e}")))?,
        product,
        product_id: product_id.map(ProductId),
        created_by: UserId(created_by),
        status,
        consecutive_failures: failures,
        created_at,
    })
}

type DueRow = (
    Uuid,
    Uuid,
    String,
    String,
    i32,
    OffsetDateTime,
    i64,
    Uuid,
    String,
    String,
    OffsetDateTime,
    serde_json::Value,
);

fn paused_notification(user: UserId, url: &str, failures: i32) -> NewNotification {
    NewNotification {
        user,
        event_id: None,
        title: format!("Webhook to {url} paused after {failures} failed deliveries in a row"),
        link: Some("/webhooks".into()),
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_webhook(&self, actor: UserId, webhook: &NewWebhook) -> StoreResult<Webhook> {
        let id = WebhookId::new();
        let now = now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_subscriptions
                 (id, url, event_types, secret, product_id, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.0)
        .bind(&webhook.url)
        .bind(serde_json::json!(webhook.event_types))
        .bind(&webhook.secret)
        .bind(webhook.product_id.map(|p| p.0))
        .bind(actor.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({"url": webhook.url, "event_types": webhook.event_types});
        record_audit(
            &mut tx,
            Actor::User(actor),
            "webhook created",
            ("webhook", &id.to_string()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        self.webhook(id).await
    }

    #[tracing::instrument(skip_all)]
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = sqlx::query_as(&format!("{WEBHOOK_SELECT} ORDER BY w.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(webhook_from).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn webhook(&self, id: WebhookId) -> StoreResult<Webhook> {
        let row: Option<WebhookRow> = sqlx::query_as(&format!("{WEBHOOK_SELECT} WHERE w.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        webhook_from(row.ok_or(StoreError::NotFound)?)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_webhook(&self, actor: UserId, id: WebhookId) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let detail = serde_json::json!({});
        let target = id.to_string();
        record_audit(
            &mut tx,
            Actor::User(actor),
            "webhook deleted",
            ("webhook", &target),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn resume_webhook(&self, actor: UserId, id: WebhookId) -> StoreResult<Webhook> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE webhook_subscriptions SET status = 'active', consecutive_failures = 0,
                    updated_at = $1 WHERE id = $2",
        )
        .bind(now())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let detail = serde_json::json!({});
        let target = id.to_string();
        record_audit(
            &mut tx,
            Actor::User(actor),
            "webhook resumed",
            ("webhook", &target),
            &detail,
        )
        .await?;
        tx.commit().await?;
        self.webhook(id).await
    }

    #[tracing::instrument(skip_all)]
    async fn fan_out_webhooks(
        &self,
        sink: &str,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> StoreResult<()> {
        let now = now();
        let mut tx = self.begin().await?;
        for delivery in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries
                     (id, subscription_id, event_seq, subject, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
            )
            .bind(DeliveryId::new().0)
            .bind(delivery.webhook.0)
            .bind(delivery.event_seq)
            .bind(&delivery.subject)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        move_cursor(&mut tx, sink, from, to).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn claim_deliveries(&self, lease: Duration, limit: i64) -> StoreResult<Vec<DueDelivery>> {
        let now = now();
        let rows: Vec<DueRow> = sqlx::query_as(
            "WITH claimed AS (
                 UPDATE webhook_deliveries SET locked_until = $1
                 WHERE id IN (
                     SELECT d.id FROM webhook_deliveries d
                       JOIN webhook_subscriptions w ON w.id = d.subscription_id
                      WHERE d.status = 'pending' AND w.status = 'active'
                        AND d.next_attempt_at <= $2
                        AND (d.locked_until IS NULL OR d.locked_until < $2)
                        AND NOT EXISTS (
                            SELECT 1 FROM webhook_deliveries e
                             WHERE e.subscription_id = d.subscription_id AND e.subject = d.subject
                               AND e.status = 'pending' AND e.event_seq < d.event_seq)
                      ORDER BY d.event_seq LIMIT $3
                      FOR UPDATE OF d SKIP LOCKED)
                 RETURNING id, subscription_id, attempts, created_at, event_seq)
             SELECT c.id, c.subscription_id, w.url, w.secret, c.attempts, c.created_at,
                    o.seq, o.id, o.type, o.subject, o.time, o.data
               FROM claimed c
               JOIN webhook_subscriptions w ON w.id = c.subscription_id
               JOIN outbox_events o ON o.seq = c.event_seq
              ORDER BY o.seq",
        )
        .bind(now + lease)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    webhook,
                    url,
                    secret,
                    attempts,
                    created_at,
                    seq,
                    event_id,
                    event_type,
                    subject,
                    time,
                    data,
                )| {
                    DueDelivery {
                        id: DeliveryId(id),
                        webhook: WebhookId(webhook),
                        url,
                        secret,
                        attempts,
                        created_at,
                        event: OutboxEvent {
                            seq,
                            id: EventId(event_id),
                            event_type,
                            subject,
                            time,
                            data,
                        },
                    }
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn record_attempt(
        &self,
        delivery: DeliveryId,
        outcome: &AttemptOutcome,
        pause_after: i32,
    ) -> StoreResult<()> {
        let now = now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, at, status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(delivery.0)
        .bind(now)
        .bind(outcome.status_code.map(i32::from))
        .bind(&outcome.error)
        .bind(outcome.duration_ms)
        .execute(&mut *tx)
        .await?;
        let (status, next) = match (outcome.delivered, outcome.retry_at) {
            (true, _) => ("delivered", now),
            (false, Some(at)) => ("pending", at),
            (false, None) => ("failed", now),
        };
        let webhook: Option<Uuid> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
                    next_attempt_at = $2, locked_until = NULL,
                    delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE NULL END
              WHERE id = $4 RETURNING subscription_id",
        )
        .bind(status)
        .bind(next)
        .bind(now)
        .bind(delivery.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(webhook) = webhook else {
            return Ok(());
        };
        if outcome.delivered {
            sqlx::query("UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = $1")
                .bind(webhook)
                .execute(&mut *tx)
                .await?;
        } else {
            let (created_by, url, failures): (Uuid, String, i32) = sqlx::query_as(
                "UPDATE webhook_subscriptions
                    SET consecutive_failures = consecutive_failures + 1,
                        status = CASE WHEN consecutive_failures + 1 >= $1 THEN 'paused' ELSE status END,
                        updated_at = $2
                  WHERE id = $3
                  RETURNING created_by, url, consecutive_failures",
            )
            .bind(pause_after)
            .bind(now)
            .bind(webhook)
            .fetch_one(&mut *tx)
            .await?;
            if failures == pause_after {
                let note = paused_notification(UserId(created_by), &url, pause_after);
                insert_notification(&mut tx, &note).await?;
                let detail = serde_json::json!({"url": url, "after_failures": pause_after});
                let target = webhook.to_string();
                record_audit(
                    &mut tx,
                    Actor::System,
                    "webhook paused",
                    ("webhook", &target),
                    &detail,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn deliveries(
        &self,
        webhook: WebhookId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryLog>> {
        type Row = (Uuid, i64, Uuid, String, String, String, OffsetDateTime);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.id, d.event_seq, o.id, o.type, d.subject, d.status, d.next_attempt_at
               FROM webhook_deliveries d JOIN outbox_events o ON o.seq = d.event_seq
              WHERE d.subscription_id = $1 AND ($2::bigint IS NULL OR d.event_seq < $2)
              ORDER BY d.event_seq DESC LIMIT $3",
        )
        .bind(webhook.0)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.0).collect();
        let attempts: Vec<(Uuid, OffsetDateTime, Option<i32>, Option<String>, i64)> =
            sqlx::query_as(
                "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts
                  WHERE delivery_id = ANY($1) ORDER BY at, id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, event_seq, event_id, event_type, subject, status, next)| DeliveryLog {
                    id: DeliveryId(id),
                    event_seq,
                    event_id: EventId(event_id),
                    event_type,
                    subject,
                    next_attempt_at: (status == "pending").then_some(next),
                    status,
                    attempts: attempts
                        .iter()
                        .filter(|attempt| attempt.0 == id)
                        .map(|(_, at, code, error, duration_ms)| Attempt {
                            at: *at,
                            status_code: code.and_then(|c| u16::try_from(c).ok()),
                            error: error.clone(),
                            duration_ms: *duration_ms,
                        })
                        .collect(),
                },
            )
            .collect())
    }
}
