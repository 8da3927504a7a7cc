//! The catalog home page and the pages the header links to.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Chrome, RenderPage};
use crate::app::AppState;
use crate::domain::policy::may_administer;
use crate::domain::{BusinessDomain, CatalogCounts, Environment};
use crate::http::AppError;
use crate::http::auth::{CurrentUser, MaybeUser};

#[derive(Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    chrome: Chrome,
    counts: CatalogCounts,
    domains: Vec<BusinessDomain>,
}

#[derive(Template)]
#[template(path = "pages/welcome.html")]
struct WelcomePage {
    chrome: Chrome,
}

/// `GET /`: the catalog for people signed in; a welcome and a sign-in button for visitors.
pub async fn home(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, AppError> {
    let Some(user) = user else {
        return WelcomePage {
            chrome: Chrome::new(&app, None, "Welcome").nav("catalog"),
        }
        .into_page();
    };
    let counts = app.store.catalog_counts().await?;
    let domains = app.store.list_domains().await?;
    HomePage {
        chrome: Chrome::new(&app, Some(&user), "Catalog").nav("catalog"),
        counts,
        domains,
    }
    .into_page()
}

#[derive(Template)]
#[template(path = "pages/notice.html")]
struct NoticePage {
    chrome: Chrome,
    heading: &'static str,
    message: &'static str,
}

/// `GET /requests`
pub async fn requests(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    NoticePage {
        chrome: Chrome::new(&app, Some(&user), "Requests").nav("requests"),
        heading: "Access requests",
        message: "Your requests for access to data products, and the requests waiting for \
                  your decision, will be listed here once requesting access is available.",
    }
    .into_page()
}

#[derive(Template)]
#[template(path = "pages/admin.html")]
struct AdminPage {
    chrome: Chrome,
    environments: Vec<Environment>,
    domains: Vec<BusinessDomain>,
    admin_group: String,
}

/// `GET /admin`: the admin group only.
pub async fn admin(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    if !may_administer(&user.subject()) {
        return Err(AppError::Forbidden);
    }
    AdminPage {
        chrome: Chrome::new(&app, Some(&user), "Admin").nav("admin"),
        environments: app.store.list_environments().await?,
        domains: app.store.list_domains().await?,
        admin_group: app.config.admin_group.clone(),
    }
    .into_page()
}
