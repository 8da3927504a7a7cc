//! Access requests: submit (with `Idempotency-Key`), list, read, and the decisions
//! (approve, reject, cancel, revoke, retry). Shared with the pages.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::docs::{Conflict, Forbidden, NotFound};
use super::pagination::{PageParams, Paged, cursor_for};
use super::products::visible_product;
use super::{ApiJson, ApiPath, ApiQuery};
use crate::app::{App, AppState};
use crate::domain::access::{AccessRequest, NewAccessRequest, Transition};
use crate::domain::policy::{
    ProductFacts, RequestAction, RequestFacts, RequestRefusal, may_act_on_request,
    may_request_access, may_view_request,
};
use crate::domain::request_check::RequestAsk;
use crate::domain::*;
use crate::grants::jobs::{grant_job, revoke_job};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::store::{RequestFilter, StoreError, now};

pub use crate::domain::request_check::TableChoice;

/// What to ask for, for which role, why and until when.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"product": "orders", "principal_id": "0193a2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
    "until": "2027-01-31", "justification": "Churn dashboard for the sales team",
    "tables": [{"table": "sales_curated.orders"}]}))]
pub struct NewRequestBody {
    /// The product's slug.
    pub product: String,
    pub tables: Vec<TableChoice>,
    pub principal_id: uuid::Uuid,
    /// The requesting team; the principal's team when omitted.
    #[serde(default)]
    pub consumer_team: Option<String>,
    /// Why, in 10–2000 characters.
    pub justification: String,
    /// When access ends: a date (`2027-01-31`) or an RFC 3339 time.
    pub until: String,
}

pub fn parse_until(text: &str) -> Result<OffsetDateTime, Invalid> {
    let invalid = || Invalid::new("until", "a date like 2027-01-31 or an RFC 3339 time");
    if let Ok(at) = OffsetDateTime::parse(text.trim(), &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), format).map_err(|_| invalid())?;
    Ok(date
        .with_hms(23, 59, 59)
        .map_err(|_| invalid())?
        .assume_utc())
}

/// What the policy needs to know about a request.
pub fn request_facts<'a>(
    request: &'a AccessRequest,
    product: &'a Product,
    stewards: &'a [UserId],
) -> RequestFacts<'a> {
    RequestFacts {
        requester: request.requester.id,
        consumer_team: &request.consumer_team,
        product: ProductFacts {
            owner_team: &product.owner_team,
            stewards,
            status: product.status,
        },
    }
}

/// Check and submit a request; an auto-approve product goes straight to granting.
pub async fn submit(
    app: &App,
    user: &CurrentUser,
    body: NewRequestBody,
    idempotency_key: Option<String>,
) -> Result<AccessRequest, AppError> {
    if let Some(key) = &idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(Invalid::new("Idempotency-Key", "1–200 characters").into());
        }
        if let Some(first) = app
            .store
            .request_by_idempotency_key(user.user.id, key)
            .await?
        {
            return replay(first, &body);
        }
    }
    let product = visible_product(app, user, &body.product).await?;
    let principal = match app.store.principal(PrincipalId(body.principal_id)).await {
        Ok(principal) => principal,
        Err(StoreError::NotFound) => {
            return Err(Invalid::new("principal_id", "no such principal").into());
        }
        Err(other) => return Err(other.into()),
    };
    let environment = app.store.environment_by_slug(&product.environment).await?;
    if principal.environment_id != environment.id {
        return Err(Invalid::new(
            "principal_id",
            "that principal is registered in another environment",
        )
        .into());
    }
    let consumer_team = match &body.consumer_team {
        Some(team) => TeamName::parse(team)?,
        None => principal.team.clone(),
    };
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status: product.status,
    };
    match may_request_access(&user.subject(), &facts, &consumer_team, &principal.team) {
        Ok(()) => {}
        Err(RequestRefusal::NotPublished) => {
            return Err(AppError::Conflict(RequestRefusal::NotPublished.to_string()));
        }
        Err(refusal) => {
            tracing::info!(user = %user.user.id, %refusal, "access request refused");
            return Err(AppError::Forbidden);
        }
    }
    let assets = app.store.assets_of(&[product.id]).await?;
    let checked = RequestAsk {
        assets: &assets,
        max_access_days: product.max_access_days,
        tables: &body.tables,
        justification: &body.justification,
        until: parse_until(&body.until)?,
        idempotency_key: idempotency_key.as_deref(),
    }
    .check(now())?;
    let new = NewAccessRequest {
        product_id: product.id,
        requester: user.user.id,
        consumer_team,
        principal_id: principal.id,
        items: checked.items,
        justification: checked.justification,
        requested_until: checked.until,
        idempotency_key,
    };
    let request = app
        .store
        .create_request(&new, product.auto_approve, &grant_job(RequestId::new()))
        .await?;
    app.jobs.wake();
    Ok(request)
}

/// A retry with a key already used: the first request, whatever happened to it since,
/// if it asked for the same thing; a key reused for something else is refused.
fn replay(first: AccessRequest, body: &NewRequestBody) -> Result<AccessRequest, AppError> {
    if first.product_slug == body.product && first.principal_id.0 == body.principal_id {
        Ok(first)
    } else {
        Err(Invalid::new(
            "Idempotency-Key",
            "this key was used for a different request; use a new key",
        )
        .into())
    }
}

