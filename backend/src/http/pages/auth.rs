//! Sign-in and sign-out pages: the OIDC redirect and callback, and the development
//! sign-in (pick a demo user) that only exists without an IdP on a loopback listener.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, PageForm, RenderPage};
use crate::app::AppState;
use crate::demo::{DEMO_USERS, DemoUser};
use crate::http::AppError;
use crate::http::auth::secrets::sha256_hex;
use crate::http::auth::{AuthMethod, CurrentUser, MaybeUser, parse_teams, safe_next, session};

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    next: String,
    dev_users: &'static [DemoUser],
    message: Option<&'static str>,
}

/// `GET /auth/login`: off to the IdP, or the development sign-in page.
pub async fn sign_in(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    if let Some(oidc) = &app.oidc {
        let (url, login) = oidc.begin_login(next).await.map_err(|error| {
            tracing::warn!(%error, "cannot start an OIDC sign-in");
            AppError::Unavailable("the identity provider is unreachable; try again shortly".into())
        })?;
        app.store.create_login_state(&login).await?;
        return Ok(Redirect::to(&url).into_response());
    }
    let chrome = Chrome::new(&app, user.as_ref(), "Sign in");
    let page = if app.config.dev_signin_allowed() {
        SignInPage {
            chrome,
            next,
            dev_users: DEMO_USERS,
            message: None,
        }
    } else {
        SignInPage {
            chrome,
            next,
            dev_users: &[],
            message: Some(
                "Sign-in is not configured. An administrator must set WHARF_OIDC_ISSUER and \
                 WHARF_OIDC_CLIENT_ID; the development sign-in is only offered on a loopback \
                 address without an identity provider.",
            ),
        }
    };
    page.into_page()
}

#[derive(Deserialize)]
pub struct DevLoginForm {
    user: String,
    next: Option<String>,
}

/// `POST /auth/dev-login`: sign in as a demo user (development sign-in only).
pub async fn dev_sign_in(
    State(app): State<AppState>,
    PageForm(form): PageForm<DevLoginForm>,
) -> Result<Response, AppError> {
    if !app.config.dev_signin_allowed() {
        return Err(AppError::Forbidden);
    }
    let demo = DEMO_USERS
        .iter()
        .find(|u| u.login == form.user)
        .ok_or_else(|| AppError::BadRequest(format!("there is no demo user {:?}", form.user)))?;
    let teams = parse_teams(demo.teams.iter().map(|t| t.to_string()).collect());
    let (_, cookie) = session::sign_in(&app, &demo.claims(), &teams, None).await?;
    Ok(redirect_with_cookie(
        &safe_next(form.next.as_deref()),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: the IdP sends the browser back here with a code.
pub async fn callback(
    State(app): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let oidc = app.oidc.as_ref().ok_or(AppError::NotFound)?;
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        return Err(AppError::BadRequest(format!(
            "The identity provider refused the sign-in: {error} {detail}"
        )));
    }
    let (Some(code), Some(state)) = (query.code, query.state) else {
        return Err(AppError::BadRequest(
            "The sign-in response is missing its code or state.".into(),
        ));
    };
    let login = app
        .store
        .take_login_state(&sha256_hex(&state))
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(
                "This sign-in has expired or was already used. Please sign in again.".into(),
            )
        })?;
    let (identity, id_token) = oidc.finish_login(code, &login).await.map_err(|error| {
        tracing::warn!(%error, "OIDC sign-in refused");
        AppError::BadRequest(format!("Sign-in failed: {error}"))
    })?;
    let teams = parse_teams(identity.groups.unwrap_or_default());
    let (user, cookie) = session::sign_in(&app, &identity.claims, &teams, Some(id_token)).await?;
    tracing::info!(user = %user.id, teams = teams.len(), "signed in");
    Ok(redirect_with_cookie(&login.next_path, cookie))
}

/// `POST /auth/logout`: end the session here and, where the IdP offers it, there too.
pub async fn sign_out(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let cookie = session::sign_out(&app, &user).await?;
    let hint = match &user.method {
        AuthMethod::Session { id_token_hint, .. } => id_token_hint.clone(),
        _ => None,
    };
    let target = match &app.oidc {
        Some(oidc) => oidc
            .logout_url(hint.as_deref())
            .await
            .unwrap_or_else(|| "/".into()),
        None => "/".into(),
    };
    Ok(redirect_with_cookie(&target, cookie))
}

fn redirect_with_cookie(target: &str, cookie: HeaderValue) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie)]).into_response();
    if let Ok(location) = HeaderValue::from_str(target) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
