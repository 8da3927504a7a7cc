//! An environment's page: where its data lives, which teams may publish from it (its owner
//! team and admins change that here) and the roles registered in it.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, PageForm, PagePath, RenderPage, flash};
use crate::actions::ActionError;
use crate::actions::environments::{
    PublisherRequest, environment, remove_publisher, set_publisher, visible_principals,
};
use crate::app::{App, AppState};
use crate::domain::policy::may_manage_publishers;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Template)]
#[template(path = "pages/environment.html")]
struct EnvironmentPage {
    chrome: Chrome,
    environment: Environment,
    publishers: Vec<Publisher>,
    principals: Vec<ConsumerPrincipal>,
    may_manage: bool,
    error: Option<String>,
}

async fn render(
    app: &App,
    user: &CurrentUser,
    environment: Environment,
    error: Option<String>,
) -> Result<Response, AppError> {
    let principals = visible_principals(app, &user.subject(), &environment).await?;
    let publishers = app.store.list_publishers(environment.id).await?;
    EnvironmentPage {
        chrome: Chrome::new(app, Some(user), &environment.name),
        may_manage: may_manage_publishers(&user.subject(), &environment.publishing(&[])),
        environment,
        publishers,
        principals,
        error,
    }
    .into_page()
}

fn page_url(environment: &Environment) -> String {
    format!("/environments/{}", environment.slug)
}

/// `GET /environments/{slug}`: anyone signed in (products name their environment).
pub async fn environment_page(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
) -> Result<Response, AppError> {
    let environment = environment(&app, &slug).await?;
    render(&app, &user, environment, None).await
}

#[derive(Deserialize)]
pub struct PublisherForm {
    team: String,
    /// Glue database names separated by commas or spaces; empty for every database.
    #[serde(default)]
    databases: String,
}

/// `POST /environments/{slug}/publishers`: let a team publish (or change its databases).
pub async fn save_publisher(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    PageForm(form): PageForm<PublisherForm>,
) -> Result<Response, AppError> {
    let environment = environment(&app, &slug).await?;
    let request = PublisherRequest {
        databases: form
            .databases
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let saved = match TeamName::parse(&form.team) {
        Ok(team) => set_publisher(&app, &user.subject(), &environment, &team, &request).await,
        Err(invalid) => Err(invalid.into()),
    };
    match saved {
        Ok(publisher) => Ok(flash::redirect(
            &app,
            &page_url(&environment),
            format!("{} may publish from {}.", publisher.team, environment.name),
        )),
        Err(ActionError::Invalid(e)) => render(&app, &user, environment, Some(e.to_string())).await,
        Err(other) => Err(other.into()),
    }
}

/// `POST /environments/{slug}/publishers/{team}/remove`
pub async fn drop_publisher(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath((slug, team)): PagePath<(String, String)>,
) -> Result<Response, AppError> {
    let environment = environment(&app, &slug).await?;
    let team = TeamName::parse(&team).map_err(|_| AppError::NotFound)?;
    remove_publisher(&app, &user.subject(), &environment, &team).await?;
    Ok(flash::redirect(
        &app,
        &page_url(&environment),
        format!("{team} may no longer publish from {}.", environment.name),
    ))
}
