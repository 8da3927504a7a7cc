//! Data products: who sees and manages them, create, edit, publish and deprecate, their
//! tables (imported from Glue, or defined by hand in the sandbox) and re-sync.

use serde::Deserialize;

use super::environments::{check_publishing, source_error};
use super::{ActionError, ActionResult};
use crate::app::App;
use crate::catalog_sources::source_for;
use crate::catalog_sources::sync::{SyncError, import_tables, put_tables, resync_product};
use crate::domain::policy::{
    ProductFacts, Subject, may_create_product, may_manage_product, may_view_product,
};
use crate::domain::*;

/// Whether the caller may see / manage `product`.
pub fn can_view(caller: &Subject<'_>, product: &Product) -> bool {
    can_view_at(caller, product, product.status)
}

/// Whether the caller could see the product when it had `status` (events about a product's
/// draft days stay hidden from people who could not see the draft).
pub fn can_view_at(caller: &Subject<'_>, product: &Product, status: ProductStatus) -> bool {
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status,
    };
    may_view_product(caller, &facts)
}

pub fn can_manage(caller: &Subject<'_>, product: &Product) -> bool {
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status: product.status,
    };
    may_manage_product(caller, &facts)
}

/// The product, if the caller may see it; otherwise "not found" (a draft's existence is not leaked).
pub async fn visible_product(app: &App, caller: &Subject<'_>, slug: &str) -> ActionResult<Product> {
    let slug = Slug::parse(slug).map_err(|_| ActionError::NotFound)?;
    let product = app.store.product_by_slug(&slug).await?;
    if can_view(caller, &product) {
        Ok(product)
    } else {
        Err(ActionError::NotFound)
    }
}

/// The product, if the caller manages it (403 when they only see it).
pub async fn managed_product(app: &App, caller: &Subject<'_>, slug: &str) -> ActionResult<Product> {
    let product = visible_product(app, caller, slug).await?;
    if can_manage(caller, &product) {
        Ok(product)
    } else {
        Err(ActionError::Forbidden)
    }
}

/// Create a draft product owned by one of the caller's teams.
pub async fn add_product(
    app: &App,
    caller: &Subject<'_>,
    input: &ProductInput,
) -> ActionResult<Product> {
    let (slug, fields) = input.parse()?;
    if !may_create_product(caller, &fields.owner_team) {
        return Err(ActionError::Forbidden);
    }
    let environment = product_environment(app, &fields.environment).await?;
    check_publishing(app, &environment, &fields.owner_team, []).await?;
    let slug = match slug {
        Some(slug) => slug,
        None => Slug::from_name(&fields.name)?,
    };
    let product = app
        .store
        .create_product(Actor::User(caller.user), &slug, &fields)
        .await?;
    app.reindex();
    Ok(product)
}

/// Change a product's fields; `expected_version` (from `If-Match`) refuses a stale edit.
pub async fn edit_product(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
    expected_version: Option<i64>,
    input: &ProductInput,
) -> ActionResult<Product> {
    let product = managed_product(app, caller, slug).await?;
    let (_, fields) = input.parse()?;
    if fields.owner_team != product.owner_team && !may_create_product(caller, &fields.owner_team) {
        return Err(Invalid::new(
            "owner_team",
            "you can hand a product only to a team you are in",
        )
        .into());
    }
    if fields.owner_team != product.owner_team || fields.environment != product.environment {
        let environment = product_environment(app, &fields.environment).await?;
        let tables = app.store.assets_of(&[product.id]).await?;
        let databases = tables
            .iter()
            .filter(|t| t.removed_at.is_none())
            .map(|t| t.database.as_str());
        check_publishing(app, &environment, &fields.owner_team, databases).await?;
    }
    let updated = app
        .store
        .update_product(
            Actor::User(caller.user),
            product.id,
            expected_version,
            &fields,
        )
        .await?;
    app.reindex();
    Ok(updated)
}

/// The environment a product names; an unknown one is the product's field that is wrong.
async fn product_environment(app: &App, slug: &Slug) -> ActionResult<Environment> {
    match app.store.environment_by_slug(slug).await {
        Err(crate::store::StoreError::NotFound) => Err(Invalid::new(
            "environment",
            format!("there is no environment {:?}", slug.as_str()),
        )
        .into()),
        other => Ok(other?),
    }
}

