//! Pure types and rules of the marketplace: no I/O, no sqlx, no AWS, no axum.
//!
//! Values that must be valid are parsed once at the edge (`Slug::parse`,
//! `TeamName::parse`), so the code inside never checks them again.

pub mod access;
mod auth;
mod aws_names;
mod catalog;
pub mod effects;
pub mod events;
pub mod extensions;
pub mod grants;
mod ids;
#[cfg(test)]
mod lifecycle_props;
pub mod markdown;
mod names;
pub mod policy;
mod records;
pub mod request_check;
pub mod stats;
pub mod webhook_targets;

pub use auth::*;
pub use aws_names::*;
pub use catalog::*;
pub use ids::*;
pub use names::*;
pub use records::*;

/// A rule of the domain that a request broke, worded for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
