//! HTML pages (askama templates in `frontend/`). Every page is built from the same
//! `Chrome` (layout data) so the header, banners and asset URLs stay consistent.

mod account;
mod admin;
mod api_reference;
mod auth;
mod catalog;
mod charts;
mod environments;
mod events;
pub mod flash;
mod grants;
mod home;
mod product;
mod product_cache;
mod requests;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::AppError;
use super::error::{FieldError, Problem};
use super::extract::{ApiPath, ApiQuery};
use crate::app::App;
use crate::http::auth::CurrentUser;

pub use account::{account, create_token, revoke_token};
pub use admin::{admin, create_environment, create_principal};
pub use api_reference::reference_page as api_reference;
pub use auth::{callback, dev_sign_in, sign_in, sign_out};
pub use catalog::catalog_results;
pub use environments::{drop_publisher, environment_page, save_publisher};
pub use events::{
    create_webhook, notifications, read_notifications, webhook_action, webhook_page, webhooks_page,
};
pub use grants::{grants, verify_grant};
pub use home::home;
pub use product::{
    create_product, edit_product_page, new_product, product_page, product_status, product_sync,
    product_tables, update_product,
};
pub use product_cache::ProductPages;
pub use requests::{
    ask_extension, decide, decide_extension, request_access, request_page, request_status, requests,
};

/// Path parameters of a page. One that does not parse (`/requests/not-a-uuid`) is an
/// `AppError`, so it is shown on the error page like every other error (axum's own
/// rejection is plain text).
#[derive(Debug, Clone, Copy)]
pub struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PagePath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let ApiPath(value) = ApiPath::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Query parameters of a page; one that does not parse is shown on the error page.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let ApiQuery(value) = ApiQuery::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// A posted HTML form (`application/x-www-form-urlencoded`). A field that does not parse
/// (422, naming it), a body over `max_body_bytes` (413) or another media type (400) is
/// an `AppError`, shown on the error page like every other error.
#[derive(Debug, Clone, Copy)]
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(AppError::BadRequest(
                "send the form as application/x-www-form-urlencoded".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest(e.body_text()),
            })?;
        // Text that one of the databases cannot store is refused here, as in the API.
        crate::http::extract::check_encoded_text(&bytes, "form")?;
        let fields = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(fields)
            .map(Self)
            .map_err(|error| {
                let message = error.inner().to_string();
                let path = error.path().to_string();
                // serde names a missing field in its message, at the form's own path.
                let field = match message.strip_prefix("missing field `") {
                    Some(rest) if path == "." => rest.split('`').next().unwrap_or("form"),
                    _ if path == "." => "form",
                    _ => &path,
                };
                AppError::InvalidBody(vec![FieldError {
                    field: field.to_owned(),
                    message,
                }])
            })
    }
}

/// What the base layout needs on every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub css_url: String,
    pub icon_url: String,
    pub htmx_url: String,
    pub forms_url: String,
    /// The signed-in person's display name.
    pub signed_in_as: Option<String>,
    pub is_admin: bool,
    /// Every form and htmx request sends it back (empty for visitors).
    pub csrf_token: String,
    /// The development sign-in is on: every page says so.
    pub dev_signin: bool,
    /// Requests waiting for the viewer's decision.
    pub inbox: usize,
    /// Notifications the viewer has not read.
    pub unread: usize,
    /// Opens the live event stream on pages that ask for it (`data-live-subject`).
    pub live_url: String,
    /// The outcome of the action that led here (post/redirect/get), shown once.
    pub flash: Option<String>,
}

impl Chrome {
    pub fn new(app: &App, user: Option<&CurrentUser>, title: &str) -> Self {
        Self {
            title: title.to_owned(),
            nav: "",
            css_url: app.assets.url("app.css"),
            icon_url: app.assets.url("favicon.svg"),
            htmx_url: app.assets.url("htmx.min.js"),
            forms_url: app.assets.url("forms.js"),
            signed_in_as: user.map(|u| u.user.name.clone()),
            is_admin: user.is_some_and(|u| u.is_admin),
            csrf_token: user
                .and_then(CurrentUser::csrf_token)
                .unwrap_or_default()
                .to_owned(),
            dev_signin: app.config.dev_signin_allowed(),
            inbox: user.map_or(0, |u| u.inbox),
            unread: user.map_or(0, |u| u.unread),
            live_url: app.assets.url("live.js"),
            flash: flash::current(),
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
