//! Webhook subscriptions: admins subscribe to anything, product owners and stewards to
//! their products' events. The signing secret is shown once, at creation.

use serde::{Deserialize, Serialize};

use super::products::{can_manage, managed_product};
use super::{ActionError, ActionResult};
use crate::app::App;
use crate::domain::events::parse_type_filter;
use crate::domain::policy::Subject;
use crate::domain::webhook_targets::parse_webhook_url;
use crate::domain::{Invalid, WebhookId};
use crate::store::{NewWebhook, Webhook};

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

fn new_secret() -> ActionResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ActionError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Create a subscription after checking who may receive what.
pub async fn add_webhook(
    app: &App,
    caller: &Subject<'_>,
    body: NewWebhookBody,
) -> ActionResult<CreatedWebhook> {
    let url = parse_webhook_url(&body.url, app.config.webhook_allow_link_local)?;
    let event_types = parse_type_filter(&body.event_types)?;
    let product_id = match body.product.as_deref().filter(|p| !p.is_empty()) {
        Some(slug) => Some(managed_product(app, caller, slug).await?.id),
        None if caller.is_admin => None,
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
            caller.user,
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

/// Whether the caller manages this subscription: admins all, owners their products'.
pub async fn may_manage(app: &App, caller: &Subject<'_>, webhook: &Webhook) -> bool {
    if caller.is_admin {
        return true;
    }
    match webhook.product_id {
        Some(product) => match app.store.product_by_id(product).await {
            Ok(product) => can_manage(caller, &product),
            Err(_) => false,
        },
        None => false,
    }
}

/// The subscriptions the caller manages.
pub async fn managed_webhooks(app: &App, caller: &Subject<'_>) -> ActionResult<Vec<Webhook>> {
    let mut mine = Vec::new();
    for webhook in app.store.webhooks().await? {
        if may_manage(app, caller, &webhook).await {
            mine.push(webhook);
        }
    }
    Ok(mine)
}

/// A subscription the caller manages; "not found" for anyone else.
pub async fn managed_webhook(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
) -> ActionResult<Webhook> {
    let webhook = app.store.webhook(WebhookId(id)).await?;
    if may_manage(app, caller, &webhook).await {
        Ok(webhook)
    } else {
        Err(ActionError::NotFound)
    }
}

/// Stop a subscription (whoever manages it).
pub async fn delete_webhook(app: &App, caller: &Subject<'_>, id: uuid::Uuid) -> ActionResult<()> {
    let webhook = managed_webhook(app, caller, id).await?;
    Ok(app.store.delete_webhook(caller.user, webhook.id).await?)
}

/// Deliver again to a subscription paused after failures in a row.
pub async fn resume_webhook(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
) -> ActionResult<Webhook> {
    let webhook = managed_webhook(app, caller, id).await?;
    Ok(app.store.resume_webhook(caller.user, webhook.id).await?)
}
