//! Sink cursors: how far each event sink has read the outbox.

use async_trait::async_trait;

use crate::store::types::Ts;
use crate::store::{DeliveryStore, StoreError, StoreResult, now};

for_both! {
    /// Compare-and-set a sink's cursor inside the caller's transaction.
    pub(in crate::store) async fn move_cursor(
        conn: &mut Conn,
        sink: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<()> {
        let moved = if from == 0 {
            sqlx::query(
                "INSERT INTO event_sink_cursors (sink, seq, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (sink) DO UPDATE SET seq = $2, updated_at = $3
                 WHERE event_sink_cursors.seq = 0",
            )
            .bind(sink)
            .bind(to)
            .bind(Ts(now()))
            .execute(&mut *conn)
            .await?
        } else {
            sqlx::query(
                "UPDATE event_sink_cursors SET seq = $1, updated_at = $2 WHERE sink = $3 AND seq = $4",
            )
            .bind(to)
            .bind(Ts(now()))
            .bind(sink)
            .bind(from)
            .execute(&mut *conn)
            .await?
        };
        if moved.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "another relay moved the {sink} cursor"
            )))
        }
    }

    #[async_trait]
    impl DeliveryStore for Store {
        #[tracing::instrument(skip_all)]
        async fn sink_cursor(&self, sink: &str) -> StoreResult<i64> {
            let seq: Option<i64> =
                sqlx::query_scalar("SELECT seq FROM event_sink_cursors WHERE sink = $1")
                    .bind(sink)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(seq.unwrap_or(0))
        }

        #[tracing::instrument(skip_all)]
        async fn advance_sink_cursor(&self, sink: &str, from: i64, to: i64) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            move_cursor(&mut tx, sink, from, to).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
