//! Business domains: anyone signed in reads them; the admin group creates them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::ApiJson;
use crate::app::AppState;
use crate::domain::policy::may_administer;
use crate::domain::{Actor, BusinessDomain, NewDomain, Slug, parse_display_name};
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDomainRequest {
    /// Derived from the name when omitted.
    pub slug: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// `GET /api/v1/domains`
pub async fn list_domains(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Vec<BusinessDomain>>, AppError> {
    Ok(Json(app.store.list_domains().await?))
}

/// `POST /api/v1/domains`
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
