//! Login states, sessions and API tokens on SQLite.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{SqliteStore, parse_id, parse_ts, record_audit, ts};
use crate::domain::*;
use crate::store::{AuthStore, StoreError, StoreResult, now};

type UserColumns = (String, String, Option<String>, String, String);

fn user_from(row: UserColumns) -> StoreResult<User> {
    let (id, subject, email, name, created_at) = row;
    Ok(User {
        id: parse_id(&id)?,
        subject,
        email,
        name,
        created_at: parse_ts(&created_at)?,
    })
}

/// Who is asking, as the first columns of a query over `users u`: the user, their teams
/// (a JSON array, sorted) and the outbox's last sequence number (see `Caller`).
const CALLER_COLUMNS: &str = "u.id, u.subject, u.email, u.name, u.created_at,
    (SELECT json_group_array(tm.name ORDER BY tm.name)
     FROM memberships m JOIN teams tm ON tm.id = m.team_id WHERE m.user_id = u.id) AS teams,
    (SELECT COALESCE(MAX(seq), 0) FROM outbox_events) AS outbox_seq";

#[derive(sqlx::FromRow)]
struct CallerRow {
    id: String,
    subject: String,
    email: Option<String>,
    name: String,
    created_at: String,
    teams: String,
    outbox_seq: i64,
}

impl CallerRow {
    fn into_caller(self) -> StoreResult<Caller> {
        let names: Vec<String> =
            serde_json::from_str(&self.teams).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Caller {
            user: user_from((
                self.id,
                self.subject,
                self.email,
                self.name,
                self.created_at,
            ))?,
            teams: names
                .iter()
                .map(|n| TeamName::parse(n).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<StoreResult<_>>()?,
            outbox_seq: self.outbox_seq,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    caller: CallerRow,
    csrf_token: String,
    id_token_hint: Option<String>,
    last_seen_at: String,
    expires_at: String,
}

#[derive(sqlx::FromRow)]
struct TokenUseRow {
    #[sqlx(flatten)]
    caller: CallerRow,
    last_used_at: Option<String>,
    expires_at: Option<String>,
}

fn opt_ts(text: Option<String>) -> StoreResult<Option<OffsetDateTime>> {
    text.as_deref().map(parse_ts).transpose()
}

type TokenColumns = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn token_from(row: TokenColumns) -> StoreResult<ApiToken> {
    let (id, name, prefix, created_at, expires_at, last_used_at) = row;
    Ok(ApiToken {
        id: parse_id(&id)?,
        name,
        prefix,
        created_at: parse_ts(&created_at)?,
        expires_at: opt_ts(expires_at)?,
        last_used_at: opt_ts(last_used_at)?,
    })
}

#[async_trait]
impl AuthStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn user_by_id(&self, id: UserId) -> StoreResult<User> {
        let row: UserColumns =
            sqlx::query_as("SELECT id, subject, email, name, created_at FROM users WHERE id = ?")
                .bind(id.to_string())
                .fetch_one(&self.pool)
                .await?;
        user_from(row)
    }

    #[tracing::instrument(skip_all)]
    async fn create_login_state(&self, login: &LoginState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_states (state_hash, nonce, pkce_verifier, next_path, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&login.state_hash)
        .bind(&login.nonce)
        .bind(&login.pkce_verifier)
        .bind(&login.next_path)
        .bind(ts(now()))
        .bind(ts(login.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn take_login_state(&self, state_hash: &str) -> StoreResult<Option<LoginState>> {
        let row: Option<(String, String, String, String, String)> = sqlx::query_as(
            "DELETE FROM login_states WHERE state_hash = ?
             RETURNING state_hash, nonce, pkce_verifier, next_path, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((state_hash, nonce, pkce_verifier, next_path, expires_at)) = row else {
            return Ok(None);
        };
        let expires_at = parse_ts(&expires_at)?;
        Ok((expires_at > now()).then_some(LoginState {
            state_hash,
            nonce,
            pkce_verifier,
            next_path,
            expires_at,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        let now = ts(now());
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, id_token_hint, created_at,
                                   last_seen_at, idle_expires_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&session.id_hash)
        .bind(session.user_id.to_string())
        .bind(&session.csrf_token)
        .bind(&session.id_token_hint)
        .bind(&now)
        .bind(&now)
        .bind(ts(session.idle_expires_at))
        .bind(ts(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {CALLER_COLUMNS},
                    s.csrf_token, s.id_token_hint, s.last_seen_at, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = ?1 AND s.idle_expires_at > ?2 AND s.expires_at > ?2"
        ))
        .bind(id_hash)
        .bind(ts(now()))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                caller: row.caller.into_caller()?,
                csrf_token: row.csrf_token,
                id_token_hint: row.id_token_hint,
                last_seen_at: parse_ts(&row.last_seen_at)?,
                expires_at: parse_ts(&row.expires_at)?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn touch_session(
        &self,
        id_hash: &str,
        idle_expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id_hash = ?")
            .bind(ts(now()))
            .bind(ts(idle_expires_at))
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        self.writes.committed();
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn purge_expired_logins(&self) -> StoreResult<u64> {
        let now = ts(now());
        let sessions =
            sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= ? OR expires_at <= ?")
                .bind(&now)
                .bind(&now)
                .execute(&self.pool)
                .await?;
        let logins = sqlx::query("DELETE FROM login_states WHERE expires_at <= ?")
            .bind(&now)
            .execute(&self.pool)
            .await?;
        Ok(sessions.rows_affected() + logins.rows_affected())
    }

    #[tracing::instrument(skip_all)]
    async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<ApiToken> {
        let mut tx = self.begin().await?;
        let row: TokenColumns = sqlx::query_as(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             RETURNING id, name, prefix, created_at, expires_at, last_used_at",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(token.user_id.to_string())
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(&token.prefix)
        .bind(ts(now()))
        .bind(token.expires_at.map(ts))
        .fetch_one(&mut *tx)
        .await?;
        let created = token_from(row)?;
        let detail = serde_json::json!({ "name": created.name, "prefix": created.prefix });
        let target = ("api_token", &*created.id.to_string());
        record_audit(
            &mut tx,
            Actor::User(token.user_id),
            "token.created",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all)]
    async fn list_api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenColumns> = sqlx::query_as(
            "SELECT id, name, prefix, created_at, expires_at, last_used_at FROM api_tokens
             WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
             ORDER BY created_at DESC, id",
        )
        .bind(user.to_string())
        .bind(ts(now()))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(token_from).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_api_token(&self, user: UserId, id: uuid::Uuid) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(ts(now()))
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let target = ("api_token", &*id.to_string());
        record_audit(
            &mut tx,
            Actor::User(user),
            "token.revoked",
            target,
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_api_token(&self, token_hash: &str) -> StoreResult<Option<TokenCaller>> {
        let now = now();
        // The token's owner, their teams and the outbox position in one statement: this
        // runs on every API call.
        let row: Option<TokenUseRow> = sqlx::query_as(&format!(
            "SELECT {CALLER_COLUMNS}, t.last_used_at, t.expires_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > ?2)"
        ))
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // Record use at most once a minute: a busy client must not turn reads into writes.
        let stale = opt_ts(row.last_used_at)?.is_none_or(|at| now - at > time::Duration::MINUTE);
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = ?1 WHERE token_hash = ?2")
                .bind(ts(now))
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(TokenCaller {
            caller: row.caller.into_caller()?,
            expires_at: opt_ts(row.expires_at)?,
        }))
    }
}
