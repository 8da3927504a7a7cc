//! Who is calling: a browser session (cookie), a personal API token, or an OIDC JWT access
//! token. `authenticate` resolves the caller once per request, enforces CSRF on unsafe
//! methods that a cookie can reach, and leaves a `CurrentUser` for handlers to extract.

mod callers;
pub mod oidc;
pub mod secrets;
pub mod session;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::{App, AppState};
use crate::domain::policy::Subject;
use crate::domain::{Caller, TeamName, User};
use crate::http::AppError;

pub use callers::{CallerCache, Credential};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    Session {
        id_hash: String,
        csrf_token: String,
        id_token_hint: Option<String>,
    },
    ApiToken,
    AccessToken,
}

/// The authenticated caller, with their teams as of their last sign-in (or this token).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub teams: Vec<TeamName>,
    pub is_admin: bool,
    pub method: AuthMethod,
    /// Requests waiting for this user's decision (pages only; the header shows it).
    pub inbox: usize,
    /// Unread notifications (pages only; the header's bell shows it).
    pub unread: usize,
    /// How far the outbox had got when the caller was read (same statement), for pages
    /// that keep data in memory; `None` for a JWT access token's caller, not read so.
    pub outbox_seq: Option<i64>,
}

impl CurrentUser {
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user: self.user.id,
            teams: &self.teams,
            is_admin: self.is_admin,
        }
    }

    /// The CSRF token forms and htmx requests must send (sessions only).
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.method {
            AuthMethod::Session { csrf_token, .. } => Some(csrf_token),
            _ => None,
        }
    }

    fn new(app: &App, user: User, teams: Vec<TeamName>, method: AuthMethod) -> Self {
        let is_admin = teams.iter().any(|t| t.as_str() == app.config.admin_group);
        Self {
            user,
            teams,
            is_admin,
            method,
            inbox: 0,
            unread: 0,
            outbox_seq: None,
        }
    }

    /// A caller read from the store (with how far the outbox had got).
    fn from_caller(app: &App, caller: Caller, method: AuthMethod) -> Self {
        Self {
            outbox_seq: Some(caller.outbox_seq),
            ..Self::new(app, caller.user, caller.teams, method)
        }
    }
}

/// Extract the caller; 401 when there is none.
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Arc<CurrentUser>>()
            .map(|user| user.as_ref().clone())
            .ok_or(AppError::Unauthorized)
    }
}

/// The caller if there is one: for pages that also serve visitors.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        Ok(Self(
            parts
                .extensions
                .get::<Arc<CurrentUser>>()
                .map(|u| u.as_ref().clone()),
        ))
    }
}

