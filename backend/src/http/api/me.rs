//! `GET /api/v1/me`: who the caller is, as Wharf sees them.

use axum::Json;
use serde::Serialize;

use crate::domain::{TeamName, User};
use crate::http::auth::{AuthMethod, CurrentUser};

#[derive(Serialize)]
pub struct Me {
    #[serde(flatten)]
    user: User,
    teams: Vec<TeamName>,
    is_admin: bool,
    /// `session`, `api_token` or `access_token`.
    authenticated_by: &'static str,
}

pub async fn get_me(user: CurrentUser) -> Json<Me> {
    Json(Me {
        authenticated_by: match user.method {
            AuthMethod::Session { .. } => "session",
            AuthMethod::ApiToken => "api_token",
            AuthMethod::AccessToken => "access_token",
        },
        user: user.user,
        teams: user.teams,
        is_admin: user.is_admin,
    })
}
