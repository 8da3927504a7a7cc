//! Outbox and audit reads on SQLite.

use async_trait::async_trait;

use super::{SqliteStore, parse_id, parse_json, parse_ts};
use crate::domain::*;
use crate::store::{EventStore, StoreResult};

#[async_trait]
impl EventStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>> {
        let rows: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT seq, id, type, subject, time, data FROM outbox_events
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(seq, id, event_type, subject, time, data)| {
                Ok(OutboxEvent {
                    seq,
                    id: parse_id(&id)?,
                    event_type,
                    subject,
                    time: parse_ts(&time)?,
                    data: parse_json(&data)?,
                })
            })
            .collect()
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
