//! The moves of an access request, one operation each: approve, reject, cancel, revoke,
//! retry (with an optional comment), and checking granted access (verify, reapply).

use axum::Json;
use axum::extract::State;

use super::docs::{Conflict, Forbidden, NotFound};
use super::requests::DecisionBody;
use super::{ApiPath, OptionalJson};
use crate::actions::requests::{act, check};
use crate::app::AppState;
use crate::domain::access::AccessRequest;
use crate::domain::policy::RequestAction;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// Approve an access request
///
/// The product's owners and stewards (never the requester, not even an admin). Moves it to `granting`; the worker applies the grants and verifies them.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/approve",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Option<DecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Approved: now granting", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn approve_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    OptionalJson(body): OptionalJson<DecisionBody>,
) -> Result<Json<AccessRequest>, AppError> {
    let moved = act(
        &app,
        &user.subject(),
        id,
        RequestAction::Approve,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(moved))
}

/// Reject an access request
///
/// The product's owners and stewards. Say why in the comment.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/reject",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Option<DecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Rejected", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn reject_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    OptionalJson(body): OptionalJson<DecisionBody>,
) -> Result<Json<AccessRequest>, AppError> {
    let moved = act(
        &app,
        &user.subject(),
        id,
        RequestAction::Reject,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(moved))
}

/// Cancel an access request
///
/// The requester (or an admin), while it is submitted.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/cancel",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Option<DecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Cancelled", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn cancel_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    OptionalJson(body): OptionalJson<DecisionBody>,
) -> Result<Json<AccessRequest>, AppError> {
    let moved = act(
        &app,
        &user.subject(),
        id,
        RequestAction::Cancel,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(moved))
}

/// Revoke access
///
/// The requester or the product's owners and stewards, once granted (or failed). The worker removes the grants.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/revoke",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Option<DecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Revoking", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn revoke_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    OptionalJson(body): OptionalJson<DecisionBody>,
) -> Result<Json<AccessRequest>, AppError> {
    let moved = act(
        &app,
        &user.subject(),
        id,
        RequestAction::Revoke,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(moved))
}

/// Retry a failed grant
///
/// The product's owners and stewards.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/retry",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body(content = Option<DecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Granting again", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn retry_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    OptionalJson(body): OptionalJson<DecisionBody>,
) -> Result<Json<AccessRequest>, AppError> {
    let moved = act(
        &app,
        &user.subject(),
        id,
        RequestAction::Retry,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(moved))
}

/// Check granted access now
///
/// Anyone who may see the request: each granted table is checked in Lake Formation and marked healthy or unhealthy, with what is missing.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/verify",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Checked: see each item's `health`", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn verify_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<AccessRequest>, AppError> {
    Ok(Json(check(&app, &user.subject(), id, false).await?))
}

/// Apply granted access again
///
/// The product's owners and stewards: apply the grants again (restoring what is missing), then check them.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/reapply",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "Checked: see each item's `health`", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn reapply_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<AccessRequest>, AppError> {
    Ok(Json(check(&app, &user.subject(), id, true).await?))
}
