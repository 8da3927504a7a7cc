//! Data products: search, create, read, edit (with `If-Match`), publish, deprecate; their
//! tables (import from Glue, or defined by hand in the sandbox), re-sync and history.
//! The functions here are shared with the pages.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::docs::{BadRequest, Conflict, Forbidden, NotFound, PreconditionFailed, Unavailable};
use super::pagination::{Order, PageParams, next_url, paginate};
use super::{ApiJson, ApiPath, ApiQuery};
use crate::actions::products::{self, AddTablesRequest};
use crate::actions::search::{SearchParams, search};
use crate::app::{App, AppState};
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::search::SearchPage;

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
    let params = SearchParams::from_pairs(pairs)?;
    let page = search(&app, &user.subject(), params).await?;
    let link = page.next_cursor.as_deref().and_then(|next| {
        HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_url(&uri, next))).ok()
    });
    let mut response = Json(page).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
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
        manageable: products::can_manage(&user.subject(), &product),
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
    let product = products::add_product(&app, &user.subject(), &input).await?;
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
    let product = products::visible_product(&app, &user.subject(), &slug).await?;
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
    let product =
        products::edit_product(&app, &user.subject(), &slug, if_match(&headers)?, &input).await?;
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
    let product =
        products::change_status(&app, &user.subject(), &slug, ProductStatus::Published).await?;
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
    let product =
        products::change_status(&app, &user.subject(), &slug, ProductStatus::Deprecated).await?;
    Ok(with_etag(&product, StatusCode::OK, &product))
}

/// Add tables to a product
///
/// Import them from the environment's Glue catalog (an import where any table is missing
/// writes nothing), or define them by hand in the sandbox.
#[utoipa::path(
    post,
    path = "/api/v1/products/{slug}/tables",
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
pub async fn add_product_tables(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(request): ApiJson<AddTablesRequest>,
) -> Result<(StatusCode, Json<Vec<Asset>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(products::add_tables(&app, &user.subject(), &slug, request).await?),
    ))
}

/// List a product's tables
///
/// Ordered by `database.table`; tables that vanished from Glue have `removed_at`.
#[utoipa::path(
    get,
    path = "/api/v1/products/{slug}/tables",
    tag = "products",
    params(("slug" = String, Path, description = "The product's slug", example = "orders"), PageParams),
    responses(
        (status = 200, description = "A page of tables", body = Vec<Asset>),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_product_tables(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    uri: Uri,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    page.limit()?;
    let product = products::visible_product(&app, &user.subject(), &slug).await?;
    let tables = app.store.assets_of(&[product.id]).await?;
    let key = |a: &Asset| format!("{}.{}\u{0}{}", a.database, a.table, a.id);
    Ok(paginate(tables, key, Order::Ascending, &page)?.respond(&uri))
}

/// List a product's tables (their first name)
///
/// The same as `GET /api/v1/products/{slug}/tables`, kept for scripts written against it.
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
pub async fn list_product_tables_by_first_name(
    state: State<AppState>,
    user: CurrentUser,
    slug: ApiPath<String>,
    uri: Uri,
    page: ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    list_product_tables(state, user, slug, uri, page).await
}

/// Add tables to a product (their first name)
///
/// The same as `POST /api/v1/products/{slug}/tables`, kept for scripts written against it.
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
pub async fn add_product_tables_by_first_name(
    state: State<AppState>,
    user: CurrentUser,
    slug: ApiPath<String>,
    request: ApiJson<AddTablesRequest>,
) -> Result<(StatusCode, Json<Vec<Asset>>), AppError> {
    add_product_tables(state, user, slug, request).await
}

/// What a re-sync found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncResult {
    pub changes: Vec<SchemaChange>,
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
        changes: products::sync_now(&app, &user.subject(), &slug).await?,
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
    let product = products::visible_product(&app, &user.subject(), &slug).await?;
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
