//! Making and revoking personal API tokens, for the account page and the API alike.
//!
//! Tokens are made by a person, never by another token: the caller must have signed in
//! (a browser session, or an access token from the IdP). A token that could mint tokens
//! would let whoever holds a leaked one keep access after it is revoked or expires, and
//! revoking "what it created" would need a lineage of tokens; refusing is simpler and
//! leaves nothing to cascade.

use serde::{Deserialize, Serialize};

use super::secrets::{new_api_token, sha256_hex};
use super::{AuthMethod, CurrentUser};
use crate::app::App;
use crate::domain::policy::may_manage_token;
use crate::domain::{ApiToken, Invalid, NewApiToken, parse_display_name};
use crate::http::AppError;
use crate::store::now;

/// Longest lifetime a token may have, and the default.
const MAX_DAYS: u32 = 365;

const DEFAULT_DAYS: u32 = 90;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "CI publishing", "expires_in_days": 30}))]
pub struct NewTokenRequest {
    pub name: String,
    /// 1–365 days; 90 when omitted.
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<u32>,
}

/// A new token with its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret: shown now and never again.
    #[schema(example = "wharf_Jq3c…")]
    pub token: String,
    #[serde(flatten)]
    pub details: ApiToken,
}

/// Create a token for the caller (shared by the page and the API).
pub async fn issue_token(
    app: &App,
    user: &CurrentUser,
    request: NewTokenRequest,
) -> Result<CreatedToken, AppError> {
    if matches!(user.method, AuthMethod::ApiToken) {
        return Err(AppError::Refused(
            "an API token cannot create API tokens: sign in (on the account page, or with an \
             access token from your identity provider) to create one"
                .into(),
        ));
    }
    let name = parse_display_name("name", &request.name)?;
    let days = request.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Invalid::new("expires_in_days", format!("must be 1–{MAX_DAYS}")).into());
    }
    let token = new_api_token();
    let details = app
        .store
        .create_api_token(&NewApiToken {
            user_id: user.user.id,
            name,
            token_hash: sha256_hex(&token),
            prefix: token.chars().take(10).collect(),
            expires_at: Some(now() + time::Duration::days(i64::from(days))),
        })
        .await?;
    tracing::info!(user = %user.user.id, token = %details.id, "API token created");
    Ok(CreatedToken { token, details })
}

/// Revoke one of the caller's tokens; someone else's token is "not found".
pub async fn revoke_own_token(
    app: &App,
    user: &CurrentUser,
    id: uuid::Uuid,
) -> Result<(), AppError> {
    if !may_manage_token(&user.subject(), user.user.id)
        || !app.store.revoke_api_token(user.user.id, id).await?
    {
        return Err(AppError::NotFound);
    }
    tracing::info!(user = %user.user.id, token = %id, "API token revoked");
    Ok(())
}
