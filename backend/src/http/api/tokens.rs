//! Personal API tokens: create (the secret is shown once), list, revoke. A token acts as
//! its owner, with the owner's teams as of their last sign-in.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::docs::{Forbidden, NotFound};
use super::pagination::{Order, PageParams, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::ApiToken;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::auth::tokens::{CreatedToken, NewTokenRequest, issue_token, revoke_own_token};

/// Create a personal API token
///
/// The secret is in the answer and never shown again. It acts as you, with your teams as
/// of your last sign-in. Only a signed-in caller (a browser session or an OIDC access
/// token) may create one: an API token may not create tokens (403).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "me",
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; `token` is the secret", body = CreatedToken),
        (status = 403, response = Forbidden),
    ),
)]
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

/// List your API tokens
///
/// Your live tokens (never their secrets), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "me",
    params(PageParams),
    responses((status = 200, description = "A page of tokens", body = Vec<ApiToken>)),
)]
pub async fn list_tokens(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let tokens = app.store.list_api_tokens(user.user.id).await?;
    Ok(paginate(tokens, |t| t.id.to_string(), Order::Descending, &page)?.respond(&uri))
}

/// Revoke an API token
///
/// One of your own tokens; anyone else's is "not found".
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "me",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete_token(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, AppError> {
    revoke_own_token(&app, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
