//! Claiming due webhook deliveries on PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
//! dispatchers never send one delivery at the same time.

use std::time::Duration;

use time::OffsetDateTime;

use super::PgStore;
use crate::store::StoreResult;
use crate::store::common::webhooks::DueRow;
use crate::store::types::Ts;

/// Claim and read in one statement.
pub(in crate::store) async fn claim_delivery_rows(
    store: &PgStore,
    now: OffsetDateTime,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<DueRow>> {
    Ok(sqlx::query_as(
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
    .bind(Ts(now + lease))
    .bind(Ts(now))
    .bind(limit)
    .fetch_all(&store.pool)
    .await?)
}
