//! Webhook subscriptions: fan-out, claims, attempts and the delivery log. Claiming due
//! deliveries is the dialect's `claim_delivery_rows` (SQLite claims then reads in one
//! write transaction; PostgreSQL claims with `FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::*;
use crate::store::types::{IdList, Ts, Uid};
use crate::store::{
    Attempt, AttemptOutcome, DeliveryLog, DueDelivery, NewDelivery, NewNotification, NewWebhook,
    StoreError, StoreResult, Webhook, WebhookStore, now,
};

const WEBHOOK_SELECT: &str =
    "SELECT w.id, w.url, w.event_types, p.slug, w.product_id, w.created_by,
        w.status, w.consecutive_failures, w.created_at
    FROM webhook_subscriptions w LEFT JOIN products p ON p.id = w.product_id";

type WebhookRow = (
    WebhookId,
    String,
    serde_json::Value,
    Option<String>,
    Option<ProductId>,
    UserId,
    String,
    i32,
    Ts,
);

fn webhook_from(row: WebhookRow) -> StoreResult<Webhook> {
    let (id, url, types, product, product_id, created_by, status, failures, created_at) = row;
    Ok(Webhook {
        id,
        url,
        event_types: serde_json::from_value(types)
            .map_err(|e| StoreError::Corrupt(format!("event types: {e}")))?,
        product,
        product_id,
        created_by,
        status,
        consecutive_failures: failures,
        created_at: created_at.0,
    })
}

/// A claimed delivery with its webhook and event, as the dialect's claim returns it.
pub(in crate::store) type DueRow = (
    DeliveryId,
    WebhookId,
    String,
    String,
    i32,
    Ts,
    i64,
    EventId,
    String,
    String,
    Ts,
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

for_both! {
    use peers::changes::record_audit;
    use peers::delivery::move_cursor;

    #[async_trait]
    impl WebhookStore for Store {
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
            .bind(id)
            .bind(&webhook.url)
            .bind(serde_json::json!(webhook.event_types))
            .bind(&webhook.secret)
            .bind(webhook.product_id)
            .bind(actor)
            .bind(Ts(now))
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
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            webhook_from(row.ok_or(StoreError::NotFound)?)
        }

        #[tracing::instrument(skip_all)]
        async fn delete_webhook(&self, actor: UserId, id: WebhookId) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            let deleted = sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1")
                .bind(id)
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
            .bind(Ts(now()))
            .bind(id)
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
                .bind(DeliveryId::new())
                .bind(delivery.webhook)
                .bind(delivery.event_seq)
                .bind(&delivery.subject)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
            }
            move_cursor(&mut tx, sink, from, to).await?;
            tx.commit().await?;
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn claim_deliveries(&self, lease: Duration, limit: i64) -> StoreResult<Vec<DueDelivery>> {
            let rows = claim_delivery_rows(self, now(), lease, limit).await?;
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
                            id,
                            webhook,
                            url,
                            secret,
                            attempts,
                            created_at: created_at.0,
                            event: OutboxEvent {
                                seq,
                                id: event_id,
                                event_type,
                                subject,
                                time: time.0,
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
            .bind(Uid::new())
            .bind(delivery)
            .bind(Ts(now))
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
            let webhook: Option<WebhookId> = sqlx::query_scalar(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
                        next_attempt_at = $2, locked_until = NULL,
                        delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE NULL END
                  WHERE id = $4 RETURNING subscription_id",
            )
            .bind(status)
            .bind(Ts(next))
            .bind(Ts(now))
            .bind(delivery)
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
                let (created_by, url, failures): (UserId, String, i32) = sqlx::query_as(
                    "UPDATE webhook_subscriptions
                        SET consecutive_failures = consecutive_failures + 1,
                            status = CASE WHEN consecutive_failures + 1 >= $1 THEN 'paused' ELSE status END,
                            updated_at = $2
                      WHERE id = $3
                      RETURNING created_by, url, consecutive_failures",
                )
                .bind(pause_after)
                .bind(Ts(now))
                .bind(webhook)
                .fetch_one(&mut *tx)
                .await?;
                if failures == pause_after {
                    let note = paused_notification(created_by, &url, pause_after);
                    dialect::insert_notification(&mut tx, &note).await?;
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
            type Row = (DeliveryId, i64, EventId, String, String, String, Ts);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT d.id, d.event_seq, o.id, o.type, d.subject, d.status, d.next_attempt_at
                   FROM webhook_deliveries d JOIN outbox_events o ON o.seq = d.event_seq
                  WHERE d.subscription_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR d.event_seq < $2)
                  ORDER BY d.event_seq DESC LIMIT $3",
            )
            .bind(webhook)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            let ids = IdList(rows.iter().map(|row| row.0.0).collect());
            let attempts: Vec<(DeliveryId, Ts, Option<i32>, Option<String>, i64)> =
                sqlx::query_as(&format!(
                    "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts
                      WHERE delivery_id {} ORDER BY at, id",
                    any_of(1)
                ))
                .bind(ids)
                .fetch_all(&self.pool)
                .await?;
            Ok(rows
                .into_iter()
                .map(
                    |(id, event_seq, event_id, event_type, subject, status, next)| DeliveryLog {
                        id,
                        event_seq,
                        event_id,
                        event_type,
                        subject,
                        next_attempt_at: (status == "pending").then_some(next.0),
                        status,
                        attempts: attempts
                            .iter()
                            .filter(|attempt| attempt.0 == id)
                            .map(|(_, at, code, error, duration_ms)| Attempt {
                                at: at.0,
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
}
