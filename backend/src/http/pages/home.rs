//! The catalog home page and the pages the header links to.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Chrome, RenderPage};
use crate::app::AppState;
use crate::domain::{BusinessDomain, CatalogCounts};
use crate::http::AppError;

#[derive(Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    chrome: Chrome,
    counts: CatalogCounts,
    domains: Vec<BusinessDomain>,
}

/// `GET /`: what the catalog holds, with honest empty states.
pub async fn home(State(app): State<AppState>) -> Result<Response, AppError> {
    let counts = app.store.catalog_counts().await?;
    let domains = app.store.list_domains().await?;
    HomePage {
        chrome: Chrome::new(&app, "Catalog").nav("catalog"),
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
pub async fn requests(State(app): State<AppState>) -> Result<Response, AppError> {
    NoticePage {
        chrome: Chrome::new(&app, "Requests").nav("requests"),
        heading: "Access requests",
        message: "Requests for access to data products will be listed here. Requesting \
                  access needs sign-in, which this build of Wharf does not offer yet.",
    }
    .into_page()
}

/// `GET /admin`
pub async fn admin(State(app): State<AppState>) -> Result<Response, AppError> {
    NoticePage {
        chrome: Chrome::new(&app, "Admin").nav("admin"),
        heading: "Administration",
        message: "Environments, consumer principals and jobs are managed here by the admin \
                  group. Administration needs sign-in, which this build of Wharf does not \
                  offer yet.",
    }
    .into_page()
}

/// `GET /auth/login`
pub async fn sign_in(State(app): State<AppState>) -> Result<Response, AppError> {
    NoticePage {
        chrome: Chrome::new(&app, "Sign in"),
        heading: "Sign in",
        message: "Sign-in is not available in this build of Wharf yet. The catalog can be \
                  browsed without it.",
    }
    .into_page()
}
