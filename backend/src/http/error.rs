//! One error type for every handler. It answers the API as RFC 9457 problem+json; the
//! `html_errors` middleware re-renders the same problem as an error page (or an htmx
//! fragment) for browser routes. Internal detail goes to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Invalid;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    Unauthorized,
    #[error("the bearer token is invalid, expired or revoked")]
    InvalidToken,
    #[error("the form has expired or did not come from Wharf")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the resource changed since you read it; reload and try again")]
    PreconditionFailed,
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Invalid(invalid) => Self::Invalid(invalid),
            StoreError::StaleVersion => Self::PreconditionFailed,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(error.into())
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document. Also stored in the response's extensions so browser
/// routes can render it as HTML.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (problem_type, detail) = match self {
            Self::NotFound => (
                "/problems/not-found",
                "There is nothing here, or you may not see it.".into(),
            ),
            Self::Unauthorized => (
                "/problems/unauthorized",
                "Sign in, or send a bearer token.".into(),
            ),
            Self::InvalidToken => ("/problems/invalid-token", self.to_string()),
            Self::Csrf => (
                "/problems/csrf",
                "The form has expired or did not come from Wharf. Reload the page and try again."
                    .into(),
            ),
            Self::BadRequest(message) => ("/problems/bad-request", message.clone()),
            Self::PayloadTooLarge => ("/problems/payload-too-large", self.to_string()),
            Self::PreconditionFailed => ("/problems/precondition-failed", self.to_string()),
            Self::Forbidden => ("/problems/forbidden", self.to_string()),
            Self::Conflict(message) => ("/problems/conflict", message.clone()),
            Self::Invalid(invalid) => ("/problems/invalid", invalid.to_string()),
            Self::Unavailable(message) => ("/problems/unavailable", message.clone()),
            Self::Internal(_) => (
                "/problems/internal",
                "Something went wrong on our side. It has been logged; try again later.".into(),
            ),
        };
        let errors = match self {
            Self::Invalid(invalid) => vec![FieldError {
                field: invalid.field.to_string(),
                message: invalid.message.clone(),
            }],
            _ => Vec::new(),
        };
        Problem {
            problem_type,
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "internal error");
        }
        let problem = self.problem();
        let mut response = (self.status(), Json(&problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let challenge = match self {
            Self::Unauthorized => Some("Bearer realm=\"wharf\""),
            Self::InvalidToken => Some("Bearer realm=\"wharf\", error=\"invalid_token\""),
            _ => None,
        };
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response.extensions_mut().insert(problem);
        response
    }
}

/// The answer for routes that do not exist.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
