//! Webhook subscriptions, their queued deliveries and every attempt, for the webhook sink
//! (fan-out) and the dispatcher (claims and attempts).

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use super::StoreResult;
use crate::domain::*;

/// A webhook subscription. The signing secret is never read back after creation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub event_types: Vec<String>,
    /// For a product owner's subscription: the product whose events it receives.
    pub product: Option<String>,
    #[serde(skip)]
    pub product_id: Option<ProductId>,
    pub created_by: UserId,
    /// `active`, or `paused` after failing too often.
    pub status: String,
    pub consecutive_failures: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
    pub product_id: Option<ProductId>,
}

/// One event to deliver to one subscription.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook: WebhookId,
    pub event_seq: i64,
    pub subject: String,
}

/// A delivery a dispatcher claimed, with what it needs to send it. Its `Debug` leaves the
/// signing secret out, so no log line can carry it.
#[derive(Clone)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub webhook: WebhookId,
    pub url: String,
    pub secret: String,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub event: OutboxEvent,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("webhook", &self.webhook)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("attempts", &self.attempts)
            .field("event", &self.event.id)
            .finish()
    }
}

/// How one attempt went. `retry_at: None` after a failure gives the delivery up.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub delivered: bool,
    pub retry_at: Option<OffsetDateTime>,
}

/// One delivery in a subscription's log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryLog {
    pub id: DeliveryId,
    /// The event's outbox sequence number (the list's order).
    pub event_seq: i64,
    pub event_id: EventId,
    pub event_type: String,
    pub subject: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, actor: UserId, webhook: &NewWebhook) -> StoreResult<Webhook>;
    /// Every subscription, oldest first.
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: WebhookId) -> StoreResult<Webhook>;
    async fn delete_webhook(&self, actor: UserId, id: WebhookId) -> StoreResult<()>;
    /// Reactivate a paused subscription; its pending deliveries go out again.
    async fn resume_webhook(&self, actor: UserId, id: WebhookId) -> StoreResult<Webhook>;
    /// Queue deliveries (at most one per subscription and event) and move the sink's
    /// cursor, in one transaction.
    async fn fan_out_webhooks(
        &self,
        sink: &str,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> StoreResult<()>;
    /// Claim due deliveries of active subscriptions for `lease`. A delivery waits while an
    /// earlier one for the same subscription and subject is pending, so each receiver
    /// sees a subject's events in order.
    async fn claim_deliveries(&self, lease: Duration, limit: i64) -> StoreResult<Vec<DueDelivery>>;
    /// Log an attempt and settle the delivery; a subscription whose attempts failed
    /// `pause_after` times in a row is paused and its creator notified.
    async fn record_attempt(
        &self,
        delivery: DeliveryId,
        outcome: &AttemptOutcome,
        pause_after: i32,
    ) -> StoreResult<()>;
    /// A subscription's deliveries with their attempts, newest first, starting below the
    /// event sequence number `before`.
    async fn deliveries(
        &self,
        webhook: WebhookId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryLog>>;
}
