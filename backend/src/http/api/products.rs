//! Data products: search, create, read, edit (with `If-Match`), publish, deprecate; their
//! tables (import from Glue, or defined by hand in the sandbox), re-sync and history.
//! The functions here are shared with the pages.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::docs::{BadRequest, Conflict, Forbidden, NotFound, PreconditionFailed, Unavailable};
use super::environments::{check_publishing, source_error};
use super::pagination::{Order, PageParams, next_url, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
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
    can_view_at(user, product, product.status)
}

/// Whether `user` could see the product when it had `status` (events about a product's
/// draft days stay hidden from people who could not see the draft).
pub fn can_view_at(user: &CurrentUser, product: &Product, status: ProductStatus) -> bool {
    let stewards = product.steward_ids();
    let facts = ProductFacts {
        owner_team: &product.owner_team,
        stewards: &stewards,
        status,
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

/// Catalog search: text and facet filters. Repeat a filter for OR (`domain=a&domain=b`);
/// different filters are AND-ed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to look for in names, descriptions, tags, tables and columns (prefix
    /// matching and typo tolerance); empty lists everything by name.
    #[serde(default)]
    #[param(max_length = 500)]
    pub q: String,
    /// Domain names, as the `domain` facet shows them.
    #[serde(default)]
    pub domain: Vec<String>,
    #[serde(default)]
    pub classification: Vec<String>,
    #[serde(default)]
    pub tag: Vec<String>,
    #[serde(default)]
    pub owner_team: Vec<String>,
    /// Environment names, as the `environment` facet shows them.
    #[serde(default)]
    pub environment: Vec<String>,
    /// `product` or `table`.
    #[serde(default)]
    pub kind: Vec<String>,
    /// The previous page's `next_cursor`, for the same text and filters.
    pub cursor: Option<String>,
    /// Hits per page (default 20).
    #[param(minimum = 1, maximum = 100)]
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
    run_blocking(move || index.search(&query))
        .await?
        .map_err(|e| match e.downcast_ref::<crate::search::InvalidCursor>() {
            Some(_) => AppError::BadRequest("the cursor is not valid for this search".into()),
            None => AppError::Internal(e),
        })
}

/// Runs `work` (CPU-bound for up to a few milliseconds, like a search) without stalling
/// the runtime's other tasks. On the multi-threaded runtime that serves requests it stays
/// on this thread, whose other tasks move to another worker: handing it to the blocking
/// pool instead costs each search two more thread wake-ups (4% of search requests/s on
/// two cores). Elsewhere (tests' single-threaded runtime) it goes to the blocking pool.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        Ok(tokio::task::block_in_place(work))
    } else {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(e.into()))
    }
}

/// Search the catalog
///
/// Products and tables you may see, best match first (by name when `q` is empty), with
/// facet counts. The next page: `next_cursor` in the body, also as `Link: rel="next"`.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "products",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of hits with facets", body = SearchPage),
    ),
)]
pub async fn list_products(
    State(app): State<AppState>,
    user: CurrentUser,
    uri: Uri,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let params = params_from_pairs(pairs)?;
    if params.q.chars().count() > 500 {
        return Err(parameter("q", "at most 500 characters"));
    }
    let page = search(&app, &user, params).await?;
    let link = page.next_cursor.as_deref().and_then(|next| {
        HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_url(&uri, next))).ok()
    });
    let mut response = Json(page).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

fn parameter(field: &str, message: &str) -> AppError {
    AppError::InvalidParameter(crate::http::error::FieldError {
        field: field.into(),
        message: message.into(),
    })
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
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| parameter("limit", "a number from 1 to 100"))?,
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
    let environment = product_environment(app, &fields.environment).await?;
    check_publishing(app, &environment, &fields.owner_team, []).await?;
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
            Actor::User(user.user.id),
            product.id,
            expected_version,
            &fields,
        )
        .await?;
    app.reindex();
    Ok(updated)
}

/// The environment a product names; an unknown one is the product's field that is wrong.
async fn product_environment(app: &App, slug: &Slug) -> Result<Environment, AppError> {
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    #[serde(flatten)]
    pub product: Product,
    /// The Markdown description rendered to safe HTML.
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

/// Create a data product
///
/// A draft, owned by one of your teams; add tables, then publish it.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "products",
    request_body = ProductInput,
    responses(
        (status = 201, description = "Created", body = ProductView, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    ),
)]
pub async fn create_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<Response, AppError> {
    let product = add_product(&app, &user, &input).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::CREATED, view))
}

/// Get a data product
///
/// With its tables. Drafts are visible to their owners, stewards and admins only.
#[utoipa::path(
    get,
    path = "/api/v1/products/{slug}",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders")),
    responses(
        (status = 200, description = "The product", body = ProductView, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 404, response = NotFound),
    ),
)]
pub async fn get_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, AppError> {
    let product = visible_product(&app, &user, &slug).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::OK, view))
}