/// Resolve the caller, refuse cross-site and CSRF-less unsafe requests, then continue.
pub async fn authenticate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    match resolve(&app, request).await {
        Ok(request) => {
            let user = request.extensions().get::<Arc<CurrentUser>>().cloned();
            let mut response = next.run(request).await;
            // The error pages rendered further out show who is signed in.
            if let Some(user) = user {
                response.extensions_mut().insert(user);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn resolve(app: &App, mut request: Request) -> Result<Request, AppError> {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method {
        refuse_cross_site(app, request.headers())?;
    }
    let user = match bearer_token(request.headers()) {
        Some(token) => Some(from_bearer(app, &token).await?),
        None => session::from_cookie(app, request.headers()).await?,
    };
    if let Some(mut user) = user {
        let path = request.uri().path();
        // The header's inbox badge is for people in a browser.
        let browser = matches!(user.method, AuthMethod::Session { .. });
        if browser
            && !unsafe_method
            && !path.starts_with("/api/")
            && !path.starts_with("/static/")
            && !path.ends_with("/status")
        {
            (user.inbox, user.unread) = header_counts(app, &user).await?;
        }
        if let (true, AuthMethod::Session { csrf_token, .. }) = (unsafe_method, &user.method) {
            request = session::require_csrf(app, request, csrf_token).await?;
        }
        request.extensions_mut().insert(Arc::new(user));
    }
    Ok(request)
}

/// A browser's header counts: submitted requests for products this user manages (not
/// their own), and their unread notifications. Kept with the session's caller.
async fn header_counts(app: &App, user: &CurrentUser) -> Result<(usize, usize), AppError> {
    let AuthMethod::Session { id_hash, .. } = &user.method else {
        return Ok((0, 0));
    };
    let credential = Credential::Session(id_hash.clone());
    // Read before counting: a write committed meanwhile retires what is kept.
    let writes = app.store.local_writes();
    if let Some(counts) = app.callers.counts(&credential, writes) {
        return Ok(counts);
    }
    let inbox = app.store.count_inbox(&user.teams, user.user.id).await?;
    let unread = app.store.unread_notifications(user.user.id).await?;
    let counts = (
        usize::try_from(inbox).unwrap_or_default(),
        usize::try_from(unread).unwrap_or(usize::MAX),
    );
    app.callers.keep_counts(&credential, writes, counts);
    Ok(counts)
}

/// A browser tells us where a request comes from; unsafe requests from other sites are
/// refused. The origin may be the public URL or the host the browser actually used (a
/// newcomer opening `localhost` instead of `127.0.0.1` must still be able to sign in).
fn refuse_cross_site(app: &App, headers: &HeaderMap) -> Result<(), AppError> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v == "cross-site")
    {
        return Err(AppError::Forbidden);
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same_host =
        host.is_some_and(|host| origin.split_once("://").is_some_and(|(_, h)| h == host));
    if origin == public_origin(&app.config.public_url) || same_host {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn public_origin(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map_or(0, |i| i + 3);
    match public_url[after_scheme..].find('/') {
        Some(slash) => &public_url[..after_scheme + slash],
        None => public_url,
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn from_bearer(app: &App, token: &str) -> Result<CurrentUser, AppError> {
    if token.starts_with(secrets::API_TOKEN_PREFIX) {
        let token_hash = secrets::sha256_hex(token);
        let credential = Credential::ApiToken(token_hash.clone());
        // Read before the lookup: a write committed meanwhile retires what is kept.
        let writes = app.store.local_writes();
        if let Some(kept) = app.callers.get(&credential, writes) {
            return Ok(kept);
        }
        let token = app
            .store
            .user_by_api_token(&token_hash)
            .await?
            .ok_or(AppError::InvalidToken)?;
        let current = CurrentUser::from_caller(app, token.caller, AuthMethod::ApiToken);
        app.callers
            .keep(credential, &current, writes, token.expires_at);
        return Ok(current);
    }
    let oidc = app.oidc.as_ref().ok_or(AppError::InvalidToken)?;
    if let Some(cached) = app.access_tokens.get(token) {
        return Ok(cached);
    }
    let identity = oidc.verify_access_token(token).await.map_err(|error| {
        tracing::info!(%error, "access token refused");
        AppError::InvalidToken
    })?;
    let teams = parse_teams(identity.groups.unwrap_or_default());
    let user = app.store.sign_in_user(&identity.claims, &teams).await?;
    let current = CurrentUser::new(app, user, teams, AuthMethod::AccessToken);
    app.access_tokens.insert(token, &current);
    Ok(current)
}

/// Verified JWT access tokens, remembered briefly so a busy client does not cost a
/// signature check and a user upsert per request.
#[derive(Default)]
pub struct AccessTokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (CurrentUser, std::time::Instant)>>,
}

impl AccessTokenCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(30);
    const MAX_ENTRIES: usize = 10_000;

    fn get(&self, token: &str) -> Option<CurrentUser> {
        let entries = self.entries.lock().expect("cache lock");
        let (user, at) = entries.get(&secrets::sha256_hex(token))?;
        (at.elapsed() < Self::TTL).then(|| user.clone())
    }

    fn insert(&self, token: &str, user: &CurrentUser) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            secrets::sha256_hex(token),
            (user.clone(), std::time::Instant::now()),
        );
    }
}

/// Group names from a token, keeping the valid ones.
pub fn parse_teams(groups: Vec<String>) -> Vec<TeamName> {
    let mut teams: Vec<TeamName> = groups
        .iter()
        .filter_map(|g| TeamName::parse(g).ok())
        .collect();
    teams.sort();
    teams.dedup();
    teams
}

/// A post-login target: only ever a path inside Wharf (never `//host` or `https://…`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && !path.starts_with("/auth/") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_only_points_inside_wharf() {
        for good in ["/", "/products/sales?tab=tables", "/requests"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/x\r\nLocation: //evil",
            "javascript:alert(1)",
            "evil",
            "/auth/logout",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn public_origin_drops_the_path() {
        assert_eq!(
            public_origin("https://wharf.example.com"),
            "https://wharf.example.com"
        );
        assert_eq!(
            public_origin("http://127.0.0.1:8080/base"),
            "http://127.0.0.1:8080"
        );
    }
}
