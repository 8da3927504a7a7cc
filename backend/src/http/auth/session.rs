//! Browser sessions: a random 256-bit id in an `HttpOnly`, `SameSite=Lax` cookie (`Secure`
//! and `__Host-` prefixed behind https), only its hash stored, with idle and absolute
//! expiry. Unsafe requests on a session must carry its CSRF token.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use time::OffsetDateTime;

use super::secrets::{random_secret, same_secret, sha256_hex};
use super::{AuthMethod, Credential, CurrentUser};
use crate::app::App;
use crate::domain::{NewSession, TeamName, User};
use crate::http::AppError;
use crate::store::now;

/// The form field carrying the CSRF token (htmx and scripts send `X-CSRF-Token` instead).
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Sessions are touched at most this often, to keep reads from becoming writes.
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);

fn cookie_name(app: &App) -> &'static str {
    if app.config.is_https() {
        "__Host-wharf_session"
    } else {
        "wharf_session"
    }
}

fn session_id(app: &App, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(app);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The user of the session cookie, if it names a live session.
pub async fn from_cookie(app: &App, headers: &HeaderMap) -> Result<Option<CurrentUser>, AppError> {
    let Some(id) = session_id(app, headers) else {
        return Ok(None);
    };
    let id_hash = sha256_hex(&id);
    let credential = Credential::Session(id_hash.clone());
    // Read before the lookup: a write committed meanwhile retires what is kept.
    let writes = app.store.local_writes();
    if let Some(kept) = app.callers.get(&credential, writes) {
        return Ok(Some(kept));
    }
    let Some(session) = app.store.session(&id_hash).await? else {
        return Ok(None);
    };
    if now() - session.last_seen_at > TOUCH_EVERY {
        let idle = now() + app.config.session_idle;
        app.store
            .touch_session(&id_hash, idle.min(session.expires_at))
            .await?;
    }
    let method = AuthMethod::Session {
        id_hash,
        csrf_token: session.csrf_token,
        id_token_hint: session.id_token_hint,
    };
    let current = CurrentUser::from_caller(app, session.caller, method);
    app.callers
        .keep(credential, &current, writes, Some(session.expires_at));
    Ok(Some(current))
}

/// Sign `user` in with `teams`: refresh their record and memberships, open a new session
/// (a new id every time, so a planted cookie is worthless) and return its `Set-Cookie`.
pub async fn sign_in(
    app: &App,
    claims: &crate::domain::UserClaims,
    teams: &[TeamName],
    id_token_hint: Option<String>,
) -> Result<(User, HeaderValue), AppError> {
    let user = app.store.sign_in_user(claims, teams).await?;
    let id = random_secret();
    let started = now();
    let expires_at: OffsetDateTime = started + app.config.session_max;
    app.store
        .create_session(&NewSession {
            id_hash: sha256_hex(&id),
            user_id: user.id,
            csrf_token: random_secret(),
            id_token_hint,
            idle_expires_at: (started + app.config.session_idle).min(expires_at),
            expires_at,
        })
        .await?;
    let cookie = Cookie::build((cookie_name(app), id))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::try_from(app.config.session_max).unwrap_or(time::Duration::HOUR))
        .build();
    Ok((user, header_value(&cookie)))
}

/// End the caller's session and return the `Set-Cookie` that clears it.
pub async fn sign_out(app: &App, user: &CurrentUser) -> Result<HeaderValue, AppError> {
    if let AuthMethod::Session { id_hash, .. } = &user.method {
        app.store.delete_session(id_hash).await?;
    }
    let cookie = Cookie::build((cookie_name(app), ""))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::ZERO)
        .build();
    Ok(header_value(&cookie))
}

fn header_value(cookie: &Cookie) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are base64url")
}

/// The request must carry the session's CSRF token in `X-CSRF-Token` or, for a plain HTML
/// form, in the `csrf_token` field. That field is taken out of the body handed on, so a
/// page can share the API's strict input types (`deny_unknown_fields`) without knowing it.
pub async fn require_csrf(
    app: &App,
    request: Request,
    expected: &str,
) -> Result<Request, AppError> {
    if let Some(sent) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if same_secret(sent, expected) {
            Ok(request)
        } else {
            Err(AppError::Csrf)
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (mut parts, body) = request.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = axum::body::to_bytes(body, app.config.max_body_bytes)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let mut sent = None;
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(&bytes) {
        if key == CSRF_FIELD {
            sent = Some(value);
        } else {
            fields.append_pair(&key, &value);
        }
    }
    match sent {
        Some(sent) if same_secret(&sent, expected) => {
            Ok(Request::from_parts(parts, Body::from(fields.finish())))
        }
        _ => Err(AppError::Csrf),
    }
}
