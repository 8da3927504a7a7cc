//! Personal API tokens: create (the secret is shown once), list, revoke. A token acts as
//! its owner, with the owner's teams as of their last sign-in.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::app::{App, AppState};
use crate::domain::policy::may_manage_token;
use crate::domain::{ApiToken, Invalid, NewApiToken, parse_display_name};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::auth::secrets::{new_api_token, sha256_hex};
use crate::store::now;

/// Longest lifetime a token may have, and the default.
const MAX_DAYS: u32 = 365;
const DEFAULT_DAYS: u32 = 90;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    pub name: String,
    /// 1–365 days; 90 when omitted.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct CreatedToken {
    /// The secret: shown now and never again.
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

/// `POST /api/v1/tokens`
pub async fn create_token(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(issue_token(&app, &user, request).await?),
    ))
}

/// `GET /api/v1/tokens`: the caller's live tokens.
pub async fn list_tokens(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    Ok(Json(app.store.list_api_tokens(user.user.id).await?))
}

/// `DELETE /api/v1/tokens/{id}`
pub async fn delete_token(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, AppError> {
    revoke_own_token(&app, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
