//! Wharf: a data marketplace for a data lake.
//!
//! Data flows one way: `http` → `actions` → `domain` rules, `store`, `jobs`; workers →
//! drivers → `store`. Nothing below `http` knows about axum; nothing in `domain` knows
//! about sqlx.

pub mod actions;
pub mod app;
pub mod aws;
pub mod catalog_sources;
pub mod config;
pub mod demo;
pub mod domain;
pub mod events;
pub mod grants;
pub mod http;
pub mod indexer;
pub mod jobs;
pub mod search;
pub mod server;
pub mod store;
pub mod telemetry;
