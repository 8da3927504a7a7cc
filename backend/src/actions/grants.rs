//! Grants: who holds what and why, as each caller may see it, and checking one now.

use serde::{Deserialize, Serialize};

use super::{ActionError, ActionResult};
use crate::app::App;
use crate::domain::grants::{GrantScope, GrantView};
use crate::domain::policy::{GrantFacts, ProductFacts, Subject, may_view_grant};
use crate::domain::*;
use crate::store::GrantFilter;

/// Filters of the grant list; every one optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GrantParams {
    /// Grants held by this principal (an IAM role ARN or account id).
    #[serde(default)]
    pub principal: Option<String>,
    /// Grants on this product (its slug).
    #[serde(default)]
    pub product: Option<String>,
    /// Grants to this team's principals.
    #[serde(default)]
    pub team: Option<String>,
    /// Also list grants that were revoked or expired.
    #[serde(default)]
    pub include_removed: Option<bool>,
    /// Where the page starts: the `cursor` of the previous response's `Link: rel="next"`.
    #[serde(default)]
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One page of grants, newest first.
#[derive(Debug, Serialize)]
pub struct GrantPage {
    pub items: Vec<GrantView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn blank_to_none(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The grants the caller may see that match `params`.
pub async fn grants_for(
    app: &App,
    caller: &Subject<'_>,
    params: &GrantParams,
) -> ActionResult<GrantPage> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ActionError::InvalidParameter(Invalid::new(
            "limit",
            "a number from 1 to 200",
        )));
    }
    let after = blank_to_none(&params.cursor)
        .map(|c| c.parse::<uuid::Uuid>())
        .transpose()
        .map_err(|_| ActionError::BadRequest("the cursor is not valid".into()))?;
    let team = blank_to_none(&params.team)
        .map(|t| TeamName::parse(&t))
        .transpose()
        .map_err(|invalid| {
            ActionError::InvalidParameter(Invalid {
                field: "team",
                ..invalid
            })
        })?;
    let scope = if caller.is_admin {
        GrantScope::All
    } else {
        GrantScope::VisibleTo {
            teams: caller.teams.to_vec(),
            user: caller.user,
        }
    };
    let filter = GrantFilter {
        scope,
        principal_arn: blank_to_none(&params.principal),
        product: blank_to_none(&params.product),
        team,
        include_removed: params.include_removed.unwrap_or(false),
        after,
        limit: limit + 1,
    };
    let mut items = app.store.list_grants(&filter).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|g| g.id.to_string())
    } else {
        None
    };
    Ok(GrantPage { items, next_cursor })
}

/// The grant, if the caller may see it (404 otherwise).
pub async fn visible_grant(
    app: &App,
    caller: &Subject<'_>,
    id: uuid::Uuid,
) -> ActionResult<GrantView> {
    let grant = app.store.grant_by_id(id).await?;
    let request = app.store.access_request(grant.request_id).await?;
    let product = app.store.product_by_id(request.product_id).await?;
    let stewards = product.steward_ids();
    let facts = GrantFacts {
        consumer_team: &grant.consumer_team,
        product: ProductFacts {
            owner_team: &product.owner_team,
            stewards: &stewards,
            status: product.status,
        },
    };
    if may_view_grant(caller, &facts) {
        Ok(grant)
    } else {
        Err(ActionError::NotFound)
    }
}

/// Check one held grant in its driver now and record its health.
pub async fn verify(app: &App, caller: &Subject<'_>, id: uuid::Uuid) -> ActionResult<GrantView> {
    let grant = visible_grant(app, caller, id).await?;
    if grant.state != "applied" || grant.request_status != RequestStatus::Granted {
        return Err(ActionError::Conflict(format!(
            "only held grants can be checked; this one is {} (request {})",
            grant.state, grant.request_status
        )));
    }
    crate::grants::jobs::verify_items(
        &app.grant_context(),
        grant.request_id,
        Some(&[grant.item_id]),
        false,
    )
    .await
    .map_err(ActionError::Internal)?;
    Ok(app.store.grant_by_id(id).await?)
}
