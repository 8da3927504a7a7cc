//! Environments (admin group), the teams that may publish from them (their owner team and
//! admins decide), the consumer principals registered in them (admins, or members of the
//! principal's team), and what an environment's Glue catalog holds, for the teams that may
//! publish from it.

use serde::Deserialize;

use super::{ActionError, ActionResult};
use crate::app::App;
use crate::catalog_sources::glue::GlueSource;
use crate::catalog_sources::{CatalogSource, SourceError, source_for};
use crate::domain::policy::{
    Subject, may_administer, may_browse_catalog, may_manage_publishers, may_publish,
    may_register_principal,
};
use crate::domain::*;

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

pub async fn add_environment(
    app: &App,
    caller: &Subject<'_>,
    request: &NewEnvironmentRequest,
) -> ActionResult<Environment> {
    if !may_administer(caller) {
        return Err(ActionError::Forbidden);
    }
    let environment = request.parse()?;
    Ok(app
        .store
        .create_environment(Actor::User(caller.user), &environment)
        .await?)
}

pub async fn environment(app: &App, slug: &str) -> ActionResult<Environment> {
    let slug = Slug::parse(slug).map_err(|_| ActionError::NotFound)?;
    Ok(app.store.environment_by_slug(&slug).await?)
}

/// A product owned by `owner_team` may live in `environment` and hold tables of these
/// Glue `databases` from it: the environment's owners decide (see `policy::may_publish`).
pub async fn check_publishing<'a>(
    app: &App,
    environment: &Environment,
    owner_team: &TeamName,
    databases: impl IntoIterator<Item = &'a str>,
) -> ActionResult<()> {
    let publishers = app.store.list_publishers(environment.id).await?;
    let facts = environment.publishing(&publishers);
    may_publish(&facts, owner_team, None).map_err(|e| ActionError::Refused(e.to_string()))?;
    for database in databases {
        may_publish(&facts, owner_team, Some(database))
            .map_err(|e| ActionError::Refused(e.to_string()))?;
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

pub async fn set_publisher(
    app: &App,
    caller: &Subject<'_>,
    environment: &Environment,
    team: &TeamName,
    request: &PublisherRequest,
) -> ActionResult<Publisher> {
    if !may_manage_publishers(caller, &environment.publishing(&[])) {
        return Err(ActionError::Forbidden);
    }
    let databases = request.parse()?;
    Ok(app
        .store
        .set_publisher(Actor::User(caller.user), environment, team, &databases)
        .await?)
}

pub async fn remove_publisher(
    app: &App,
    caller: &Subject<'_>,
    environment: &Environment,
    team: &TeamName,
) -> ActionResult<()> {
    if !may_manage_publishers(caller, &environment.publishing(&[])) {
        return Err(ActionError::Forbidden);
    }
    Ok(app
        .store
        .remove_publisher(Actor::User(caller.user), environment, team)
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

pub async fn register_principal(
    app: &App,
    caller: &Subject<'_>,
    environment: &Environment,
    request: &NewPrincipalRequest,
) -> ActionResult<ConsumerPrincipal> {
    let team = TeamName::parse(&request.team)?;
    if !may_register_principal(caller, &team) {
        return Err(ActionError::Forbidden);
    }
    let arn = PrincipalArn::parse(&request.arn)?;
    check_principal_account(environment, &arn)?;
    let label = request.label.trim();
    if label.chars().count() > 200 {
        return Err(Invalid::new("label", "at most 200 characters").into());
    }
    Ok(app
        .store
        .register_principal(Actor::User(caller.user), environment.id, &team, &arn, label)
        .await?)
}

/// Translate a catalog's failure into an answer for the caller.
pub fn source_error(error: SourceError) -> ActionError {
    match error {
        SourceError::DatabaseNotFound(_) | SourceError::TableNotFound(_) => {
            ActionError::BadRequest(error.to_string())
        }
        SourceError::Unavailable(detail) => {
            tracing::warn!(%detail, "catalog unavailable");
            ActionError::Unavailable(
                "the AWS Glue catalog did not answer; try again shortly".into(),
            )
        }
    }
}

/// An environment's Glue catalog, for someone who may browse it (`database`: one of its
/// databases), with the environment and its publishers.
async fn glue_for(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
    database: Option<&str>,
) -> ActionResult<(GlueSource, Environment, Vec<Publisher>)> {
    let environment = environment(app, slug).await?;
    let publishers = app.store.list_publishers(environment.id).await?;
    if !may_browse_catalog(caller, &environment.publishing(&publishers), database) {
        return Err(ActionError::Refused(match database {
            Some(database) => format!(
                "none of your teams may publish tables of {database:?} from this environment"
            ),
            None => "none of your teams may publish from this environment; its owners (or an admin) decide which teams may".into(),
        }));
    }
    let source = source_for(&environment, app.config.aws_endpoint_url.as_deref())
        .await
        .ok_or_else(|| {
            ActionError::BadRequest("the sandbox has no Glue catalog; define tables by hand".into())
        })?;
    Ok((source, environment, publishers))
}

/// The Glue databases of an environment that the caller's teams may publish from (all of
/// them for admins).
pub async fn glue_databases(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
) -> ActionResult<Vec<String>> {
    let (glue, environment, publishers) = glue_for(app, caller, slug, None).await?;
    let facts = environment.publishing(&publishers);
    Ok(glue
        .list_databases()
        .await
        .map_err(source_error)?
        .into_iter()
        .filter(|database| may_browse_catalog(caller, &facts, Some(database)))
        .collect())
}

/// The tables of one Glue database, for a team that may publish from it.
pub async fn glue_tables(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
    database: &str,
) -> ActionResult<Vec<TableDefinition>> {
    let (glue, ..) = glue_for(app, caller, slug, Some(database)).await?;
    glue.list_tables(database).await.map_err(source_error)
}

/// Remove a consumer principal: admins, or members of its team. One with access requests
/// stays (a conflict) until they are revoked.
pub async fn remove_principal(
    app: &App,
    caller: &Subject<'_>,
    environment: &Environment,
    id: PrincipalId,
) -> ActionResult<()> {
    let principal = app.store.principal(id).await?;
    if principal.environment_id != environment.id {
        return Err(ActionError::NotFound);
    }
    if !may_register_principal(caller, &principal.team) {
        return Err(ActionError::Forbidden);
    }
    Ok(app
        .store
        .remove_principal(Actor::User(caller.user), principal.id)
        .await?)
}

/// The principals of an environment the caller may see: every one for admins, their own
/// teams' for everyone else.
pub async fn visible_principals(
    app: &App,
    caller: &Subject<'_>,
    environment: &Environment,
) -> ActionResult<Vec<ConsumerPrincipal>> {
    let teams = (!caller.is_admin).then_some(caller.teams);
    Ok(app.store.list_principals(environment.id, teams).await?)
}
