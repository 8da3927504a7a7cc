//! Environments (admin group) and the consumer principals registered in them (admins, or
//! members of the principal's team). Also what an environment's Glue catalog holds, for
//! choosing tables to import.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::app::{App, AppState};
use crate::catalog_sources::{CatalogSource, SourceError, source_for};
use crate::domain::policy::{may_administer, may_register_principal};
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnvironmentRequest {
    pub slug: Option<String>,
    pub name: String,
    pub kind: String,
    pub aws_account_id: Option<String>,
    pub aws_region: Option<String>,
    pub aws_role_arn: Option<String>,
    pub endpoint_url: Option<String>,
    pub owner_team: Option<String>,
}

impl NewEnvironmentRequest {
    pub fn parse(&self) -> Result<NewEnvironment, Invalid> {
        let name = parse_display_name("name", &self.name)?;
        let slug = match self.slug.as_deref().filter(|s| !s.is_empty()) {
            Some(slug) => Slug::parse(slug)?,
            None => Slug::from_name(&name)?,
        };
        let non_empty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let endpoint_url = non_empty(&self.endpoint_url);
        if let Some(url) = &endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Invalid::new("endpoint_url", "must be an http(s) URL"));
        }
        NewEnvironment {
            slug,
            name,
            kind: EnvironmentKind::parse(self.kind.trim())
                .map_err(|e| Invalid::new("kind", e.message))?,
            aws_account_id: non_empty(&self.aws_account_id)
                .map(|a| AwsAccountId::parse(&a))
                .transpose()?,
            aws_region: non_empty(&self.aws_region)
                .map(|r| parse_region(&r))
                .transpose()?,
            aws_role_arn: non_empty(&self.aws_role_arn),
            endpoint_url,
            owner_team: non_empty(&self.owner_team)
                .map(|t| TeamName::parse(&t))
                .transpose()?,
        }
        .validate()
    }
}

/// `GET /api/v1/environments`: anyone signed in (products name their environment).
pub async fn list_environments(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Vec<Environment>>, AppError> {
    Ok(Json(app.store.list_environments().await?))
}

/// `POST /api/v1/environments`: the admin group.
pub async fn create_environment(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewEnvironmentRequest>,
) -> Result<(StatusCode, Json<Environment>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(add_environment(&app, &user, &request).await?),
    ))
}

pub async fn add_environment(
    app: &App,
    user: &CurrentUser,
    request: &NewEnvironmentRequest,
) -> Result<Environment, AppError> {
    if !may_administer(&user.subject()) {
        return Err(AppError::Forbidden);
    }
    let environment = request.parse()?;
    Ok(app
        .store
        .create_environment(Actor::User(user.user.id), &environment)
        .await?)
}

async fn environment(app: &App, slug: &str) -> Result<Environment, AppError> {
    let slug = Slug::parse(slug).map_err(|_| AppError::NotFound)?;
    Ok(app.store.environment_by_slug(&slug).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrincipalRequest {
    pub team: String,
    pub arn: String,
    #[serde(default)]
    pub label: String,
}

/// `GET /api/v1/environments/{slug}/principals`: admins see all, others their teams'.
pub async fn list_principals(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ConsumerPrincipal>>, AppError> {
    let environment = environment(&app, &slug).await?;
    let teams = (!user.is_admin).then_some(user.teams.as_slice());
    Ok(Json(
        app.store.list_principals(environment.id, teams).await?,
    ))
}

/// `POST /api/v1/environments/{slug}/principals`
pub async fn create_principal(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(request): ApiJson<NewPrincipalRequest>,
) -> Result<(StatusCode, Json<ConsumerPrincipal>), AppError> {
    let environment = environment(&app, &slug).await?;
    Ok((
        StatusCode::CREATED,
        Json(register_principal(&app, &user, &environment, &request).await?),
    ))
}

pub async fn register_principal(
    app: &App,
    user: &CurrentUser,
    environment: &Environment,
    request: &NewPrincipalRequest,
) -> Result<ConsumerPrincipal, AppError> {
    let team = TeamName::parse(&request.team)?;
    if !may_register_principal(&user.subject(), &team) {
        return Err(AppError::Forbidden);
    }
    let arn = PrincipalArn::parse(&request.arn)?;
    check_principal_account(environment, &arn)?;
    let label = request.label.trim();
    if label.chars().count() > 200 {
        return Err(Invalid::new("label", "at most 200 characters").into());
    }
    Ok(app
        .store
        .register_principal(
            Actor::User(user.user.id),
            environment.id,
            &team,
            &arn,
            label,
        )
        .await?)
}

/// `DELETE /api/v1/environments/{slug}/principals/{id}`
pub async fn delete_principal(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((slug, id)): Path<(String, uuid::Uuid)>,
) -> Result<StatusCode, AppError> {
    let environment = environment(&app, &slug).await?;
    let principal = app.store.principal(PrincipalId(id)).await?;
    if principal.environment_id != environment.id {
        return Err(AppError::NotFound);
    }
    if !may_register_principal(&user.subject(), &principal.team) {
        return Err(AppError::Forbidden);
    }
    app.store
        .remove_principal(Actor::User(user.user.id), principal.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct GlueTable {
    pub database: String,
    pub table: String,
    pub columns: usize,
}

/// Translate a catalog's failure into an answer for the caller.
pub fn source_error(error: SourceError) -> AppError {
    match error {
        SourceError::DatabaseNotFound(_) | SourceError::TableNotFound(_) => {
            AppError::BadRequest(error.to_string())
        }
        SourceError::Unavailable(detail) => {
            tracing::warn!(%detail, "catalog unavailable");
            AppError::Unavailable("the AWS Glue catalog did not answer; try again shortly".into())
        }
    }
}

async fn glue_for(
    app: &App,
    user: &CurrentUser,
    slug: &str,
) -> Result<crate::catalog_sources::glue::GlueSource, AppError> {
    if user.teams.is_empty() && !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let environment = environment(app, slug).await?;
    source_for(&environment, app.config.aws_endpoint_url.as_deref())
        .await
        .ok_or_else(|| {
            AppError::BadRequest("the sandbox has no Glue catalog; define tables by hand".into())
        })
}

/// `GET /api/v1/environments/{slug}/glue/databases`
pub async fn glue_databases(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<String>>, AppError> {
    let glue = glue_for(&app, &user, &slug).await?;
    Ok(Json(glue.list_databases().await.map_err(source_error)?))
}

/// `GET /api/v1/environments/{slug}/glue/databases/{database}/tables`
pub async fn glue_tables(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((slug, database)): Path<(String, String)>,
) -> Result<Json<Vec<GlueTable>>, AppError> {
    let glue = glue_for(&app, &user, &slug).await?;
    let tables = glue.list_tables(&database).await.map_err(source_error)?;
    Ok(Json(
        tables
            .into_iter()
            .map(|t| GlueTable {
                database: t.database,
                table: t.table,
                columns: t.columns.len(),
            })
            .collect(),
    ))
}
