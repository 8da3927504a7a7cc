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
use crate::http::auth::{AccessTokenCache, CallerCache, authenticate};
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
    /// Sessions' and API tokens' callers, between their requests.
    pub callers: CallerCache,
    /// Product pages' viewer-independent part, while the outbox has not moved.
    pub product_pages: pages::ProductPages,
    /// Grant drivers per environment.
    pub drivers: Arc<crate::grants::Drivers>,
    /// The catalog search index (derived from the store, never the source of truth).
    pub index: Arc<CatalogIndex>,
    /// Wakes the indexer after a local write, so edits are searchable at once.
    pub index_wake: Arc<tokio::sync::Notify>,
    pub jobs: JobQueue,
    /// Tails the outbox for live streams and the relay scheduler.
    pub events: crate::events::Hub,
    /// Hands outbox events to DynamoDB, webhooks and notifications.
    pub relay: Arc<crate::events::Relay>,
    pub metrics: Arc<Metrics>,
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
        let relay = Arc::new(crate::events::Relay::new(
            store.clone(),
            crate::events::sinks(&config, &store),
        ));
        Ok(Self {
            jobs: JobQueue::new(store.clone()),
            events: crate::events::Hub::default(),
            relay,
            oidc,
            access_tokens: AccessTokenCache::default(),
            callers: CallerCache::new(config.caller_cache),
            product_pages: pages::ProductPages::default(),
            drivers: Arc::new(crate::grants::Drivers::new(
                config.aws_endpoint_url.clone(),
                Default::default(),
            )),
            index,
            index_wake: Arc::new(tokio::sync::Notify::new()),
            config,
            store,
            metrics: Arc::new(Metrics::default()),
            assets: assets::Assets::default(),
        })
    }
}

impl App {
    /// What the grant jobs (and the checks people start) work with.
    pub fn grant_context(&self) -> crate::grants::GrantContext {
        crate::grants::GrantContext {
            store: self.store.clone(),
            drivers: self.drivers.clone(),
            metrics: self.metrics.clone(),
            jobs: self.jobs.clone(),
        }
    }

    /// Ask the indexer to pick up what was just written.
    pub fn reindex(&self) {
        self.index_wake.notify_one();
        self.events.wake();
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
    use axum::routing::post;

    let (api_routes, api_doc) = api::router().split_for_parts();
    let api_doc = Arc::new(api::docs::finish(api_doc));

    let public = Router::new()
        .route("/", get(pages::home))
        .route("/auth/login", get(pages::sign_in))
        .route("/auth/dev-login", post(pages::dev_sign_in))
        .route("/auth/callback", get(pages::callback))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/static/{*path}", get(assets::serve_static))
        .route("/api/openapi.json", get(api::docs::openapi_json))
        .route("/api/docs", get(pages::api_reference))
        .layer(axum::Extension(api_doc));

    let signed_in = Router::new()
        .route("/requests", get(pages::requests))
        .route("/admin", get(pages::admin))
        .route("/admin/environments", post(pages::create_environment))
        .route("/environments/{slug}", get(pages::environment_page))
        .route(
            "/environments/{slug}/principals",
            post(pages::create_principal),
        )
        .route(
            "/environments/{slug}/publishers",
            post(pages::save_publisher),
        )
        .route(
            "/environments/{slug}/publishers/{team}/remove",
            post(pages::drop_publisher),
        )
        .route("/catalog/results", get(pages::catalog_results))
        .route("/requests/{id}", get(pages::request_page))
        .route("/requests/{id}/status", get(pages::request_status))
        .route("/requests/{id}/{action}", post(pages::decide))
        .route("/requests/{id}/extensions", post(pages::ask_extension))
        .route(
            "/requests/{id}/extensions/{extension}/{action}",
            post(pages::decide_extension),
        )
        .route("/grants", get(pages::grants))
        .route("/grants/{id}/verify", post(pages::verify_grant))
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
        .route("/notifications", get(pages::notifications))
        .route("/notifications/read", post(pages::read_notifications))
        .route(
            "/webhooks",
            get(pages::webhooks_page).post(pages::create_webhook),
        )
        .route("/webhooks/{id}", get(pages::webhook_page))
        .route("/webhooks/{id}/{action}", post(pages::webhook_action))
        // Every /api/v1 route, each with its OpenAPI description (see `api::router`).
        .merge(api_routes)
        .route_layer(axum::middleware::from_fn(require_user));

    let public = public.merge(signed_in);

    let headers = middleware::security_headers(state.config.is_https());

    let allowed_hosts = Arc::new(middleware::AllowedHosts::from_config(&state.config));

    // Innermost first. The size limits and the timeout sit inside `html_errors`, so what
    // they refuse is shown as an error page too; the host check runs before them all.
    let mut router = public
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .layer(axum::middleware::from_fn(middleware::limit_request_head))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::html_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::flash::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            allowed_hosts,
            middleware::check_host,
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
        .layer(axum::middleware::from_fn(middleware::api_problems))
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
