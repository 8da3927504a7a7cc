//! Webhook subscriptions: admins subscribe to anything, product owners and stewards to
//! their products' events. The signing secret is shown once, at creation.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::docs::{Forbidden, NotFound};
use super::pagination::{Order, PageParams, Paged, cursor_for, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::actions::webhooks::{
    self, CreatedWebhook, NewWebhookBody, add_webhook, managed_webhook, managed_webhooks,
};
use crate::app::AppState;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::error::FieldError;
use crate::store::{DeliveryLog, Webhook};

/// Subscribe a webhook
///
/// Admins to every event, product owners and stewards to their product's (`product`).
/// Deliveries are signed with the secret in the answer, shown once.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "events",
    request_body = NewWebhookBody,
    responses(
        (status = 201, description = "Subscribed; `secret` signs the deliveries", body = CreatedWebhook),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn create_webhook(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<CreatedWebhook>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(add_webhook(&app, &user.subject(), body).await?),
    ))
}

/// List webhooks
///
/// The subscriptions you manage.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "events",
    params(PageParams),
    responses((status = 200, description = "A page of subscriptions, oldest first", body = Vec<Webhook>)),
)]
pub async fn list_webhooks(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let webhooks = managed_webhooks(&app, &user.subject()).await?;
    Ok(paginate(webhooks, |w| w.id.to_string(), Order::Ascending, &page)?.respond(&uri))
}

/// Get a webhook
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = Webhook),
        (status = 404, response = NotFound),
    ),
)]
pub async fn get_webhook(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(managed_webhook(&app, &user.subject(), id).await?))
}

/// Unsubscribe a webhook
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete_webhook(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, AppError> {
    webhooks::delete_webhook(&app, &user.subject(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resume a paused webhook
///
/// A subscription is paused after too many failed deliveries in a row.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/resume",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "Active again", body = Webhook),
        (status = 404, response = NotFound),
    ),
)]
pub async fn resume_webhook(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(
        webhooks::resume_webhook(&app, &user.subject(), id).await?,
    ))
}

/// A webhook's deliveries
///
/// Newest first, each with its attempts.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id"), PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = Vec<DeliveryLog>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_deliveries(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let webhook = managed_webhook(&app, &user.subject(), id).await?;
    let limit = page.limit()? as usize;
    let before = match page.after()? {
        None => None,
        Some(seq) => Some(seq.parse::<i64>().map_err(|_| {
            AppError::InvalidParameter(FieldError {
                field: "cursor".into(),
                message: "not a cursor from this list".into(),
            })
        })?),
    };
    let mut items = app
        .store
        .deliveries(webhook.id, before, limit as i64 + 1)
        .await?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last().map(|d| cursor_for(&d.event_seq.to_string())))
        .flatten();
    Ok(Paged { items, next }.respond(&uri))
}
