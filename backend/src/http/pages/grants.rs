//! The grants page: who holds what, and why this role has access (request, requester,
//! approver, time, last check), with a button to check a grant now.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Chrome, PagePath, PageQuery, RenderPage, flash};
use crate::actions::grants::{GrantParams, grants_for, verify};
use crate::app::AppState;
use crate::domain::grants::GrantView;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Template)]
#[template(path = "pages/grants.html")]
struct GrantsPage {
    chrome: Chrome,
    grants: Vec<GrantView>,
    principal: String,
    product: String,
    team: String,
    include_removed: bool,
    /// The query string of the next page, when there is one.
    next: Option<String>,
}

/// `GET /grants?principal=…&product=…&team=…`
pub async fn grants(
    State(app): State<AppState>,
    user: CurrentUser,
    PageQuery(params): PageQuery<GrantParams>,
) -> Result<Response, AppError> {
    let page = grants_for(&app, &user.subject(), &params).await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let next = page.next_cursor.map(|cursor| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("principal", text(&params.principal)),
            ("product", text(&params.product)),
            ("team", text(&params.team)),
        ] {
            if !value.is_empty() {
                query.append_pair(key, &value);
            }
        }
        if params.include_removed == Some(true) {
            query.append_pair("include_removed", "true");
        }
        query.append_pair("cursor", &cursor);
        query.finish()
    });
    GrantsPage {
        chrome: Chrome::new(&app, Some(&user), "Grants").nav("grants"),
        grants: page.items,
        principal: text(&params.principal),
        product: text(&params.product),
        team: text(&params.team),
        include_removed: params.include_removed == Some(true),
        next,
    }
    .into_page()
}

/// `POST /grants/{id}/verify`
pub async fn verify_grant(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, AppError> {
    let grant = verify(&app, &user.subject(), id).await?;
    let back = format!(
        "/grants?principal={}",
        url::form_urlencoded::byte_serialize(grant.principal_arn.as_bytes()).collect::<String>()
    );
    let message = format!(
        "Checked {}: {}.",
        grant.table_name(),
        grant.health_detail.as_deref().unwrap_or(&grant.health)
    );
    Ok(flash::redirect(&app, &back, message))
}
