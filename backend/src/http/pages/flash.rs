//! Flash messages: an action's outcome, shown once on the page it redirects to
//! (post/redirect/get, so a reload never repeats the action). The message travels in a
//! short-lived cookie; `layer` hands it to the page through a task-local that `Chrome`
//! reads, and clears the cookie once a full HTML page has shown it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};

use crate::app::{App, AppState};

const COOKIE: &str = "wharf_flash";
/// Longer text is cut: a flash is a sentence, not a report.
const MAX_CHARS: usize = 300;

tokio::task_local! {
    static FLASH: Option<String>;
}

/// The message waiting for the page being rendered, if any.
pub fn current() -> Option<String> {
    FLASH.try_with(Clone::clone).ok().flatten()
}

fn cookie(app: &App, value: String, max_age: time::Duration) -> Option<HeaderValue> {
    let cookie = Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// `303 See Other` to `to`, which will show `message` once.
pub fn redirect(app: &App, to: &str, message: impl AsRef<str>) -> Response {
    let text: String = message.as_ref().chars().take(MAX_CHARS).collect();
    let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(value) = cookie(app, encoded, time::Duration::minutes(1)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn read(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()).filter_map(Result::ok))
        .find(|c| c.name() == COOKIE)
        .map(|c| {
            url::form_urlencoded::parse(format!("m={}", c.value()).as_bytes())
                .map(|(_, v)| v.chars().take(MAX_CHARS).collect::<String>())
                .next()
                .unwrap_or_default()
        })
        .filter(|m| !m.trim().is_empty())
}

/// Offer a waiting flash to full pages (not to htmx fragments) and clear it once shown.
pub async fn layer(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let is_htmx = request.headers().contains_key("hx-request");
    let Some(message) = read(&request).filter(|_| !is_htmx) else {
        return next.run(request).await;
    };
    let mut response = FLASH.scope(Some(message), next.run(request)).await;
    let shown = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if shown && let Some(clear) = cookie(&app, String::new(), time::Duration::ZERO) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}
