//! Access requests: submit (with `Idempotency-Key`), list, read, and the decisions
//! (approve, reject, cancel, revoke, retry). Shared with the pages.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::docs::{Conflict, Forbidden, NotFound};
use super::pagination::{PageParams, Paged, cursor_for};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::actions::requests::{NewRequestBody, list_page, submit, visible_request};
use crate::app::AppState;
use crate::domain::access::AccessRequest;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// Request access
///
/// For tables of a published product, for a principal registered to your team in the
/// product's environment. Submitted at once; an auto-approve product goes straight to
/// granting. Send `Idempotency-Key` to make retries safe: a retry with the same key
/// returns the first request (whatever its status now) and creates nothing.
#[utoipa::path(
    post,
    path = "/api/v1/access-requests",
    tag = "access",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (1–200 characters), e.g. a UUID"),
    ),
    request_body = NewRequestBody,
    responses(
        (status = 201, description = "Submitted (or, for a retried key, the first request)", body = AccessRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_request(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewRequestBody>,
) -> Result<(StatusCode, Json<AccessRequest>), AppError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| Invalid::new("Idempotency-Key", "visible ASCII characters"))?
                .to_owned(),
        ),
    };
    Ok((
        StatusCode::CREATED,
        Json(submit(&app, &user.subject(), body, key).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `mine` (default: requests you made), `inbox` (requests for products you manage) or
    /// `all` (admins).
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^(mine|inbox|all)$")]
    pub scope: Option<String>,
    /// Only requests in this status.
    #[serde(default)]
    #[param(value_type = Option<RequestStatus>)]
    pub status: Option<String>,
}

fn parameter(field: &str, message: &str) -> AppError {
    AppError::InvalidParameter(crate::http::error::FieldError {
        field: field.into(),
        message: message.into(),
    })
}

fn request_cursor(at: OffsetDateTime, id: RequestId) -> String {
    cursor_for(&format!("{}|{id}", at.unix_timestamp_nanos()))
}

fn parse_request_cursor(
    page: &PageParams,
) -> Result<Option<(OffsetDateTime, RequestId)>, AppError> {
    let Some(position) = page.after()? else {
        return Ok(None);
    };
    position
        .split_once('|')
        .and_then(|(at, id)| {
            let at = OffsetDateTime::from_unix_timestamp_nanos(at.parse().ok()?).ok()?;
            Some((at, id.parse().ok()?))
        })
        .map(Some)
        .ok_or_else(|| parameter("cursor", "not a cursor from this list"))
}

/// List access requests
///
/// Newest first: yours (`scope=mine`), those waiting for you as an owner or steward
/// (`scope=inbox`), or every request (`scope=all`, admins).
#[utoipa::path(
    get,
    path = "/api/v1/access-requests",
    tag = "access",
    params(ListParams, PageParams),
    responses(
        (status = 200, description = "A page of requests", body = Vec<AccessRequest>),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list_requests(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(params): ApiQuery<ListParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let statuses = params
        .status
        .as_deref()
        .map(|s| RequestStatus::parse(s).map_err(|e| parameter("status", &e.message)))
        .transpose()?
        .into_iter()
        .collect();
    let listed = list_page(
        &app,
        &user.subject(),
        params.scope.as_deref().unwrap_or("mine"),
        statuses,
        parse_request_cursor(&page)?,
        Some(page.limit()?),
    )
    .await?;
    let paged = Paged {
        items: listed.items,
        next: listed.next.map(|(at, id)| request_cursor(at, id)),
    };
    Ok(paged.respond(&uri))
}

/// Get an access request
///
/// Its status (the worst of its tables'), tables with their grant health, and decisions.
#[utoipa::path(
    get,
    path = "/api/v1/access-requests/{id}",
    tag = "access",
    params(("id" = uuid::Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = AccessRequest, headers(("ETag" = String, description = "The request's version"))),
        (status = 404, response = NotFound),
    ),
)]
pub async fn get_request(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Response, AppError> {
    let request = visible_request(&app, &user.subject(), id).await?.0;
    let tag = HeaderValue::from_str(&format!("\"{}\"", request.version)).ok();
    let mut response = Json(request).into_response();
    if let Some(tag) = tag {
        response.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(response)
}

/// An optional comment on a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "ok for the churn dashboard"}))]
pub struct DecisionBody {
    /// At most 2000 characters.
    #[serde(default)]
    pub comment: String,
}