/// Edit a data product
///
/// Replaces its fields. Send `If-Match` with the `ETag` you read: if someone changed the
/// product since, the answer is 412 and nothing changes.
#[utoipa::path(
    put,
    path = "/api/v1/products/{slug}",
    tag = "products",
    params(
        ("slug" = String, Path, description = "The product's slug", example = "orders"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` you read, e.g. `\"3\"`"),
    ),
    request_body = ProductInput,
    responses(
        (status = 200, description = "Changed", body = ProductView, headers(("ETag" = String, description = "The new version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
)]
pub async fn update_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<Response, AppError> {
    let product = edit_product(&app, &user, &slug, if_match(&headers)?, &input).await?;
    let view = product_view(&app, &user, product.clone()).await?;
    Ok(with_etag(&product, StatusCode::OK, view))
}

/// Publish a data product
///
/// A draft (with at least one table) or a deprecated product becomes visible to everyone
/// and open to requests.
#[utoipa::path(
    post,
    path = "/api/v1/products/{slug}/publish",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders")),
    responses(
        (status = 200, description = "Published", body = Product, headers(("ETag" = String, description = "The new version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn publish_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, AppError> {
    let product = change_status(&app, &user, &slug, ProductStatus::Published).await?;
    Ok(with_etag(&product, StatusCode::OK, &product))
}

/// Deprecate a data product
///
/// Existing access stays; consumers see that it is going away.
#[utoipa::path(
    post,
    path = "/api/v1/products/{slug}/deprecate",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders")),
    responses(
        (status = 200, description = "Deprecated", body = Product, headers(("ETag" = String, description = "The new version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn deprecate_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Response, AppError> {
    let product = change_status(&app, &user, &slug, ProductStatus::Deprecated).await?;
    Ok(with_etag(&product, StatusCode::OK, &product))
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
        let databases = refs.iter().map(|(database, _)| database.as_str());
        check_publishing(app, &environment, &product.owner_team, databases).await?;
        import_tables(app.store.as_ref(), &source, actor, &product, &refs)
            .await
            .map_err(sync_error)?
    };
    app.reindex();
    Ok(assets)
}

/// Add tables to a product
///
/// Import them from the environment's Glue catalog (an import where any table is missing
/// writes nothing), or define them by hand in the sandbox.
#[utoipa::path(
    post,
    path = "/api/v1/products/{slug}/assets",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders")),
    request_body = AddTablesRequest,
    responses(
        (status = 201, description = "The product's tables now", body = Vec<Asset>),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn create_assets(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(request): ApiJson<AddTablesRequest>,
) -> Result<(StatusCode, Json<Vec<Asset>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(add_tables(&app, &user, &slug, request).await?),
    ))
}

/// List a product's tables
///
/// Ordered by `database.table`; tables that vanished from Glue have `removed_at`.
#[utoipa::path(
    get,
    path = "/api/v1/products/{slug}/assets",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders"), PageParams),
    responses(
        (status = 200, description = "A page of tables", body = Vec<Asset>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_assets(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    page.limit()?;
    let product = visible_product(&app, &user, &slug).await?;
    let assets = app.store.assets_of(&[product.id]).await?;
    let key = |a: &Asset| format!("{}.{}\u{0}{}", a.database, a.table, a.id);
    Ok(paginate(assets, key, Order::Ascending, &page)?.respond(&uri))
}

/// What a re-sync found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// Re-sync a product with Glue
///
/// Compares its tables with the Glue catalog now and records the differences (none for
/// the sandbox).
#[utoipa::path(
    post,
    path = "/api/v1/products/{slug}/sync",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders")),
    responses(
        (status = 200, description = "The changes found", body = SyncResult),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn sync_product(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<SyncResult>, AppError> {
    Ok(Json(SyncResult {
        changes: sync_now(&app, &user, &slug).await?,
    }))
}

/// A product's schema history
///
/// Schema changes found by re-syncs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/products/{slug}/history",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders"), PageParams),
    responses(
        (status = 200, description = "A page of changes", body = Vec<SchemaChangeEntry>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn product_history(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    page.limit()?;
    let product = visible_product(&app, &user, &slug).await?;
    let history = app.store.schema_history(product.id).await?;
    // Changes have no id: the time and the change itself order them.
    let key = |e: &SchemaChangeEntry| {
        format!(
            "{:025}|{}",
            e.detected_at.unix_timestamp_nanos(),
            serde_json::to_string(&e.change).unwrap_or_default()
        )
    };
    Ok(paginate(history, key, Order::Descending, &page)?.respond(&uri))
}
