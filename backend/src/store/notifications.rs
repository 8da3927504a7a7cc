//! In-app notifications: who hears about an access request, each person's list and unread
//! count. Written by the notifications sink, which moves its cursor in the same transaction.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use super::StoreResult;
use crate::domain::events::Audience;
use crate::domain::*;

/// A message in someone's notification list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: NotificationId,
    pub title: String,
    pub link: Option<String>,
    pub read: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user: UserId,
    pub event_id: Option<EventId>,
    pub title: String,
    pub link: Option<String>,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// The people an access request's event is for.
    async fn audience(&self, request: RequestId, audience: Audience) -> StoreResult<Vec<UserId>>;
    /// Write notifications (at most one per person and event) and move the sink's cursor,
    /// in one transaction.
    async fn deliver_notifications(
        &self,
        sink: &str,
        from: i64,
        to: i64,
        notifications: &[NewNotification],
    ) -> StoreResult<()>;
    /// Newest first, starting after `before` (the last one of the previous page).
    async fn notifications(
        &self,
        user: UserId,
        before: Option<(OffsetDateTime, NotificationId)>,
        limit: i64,
    ) -> StoreResult<Vec<Notification>>;
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64>;
    /// Where one of this user's notifications points (`NotFound` for someone else's).
    async fn notification_link(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<String>>;
    /// Mark the given notifications (or all, for `None`) read; returns how many changed.
    async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: Option<&[NotificationId]>,
    ) -> StoreResult<u64>;
    /// Emit `wharf.access.expiry_approaching` once for each granted request ending before
    /// `before`; returns how many.
    async fn warn_expiring(&self, before: OffsetDateTime) -> StoreResult<usize>;
}
