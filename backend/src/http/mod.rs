//! The web layer (axum): JSON API, HTML pages, health and static assets. Handlers
//! extract, call an action (`crate::actions`), and render; nothing else lives here.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod middleware;
pub mod pages;

pub use error::AppError;
