//! Claiming due webhook deliveries on SQLite.

use std::time::Duration;

use time::OffsetDateTime;

use super::SqliteStore;
use crate::store::StoreResult;
use crate::store::common::webhooks::DueRow;
use crate::store::types::Ts;

/// SQLite cannot put `UPDATE … RETURNING` inside a `WITH`: claim, then read, in one
/// transaction.
pub(in crate::store) async fn claim_delivery_rows(
    store: &SqliteStore,
    now: OffsetDateTime,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<DueRow>> {
    let mut tx = store.begin().await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE webhook_deliveries SET locked_until = $1
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
              ORDER BY d.event_seq LIMIT $3)
         RETURNING id",
    )
    .bind(Ts(now + lease))
    .bind(Ts(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        rows.push(
            sqlx::query_as(
                "SELECT d.id, d.subscription_id, w.url, w.secret, d.attempts, d.created_at,
                        o.seq, o.id, o.type, o.subject, o.time, o.data
                   FROM webhook_deliveries d
                   JOIN webhook_subscriptions w ON w.id = d.subscription_id
                   JOIN outbox_events o ON o.seq = d.event_seq
                  WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
        );
    }
    tx.commit().await?;
    Ok(rows)
}
