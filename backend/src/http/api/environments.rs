//! Environments (admin group), the teams that may publish from them (their owner team and
//! admins decide) and the consumer principals registered in them (admins, or members of
//! the principal's team). Also what an environment's Glue catalog holds, for choosing
//! tables to import (teams that may publish from it).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;

use super::docs::{BadRequest, Conflict, Forbidden, NotFound, Unavailable};
use super::pagination::{Order, PageParams, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::actions::environments::{
    self, NewEnvironmentRequest, NewPrincipalRequest, PublisherRequest, environment,
};
use crate::app::AppState;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// List environments
///
/// Anyone signed in (products name their environment), ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/environments",
    tag = "catalog",
    params(PageParams),
    responses((status = 200, description = "A page of environments", body = Vec<Environment>)),
)]
pub async fn list_environments(
    State(app): State<AppState>,
    _user: CurrentUser,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let environments = app.store.list_environments().await?;
    Ok(paginate(
        environments,
        |e| format!("{}\u{0}{}", e.name, e.id),
        Order::Ascending,
        &page,
    )?
    .respond(&uri))
}

/// Create an environment
///
/// The admin group only.
#[utoipa::path(
    post,
    path = "/api/v1/environments",
    tag = "catalog",
    request_body = NewEnvironmentRequest,
    responses(
        (status = 201, description = "Created", body = Environment),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_environment(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewEnvironmentRequest>,
) -> Result<(StatusCode, Json<Environment>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(environments::add_environment(&app, &user.subject(), &request).await?),
    ))
}

/// List the teams that may publish from an environment
///
/// Anyone signed in. A team listed with no databases may publish tables of every Glue
/// database of the environment. The environment's owner team always may; in the sandbox
/// every team may.
#[utoipa::path(
    get,
    path = "/api/v1/environments/{slug}/publishers",
    tag = "catalog",
    params(("slug" = String, Path, description = "The environment's slug", example = "sandbox")),
    responses(
        (status = 200, description = "The publishers, by team", body = Vec<Publisher>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_publishers(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<Publisher>>, AppError> {
    let environment = environment(&app, &slug).await?;
    Ok(Json(app.store.list_publishers(environment.id).await?))
}

/// Let a team publish from an environment
///
/// The environment's owner team and admins. Replaces the team's databases if it was
/// already a publisher.
#[utoipa::path(
    put,
    path = "/api/v1/environments/{slug}/publishers/{team}",
    tag = "catalog",
    params(
        ("slug" = String, Path, description = "The environment's slug", example = "sandbox"),
        ("team" = String, Path, description = "The team (IdP group)", example = "sales-data"),
    ),
    request_body = PublisherRequest,
    responses(
        (status = 200, description = "The team may publish from the environment", body = Publisher),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn put_publisher(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((slug, team)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<PublisherRequest>,
) -> Result<Json<Publisher>, AppError> {
    let environment = environment(&app, &slug).await?;
    let team = TeamName::parse(&team)?;
    Ok(Json(
        environments::set_publisher(&app, &user.subject(), &environment, &team, &request).await?,
    ))
}

/// Stop a team publishing from an environment
///
/// The environment's owner team and admins. Products the team already has there stay;
/// it cannot create new ones or add tables.
#[utoipa::path(
    delete,
    path = "/api/v1/environments/{slug}/publishers/{team}",
    tag = "catalog",
    params(
        ("slug" = String, Path, description = "The environment's slug", example = "sandbox"),
        ("team" = String, Path, description = "The team (IdP group)", example = "sales-data"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete_publisher(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((slug, team)): ApiPath<(String, String)>,
) -> Result<StatusCode, AppError> {
    let environment = environment(&app, &slug).await?;
    let team = TeamName::parse(&team).map_err(|_| AppError::NotFound)?;
    environments::remove_publisher(&app, &user.subject(), &environment, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List consumer principals
///
/// Admins see every principal of the environment, others their own teams', by team and ARN.
#[utoipa::path(
    get,
    path = "/api/v1/environments/{slug}/principals",
    tag = "catalog",
    params(("slug" = String, Path, description = "The environment's slug", example = "sandbox"), PageParams),
    responses(
        (status = 200, description = "A page of principals", body = Vec<ConsumerPrincipal>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_principals(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let environment = environment(&app, &slug).await?;
    let principals = environments::visible_principals(&app, &user.subject(), &environment).await?;
    Ok(paginate(
        principals,
        |p| format!("{}\u{0}{}\u{0}{}", p.team, p.arn.as_str(), p.id),
        Order::Ascending,
        &page,
    )?
    .respond(&uri))
}

/// Register a consumer principal
///
/// Admins, or members of the principal's team. Only registered principals can ever
/// receive a grant.
#[utoipa::path(
    post,
    path = "/api/v1/environments/{slug}/principals",
    tag = "catalog",
    params(("slug" = String, Path, description = "The environment's slug", example = "sandbox")),
    request_body = NewPrincipalRequest,
    responses(
        (status = 201, description = "Registered", body = ConsumerPrincipal),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_principal(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(request): ApiJson<NewPrincipalRequest>,
) -> Result<(StatusCode, Json<ConsumerPrincipal>), AppError> {
    let environment = environment(&app, &slug).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            environments::register_principal(&app, &user.subject(), &environment, &request).await?,
        ),
    ))
}

/// Remove a consumer principal
#[utoipa::path(
    delete,
    path = "/api/v1/environments/{slug}/principals/{id}",
    tag = "catalog",
    params(
        ("slug" = String, Path, description = "The environment's slug", example = "sandbox"),
        ("id" = uuid::Uuid, Path, description = "The principal's id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn delete_principal(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, uuid::Uuid)>,
) -> Result<StatusCode, AppError> {
    let environment = environment(&app, &slug).await?;
    environments::remove_principal(&app, &user.subject(), &environment, PrincipalId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A table in an environment's Glue catalog.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GlueTable {
    pub database: String,
    pub table: String,
    /// How many columns it has.
    pub columns: usize,
}

/// List Glue databases
///
/// What an `aws` environment's Glue catalog holds, for choosing tables to import: members
/// of a team that may publish from it see the databases their teams may publish from
/// (admins see all). The sandbox has no Glue catalog (400).
#[utoipa::path(
    get,
    path = "/api/v1/environments/{slug}/glue/databases",
    tag = "catalog",
    params(("slug" = String, Path, description = "The environment's slug", example = "sandbox"), PageParams),
    responses(
        (status = 200, description = "A page of database names", body = Vec<String>),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn glue_databases(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    page.limit()?;
    let databases = environments::glue_databases(&app, &user.subject(), &slug).await?;
    Ok(paginate(databases, String::clone, Order::Ascending, &page)?.respond(&uri))
}

/// List a Glue database's tables
#[utoipa::path(
    get,
    path = "/api/v1/environments/{slug}/glue/databases/{database}/tables",
    tag = "catalog",
    params(
        ("slug" = String, Path, description = "The environment's slug", example = "sandbox"),
        ("database" = String, Path, description = "The Glue database"),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of tables", body = Vec<GlueTable>),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn glue_tables(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath((slug, database)): ApiPath<(String, String)>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    page.limit()?;
    let tables = environments::glue_tables(&app, &user.subject(), &slug, &database).await?;
    let tables = tables
        .into_iter()
        .map(|t| GlueTable {
            database: t.database,
            table: t.table,
            columns: t.columns.len(),
        })
        .collect();
    Ok(paginate(
        tables,
        |t: &GlueTable| t.table.clone(),
        Order::Ascending,
        &page,
    )?
    .respond(&uri))
}
