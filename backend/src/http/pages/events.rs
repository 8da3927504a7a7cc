//! Notifications and webhook subscriptions, as pages.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, PageForm, PagePath, RenderPage};
use crate::actions::ActionError;
use crate::actions::webhooks::{
    self, CreatedWebhook, NewWebhookBody, add_webhook, managed_webhook, managed_webhooks,
};
use crate::app::AppState;
use crate::domain::NotificationId;
use crate::domain::events::EVENT_TYPES;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::store::{DeliveryLog, Notification, StoreError, Webhook};

#[derive(Template)]
#[template(path = "pages/notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    notifications: Vec<Notification>,
}

/// `GET /notifications`
pub async fn notifications(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    NotificationsPage {
        chrome: Chrome::new(&app, Some(&user), "Notifications").nav("notifications"),
        notifications: app.store.notifications(user.user.id, None, 100).await?,
    }
    .into_page()
}

#[derive(Deserialize)]
pub struct ReadForm {
    /// One notification to mark read (and follow); all of them when absent.
    #[serde(default)]
    id: Option<uuid::Uuid>,
}

/// `POST /notifications/read`: mark one read and go where it points, or mark all read.
pub async fn read_notifications(
    State(app): State<AppState>,
    user: CurrentUser,
    PageForm(form): PageForm<ReadForm>,
) -> Result<Response, AppError> {
    let Some(id) = form.id else {
        app.store
            .mark_notifications_read(user.user.id, None)
            .await?;
        return Ok(Redirect::to("/notifications").into_response());
    };
    let id = NotificationId(id);
    app.store
        .mark_notifications_read(user.user.id, Some(&[id]))
        .await?;
    // Only links within Wharf are followed: a notification never sends anyone off-site.
    let link = match app.store.notification_link(user.user.id, id).await {
        Ok(link) => link,
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    }
    .filter(|link| link.starts_with('/') && !link.starts_with("//"))
    .unwrap_or_else(|| "/notifications".into());
    Ok(Redirect::to(&link).into_response())
}

#[derive(Template)]
#[template(path = "pages/webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    webhooks: Vec<Webhook>,
    /// Products the viewer may subscribe to.
    products: Vec<(String, String)>,
    is_admin: bool,
    event_types: &'static [(&'static str, &'static str)],
    created: Option<CreatedWebhook>,
    error: Option<String>,
}

async fn render_webhooks(
    app: &AppState,
    user: &CurrentUser,
    created: Option<CreatedWebhook>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let products = app
        .store
        .list_products()
        .await?
        .into_iter()
        .filter(|p| crate::actions::products::can_manage(&user.subject(), p))
        .map(|p| (p.slug.to_string(), p.name))
        .collect();
    WebhooksPage {
        chrome: Chrome::new(app, Some(user), "Webhooks").nav("webhooks"),
        webhooks: managed_webhooks(app, &user.subject()).await?,
        products,
        is_admin: user.is_admin,
        event_types: EVENT_TYPES,
        created,
        error,
    }
    .into_page()
}

/// `GET /webhooks`
pub async fn webhooks_page(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    render_webhooks(&app, &user, None, None).await
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
    #[serde(default)]
    product: String,
    /// Comma- or space-separated types or `prefix.*` patterns.
    #[serde(default)]
    event_types: String,
}

/// `POST /webhooks`: create, then show the secret once.
pub async fn create_webhook(
    State(app): State<AppState>,
    user: CurrentUser,
    PageForm(form): PageForm<WebhookForm>,
) -> Result<Response, AppError> {
    let body = NewWebhookBody {
        url: form.url,
        event_types: form
            .event_types
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        product: Some(form.product).filter(|p| !p.is_empty()),
        secret: None,
    };
    match add_webhook(&app, &user.subject(), body).await {
        Ok(created) => render_webhooks(&app, &user, Some(created), None).await,
        Err(ActionError::Invalid(invalid)) => {
            render_webhooks(&app, &user, None, Some(invalid.to_string())).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "pages/webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    webhook: Webhook,
    deliveries: Vec<DeliveryLog>,
}

/// `GET /webhooks/{id}`: the subscription and its delivery log.
pub async fn webhook_page(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, AppError> {
    let webhook = managed_webhook(&app, &user.subject(), id).await?;
    WebhookPage {
        chrome: Chrome::new(&app, Some(&user), "Webhook").nav("webhooks"),
        deliveries: app.store.deliveries(webhook.id, None, 50).await?,
        webhook,
    }
    .into_page()
}

/// `POST /webhooks/{id}/{resume|delete}`
pub async fn webhook_action(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
) -> Result<Response, AppError> {
    match action.as_str() {
        "resume" => {
            webhooks::resume_webhook(&app, &user.subject(), id).await?;
            Ok(Redirect::to(&format!("/webhooks/{id}")).into_response())
        }
        "delete" => {
            webhooks::delete_webhook(&app, &user.subject(), id).await?;
            Ok(Redirect::to("/webhooks").into_response())
        }
        _ => Err(AppError::NotFound),
    }
}
