//! Environments (admin group), the teams that may publish from them (their owner team and
//! admins decide) and the consumer principals registered in them (admins, or members of
//! the principal's team). Also what an environment's Glue catalog holds, for choosing
//! tables to import (teams that may publish from it).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::docs::{BadRequest, Conflict, Forbidden, NotFound, Unavailable};
use super::pagination::{Order, PageParams, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::app::{App, AppState};
use crate::catalog_sources::{CatalogSource, SourceError, source_for};
use crate::domain::policy::{
    may_administer, may_browse_catalog, may_manage_publishers, may_publish, may_register_principal,
};
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

/// A new environment: `sandbox` (grants recorded only) or `aws` (an account and region).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Analytics prod", "kind": "aws",
    "aws_account_id": "123456789012", "aws_region": "eu-west-1"}))]
pub struct NewEnvironmentRequest {
    /// Derived from the name when omitted.
    pub slug: Option<String>,
    pub name: String,
    /// `aws` or `sandbox`.
    #[schema(example = "aws")]
    pub kind: String,
    /// 12 digits; required for `aws`.
    pub aws_account_id: Option<String>,
    /// Required for `aws`, e.g. `eu-west-1`.
    pub aws_region: Option<String>,
    /// A role in that account for Wharf to assume.
    pub aws_role_arn: Option<String>,
    /// An endpoint override for every AWS call in this environment (local stand-ins).
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

pub async fn environment(app: &App, slug: &str) -> Result<Environment, AppError> {
    let slug = Slug::parse(slug).map_err(|_| AppError::NotFound)?;
    Ok(app.store.environment_by_slug(&slug).await?)
}

/// A product owned by `owner_team` may live in `environment` and hold tables of these
/// Glue `databases` from it: the environment's owners decide (see `policy::may_publish`).
pub async fn check_publishing<'a>(
    app: &App,
    environment: &Environment,
    owner_team: &TeamName,
    databases: impl IntoIterator<Item = &'a str>,
) -> Result<(), AppError> {
    let publishers = app.store.list_publishers(environment.id).await?;
    let facts = environment.publishing(&publishers);
    may_publish(&facts, owner_team, None).map_err(|e| AppError::Refused(e.to_string()))?;
    for database in databases {
        may_publish(&facts, owner_team, Some(database))
            .map_err(|e| AppError::Refused(e.to_string()))?;
    }
    Ok(())
}

/// Which Glue databases a team may publish from; empty means every one.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"databases": ["sales_curated"]}))]
pub struct PublisherRequest {
    #[serde(default)]
    pub databases: Vec<String>,
}

impl PublisherRequest {
    /// Glue database names, lower case (Glue's own spelling), each once.
    pub fn parse(&self) -> Result<Vec<String>, Invalid> {
        if self.databases.len() > 100 {
            return Err(Invalid::new("databases", "at most 100 databases"));
        }
        let mut databases = self
            .databases
            .iter()
            .map(|d| parse_object_name("databases", d).map(|d| d.to_ascii_lowercase()))
            .collect::<Result<Vec<_>, _>>()?;
        databases.sort();
        databases.dedup();
        Ok(databases)
    }
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
        set_publisher(&app, &user, &environment, &team, &request).await?,
    ))
}

pub async fn set_publisher(
    app: &App,
    user: &CurrentUser,
    environment: &Environment,
    team: &TeamName,
    request: &PublisherRequest,
) -> Result<Publisher, AppError> {
    if !may_manage_publishers(&user.subject(), &environment.publishing(&[])) {
        return Err(AppError::Forbidden);
    }
    let databases = request.parse()?;
    Ok(app
        .store
        .set_publisher(Actor::User(user.user.id), environment, team, &databases)
        .await?)
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
    remove_publisher(&app, &user, &environment, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_publisher(
    app: &App,
    user: &CurrentUser,
    environment: &Environment,
    team: &TeamName,
) -> Result<(), AppError> {
    if !may_manage_publishers(&user.subject(), &environment.publishing(&[])) {
        return Err(AppError::Forbidden);
    }
    Ok(app
        .store
        .remove_publisher(Actor::User(user.user.id), environment, team)
        .await?)
}

/// An IAM role (or account) to register for a team.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"team": "analytics", "arn": "arn:aws:iam::123456789012:role/analytics",
    "label": "Analytics dashboards"}))]
pub struct NewPrincipalRequest {
    pub team: String,
    /// An IAM role ARN in the environment's account, or a 12-digit account id.
    pub arn: String,
    #[serde(default)]
    pub label: String,
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
    let teams = (!user.is_admin).then_some(user.teams.as_slice());
    let principals = app.store.list_principals(environment.id, teams).await?;
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

/// A table in an environment's Glue catalog.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GlueTable {
    pub database: String,
    pub table: String,
    /// How many columns it has.
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

/// An environment's Glue catalog, for someone who may browse it (`database`: one of its
/// databases), with the environment's publishers.
async fn glue_for(
    app: &App,
    user: &CurrentUser,
    slug: &str,
    database: Option<&str>,
) -> Result<
    (
        crate::catalog_sources::glue::GlueSource,
        Environment,
        Vec<Publisher>,
    ),
    AppError,
> {
    let environment = environment(app, slug).await?;
    let publishers = app.store.list_publishers(environment.id).await?;
    if !may_browse_catalog(
        &user.subject(),
        &environment.publishing(&publishers),
        database,
    ) {
        return Err(AppError::Refused(match database {
            Some(database) => format!(
                "none of your teams may publish tables of {database:?} from this environment"
            ),
            None => "none of your teams may publish from this environment; its owners (or an admin) decide which teams may".into(),
        }));
    }
    let source = source_for(&environment, app.config.aws_endpoint_url.as_deref())
        .await
        .ok_or_else(|| {
            AppError::BadRequest("the sandbox has no Glue catalog; define tables by hand".into())
        })?;
    Ok((source, environment, publishers))
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
    let (glue, environment, publishers) = glue_for(&app, &user, &slug, None).await?;
    let facts = environment.publishing(&publishers);
    let subject = user.subject();
    let databases = glue
        .list_databases()
        .await
        .map_err(source_error)?
        .into_iter()
        .filter(|database| may_browse_catalog(&subject, &facts, Some(database)))
        .collect();
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
    let (glue, ..) = glue_for(&app, &user, &slug, Some(&database)).await?;
    let tables = glue.list_tables(&database).await.map_err(source_error)?;
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
