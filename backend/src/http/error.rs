//! One error type for every handler. It answers the API as RFC 9457 problem+json; the
//! `html_errors` middleware re-renders the same problem as an error page (or an htmx
//! fragment) for browser routes. Internal detail goes to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::actions::ActionError;
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
    /// A path or query parameter that does not parse (400, naming the parameter).
    #[error("{}: {}", .0.field, .0.message)]
    InvalidParameter(FieldError),
    /// A JSON body of the wrong shape: missing fields, wrong types (422, naming each field).
    #[error("the request body does not have the expected shape")]
    InvalidBody(Vec<FieldError>),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the resource changed since you read it; reload and try again")]
    PreconditionFailed,
    #[error("you are not allowed to do that")]
    Forbidden,
    /// Not allowed, for a reason the caller can act on (403, with the reason).
    #[error("{0}")]
    Refused(String),
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

impl From<ActionError> for AppError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::NotFound => Self::NotFound,
            ActionError::Forbidden => Self::Forbidden,
            ActionError::Refused(message) => Self::Refused(message),
            ActionError::Conflict(message) => Self::Conflict(message),
            ActionError::Stale => Self::PreconditionFailed,
            ActionError::Invalid(invalid) => Self::Invalid(invalid),
            ActionError::InvalidParameter(invalid) => Self::InvalidParameter(FieldError {
                field: invalid.field.into(),
                message: invalid.message,
            }),
            ActionError::BadRequest(message) => Self::BadRequest(message),
            ActionError::Unavailable(message) => Self::Unavailable(message),
            ActionError::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(error.into())
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field: a body property (`tables[0].columns`), a parameter or a header name.
    #[schema(example = "name")]
    pub field: String,
    #[schema(example = "must not be empty")]
    pub message: String,
}

/// An RFC 9457 problem document (`application/problem+json`). Also stored in the
/// response's extensions so browser routes can render it as HTML.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    #[schema(example = "/problems/invalid")]
    pub problem_type: &'static str,
    /// The status code's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    pub title: &'static str,
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong, in words for a person.
    #[schema(example = "name: must not be empty")]
    pub detail: String,
    /// For validation problems: each field that is wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The problem for a bare error status that some layer answered without a body
    /// (405 from routing, 408 from the timeout, 413 from the body limit, 500 from a panic).
    pub fn for_status(status: StatusCode) -> Self {
        let error = match status.as_u16() {
            400 => AppError::BadRequest("the request is malformed".into()),
            401 => AppError::Unauthorized,
            403 => AppError::Forbidden,
            404 => AppError::NotFound,
            405 => AppError::MethodNotAllowed,
            412 => AppError::PreconditionFailed,
            413 => AppError::PayloadTooLarge,
            415 => AppError::UnsupportedMediaType,
            503 => AppError::Unavailable("try again shortly".into()),
            _ => {
                return Self {
                    problem_type: "about:blank",
                    title: status.canonical_reason().unwrap_or("Error"),
                    status: status.as_u16(),
                    detail: status.canonical_reason().unwrap_or("Error").to_owned(),
                    errors: Vec::new(),
                };
            }
        };
        error.problem()
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) | Self::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Self::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::Forbidden | Self::Refused(_) => StatusCode::FORBIDDEN,
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
            Self::InvalidParameter(_) => ("/problems/bad-request", self.to_string()),
            Self::InvalidBody(errors) => (
                "/problems/invalid",
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Self::UnsupportedMediaType => ("/problems/unsupported-media-type", self.to_string()),
            Self::MethodNotAllowed => ("/problems/method-not-allowed", self.to_string()),
            Self::PayloadTooLarge => ("/problems/payload-too-large", self.to_string()),
            Self::PreconditionFailed => ("/problems/precondition-failed", self.to_string()),
            Self::Forbidden => ("/problems/forbidden", self.to_string()),
            Self::Refused(message) => ("/problems/forbidden", message.clone()),
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
            Self::InvalidParameter(error) => vec![error.clone()],
            Self::InvalidBody(errors) => errors.clone(),
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
