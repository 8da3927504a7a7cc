//! Extractors whose rejections answer as problem+json with the field that is wrong, like
//! every other API error (axum's own answer is plain text). The pages wrap them
//! (`pages::PagePath`, `PageQuery`) to show the same errors as an error page.
//!
//! They are also where every text the API accepts first arrives, so they refuse text the
//! databases cannot store alike ([`is_storable_text`]: a NUL character) in any string of
//! a body, a query or a path, with a 422 naming the field, before any handler sees it.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::domain::{UNSTORABLE_TEXT, is_storable_text};
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

/// Parse a JSON document, naming the field that does not fit, or whose text cannot be
/// stored.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if let Some(error) = unstorable_json_text(bytes) {
        return Err(AppError::InvalidBody(vec![error]));
    }
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

/// The first string or key of a JSON document that holds text the databases cannot
/// store, named as serde names fields (`tables[0].columns[1].description`). JSON can
/// only carry a NUL as the escape `\u0000` (a raw one is a syntax error), so a document
/// without those six bytes is not read twice.
fn unstorable_json_text(bytes: &[u8]) -> Option<FieldError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    // Not JSON: the typed parse that follows says so.
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    unstorable_in(&value, "")
}

fn unstorable_in(value: &serde_json::Value, path: &str) -> Option<FieldError> {
    use serde_json::Value;
    let refused = |field: &str, message: &str| FieldError {
        field: if field.is_empty() { "body" } else { field }.to_owned(),
        message: message.to_owned(),
    };
    match value {
        Value::String(text) if !is_storable_text(text) => Some(refused(path, UNSTORABLE_TEXT)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| unstorable_in(item, &format!("{path}[{index}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if !is_storable_text(key) {
                // The key itself cannot name the field: name where it is.
                return Some(refused(path, &format!("a field name {UNSTORABLE_TEXT}")));
            }
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            unstorable_in(item, &field)
        }),
        _ => None,
    }
}

/// Refuse `application/x-www-form-urlencoded` text (a query, or a form's body: `whole`
/// names it when a key is what is wrong) with a field whose text cannot be stored.
pub fn check_encoded_text(encoded: &[u8], whole: &str) -> Result<(), AppError> {
    match url::form_urlencoded::parse(encoded)
        .find_map(|(key, value)| unstorable_parameter(&key, &value, whole))
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// A query or path parameter (`key`, or `whole` for the key itself) whose text cannot be
/// stored.
fn unstorable_parameter(key: &str, value: &str, whole: &str) -> Option<AppError> {
    let (field, message) = if !is_storable_text(key) {
        (whole, format!("a parameter name {UNSTORABLE_TEXT}"))
    } else if !is_storable_text(value) {
        (key, UNSTORABLE_TEXT.to_owned())
    } else {
        return None;
    };
    Some(AppError::InvalidBody(vec![FieldError {
        field: field.to_owned(),
        message,
    }]))
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

/// Query parameters; one that does not parse is a 400 naming it, one whose text cannot
/// be stored a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        check_encoded_text(query.as_bytes(), "query")?;
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

/// Path parameters; one that does not parse (a malformed id) is a 400 naming it, one
/// whose text cannot be stored a 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        use axum::extract::path::ErrorKind;
        // Decoded, as the handler would see them (`%00` is a NUL).
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && let Some(error) = raw
                .iter()
                .find_map(|(key, value)| unstorable_parameter(key, value, "path"))
        {
            return Err(error);
        }
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

    #[test]
    fn text_with_a_nul_is_422_naming_the_field() {
        assert_eq!(
            errors(r#"{"name": "a\u0000b", "tables": []}"#),
            (422, vec!["name".into()])
        );
        assert_eq!(
            errors(r#"{"name": "x", "tables": [{"columns": ["id", "\u0000"]}]}"#),
            (422, vec!["tables[0].columns[1]".into()])
        );
        // Even where the shape is wrong too, and in a key.
        assert_eq!(
            errors(r#"{"name": 1, "extra": {"deep": ["\u0000"]}}"#),
            (422, vec!["extra.deep[0]".into()])
        );
        assert_eq!(
            errors(r#"{"name": "x", "tables": [{"col\u0000umns": []}]}"#),
            (422, vec!["tables[0]".into()])
        );
        assert_eq!(errors(r#""\u0000""#), (422, vec!["body".into()]));
        // An escaped backslash before `u0000` is text, not a NUL.
        assert!(parse_json::<Body>(br#"{"name": "\\u0000", "tables": []}"#).is_ok());
        // Not JSON is still a 400.
        assert_eq!(errors(r#"{"name": "\u0000"#).0, 400);
    }

    #[test]
    fn parameters_with_a_nul_are_named() {
        let named = |key: &str, value: &str| {
            unstorable_parameter(key, value, "query").map(|e| {
                let problem = e.problem();
                (problem.status, problem.errors[0].field.clone())
            })
        };
        assert_eq!(named("principal", "\0"), Some((422, "principal".into())));
        assert_eq!(named("a\0", "x"), Some((422, "query".into())));
        assert_eq!(named("principal", "arn:aws:iam::1:role/x"), None);
    }
}
