//! Business domains: anyone signed in reads them; the admin group creates them.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::docs::{Conflict, Forbidden};
use super::pagination::{Order, PageParams, paginate};
use super::{ApiJson, ApiQuery};
use crate::app::AppState;
use crate::domain::policy::may_administer;
use crate::domain::{Actor, BusinessDomain, NewDomain, Slug, parse_display_name};
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Sales", "description": "Orders, customers and revenue"}))]
pub struct NewDomainRequest {
    /// Derived from the name when omitted.
    pub slug: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// List business domains
///
/// Anyone signed in, ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/domains",
    tag = "catalog",
    params(PageParams),
    responses(
        (status = 200, description = "A page of domains", body = Vec<BusinessDomain>),
    ),
)]
pub async fn list_domains(
    State(app): State<AppState>,
    _user: CurrentUser,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let domains = app.store.list_domains().await?;
    Ok(paginate(
        domains,
        |d| format!("{}\u{0}{}", d.name, d.id),
        Order::Ascending,
        &page,
    )?
    .respond(&uri))
}

/// Create a business domain
///
/// The admin group only.
#[utoipa::path(
    post,
    path = "/api/v1/domains",
    tag = "catalog",
    request_body = NewDomainRequest,
    responses(
        (status = 201, description = "Created", body = BusinessDomain),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_domain(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewDomainRequest>,
) -> Result<(StatusCode, Json<BusinessDomain>), AppError> {
    if !may_administer(&user.subject()) {
        return Err(AppError::Forbidden);
    }
    let name = parse_display_name("name", &request.name)?;
    let slug = match &request.slug {
        Some(slug) => Slug::parse(slug)?,
        None => Slug::from_name(&name)?,
    };
    let description = request.description.trim().to_owned();
    if description.chars().count() > 2_000 {
        return Err(
            crate::domain::Invalid::new("description", "must be at most 2,000 characters").into(),
        );
    }
    let domain = app
        .store
        .create_domain(
            Actor::User(user.user.id),
            &NewDomain {
                slug,
                name,
                description,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(domain)))
}
