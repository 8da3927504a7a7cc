//! The home page (the catalog, or a welcome for visitors) and the requests page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::{Chrome, RenderPage};
use crate::app::AppState;
use crate::http::AppError;
use crate::http::auth::MaybeUser;

#[derive(Template)]
#[template(path = "pages/welcome.html")]
struct WelcomePage {
    chrome: Chrome,
}

/// `GET /`: the catalog for people signed in; a welcome and a sign-in button for visitors.
pub async fn home(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match user {
        Some(user) => super::catalog::catalog(&app, &user, pairs).await,
        None => WelcomePage {
            chrome: Chrome::new(&app, None, "Welcome").nav("catalog"),
        }
        .into_page(),
    }
}
