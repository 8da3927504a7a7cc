//! The JSON API under `/api/v1`. Handlers call the same domain and store code as the pages.
//!
//! Adding an endpoint: write the handler with a `#[utoipa::path(...)]` attribute (method,
//! path, tag, parameters, body, responses; see any handler here) and register it below
//! with `routes!`. That puts it in the router and in the OpenAPI document at once; then
//! update the snapshot (`INSTA_UPDATE=always cargo test -p wharf --test openapi`) and
//! review the diff.

pub mod audit;
pub mod docs;
pub mod domains;
pub mod environments;
pub mod events;
pub mod extensions;
pub mod grants;
pub mod me;
pub mod notifications;
pub mod pagination;
pub mod products;
pub mod request_actions;
pub mod requests;
pub mod tokens;
pub mod webhooks;

pub use super::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

/// Every `/api/v1` route with its OpenAPI description. Handlers sharing a path go in one
/// `routes!`. All of them need a signed-in caller (the route table adds that guard).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<docs::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(me::get_me))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(domains::list_domains, domains::create_domain))
        .routes(routes!(
            environments::list_environments,
            environments::create_environment
        ))
        .routes(routes!(
            environments::list_principals,
            environments::create_principal
        ))
        .routes(routes!(environments::delete_principal))
        .routes(routes!(environments::list_publishers))
        .routes(routes!(
            environments::put_publisher,
            environments::delete_publisher
        ))
        .routes(routes!(environments::glue_databases))
        .routes(routes!(environments::glue_tables))
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(products::get_product, products::update_product))
        .routes(routes!(products::publish_product))
        .routes(routes!(products::deprecate_product))
        .routes(routes!(
            products::list_product_tables,
            products::add_product_tables
        ))
        // The tables' first name, kept for scripts written against it (marked deprecated).
        .routes(routes!(
            products::list_product_tables_by_first_name,
            products::add_product_tables_by_first_name
        ))
        .routes(routes!(products::sync_product))
        .routes(routes!(products::product_history))
        .routes(routes!(requests::list_requests, requests::create_request))
        .routes(routes!(requests::get_request))
        .routes(routes!(request_actions::approve_request))
        .routes(routes!(request_actions::reject_request))
        .routes(routes!(request_actions::cancel_request))
        .routes(routes!(request_actions::revoke_request))
        .routes(routes!(request_actions::retry_request))
        .routes(routes!(request_actions::verify_request))
        .routes(routes!(request_actions::reapply_request))
        .routes(routes!(
            extensions::list_extensions,
            extensions::create_extension
        ))
        .routes(routes!(extensions::approve_extension))
        .routes(routes!(extensions::reject_extension))
        .routes(routes!(grants::list_grants))
        .routes(routes!(grants::get_grant))
        .routes(routes!(grants::verify_grant))
        .routes(routes!(audit::list_audit))
        .routes(routes!(events::feed))
        .routes(routes!(events::stream))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::get_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::resume_webhook))
        .routes(routes!(webhooks::list_deliveries))
}