/// Publish or deprecate.
pub async fn change_status(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
    status: ProductStatus,
) -> ActionResult<Product> {
    let product = managed_product(app, caller, slug).await?;
    if !product.status.may_become(status) {
        return Err(ActionError::Conflict(format!(
            "a {} product cannot become {}",
            product.status, status
        )));
    }
    if status == ProductStatus::Published
        && app
            .store
            .assets_of(&[product.id])
            .await?
            .iter()
            .all(|a| a.removed_at.is_some())
    {
        return Err(ActionError::Conflict(
            "add at least one table before publishing".into(),
        ));
    }
    let updated = app
        .store
        .set_product_status(Actor::User(caller.user), product.id, status)
        .await?;
    app.reindex();
    Ok(updated)
}

/// Tables to add: from the environment's Glue catalog, or defined by hand (sandbox).
/// Send one of the two.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tables": [{"database": "sales_curated", "table": "orders",
    "columns": [{"name": "order_id", "data_type": "bigint"}]}]}))]
pub struct AddTablesRequest {
    /// Tables to import from an `aws` environment's Glue catalog.
    #[serde(default)]
    pub glue: Vec<GlueTableRef>,
    /// Table definitions, for the sandbox.
    #[serde(default)]
    pub tables: Vec<TableDefinition>,
}

/// A table in Glue.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlueTableRef {
    pub database: String,
    pub table: String,
}

fn sync_error(error: SyncError) -> ActionError {
    match error {
        SyncError::Source(e) => source_error(e),
        SyncError::Store(e) => e.into(),
    }
}

pub async fn add_tables(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
    request: AddTablesRequest,
) -> ActionResult<Vec<Asset>> {
    let product = managed_product(app, caller, slug).await?;
    if request.glue.is_empty() == request.tables.is_empty() {
        return Err(Invalid::new(
            "tables",
            "send either `glue` (tables to import) or `tables` (definitions)",
        )
        .into());
    }
    if request.glue.len() + request.tables.len() > 200 {
        return Err(Invalid::new("tables", "at most 200 tables at once").into());
    }
    let actor = Actor::User(caller.user);
    let assets = if request.glue.is_empty() {
        if product.environment_kind != EnvironmentKind::Sandbox {
            return Err(Invalid::new(
                "tables",
                "tables of an aws environment come from its Glue catalog",
            )
            .into());
        }
        let definitions = request
            .tables
            .into_iter()
            .map(TableDefinition::validate)
            .collect::<Result<Vec<_>, _>>()?;
        put_tables(app.store.as_ref(), actor, &product, &definitions)
            .await
            .map_err(sync_error)?
    } else {
        let environment = app.store.environment_by_slug(&product.environment).await?;
        let source = source_for(&environment, app.config.aws_endpoint_url.as_deref())
            .await
            .ok_or_else(|| {
                Invalid::new(
                    "glue",
                    "the sandbox has no Glue catalog; send `tables` instead",
                )
            })?;
        let refs = request
            .glue
            .iter()
            .map(|t| {
                Ok((
                    parse_object_name("database", &t.database)?,
                    parse_object_name("table", &t.table)?,
                ))
            })
            .collect::<Result<Vec<_>, Invalid>>()?;
        let databases = refs.iter().map(|(database, _)| database.as_str());
        check_publishing(app, &environment, &product.owner_team, databases).await?;
        import_tables(app.store.as_ref(), &source, actor, &product, &refs)
            .await
            .map_err(sync_error)?
    };
    app.reindex();
    Ok(assets)
}

pub async fn sync_now(
    app: &App,
    caller: &Subject<'_>,
    slug: &str,
) -> ActionResult<Vec<SchemaChange>> {
    let product = managed_product(app, caller, slug).await?;
    let environment = app.store.environment_by_slug(&product.environment).await?;
    let Some(source) = source_for(&environment, app.config.aws_endpoint_url.as_deref()).await
    else {
        return Ok(Vec::new());
    };
    let changes = resync_product(
        app.store.as_ref(),
        &source,
        Actor::User(caller.user),
        &product,
    )
    .await
    .map_err(sync_error)?;
    app.reindex();
    Ok(changes)
}
