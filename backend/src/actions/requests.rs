//! Access requests: submit (with an idempotency key), list, read, and the moves people
//! make (approve, reject, cancel, revoke, retry, and checking granted access).

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::products::visible_product;
use super::{ActionError, ActionResult};
use crate::app::App;
use crate::domain::access::{AccessRequest, NewAccessRequest, Transition};
use crate::domain::policy::{
    ProductFacts, RequestAction, RequestFacts, RequestRefusal, Subject, may_act_on_request,
    may_request_access, may_view_request,
};
use crate::domain::request_check::RequestAsk;
use crate::domain::*;
use crate::grants::jobs::{grant_job, revoke_job};
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
    caller: &Subject<'_>,
    body: NewRequestBody,
    idempotency_key: Option<String>,
) -> ActionResult<AccessRequest> {
    if let Some(key) = &idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(Invalid::new("Idempotency-Key", "1–200 characters").into());
        }
        if let Some(first) = app
            .store
            .request_by_idempotency_key(caller.user, key)
            .await?
        {
            return replay(first, &body);
        }
    }
    let product = visible_product(app, caller, &body.product).await?;
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
    match may_request_access(caller, &facts, &consumer_team, &principal.team) {
        Ok(()) => {}
        Err(RequestRefusal::NotPublished) => {
            return Err(ActionError::Conflict(
                RequestRefusal::NotPublished.to_string(),
            ));
        }
        Err(refusal) => {
            tracing::info!(user = %caller.user, %refusal, "access request refused");
            return Err(ActionError::Forbidden);
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
        requester: caller.user,
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
fn replay(first: AccessRequest, body: &NewRequestBody) -> ActionResult<AccessRequest> {
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

/// The request, if the caller may see it (404 otherwise), and the facts the policy needs.
pub async fn visible_request(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
) -> ActionResult<(AccessRequest, Product)> {
    let request = app.store.access_request(RequestId(id)).await?;
    let product = app.store.product_by_id(request.product_id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if may_view_request(caller, &facts) {
        Ok((request, product))
    } else {
        Err(ActionError::NotFound)
    }
}

/// What the caller may do to this request now, in the order pages offer it.
pub fn allowed_actions(
    caller: &Subject<'_>,
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
        RequestStatus::Granted => &[
            RequestAction::Revoke,
            RequestAction::Verify,
            RequestAction::Reapply,
        ],
        RequestStatus::Failed => &[RequestAction::Retry, RequestAction::Revoke],
        _ => &[],
    };
    possible
        .iter()
        .copied()
        .filter(|a| may_act_on_request(caller, &facts, *a))
        .collect()
}

/// Move a request. Refused moves change nothing: 403 for who, 409 for when.
pub async fn act(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
    action: RequestAction,
    comment: &str,
) -> ActionResult<AccessRequest> {
    let (request, product) = visible_request(app, caller, id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if !may_act_on_request(caller, &facts, action) {
        return Err(ActionError::Forbidden);
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
        // Checks and extensions have their own operations (`check`, `extensions.rs`).
        RequestAction::Verify
        | RequestAction::Reapply
        | RequestAction::RequestExtension
        | RequestAction::ApproveExtension => {
            return Err(ActionError::NotFound);
        }
    };
    let moved = app
        .store
        .transition_request(
            Actor::User(caller.user),
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
    caller: &Subject<'_>,
    id: uuid::Uuid,
    reapply: bool,
) -> ActionResult<AccessRequest> {
    let (request, product) = visible_request(app, caller, id).await?;
    if request.status != RequestStatus::Granted {
        return Err(ActionError::Conflict(format!(
            "only granted access can be checked; this request is {}",
            request.status
        )));
    }
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if reapply && !may_act_on_request(caller, &facts, RequestAction::Reapply) {
        return Err(ActionError::Forbidden);
    }
    crate::grants::jobs::verify_request(&app.grant_context(), request.id, reapply)
        .await
        .map_err(ActionError::Internal)
}

pub async fn list_for(
    app: &App,
    caller: &Subject<'_>,
    scope: &str,
    statuses: Vec<RequestStatus>,
) -> ActionResult<Vec<AccessRequest>> {
    Ok(list_page(app, caller, scope, statuses, None, None)
        .await?
        .items)
}

/// A page of requests, newest first.
pub struct RequestPage {
    pub items: Vec<AccessRequest>,
    /// Where the next page starts (the last row read), when there is one.
    pub next: Option<(OffsetDateTime, RequestId)>,
}

/// One page of requests, newest first; `next` is the position after its last row.
pub async fn list_page(
    app: &App,
    caller: &Subject<'_>,
    scope: &str,
    statuses: Vec<RequestStatus>,
    before: Option<(OffsetDateTime, RequestId)>,
    limit: Option<u32>,
) -> ActionResult<RequestPage> {
    let filter = match scope {
        "mine" => RequestFilter {
            requester: Some(caller.user),
            statuses,
            ..Default::default()
        },
        "inbox" => RequestFilter {
            managed_by: Some((caller.teams.to_vec(), caller.user)),
            statuses,
            ..Default::default()
        },
        "all" if caller.is_admin => RequestFilter {
            all: true,
            statuses,
            ..Default::default()
        },
        "all" => return Err(ActionError::Forbidden),
        _ => {
            return Err(ActionError::InvalidParameter(Invalid::new(
                "scope",
                "mine, inbox or all",
            )));
        }
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
        .then(|| requests.last().map(|r| (r.created_at, r.id)))
        .flatten();
    if scope == "inbox" {
        requests.retain(|r| r.requester.id != caller.user);
    }
    Ok(RequestPage {
        items: requests,
        next,
    })
}
