//! Data products: search, create, read, edit (with `If-Match`), publish, deprecate; their
//! tables (import from Glue, or defined by hand in the sandbox), re-sync and history.
//! The functions here are shared with the pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use super::environments::source_error;
use crate::app::{App, AppState};
use crate::catalog_sources::source_for;
use crate::catalog_sources::sync::{SyncError, import_tables, put_tables, resync_product};
use crate::domain::policy::{
    ProductFacts, may_create_product, may_manage_product, may_view_product,
};
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::search::{Filters, SearchPage, SearchQuery, Viewer};

/// Whether `user` may see / manage `product`.
pub fn can_view(user: &CurrentUser, product: &Product) -> bool {
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status: product.status,
    };
    may_view_product(&user.subject(), &facts)
}

pub fn can_manage(user: &CurrentUser, product: &Product) -> bool {
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status: product.status,
    };
    may_manage_product(&user.subject(), &facts)
}

/// The product, if this user may see it; otherwise "not found" (a draft's existence is not leaked).
pub async fn visible_product(
    app: &App,
    user: &CurrentUser,
    slug: &str,
) -> Result<Product, AppError> {
    let slug = Slug::parse(slug).map_err(|_| AppError::NotFound)?;
    let product = app.store.product_by_slug(&slug).await?;
    if can_view(user, &product) {
        Ok(product)
    } else {
        Err(AppError::NotFound)
    }
}

/// The product, if this user manages it (403 when they only see it).
pub async fn managed_product(
    app: &App,
    user: &CurrentUser,
    slug: &str,
) -> Result<Product, AppError> {
    let product = visible_product(app, user, slug).await?;
    if can_manage(user, &product) {
        Ok(product)
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub domain: Vec<String>,
    #[serde(default)]
    pub classification: Vec<String>,
    #[serde(default)]
    pub tag: Vec<String>,
    #[serde(default)]
    pub owner_team: Vec<String>,
    #[serde(default)]
    pub environment: Vec<String>,
    #[serde(default)]
    pub kind: Vec<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Run a catalog search as `user` sees the catalog.
pub async fn search(
    app: &App,
    user: &CurrentUser,
    params: SearchParams,
) -> Result<SearchPage, AppError> {
    if params.q.len() > 500 {
        return Err(Invalid::new("q", "at most 500 characters").into());
    }
    let query = SearchQuery {
        text: params.q,
        filters: Filters {
            domain: params.domain,
            classification: params.classification,
            tag: params.tag,
            owner_team: params.owner_team,
            environment: params.environment,
            kind: params.kind,
        },
        viewer: Viewer {
            user: user.user.id.0,
            teams: user.teams.iter().map(|t| t.to_string()).collect(),
            is_admin: user.is_admin,
        },
        limit: params.limit.unwrap_or(20).clamp(1, 100),
        cursor: params.cursor,
    };
    let index = app.index.clone();
    tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| match e.downcast_ref::<crate::search::InvalidCursor>() {
            Some(_) => AppError::BadRequest("the cursor is not valid for this search".into()),
            None => AppError::Internal(e),
        })
}

/// `GET /api/v1/products?q=…&domain=…&cursor=…`
pub async fn list_products(
    State(app): State<AppState>,
    user: CurrentUser,
    axum_extra_query: Query<Vec<(String, String)>>,
) -> Result<Json<SearchPage>, AppError> {
    Ok(Json(
        search(&app, &user, params_from_pairs(axum_extra_query.0)?).await?,
    ))
}

/// Repeated query keys (`domain=a&domain=b`) as the search parameters.
pub fn params_from_pairs(pairs: Vec<(String, String)>) -> Result<SearchParams, AppError> {
    let mut params = SearchParams::default();
    for (key, value) in pairs {
        match key.as_str() {
            "q" => params.q = value,
            "domain" => params.domain.push(value),
            "classification" => params.classification.push(value),
            "tag" => params.tag.push(value),
            "owner_team" => params.owner_team.push(value),
            "environment" => params.environment.push(value),
            "kind" => params.kind.push(value),
            "cursor" => params.cursor = Some(value).filter(|c| !c.is_empty()),
            "limit" => {
                params.limit = Some(
                    value
                        .parse()
                        .map_err(|_| Invalid::new("limit", "a number from 1 to 100"))?,
                )
            }
            _ => {}
        }
    }
    Ok(params)
}

/// Create a draft product owned by one of the caller's teams.
pub async fn add_product(
    app: &App,
    user: &CurrentUser,
    input: &ProductInput,
) -> Result<Product, AppError> {
    let (slug, fields) = input.parse()?;
    if !may_create_product(&user.subject(), &fields.owner_team) {
        return Err(AppError::Forbidden);
    }
    let slug = match slug {
        Some(slug) => slug,
        None => Slug::from_name(&fields.name)?,
    };
    let product = app
        .store
        .create_product(Actor::User(user.user.id), &slug, &fields)
        .await?;
    app.reindex();
    Ok(product)
}

/// Change a product's fields; `expected_version` (from `If-Match`) refuses a stale edit.
pub async fn edit_product(
    app: &App,
    user: &CurrentUser,
    slug: &str,
    expected_version: Option<i64>,
    input: &ProductInput,
) -> Result<Product, AppError> {
    let product = managed_product(app, user, slug).await?;
    let (_, fields) = input.parse()?;
    if fields.owner_team != product.owner_team
        && !may_create_product(&user.subject(), &fields.owner_team)
    {
        return Err(Invalid::new(
            "owner_team",
            "you can hand a product only to a team you are in",
        )
        .into());
    }
    let updated = app
        .store
        .update_product(
            Actor::User(user.user.id),
            product.id,
            expected_version,
            &fields,
        )
        .await?;
    app.reindex();
    Ok(updated)
}

/// Publish or deprecate.
pub async fn change_status(
    app: &App,
    user: &CurrentUser,
    slug: &str,
    status: ProductStatus,
) -> Result<Product, AppError> {
    let product = managed_product(app, user, slug).await?;
    let allowed = matches!(
        (product.status, status),
        (ProductStatus::Draft, ProductStatus::Published)
            | (ProductStatus::Published, ProductStatus::Deprecated)
            | (ProductStatus::Deprecated, ProductStatus::Published)
    );
    if !allowed {
        return Err(AppError::Conflict(format!(
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
        return Err(AppError::Conflict(
            "add at least one table before publishing".into(),
        ));
    }
    let updated = app
        .store
        .set_product_status(Actor::User(user.user.id), product.id, status)
        .await?;
    app.reindex();
    Ok(updated)
}

/// A product with its tables and rendered description, as the API returns it.
#[derive(Debug, Serialize)]
pub struct ProductView {
    #[serde(flatten)]
    pub product: Product,
    pub description_html: String,
    pub assets: Vec<Asset>,
    /// Whether the caller may edit it.
    pub manageable: bool,
}

pub async fn product_view(
    app: &App,
    user: &CurrentUser,
    product: Product,
) -> Result<ProductView, AppError> {
    let assets = app.store.assets_of(&[product.id]).await?;
    Ok(ProductView {
        description_html: markdown::render(&product.description),
        manageable: can_manage(user, &product),
        assets,
        product,
    })
}

fn with_etag(product: &Product, status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", product.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// The version an `If-Match` header names (`"3"` or `W/"3"`).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, AppError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    if text == "*" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| AppError::PreconditionFailed)
}

/// `POST /api/v1/products`
pub async fn create_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<Response, AppError> {
    let product = add_product(&app, &user, &input).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::CREATED, view))
}

/// `GET /api/v1/products/{slug}`
pub async fn get_product(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let product = visible_product(&app, &user, &slug).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::OK, view))
}

