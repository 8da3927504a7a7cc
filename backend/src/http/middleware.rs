//! Cross-cutting layers: security headers, request metrics, and HTML rendering of errors
//! for browser routes.

use std::time::Instant;

use askama::Template;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::error::Problem;
use super::pages::{Chrome, ErrorFragment, ErrorPage};
use crate::app::AppState;
use crate::http::auth::CurrentUser;
use crate::telemetry::{LatencyLabels, RouteLabels};

/// No inline scripts or styles, nothing from other origins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The headers every response carries.
pub fn security_headers(https: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    if https {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    headers
}

/// Count requests and record latency by matched route (never the raw path: ids would
/// explode the label set).
pub async fn track_metrics(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics
        .http_latency
        .get_or_create(&LatencyLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    app.metrics
        .http_requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Browser routes answer errors with a page (or, for htmx, a fragment); the API keeps
/// its problem+json.
pub async fn html_errors(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let is_htmx = request.headers().contains_key("hx-request");
    let is_get = request.method() == axum::http::Method::GET;
    let here = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    if is_api {
        return response;
    }
    let Some(problem) = response.extensions_mut().remove::<Problem>() else {
        return response;
    };
    let status = response.status();
    // A visitor opening a page that needs sign-in is sent to sign in, and brought back.
    if status == StatusCode::UNAUTHORIZED && is_get && !is_htmx {
        let target = format!("/auth/login?next={}", urlencode(&here));
        return Redirect::to(&target).into_response();
    }
    let user = response.extensions().get::<Arc<CurrentUser>>().cloned();
    let mut headers = response.headers().clone();
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    let rendered = if is_htmx {
        ErrorFragment { problem: &problem }.render()
    } else {
        ErrorPage {
            chrome: Chrome::new(&app, user.as_deref(), problem.title),
            problem: &problem,
            request_id: &request_id,
        }
        .render()
    };
    match rendered {
        Ok(html) => {
            let mut page = (status, Html(html)).into_response();
            for (name, value) in headers.iter() {
                page.headers_mut().insert(name.clone(), value.clone());
            }
            page
        }
        Err(error) => {
            tracing::error!(%error, "could not render the error page");
            response
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// API errors that some layer answered without a problem document (405 from routing, 408
/// from the timeout, 413 from the body limit, 500 from a panic) get one, so API clients
/// only ever parse one error format.
pub async fn api_problems(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_api || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::for_status(status);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}
