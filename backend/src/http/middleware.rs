//! Cross-cutting layers: the host check, request size limits, security headers, request
//! metrics, and HTML rendering of errors for browser routes.

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
use crate::config::{Config, HostName};
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

/// The host names Wharf answers to, computed once from the configuration: the public
/// URL's host, loopback names when the listener is loopback, and `allowed_hosts`.
///
/// A page on a name the attacker controls can make it resolve to Wharf's address (DNS
/// rebinding); the browser then treats Wharf as that page's origin. The `Host` it sends
/// still carries the attacker's name, so refusing unknown names refuses the page.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    hosts: Vec<HostName>,
    /// The port a request means when it names none (the public URL scheme's).
    default_port: u16,
}

impl AllowedHosts {
    pub fn from_config(config: &Config) -> Self {
        let public = url::Url::parse(&config.public_url).ok();
        let default_port = if config.is_https() { 443 } else { 80 };
        let mut hosts = Vec::new();
        if let Some(url) = &public
            && let Some(host) = url.host_str()
            && let Some(mut name) = HostName::parse(host)
        {
            name.port = url.port_or_known_default();
            hosts.push(name);
        }
        if config.listen.ip().is_loopback() {
            // Port 0 lets the system pick: any port is the listener's.
            let port = Some(config.listen.port()).filter(|p| *p != 0);
            let listen_ip = match config.listen {
                std::net::SocketAddr::V4(v4) => v4.ip().to_string(),
                std::net::SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
            };
            for name in ["localhost", "127.0.0.1", "[::1]", &listen_ip] {
                hosts.push(HostName {
                    name: name.to_owned(),
                    port,
                });
            }
        }
        hosts.extend(config.allowed_hosts.iter().cloned());
        Self {
            hosts,
            default_port,
        }
    }

    /// Whether a `Host` header or URI authority names this Wharf.
    pub fn allows(&self, authority: &str) -> bool {
        // An authority may carry user info (`user@host`); the host is after it.
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let Some(asked) = HostName::parse(host) else {
            return false;
        };
        let port = asked.port.unwrap_or(self.default_port);
        self.hosts
            .iter()
            .any(|h| h.name == asked.name && h.port.is_none_or(|p| p == port))
    }
}

/// Probes and scrapers reach a pod by its address (`Host: 10.1.2.3:8080`); these answer
/// the same to everyone and change nothing, so they skip the host check.
const ANY_HOST_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Refuse requests naming a host Wharf is not meant to be reached at (421), before any
/// handler or the sign-in sees them. A request naming no host at all (HTTP/1.0, in-process
/// tests) passes: browsers always send one, so it cannot come from a rebinding page.
pub async fn check_host(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if ANY_HOST_PATHS.contains(&path) {
        return next.run(request).await;
    }
    let authority = request.uri().authority().map(|a| a.as_str());
    let mut named = authority.into_iter().map(Ok::<_, ()>).chain(
        request
            .headers()
            .get_all(header::HOST)
            .iter()
            .map(|value| value.to_str().map_err(drop)),
    );
    let refused = named.find(|host| !host.is_ok_and(|host| allowed.allows(host)));
    let Some(host) = refused else {
        return next.run(request).await;
    };
    tracing::info!(
        host = host.unwrap_or("(not text)"),
        "request for a host Wharf does not answer to refused (see allowed_hosts)"
    );
    let detail = "Wharf is not served at this host name.";
    if path.starts_with("/api/") {
        problem_response(
            StatusCode::MISDIRECTED_REQUEST,
            "/problems/misdirected-request",
            detail.into(),
        )
    } else {
        (StatusCode::MISDIRECTED_REQUEST, format!("{detail}\n")).into_response()
    }
}

/// The longest request target (path and query) Wharf reads.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) Wharf reads.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuse an oversized request target (414) or header block (431) with the same error
/// documents and pages as every other error, before sign-in reads cookies or tokens.
/// (hyper answers beyond its own, larger limits — 64 KiB of target, 400 KiB of head, 100
/// headers — with a bare status; these limits keep ordinary mistakes well below that.)
pub async fn limit_request_head(request: Request, next: Next) -> Response {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return problem_response(
            StatusCode::URI_TOO_LONG,
            "/problems/uri-too-long",
            format!(
                "The address is {uri_bytes} bytes long; Wharf reads at most {MAX_URI_BYTES}. \
                 Send fewer or shorter query parameters."
            ),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return problem_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "/problems/headers-too-large",
            format!(
                "The request headers are {header_bytes} bytes; Wharf reads at most \
                 {MAX_HEADER_BYTES}. Clear this site's cookies or send fewer headers."
            ),
        );
    }
    next.run(request).await
}

/// An error answered by a layer rather than a handler, in the shape `AppError` answers:
/// problem+json, with the problem kept for `html_errors` to show as a page.
fn problem_response(status: StatusCode, problem_type: &'static str, detail: String) -> Response {
    let problem = Problem {
        problem_type,
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(problem);
    response
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
    let status = response.status();
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        // Routing (405), the timeout (408) and the body limit (413) answer without one.
        None if matches!(status.as_u16(), 405 | 408 | 413) => Problem::for_status(status),
        None => return response,
    };
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
