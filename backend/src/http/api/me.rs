//! `GET /api/v1/me`: who the caller is, as Wharf sees them.

use axum::Json;
use serde::Serialize;

use crate::domain::{TeamName, User};
use crate::http::auth::{AuthMethod, CurrentUser};

/// The caller: who they are, their teams (IdP groups) and how they signed in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    #[serde(flatten)]
    user: User,
    teams: Vec<TeamName>,
    /// Member of the admin group.
    is_admin: bool,
    /// `session`, `api_token` or `access_token`.
    #[schema(value_type = String, example = "api_token")]
    authenticated_by: &'static str,
}

/// Who am I
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses((status = 200, description = "The caller", body = Me)),
)]
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
