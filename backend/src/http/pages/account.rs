//! The signed-in person's account: who Wharf thinks they are, and their API tokens.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, PageForm, PagePath, RenderPage, flash};
use crate::app::AppState;
use crate::domain::{ApiToken, ConsumerPrincipal, Environment, TeamName};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::http::auth::tokens::{NewTokenRequest, issue_token, revoke_own_token};

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    teams: Vec<TeamName>,
    is_admin: bool,
    tokens: Vec<ApiToken>,
    /// A token just created: shown once, never again.
    new_token: Option<String>,
    /// Environments, each with the roles registered to the viewer's teams there.
    environments: Vec<(Environment, Vec<ConsumerPrincipal>)>,
}

async fn render(
    app: &AppState,
    user: &CurrentUser,
    new_token: Option<String>,
) -> Result<Response, AppError> {
    AccountPage {
        chrome: Chrome::new(app, Some(user), "Account").nav("account"),
        email: user.user.email.clone().unwrap_or_default(),
        teams: user.teams.clone(),
        is_admin: user.is_admin,
        tokens: app.store.list_api_tokens(user.user.id).await?,
        new_token,
        environments: team_principals(app, user).await?,
    }
    .into_page()
}

async fn team_principals(
    app: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(Environment, Vec<ConsumerPrincipal>)>, AppError> {
    let mut environments = Vec::new();
    for environment in app.store.list_environments().await? {
        let principals = app
            .store
            .list_principals(environment.id, Some(&user.teams))
            .await?;
        environments.push((environment, principals));
    }
    Ok(environments)
}

/// `GET /account`
pub async fn account(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    render(&app, &user, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    expires_in_days: Option<u32>,
}

/// `POST /account/tokens`: create a token and show it once.
pub async fn create_token(
    State(app): State<AppState>,
    user: CurrentUser,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, AppError> {
    let request = NewTokenRequest {
        name: form.name,
        expires_in_days: form.expires_in_days,
    };
    let created = issue_token(&app, &user, request).await?;
    render(&app, &user, Some(created.token)).await
}

/// `POST /account/tokens/{id}/revoke`
pub async fn revoke_token(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, AppError> {
    revoke_own_token(&app, &user, id).await?;
    Ok(flash::redirect(&app, "/account", "Token revoked."))
}
