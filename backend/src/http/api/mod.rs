//! The JSON API under `/api/v1`. Handlers call the same domain and store code as the pages.

pub mod domains;
pub mod environments;
pub mod me;
pub mod products;
pub mod requests;
pub mod tokens;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::AppError;

/// `Json` whose rejections answer as problem+json, like every other API error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::BadRequest(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest(
                "send the body as application/json".into(),
            )),
            Err(other) if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(other) => Err(AppError::BadRequest(other.body_text())),
        }
    }
}
