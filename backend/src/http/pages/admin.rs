//! Administration: environments (admin group) and consumer principals (admins, or members
//! of the principal's team, who also reach these forms from their account page).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, PageForm, PagePath, RenderPage, flash};
use crate::actions::ActionError;
use crate::actions::environments::{
    NewEnvironmentRequest, NewPrincipalRequest, add_environment, environment, register_principal,
};
use crate::app::AppState;
use crate::domain::policy::may_administer;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

pub struct EnvironmentRow {
    pub environment: Environment,
    pub principals: Vec<ConsumerPrincipal>,
    pub publishers: Vec<Publisher>,
}

#[derive(Template)]
#[template(path = "pages/admin.html")]
struct AdminPage {
    chrome: Chrome,
    environments: Vec<EnvironmentRow>,
    domains: Vec<BusinessDomain>,
    admin_group: String,
    error: Option<String>,
}

async fn render(
    app: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, AppError> {
    let mut environments = Vec::new();
    for environment in app.store.list_environments().await? {
        let principals = app.store.list_principals(environment.id, None).await?;
        let publishers = app.store.list_publishers(environment.id).await?;
        environments.push(EnvironmentRow {
            environment,
            principals,
            publishers,
        });
    }
    AdminPage {
        chrome: Chrome::new(app, Some(user), "Admin").nav("admin"),
        environments,
        domains: app.store.list_domains().await?,
        admin_group: app.config.admin_group.clone(),
        error,
    }
    .into_page()
}

/// `GET /admin`: the admin group only.
pub async fn admin(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    if !may_administer(&user.subject()) {
        return Err(AppError::Forbidden);
    }
    render(&app, &user, None).await
}

/// `POST /admin/environments`
pub async fn create_environment(
    State(app): State<AppState>,
    user: CurrentUser,
    PageForm(form): PageForm<NewEnvironmentRequest>,
) -> Result<Response, AppError> {
    match add_environment(&app, &user.subject(), &form).await {
        Ok(_) => Ok(flash::redirect(&app, "/admin", "Environment added.")),
        Err(ActionError::Invalid(e)) => render(&app, &user, Some(e.to_string())).await,
        Err(ActionError::Conflict(e)) => render(&app, &user, Some(e)).await,
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct PrincipalForm {
    team: String,
    arn: String,
    #[serde(default)]
    label: String,
    /// Where to go back to: `admin` or `account`.
    #[serde(default)]
    back: String,
}

fn back_to(back: &str) -> &'static str {
    if back == "admin" {
        "/admin"
    } else {
        "/account"
    }
}

/// `POST /environments/{slug}/principals`
pub async fn create_principal(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    PageForm(form): PageForm<PrincipalForm>,
) -> Result<Response, AppError> {
    let environment = environment(&app, &slug).await?;
    let request = NewPrincipalRequest {
        team: form.team,
        arn: form.arn,
        label: form.label,
    };
    register_principal(&app, &user.subject(), &environment, &request).await?;
    Ok(flash::redirect(
        &app,
        back_to(&form.back),
        format!("Role registered for {}.", request.team),
    ))
}
