//! The caller's notifications: newest first, and marking them read.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::pagination::{PageParams, Paged, cursor_for};
use super::{ApiJson, ApiQuery};
use crate::app::AppState;
use crate::domain::NotificationId;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::error::FieldError;
use crate::store::Notification;

/// How many of your notifications are unread (the bell in the header).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// Which notifications to mark read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": ["0193a2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"]}))]
pub struct MarkRead {
    /// Which to mark read; omitted, all of them.
    #[serde(default)]
    pub ids: Option<Vec<uuid::Uuid>>,
}

/// How many were marked read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Marked {
    pub marked: u64,
}

/// Your notifications
///
/// Newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "events",
    params(PageParams),
    responses((status = 200, description = "A page of notifications", body = Vec<Notification>)),
)]
pub async fn list_notifications(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let limit = page.limit()? as usize;
    let before = page.after()?.map(|at| parse_position(&at)).transpose()?;
    let mut items = app
        .store
        .notifications(user.user.id, before, limit as i64 + 1)
        .await?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last().map(position))
        .flatten()
        .map(|p| cursor_for(&p));
    Ok(Paged { items, next }.respond(&uri))
}

/// A notification's place in the list: its time (Unix nanoseconds) and id.
fn position(notification: &Notification) -> String {
    format!(
        "{}|{}",
        notification.created_at.unix_timestamp_nanos(),
        notification.id
    )
}

fn parse_position(text: &str) -> Result<(OffsetDateTime, NotificationId), AppError> {
    let invalid = || {
        AppError::InvalidParameter(FieldError {
            field: "cursor".into(),
            message: "not a cursor from this list".into(),
        })
    };
    let (nanos, id) = text.split_once('|').ok_or_else(invalid)?;
    let at = nanos
        .parse::<i128>()
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

/// How many notifications are unread
#[utoipa::path(
    get,
    path = "/api/v1/notifications/unread",
    tag = "events",
    responses((status = 200, description = "The unread count", body = UnreadCount)),
)]
pub async fn unread_count(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Json<UnreadCount>, AppError> {
    Ok(Json(UnreadCount {
        unread: app.store.unread_notifications(user.user.id).await?,
    }))
}

/// Mark notifications read
///
/// The ones named in `ids`, or all of them when `ids` is omitted.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/read",
    tag = "events",
    request_body = MarkRead,
    responses((status = 200, description = "Marked", body = Marked)),
)]
pub async fn mark_read(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<MarkRead>,
) -> Result<Json<Marked>, AppError> {
    let ids: Option<Vec<NotificationId>> = body
        .ids
        .map(|ids| ids.into_iter().map(NotificationId).collect());
    let marked = app
        .store
        .mark_notifications_read(user.user.id, ids.as_deref())
        .await?;
    Ok(Json(Marked { marked }))
}
