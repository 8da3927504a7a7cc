//! The use cases: one module per area, each function taking the domain caller (a policy
//! `Subject`), asking the policy, applying the rules and calling the store, and answering
//! with domain types or an `ActionError`. The API and the pages call the same function per
//! action and only extract, call and render.

pub mod environments;
pub mod extensions;
pub mod grants;
pub mod products;
pub mod requests;
pub mod search;
pub mod webhooks;

use crate::domain::Invalid;
use crate::store::StoreError;

/// Why an action did not happen, in words for the person who asked; `http` decides how
/// each answers (a status, a problem document, an error page).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Nothing there, or nothing the caller may see.
    #[error("not found")]
    NotFound,
    #[error("you are not allowed to do that")]
    Forbidden,
    /// Not allowed, for a reason the caller can act on.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Conflict(String),
    /// The thing changed since the caller read it.
    #[error("the resource changed since you read it; reload and try again")]
    Stale,
    /// A field of what was sent breaks a rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A query or path parameter breaks a rule.
    #[error("{0}")]
    InvalidParameter(Invalid),
    /// A request that cannot be understood as it stands (a parameter, a mix of fields).
    #[error("{0}")]
    BadRequest(String),
    /// A service the action depends on (AWS Glue) did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for ActionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Invalid(invalid) => Self::Invalid(invalid),
            StoreError::StaleVersion => Self::Stale,
            other => Self::Internal(other.into()),
        }
    }
}

pub type ActionResult<T> = Result<T, ActionError>;
