//! Shared state and the one route table.

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::config::Config;
use crate::http::auth::oidc::Oidc;
use crate::http::auth::{AccessTokenCache, authenticate};
use crate::http::{api, assets, error, health, middleware, pages};
use crate::jobs::JobQueue;
use crate::search::CatalogIndex;
use crate::store::Store;
use crate::telemetry::Metrics;

/// Everything a request handler or worker may need. Built once at start-up; tests
/// build their own.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    /// The IdP, when configured; otherwise the development sign-in may be offered.
    pub oidc: Option<Oidc>,
    pub access_tokens: AccessTokenCache,
    /// Grant drivers per environment.
    pub drivers: crate::grants::Drivers,
    /// The catalog search index (derived from the store, never the source of truth).
    pub index: Arc<CatalogIndex>,
    /// Wakes the indexer after a local write, so edits are searchable at once.
    pub index_wake: Arc<tokio::sync::Notify>,
    pub jobs: JobQueue,
    pub metrics: Metrics,
    pub assets: assets::Assets,
}

impl App {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        index: Arc<CatalogIndex>,
    ) -> anyhow::Result<Self> {
        let oidc = match &config.oidc {
            Some(oidc) => Some(Oidc::new(
                oidc.clone(),
                config.groups_claim.clone(),
                &config.public_url,
            )?),
            None => None,
        };
        Ok(Self {
            jobs: JobQueue::new(store.clone()),
            oidc,
            access_tokens: AccessTokenCache::default(),
            drivers: crate::grants::Drivers::new(
                config.aws_endpoint_url.clone(),
                Default::default(),
            ),
            index,
            index_wake: Arc::new(tokio::sync::Notify::new()),
            config,
            store,
            metrics: Metrics::default(),
            assets: assets::Assets::default(),
        })
    }
}

impl App {
    /// Ask the indexer to pick up what was just written.
    pub fn reindex(&self) {
        self.index_wake.notify_one();
    }

    /// The indexer for this app's store and index.
    pub fn indexer(&self) -> crate::indexer::Indexer {
        crate::indexer::Indexer::new(
            self.store.clone(),
            self.index.clone(),
            self.index_wake.clone(),
        )
    }
}

/// The axum state: a cheap handle on the `App`.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// The one route table, grouped by who may call it. Each handler still asks the policy
/// about the thing it touches; the groups only turn visitors away early.
pub fn router(state: AppState) -> Router {
    use axum::routing::{delete, post};

    let public = Router::new()
        .route("/", get(pages::home))
        .route("/auth/login", get(pages::sign_in))
        .route("/auth/dev-login", post(pages::dev_sign_in))
        .route("/auth/callback", get(pages::callback))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/static/{*path}", get(assets::serve_static));

    let signed_in = Router::new()
        .route("/requests", get(pages::requests))
        .route("/admin", get(pages::admin))
        .route("/admin/environments", post(pages::create_environment))
        .route(
            "/environments/{slug}/principals",
            post(pages::create_principal),
        )
        .route("/catalog/results", get(pages::catalog_results))
        .route("/requests/{id}", get(pages::request_page))
        .route("/requests/{id}/status", get(pages::request_status))
        .route("/requests/{id}/{action}", post(pages::decide))
        .route("/products/{slug}/request", post(pages::request_access))
        .route(
            "/products/new",
            get(pages::new_product).post(pages::create_product),
        )
        .route("/products/{slug}", get(pages::product_page))
        .route(
            "/products/{slug}/edit",
            get(pages::edit_product_page).post(pages::update_product),
        )
        .route("/products/{slug}/status", post(pages::product_status))
        .route("/products/{slug}/sync", post(pages::product_sync))
        .route("/products/{slug}/tables", post(pages::product_tables))
        .route("/account", get(pages::account))
        .route("/account/tokens", post(pages::create_token))
        .route("/account/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/auth/logout", post(pages::sign_out))
        .route("/api/v1/me", get(api::me::get_me))
        .route(
            "/api/v1/tokens",
            get(api::tokens::list_tokens).post(api::tokens::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(api::tokens::delete_token))
        .route(
            "/api/v1/domains",
            get(api::domains::list_domains).post(api::domains::create_domain),
        )
        .route(
            "/api/v1/environments",
            get(api::environments::list_environments).post(api::environments::create_environment),
        )
        .route(
            "/api/v1/environments/{slug}/principals",
            get(api::environments::list_principals).post(api::environments::create_principal),
        )
        .route(
            "/api/v1/environments/{slug}/principals/{id}",
            delete(api::environments::delete_principal),
        )
        .route(
            "/api/v1/environments/{slug}/glue/databases",
            get(api::environments::glue_databases),
        )
        .route(
            "/api/v1/environments/{slug}/glue/databases/{database}/tables",
            get(api::environments::glue_tables),
        )
        .route(
            "/api/v1/products",
            get(api::products::list_products).post(api::products::create_product),
        )
        .route(
            "/api/v1/products/{slug}",
            get(api::products::get_product).put(api::products::update_product),
        )
        .route(
            "/api/v1/products/{slug}/publish",
            post(api::products::publish_product),
        )
        .route(
            "/api/v1/products/{slug}/deprecate",
            post(api::products::deprecate_product),
        )
        .route(
            "/api/v1/products/{slug}/assets",
            get(api::products::list_assets).post(api::products::create_assets),
        )
        .route(
            "/api/v1/products/{slug}/sync",
            post(api::products::sync_product),
        )
        .route(
            "/api/v1/products/{slug}/history",
            get(api::products::product_history),
        )
        .route(
            "/api/v1/access-requests",
            get(api::requests::list_requests).post(api::requests::create_request),
        )
        .route(
            "/api/v1/access-requests/{id}",
            get(api::requests::get_request),
        )
        .route(
            "/api/v1/access-requests/{id}/{action}",
            post(api::requests::decide),
        )
        .route_layer(axum::middleware::from_fn(require_user));

    let public = public.merge(signed_in);

    let headers = middleware::security_headers(state.config.is_https());

    let mut router = public
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::html_errors,
        ))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track_metrics,
        ));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(CatchPanicLayer::new())
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// The log span of a request: method, path (never the query: it may carry tokens) and id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Turn visitors away from routes that need a signed-in caller.
async fn require_user(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request
        .extensions()
        .get::<Arc<crate::http::auth::CurrentUser>>()
        .is_none()
    {
        return crate::http::AppError::Unauthorized.into_response();
    }
    next.run(request).await
}
