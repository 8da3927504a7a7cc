//! Records of signing in: OIDC logins in flight, sessions and personal API tokens.
//! Secrets (session ids, API tokens, OIDC state) are only ever stored as SHA-256 hashes.

use serde::Serialize;
use time::OffsetDateTime;

use super::{TeamName, User, UserId};

/// An OIDC sign-in between the redirect to the IdP and the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go after signing in: always a path inside Wharf.
    pub next_path: String,
    pub expires_at: OffsetDateTime,
}

/// A new server-side session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub id_token_hint: Option<String>,
    pub idle_expires_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Who is asking: a signed-in user with their teams, read in one statement with how far
/// the outbox had got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: User,
    /// The user's teams as of their last sign-in, by name.
    pub teams: Vec<TeamName>,
    /// The outbox's last sequence number when this was read. A request learns it with its
    /// caller, in the same statement (or kept with the caller for a moment): pages that
    /// keep data in memory compare against it instead of asking the database again.
    pub outbox_seq: i64,
}

/// A live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf_token: String,
    pub id_token_hint: Option<String>,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A live API token's owner, and when the token expires (`None`: when revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCaller {
    pub caller: Caller,
    pub expires_at: Option<OffsetDateTime>,
}

/// A personal API token as its owner sees it (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: uuid::Uuid,
    pub name: String,
    /// The first characters of the token, so people can tell their tokens apart.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: UserId,
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub expires_at: Option<OffsetDateTime>,
}
