//! HTML pages (askama templates in `frontend/`). Every page is built from the same
//! `Chrome` (layout data) so the header, banners and asset URLs stay consistent.

mod home;

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::AppError;
use super::error::Problem;
use crate::app::App;

pub use home::{admin, home, requests, sign_in};

/// What the base layout needs on every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub css_url: String,
    pub icon_url: String,
    pub signed_in_as: Option<String>,
}

impl Chrome {
    pub fn new(app: &App, title: &str) -> Self {
        Self {
            title: title.to_owned(),
            nav: "",
            css_url: app.assets.url("app.css"),
            icon_url: app.assets.url("favicon.svg"),
            signed_in_as: None,
        }
    }

    pub fn nav(mut self, nav: &'static str) -> Self {
        self.nav = nav;
        self
    }
}

/// Render any page template into a response.
pub trait RenderPage: Template {
    fn into_page(self) -> Result<Response, AppError>
    where
        Self: Sized,
    {
        Ok(Html(self.render()?).into_response())
    }
}

impl<T: Template> RenderPage for T {}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage<'a> {
    pub chrome: Chrome,
    pub problem: &'a Problem,
    pub request_id: &'a str,
}

#[derive(Template)]
#[template(path = "partials/error.html")]
pub struct ErrorFragment<'a> {
    pub problem: &'a Problem,
}
