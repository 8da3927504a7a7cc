//! Grants: who holds what and why (`GET /api/v1/grants`), and checking one in the driver
//! now (`POST /api/v1/grants/{id}/verify`). Shared with the grants page.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::docs::{Conflict, NotFound};
use super::pagination::Paged;
use super::{ApiPath, ApiQuery};
use crate::actions::grants::{GrantParams, grants_for, verify, visible_grant};
use crate::app::AppState;
use crate::domain::grants::GrantView;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// Who holds what
///
/// Grants newest first, each with its request, requester, approver and last check. Admins
/// see all; owners and stewards their products'; team members their team's.
#[utoipa::path(
    get,
    path = "/api/v1/grants",
    tag = "access",
    params(GrantParams),
    responses((status = 200, description = "A page of grants", body = Vec<GrantView>)),
)]
pub async fn list_grants(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(params): ApiQuery<GrantParams>,
) -> Result<Response, AppError> {
    let page = grants_for(&app, &user.subject(), &params).await?;
    Ok(Paged {
        items: page.items,
        next: page.next_cursor,
    }
    .respond(&uri))
}

/// Get a grant
#[utoipa::path(
    get,
    path = "/api/v1/grants/{id}",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The grant's id")),
    responses(
        (status = 200, description = "The grant", body = GrantView),
        (status = 404, response = NotFound),
    ),
)]
pub async fn get_grant(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<GrantView>, AppError> {
    Ok(Json(visible_grant(&app, &user.subject(), id).await?))
}

/// Check a grant now
///
/// Reads what the driver (Lake Formation) holds for it and records its health.
#[utoipa::path(
    post,
    path = "/api/v1/grants/{id}/verify",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The grant's id")),
    responses(
        (status = 200, description = "The grant with its health", body = GrantView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn verify_grant(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<GrantView>, AppError> {
    Ok(Json(verify(&app, &user.subject(), id).await?))
}
