//! Extensions of granted access: the requester asks for a later end date; the product's
//! managers approve or reject it.

use serde::Deserialize;

use super::requests::{parse_until, request_facts, visible_request};
use super::{ActionError, ActionResult};
use crate::app::App;
use crate::domain::extensions::{Extension, ExtensionRefusal, NewExtension};
use crate::domain::policy::{RequestAction, Subject, may_act_on_request};
use crate::domain::*;
use crate::store::now;

/// A later end date and why.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"until": "2027-03-31", "reason": "The churn study runs a quarter longer"}))]
pub struct NewExtensionBody {
    /// The new end date: a date (`2027-03-31`) or an RFC 3339 time.
    pub until: String,
    pub reason: String,
}

/// Ask for a later end date for a granted request (its requester, or an admin).
pub async fn ask(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
    body: &NewExtensionBody,
) -> ActionResult<Extension> {
    let (request, product) = visible_request(app, caller, id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if !may_act_on_request(caller, &facts, RequestAction::RequestExtension) {
        return Err(ActionError::Forbidden);
    }
    let until = parse_until(&body.until)?;
    let extension = NewExtension::check(
        request.status,
        request.requested_until,
        product.max_access_days,
        now(),
        until,
        &body.reason,
    )
    .map_err(|refusal| match refusal {
        ExtensionRefusal::NotGranted(_) => ActionError::Conflict(refusal.to_string()),
        ExtensionRefusal::Invalid(invalid) => invalid.into(),
    })?;
    Ok(app
        .store
        .request_extension(Actor::User(caller.user), request.id, &extension)
        .await?)
}

/// Approve or reject a pending extension (the product's managers, never the requester).
pub async fn decide(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
    extension: uuid::Uuid,
    approve: bool,
    comment: &str,
) -> ActionResult<Extension> {
    let (request, product) = visible_request(app, caller, id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    if !may_act_on_request(caller, &facts, RequestAction::ApproveExtension) {
        return Err(ActionError::Forbidden);
    }
    if comment.chars().count() > 2000 {
        return Err(Invalid::new("comment", "at most 2000 characters").into());
    }
    Ok(app
        .store
        .decide_extension(
            Actor::User(caller.user),
            request.id,
            extension,
            approve,
            comment,
        )
        .await?)
}
