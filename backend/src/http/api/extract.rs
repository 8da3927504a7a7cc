//! Extractors for the API whose rejections answer as problem+json with the field that is
//! wrong, like every other API error (axum's own answer in plain text).

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::http::AppError;
use crate::http::error::FieldError;

/// A JSON body. Wrong media type: 415; not JSON: 400; wrong shape: 422 naming each field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest(e.body_text()),
            })?;
        parse_json(&bytes).map(Self)
    }
}

/// A JSON body that may be left out entirely (then `T::default()`); when sent, it is
/// checked like [`ApiJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let json = is_json(request.headers());
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest(e.body_text()),
            })?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        // `null` is as good as no body.
        parse_json::<Option<T>>(&bytes).map(|value| Self(value.unwrap_or_default()))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5 && essence.to_ascii_lowercase().ends_with("+json"))
}

/// Parse a JSON document, naming the field that does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        match inner.classify() {
            serde_json::error::Category::Data => AppError::InvalidBody(vec![field_error(
                &error.path().to_string(),
                &without_position(&inner.to_string()),
            )]),
            _ => AppError::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde says "missing field `x`" at the parent's path: name the field itself.
fn field_error(path: &str, message: &str) -> FieldError {
    let path = if path == "." { "" } else { path };
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|start| message.strip_prefix(start))
        .and_then(|rest| rest.split('`').next());
    let field = match (path, named) {
        ("", Some(name)) => name.to_owned(),
        // An unknown field is already the last step of the path.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (path, Some(name)) => format!("{path}.{name}"),
        ("", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    };
    FieldError {
        field,
        message: message.to_owned(),
    }
}

fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; one that does not parse is a 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|error| {
                let field = field_error(&error.path().to_string(), &error.inner().to_string());
                AppError::InvalidParameter(FieldError {
                    field: if field.field == "body" {
                        "query".into()
                    } else {
                        field.field
                    },
                    message: field.message,
                })
            })
    }
}

/// Path parameters; one that does not parse (a malformed id) is a 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let body = error.body_text();
                // The parameters' names, for errors that only give a position.
                let names: Vec<String> =
                    axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .map(|raw| raw.iter().map(|(k, _)| k.to_owned()).collect())
                        .unwrap_or_default();
                let named = |index: usize| names.get(index).cloned().unwrap_or_default();
                Err(match error.into_kind() {
                    ErrorKind::ParseError { expected_type, .. } => {
                        AppError::InvalidParameter(FieldError {
                            field: named(0),
                            message: format!("not a valid {}", short_type(expected_type)),
                        })
                    }
                    ErrorKind::ParseErrorAtIndex {
                        index,
                        expected_type,
                        ..
                    } => AppError::InvalidParameter(FieldError {
                        field: named(index),
                        message: format!("not a valid {}", short_type(expected_type)),
                    }),
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => AppError::InvalidParameter(FieldError {
                        message: format!("not a valid {}", short_type(expected_type)),
                        field: key,
                    }),
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        AppError::InvalidParameter(FieldError {
                            field: key,
                            message: "not valid UTF-8".into(),
                        })
                    }
                    // A value's own parser failed (a malformed UUID).
                    ErrorKind::DeserializeError { key, message, .. } => {
                        AppError::InvalidParameter(FieldError {
                            field: key,
                            message,
                        })
                    }
                    _ => AppError::BadRequest(body),
                })
            }
            Err(other) => Err(AppError::Internal(anyhow::anyhow!(other.body_text()))),
        }
    }
}

/// `uuid::Uuid` → `Uuid`: say what was expected without Rust paths.
fn short_type(name: &str) -> &str {
    match name.rsplit("::").next().unwrap_or(name) {
        "Uuid" => "UUID",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the errors matter")]
    struct Body {
        name: String,
        tables: Vec<Table>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only the errors matter")]
    struct Table {
        columns: Vec<String>,
    }

    fn errors(json: &str) -> (u16, Vec<String>) {
        let error = parse_json::<Body>(json.as_bytes()).unwrap_err();
        let problem = error.problem();
        (
            problem.status,
            problem.errors.into_iter().map(|e| e.field).collect(),
        )
    }

    #[test]
    fn body_errors_name_the_field() {
        assert_eq!(errors(r#"{"tables": []}"#), (422, vec!["name".into()]));
        assert_eq!(
            errors(r#"{"name": "x", "tables": [{"columns": 3}]}"#),
            (422, vec!["tables[0].columns".into()])
        );
        assert_eq!(
            errors(r#"{"name": "x", "tables": [], "extra": 1}"#),
            (422, vec!["extra".into()])
        );
        assert_eq!(errors(r#""x""#), (422, vec!["body".into()]));
        assert_eq!(errors(r#"{"name": "#).0, 400);
        assert_eq!(errors(r#"{"name": "x", "tables": []} trailing"#).0, 400);
    }
}
