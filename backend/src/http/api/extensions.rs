//! Extensions of granted access: the requester asks for a later end date, the product's
//! owners or stewards approve or reject. Shared with the request page.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::docs::{Conflict, Forbidden, NotFound};
use super::pagination::{Order, PageParams, paginate};
use super::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::actions::extensions::{NewExtensionBody, ask, decide};
use crate::actions::requests::visible_request;
use crate::app::AppState;
use crate::domain::extensions::Extension;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// Ask for a later end date
///
/// The requester (or an admin), while access is granted; at most the product's longest
/// access from now, one pending ask at a time.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/extensions",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    request_body = NewExtensionBody,
    responses(
        (status = 201, description = "Asked; waiting for the owners", body = Extension),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_extension(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<NewExtensionBody>,
) -> Result<(StatusCode, Json<Extension>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(ask(&app, &user.subject(), id, &body).await?),
    ))
}

/// A request's extensions
///
/// Everyone who may see the request, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/access-requests/{id}/extensions",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id"), PageParams),
    responses(
        (status = 200, description = "A page of extensions", body = Vec<Extension>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_extensions(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let (request, _) = visible_request(&app, &user.subject(), id).await?;
    let extensions = app.store.extensions_of(request.id).await?;
    Ok(paginate(extensions, |e| e.id.to_string(), Order::Ascending, &page)?.respond(&uri))
}

/// A comment on an extension decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDecisionBody {
    #[serde(default)]
    pub comment: String,
}

/// Approve an extension
///
/// The product's owners and stewards, never the requester. Moves the end date.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/extensions/{extension}/approve",
    tag = "access",
    params(
        ("id" = uuid::Uuid, Path, description = "The request's id"),
        ("extension" = uuid::Uuid, Path, description = "The extension's id"),
    ),
    request_body(content = Option<ExtensionDecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Approved", body = Extension),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn approve_extension(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((id, extension)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
    OptionalJson(body): OptionalJson<ExtensionDecisionBody>,
) -> Result<Json<Extension>, AppError> {
    let decided = decide(
        &app,
        &user.subject(),
        id,
        extension,
        true,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(decided))
}

/// Reject an extension
///
/// The product's owners and stewards. Access keeps its end date.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests/{id}/extensions/{extension}/reject",
    tag = "access",
    params(
        ("id" = uuid::Uuid, Path, description = "The request's id"),
        ("extension" = uuid::Uuid, Path, description = "The extension's id"),
    ),
    request_body(content = Option<ExtensionDecisionBody>, description = "An optional comment; the body may be left out"),
    responses(
        (status = 200, description = "Rejected", body = Extension),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn reject_extension(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((id, extension)): ApiPath<(uuid::Uuid, uuid::Uuid)>,
    OptionalJson(body): OptionalJson<ExtensionDecisionBody>,
) -> Result<Json<Extension>, AppError> {
    let decided = decide(
        &app,
        &user.subject(),
        id,
        extension,
        false,
        body.comment.trim(),
    )
    .await?;
    Ok(Json(decided))
}