/// `PUT /api/v1/products/{slug}` (send `If-Match` with the ETag you read to avoid lost updates)
pub async fn update_product(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<Response, AppError> {
    let product = edit_product(&app, &user, &slug, if_match(&headers)?, &input).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::OK, view))
}

/// `POST /api/v1/products/{slug}/publish`
pub async fn publish_product(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let product = change_status(&app, &user, &slug, ProductStatus::Published).await?;
    Ok(with_etag(&product, StatusCode::OK, &product))
}

/// `POST /api/v1/products/{slug}/deprecate`
pub async fn deprecate_product(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let product = change_status(&app, &user, &slug, ProductStatus::Deprecated).await?;
    Ok(with_etag(&product, StatusCode::OK, &product))
}

/// Tables to add: from the environment's Glue catalog, or defined by hand (sandbox).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddTablesRequest {
    #[serde(default)]
    pub glue: Vec<GlueTableRef>,
    #[serde(default)]
    pub tables: Vec<TableDefinition>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GlueTableRef {
    pub database: String,
    pub table: String,
}

fn sync_error(error: SyncError) -> AppError {
    match error {
        SyncError::Source(e) => source_error(e),
        SyncError::Store(e) => e.into(),
    }
}

pub async fn add_tables(
    app: &App,
    user: &CurrentUser,
    slug: &str,
    request: AddTablesRequest,
) -> Result<Vec<Asset>, AppError> {
    let product = managed_product(app, user, slug).await?;
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
    let actor = Actor::User(user.user.id);
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
        import_tables(app.store.as_ref(), &source, actor, &product, &refs)
            .await
            .map_err(sync_error)?
    };
    app.reindex();
    Ok(assets)
}

/// `POST /api/v1/products/{slug}/assets`
pub async fn create_assets(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    ApiJson(request): ApiJson<AddTablesRequest>,
) -> Result<(StatusCode, Json<Vec<Asset>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(add_tables(&app, &user, &slug, request).await?),
    ))
}

/// `GET /api/v1/products/{slug}/assets`
pub async fn list_assets(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Asset>>, AppError> {
    let product = visible_product(&app, &user, &slug).await?;
    Ok(Json(app.store.assets_of(&[product.id]).await?))
}

#[derive(Debug, Serialize)]
pub struct SyncResult {
    pub changes: Vec<SchemaChange>,
}

pub async fn sync_now(
    app: &App,
    user: &CurrentUser,
    slug: &str,
) -> Result<Vec<SchemaChange>, AppError> {
    let product = managed_product(app, user, slug).await?;
    let environment = app.store.environment_by_slug(&product.environment).await?;
    let Some(source) = source_for(&environment, app.config.aws_endpoint_url.as_deref()).await
    else {
        return Ok(Vec::new());
    };
    let changes = resync_product(
        app.store.as_ref(),
        &source,
        Actor::User(user.user.id),
        &product,
    )
    .await
    .map_err(sync_error)?;
    app.reindex();
    Ok(changes)
}

/// `POST /api/v1/products/{slug}/sync`: compare the tables with Glue now.
pub async fn sync_product(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<SyncResult>, AppError> {
    Ok(Json(SyncResult {
        changes: sync_now(&app, &user, &slug).await?,
    }))
}

/// `GET /api/v1/products/{slug}/history`: schema changes, newest first.
pub async fn product_history(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Vec<SchemaChangeEntry>>, AppError> {
    let product = visible_product(&app, &user, &slug).await?;
    Ok(Json(app.store.schema_history(product.id).await?))
}