/// The request, if this user may see it (404 otherwise), and the facts the policy needs.
pub async fn visible_request(
    app: &App,
    user: &CurrentUser,
    id: uuid::Uuid,
) -> Result<(AccessRequest, Product), AppError> {
    let request = app.store.access_request(RequestId(id)).await?;
    let product = app.store.product_by_id(request.product_id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if may_view_request(&user.subject(), &facts) {
        Ok((request, product))
    } else {
        Err(AppError::NotFound)
    }
}

/// What `user` may do to this request now.
pub fn allowed_actions(
    user: &CurrentUser,
    request: &AccessRequest,
    product: &Product,
) -> Vec<RequestAction> {
    let stewards = product.steward_ids();
    let facts = request_facts(request, product, &stewards);
    let possible: &[RequestAction] = match request.status {
        RequestStatus::Submitted => &[
            RequestAction::Approve,
            RequestAction::Reject,
            RequestAction::Cancel,
        ],
        RequestStatus::Granted => &[RequestAction::Revoke],
        RequestStatus::Failed => &[RequestAction::Retry, RequestAction::Revoke],
        _ => &[],
    };
    possible
        .iter()
        .copied()
        .filter(|a| may_act_on_request(&user.subject(), &facts, *a))
        .collect()
}

/// Move a request. Refused moves change nothing: 403 for who, 409 for when.
pub async fn act(
    app: &App,
    user: &CurrentUser,
    id: uuid::Uuid,
    action: RequestAction,
    comment: &str,
) -> Result<AccessRequest, AppError> {
    let (request, product) = visible_request(app, user, id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if !may_act_on_request(&user.subject(), &facts, action) {
        return Err(AppError::Forbidden);
    }
    if comment.chars().count() > 2000 {
        return Err(Invalid::new("comment", "at most 2000 characters").into());
    }
    let (from, transition, job) = match action {
        RequestAction::Approve => (
            RequestStatus::Submitted,
            Transition::Approve,
            Some(grant_job(request.id)),
        ),
        RequestAction::Reject => (RequestStatus::Submitted, Transition::Reject, None),
        RequestAction::Cancel => (RequestStatus::Submitted, Transition::Cancel, None),
        RequestAction::Retry => (
            RequestStatus::Failed,
            Transition::Retry,
            Some(grant_job(request.id)),
        ),
        RequestAction::Revoke => (
            request.status,
            Transition::Revoke,
            Some(revoke_job(request.id, false)),
        ),
        // Extensions have their own resource (`extensions.rs`).
        RequestAction::RequestExtension | RequestAction::ApproveExtension => {
            return Err(AppError::NotFound);
        }
    };
    let moved = app
        .store
        .transition_request(
            Actor::User(user.user.id),
            request.id,
            from,
            transition,
            comment,
            job.as_ref(),
        )
        .await?;
    app.jobs.wake();
    Ok(moved)
}

/// Check a granted request's grants now (anyone who may see it), or apply them again
/// first (`reapply`: the product's managers).
pub async fn check(
    app: &App,
    user: &CurrentUser,
    id: uuid::Uuid,
    reapply: bool,
) -> Result<AccessRequest, AppError> {
    let (request, product) = visible_request(app, user, id).await?;
    if request.status != RequestStatus::Granted {
        return Err(AppError::Conflict(format!(
            "only granted access can be checked; this request is {}",
            request.status
        )));
    }
    if reapply && !allowed_actions_granted(user, &request, &product) {
        return Err(AppError::Forbidden);
    }
    crate::grants::jobs::verify_request(app, request.id, reapply)
        .await
        .map_err(AppError::Internal)
}

/// Whether `user` manages the product (who may reapply grants).
fn allowed_actions_granted(user: &CurrentUser, request: &AccessRequest, product: &Product) -> bool {
    let stewards = product.steward_ids();
    let facts = request_facts(request, product, &stewards);
    may_act_on_request(&user.subject(), &facts, RequestAction::Retry)
}

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
        Json(submit(&app, &user, body, key).await?),
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

pub async fn list_for(
    app: &App,
    user: &CurrentUser,
    scope: &str,
    statuses: Vec<RequestStatus>,
) -> Result<Vec<AccessRequest>, AppError> {
    Ok(list_page(app, user, scope, statuses, None, None)
        .await?
        .items)
}

/// One page of requests, newest first; `next` is the position after its last row.
pub async fn list_page(
    app: &App,
    user: &CurrentUser,
    scope: &str,
    statuses: Vec<RequestStatus>,
    before: Option<(OffsetDateTime, RequestId)>,
    limit: Option<u32>,
) -> Result<Paged<AccessRequest>, AppError> {
    let filter = match scope {
        "mine" => RequestFilter {
            requester: Some(user.user.id),
            statuses,
            ..Default::default()
        },
        "inbox" => RequestFilter {
            managed_by: Some((user.teams.clone(), user.user.id)),
            statuses,
            ..Default::default()
        },
        "all" if user.is_admin => RequestFilter {
            all: true,
            statuses,
            ..Default::default()
        },
        "all" => return Err(AppError::Forbidden),
        _ => return Err(parameter("scope", "mine, inbox or all")),
    };
    let filter = RequestFilter {
        before,
        limit: limit.map(|l| l + 1),
        ..filter
    };
    let mut requests = app.store.list_requests(&filter).await?;
    let more = limit.is_some_and(|l| requests.len() > l as usize);
    requests.truncate(limit.map_or(usize::MAX, |l| l as usize));
    // The position comes from the last row read, before the inbox drops its own requests.
    let next = more
        .then(|| requests.last().map(|r| request_cursor(r.created_at, r.id)))
        .flatten();
    if scope == "inbox" {
        requests.retain(|r| r.requester.id != user.user.id);
    }
    Ok(Paged {
        items: requests,
        next,
    })
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
    let paged = list_page(
        &app,
        &user,
        params.scope.as_deref().unwrap_or("mine"),
        statuses,
        parse_request_cursor(&page)?,
        Some(page.limit()?),
    )
    .await?;
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
    let request = visible_request(&app, &user, id).await?.0;
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
