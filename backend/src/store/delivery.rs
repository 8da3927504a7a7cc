//! What the event relay keeps per sink: a cursor over the outbox, so each sink resumes
//! where it stopped. Notifications and webhooks are in their own modules.

use async_trait::async_trait;

use super::StoreResult;

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// The last outbox sequence number a sink has handled (0 for a new sink).
    async fn sink_cursor(&self, sink: &str) -> StoreResult<i64>;
    /// Move a sink's cursor from `from` to `to`; `Conflict` when another relay moved it.
    async fn advance_sink_cursor(&self, sink: &str, from: i64, to: i64) -> StoreResult<()>;
}
