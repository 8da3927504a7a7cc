//! Wharf's integration tests, one binary (each binary links the AWS SDKs and tantivy: one
//! link instead of fifteen). One module per area; the support they share (a `TestApp`
//! over a fresh database, the worlds stories start from, `stories!`) is in `../common`.
//! `sql_statements.rs` stays a binary of its own: it installs a global tracing subscriber.

#[path = "../common/mod.rs"]
mod common;

mod access_http;
mod api_http;
mod auth_http;
mod catalog_http;
mod events_http;
mod grants_http;
mod http_shell;
mod openapi;
mod pages_http;
mod snapshots;
mod store_access;
mod store_catalog;
mod store_requests;
mod store_suite;
mod text_http;
mod worker;
