//! Outbox and audit reads.

use async_trait::async_trait;

use crate::domain::*;
use crate::store::types::Ts;
use crate::store::{EventStore, StoreResult};

for_both! {
    #[async_trait]
    impl EventStore for Store {
        #[tracing::instrument(skip_all)]
        async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>> {
            let rows: Vec<(i64, EventId, String, String, Ts, serde_json::Value)> =
                sqlx::query_as(
                    "SELECT seq, id, type, subject, time, data FROM outbox_events
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(seq, id, event_type, subject, time, data)| OutboxEvent {
                    seq,
                    id,
                    event_type,
                    subject,
                    time: time.0,
                    data,
                })
                .collect())
        }

        #[tracing::instrument(skip_all)]
        async fn latest_event_seq(&self) -> StoreResult<i64> {
            let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM outbox_events")
                .fetch_one(&self.pool)
                .await?;
            Ok(seq.unwrap_or(0))
        }

        fn local_writes(&self) -> u64 {
            self.writes.get()
        }
    }
}
