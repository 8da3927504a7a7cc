//! Webhook subscriptions: admins subscribe to anything, product owners and stewards to
//! their products' events. The signing secret is shown once, at creation.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::docs::{Forbidden, NotFound};
use super::pagination::{Order, PageParams, Paged, cursor_for, paginate};
use super::products::{can_manage, managed_product};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::app::{App, AppState};
use crate::domain::events::parse_type_filter;
use crate::domain::webhook_targets::parse_webhook_url;
use crate::domain::{Invalid, WebhookId};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::error::FieldError;
use crate::store::{DeliveryLog, NewWebhook, Webhook};

const MIN_SECRET: usize = 16;

/// A subscription: where to POST events, and which.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "http://127.0.0.1:9000/wharf-events",
    "event_types": ["wharf.access.*"], "product": "orders"}))]
pub struct NewWebhookBody {
    pub url: String,
    /// Types or `prefix.*` patterns (`wharf.access.*`); empty or omitted receives all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// A product's slug: only that product's events (required unless you are an admin).
    #[serde(default)]
    pub product: Option<String>,
    /// At least 16 characters; generated when omitted.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A new subscription with its signing secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC key for `Wharf-Signature`; it is not shown again.
    pub secret: String,
}

fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Create a subscription after checking who may receive what.
pub async fn add_webhook(
    app: &App,
    user: &CurrentUser,
    body: NewWebhookBody,
) -> Result<CreatedWebhook, AppError> {
    let url = parse_webhook_url(&body.url, app.config.webhook_allow_link_local)?;
    let event_types = parse_type_filter(&body.event_types)?;
    let product_id = match body.product.as_deref().filter(|p| !p.is_empty()) {
        Some(slug) => Some(managed_product(app, user, slug).await?.id),
        None if user.is_admin => None,
        None => {
            return Err(Invalid::new(
                "product",
                "name one of your products; only admins subscribe to every event",
            )
            .into());
        }
    };
    let secret = match body.secret {
        Some(secret) if secret.chars().count() < MIN_SECRET => {
            return Err(Invalid::new("secret", "at least 16 characters").into());
        }
        Some(secret) => secret,
        None => new_secret()?,
    };
    let webhook = app
        .store
        .create_webhook(
            user.user.id,
            &NewWebhook {
                url: url.to_string(),
                event_types,
                secret: secret.clone(),
                product_id,
            },
        )
        .await?;
    Ok(CreatedWebhook { webhook, secret })
}

/// Whether `user` manages this subscription: admins all, owners their products'.
pub async fn may_manage(app: &App, user: &CurrentUser, webhook: &Webhook) -> bool {
    if user.is_admin {
        return true;
    }
    match webhook.product_id {
        Some(product) => match app.store.product_by_id(product).await {
            Ok(product) => can_manage(user, &product),
            Err(_) => false,
        },
        None => false,
    }
}

/// The subscriptions `user` manages.
pub async fn managed_webhooks(app: &App, user: &CurrentUser) -> Result<Vec<Webhook>, AppError> {
    let mut mine = Vec::new();
    for webhook in app.store.webhooks().await? {
        if may_manage(app, user, &webhook).await {
            mine.push(webhook);
        }
    }
    Ok(mine)
}

pub async fn managed_webhook(
    app: &App,
    user: &CurrentUser,
    id: uuid::Uuid,
) -> Result<Webhook, AppError> {
    let webhook = app.store.webhook(WebhookId(id)).await?;
    if may_manage(app, user, &webhook).await {
        Ok(webhook)
    } else {
        Err(AppError::NotFound)
    }
}

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
        Json(add_webhook(&app, &user, body).await?),
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
    let webhooks = managed_webhooks(&app, &user).await?;
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
    Ok(Json(managed_webhook(&app, &user, id).await?))
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
    let webhook = managed_webhook(&app, &user, id).await?;
    app.store.delete_webhook(user.user.id, webhook.id).await?;
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
    let webhook = managed_webhook(&app, &user, id).await?;
    Ok(Json(
        app.store.resume_webhook(user.user.id, webhook.id).await?,
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
    let webhook = managed_webhook(&app, &user, id).await?;
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
