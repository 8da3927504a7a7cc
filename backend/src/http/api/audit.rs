//! The audit log over the API: `GET /api/v1/audit`. Admins read everything; others read the
//! entries about requests and products they may see.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;

use super::ApiQuery;
use super::pagination::{Paged, bad};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::AppState;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::store::AuditFilter;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// `access_request`, `product`, `environment`, `principal`, `domain`, …
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub target_id: Option<String>,
    /// The acting user's id.
    #[serde(default)]
    pub actor: Option<uuid::Uuid>,
    /// Entries at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// Where the page starts: the `cursor` of the previous response's `Link: rel="next"`.
    #[serde(default)]
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The audit log
///
/// Oldest first, with AWS request ids and errors of the calls Wharf made. Admins read
/// everything; others the entries about requests and products they may see.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "access",
    params(AuditParams),
    responses((status = 200, description = "A page of audit entries", body = Vec<AuditEntry>)),
)]
pub async fn list_audit(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Response, AppError> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(bad("limit", "a number from 1 to 500"));
    }
    let since = params
        .since
        .as_deref()
        .map(|s| OffsetDateTime::parse(s, &Rfc3339))
        .transpose()
        .map_err(|_| bad("since", "an RFC 3339 time like 2027-01-31T00:00:00Z"))?;
    let after = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::parse::<uuid::Uuid>)
        .transpose()
        .map_err(|_| AppError::BadRequest("the cursor is not valid".into()))?;
    let filter = AuditFilter {
        visible_to: (!user.is_admin).then(|| (user.teams.clone(), user.user.id)),
        target_type: params.target_type.filter(|t| !t.is_empty()),
        target_id: params.target_id.filter(|t| !t.is_empty()),
        actor: params.actor.map(UserId),
        since,
        after,
        limit: limit + 1,
    };
    let mut items = app.store.list_audit(&filter).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Paged {
        items,
        next: next_cursor,
    }
    .respond(&uri))
}
