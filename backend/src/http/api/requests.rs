//! Access requests: submit (with `Idempotency-Key`), list, read, and the decisions
//! (approve, reject, cancel, revoke, retry). Shared with the pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ApiJson;
use super::products::visible_product;
use crate::app::{App, AppState};
use crate::domain::access::{AccessRequest, NewAccessRequest, Transition};
use crate::domain::policy::{
    ProductFacts, RequestAction, RequestFacts, RequestRefusal, may_act_on_request,
    may_request_access, may_view_request,
};
use crate::domain::*;
use crate::grants::jobs::{grant_job, revoke_job};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::store::{RequestFilter, StoreError, now};

/// A table to request: by `database.table` (or asset id), optionally a column subset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableChoice {
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub asset_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    /// The product's slug.
    pub product: String,
    pub tables: Vec<TableChoice>,
    pub principal_id: uuid::Uuid,
    /// The requesting team; the principal's team when omitted.
    #[serde(default)]
    pub consumer_team: Option<String>,
    pub justification: String,
    /// When access ends: a date (`2027-01-31`) or an RFC 3339 time.
    pub until: String,
}

fn parse_until(text: &str) -> Result<OffsetDateTime, Invalid> {
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
fn request_facts<'a>(
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
    let justification = body.justification.trim().to_owned();
    if !(10..=2000).contains(&justification.chars().count()) {
        return Err(Invalid::new("justification", "say why in 10–2000 characters").into());
    }
    let until = parse_until(&body.until)?;
    if until <= now() {
        return Err(Invalid::new("until", "must be in the future").into());
    }
    if until > now() + time::Duration::days(i64::from(product.max_access_days)) {
        return Err(Invalid::new(
            "until",
            format!(
                "this product grants access for at most {} days",
                product.max_access_days
            ),
        )
        .into());
    }
    let assets = app.store.assets_of(&[product.id]).await?;
    let mut items = Vec::new();
    for choice in &body.tables {
        let asset = assets
            .iter()
            .filter(|a| a.removed_at.is_none())
            .find(|a| {
                Some(a.id.0) == choice.asset_id
                    || choice.table.as_deref() == Some(&format!("{}.{}", a.database, a.table))
            })
            .ok_or_else(|| Invalid::new("tables", "a chosen table is not part of this product"))?;
        if let Some(columns) = &choice.columns
            && (columns.is_empty()
                || columns
                    .iter()
                    .any(|c| !asset.columns.iter().any(|a| &a.name == c)))
        {
            return Err(Invalid::new(
                "tables",
                format!(
                    "choose existing columns of {}.{}",
                    asset.database, asset.table
                ),
            )
            .into());
        }
        if items.iter().any(|(id, _)| *id == asset.id) {
            return Err(Invalid::new("tables", "a table is chosen twice").into());
        }
        items.push((asset.id, choice.columns.clone()));
    }
    if items.is_empty() {
        return Err(Invalid::new("tables", "choose at least one table").into());
    }
    if idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(Invalid::new("Idempotency-Key", "1–200 characters").into());
    }
    let new = NewAccessRequest {
        product_id: product.id,
        requester: user.user.id,
        consumer_team,
        principal_id: principal.id,
        items,
        justification,
        requested_until: until,
        idempotency_key,
    };
    let request = app
        .store
        .create_request(&new, product.auto_approve, &grant_job(RequestId::new()))
        .await?;
    app.jobs.wake();
    Ok(request)
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
        RequestAction::RequestExtension | RequestAction::ApproveExtension => {
            return Err(AppError::Conflict(
                "extensions are not supported yet".into(),
            ));
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

/// `POST /api/v1/access-requests` (send `Idempotency-Key` to make retries safe)
pub async fn create_request(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewRequestBody>,
) -> Result<(StatusCode, Json<AccessRequest>), AppError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    Ok((
        StatusCode::CREATED,
        Json(submit(&app, &user, body, key).await?),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// `mine` (default), `inbox` (requests for products you manage) or `all` (admins).
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

pub async fn list_for(
    app: &App,
    user: &CurrentUser,
    scope: &str,
    statuses: Vec<RequestStatus>,
) -> Result<Vec<AccessRequest>, AppError> {
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
        _ => return Err(Invalid::new("scope", "mine, inbox or all").into()),
    };
    let mut requests = app.store.list_requests(&filter).await?;
    if scope == "inbox" {
        requests.retain(|r| r.requester.id != user.user.id);
    }
    Ok(requests)
}

/// `GET /api/v1/access-requests?scope=mine|inbox|all&status=…`
pub async fn list_requests(
    State(app): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<AccessRequest>>, AppError> {
    let statuses = params
        .status
        .as_deref()
        .map(RequestStatus::parse)
        .transpose()?
        .into_iter()
        .collect();
    Ok(Json(
        list_for(
            &app,
            &user,
            params.scope.as_deref().unwrap_or("mine"),
            statuses,
        )
        .await?,
    ))
}

/// `GET /api/v1/access-requests/{id}`
pub async fn get_request(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<AccessRequest>, AppError> {
    Ok(Json(visible_request(&app, &user, id).await?.0))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[serde(default)]
    pub comment: String,
}

fn action_named(name: &str) -> Result<RequestAction, AppError> {
    Ok(match name {
        "approve" => RequestAction::Approve,
        "reject" => RequestAction::Reject,
        "cancel" => RequestAction::Cancel,
        "revoke" => RequestAction::Revoke,
        "retry" => RequestAction::Retry,
        _ => return Err(AppError::NotFound),
    })
}

/// `POST /api/v1/access-requests/{id}/{approve|reject|cancel|revoke|retry}`
pub async fn decide(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(uuid::Uuid, String)>,
    body: axum::body::Bytes,
) -> Result<Json<AccessRequest>, AppError> {
    // The body is optional: `{"comment": "…"}` or nothing.
    if action == "verify" || action == "reapply" {
        return Ok(Json(check(&app, &user, id, action == "reapply").await?));
    }
    let comment = if body.is_empty() {
        String::new()
    } else {
        serde_json::from_slice::<DecisionBody>(&body)
            .map_err(|e| AppError::BadRequest(e.to_string()))?
            .comment
    };
    Ok(Json(
        act(&app, &user, id, action_named(&action)?, comment.trim()).await?,
    ))
}
