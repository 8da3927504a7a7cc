//! Login states, sessions and API tokens.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::*;
use crate::store::types::{TextList, Ts, Uid};
use crate::store::{AuthStore, StoreError, StoreResult, now};

for_both! {
    use peers::changes::record_audit;

    type UserColumns = (UserId, String, Option<String>, String, Ts);

    #[derive(sqlx::FromRow)]
    struct CallerRow {
        id: UserId,
        subject: String,
        email: Option<String>,
        name: String,
        created_at: Ts,
        teams: TextList,
        outbox_seq: i64,
    }

    impl CallerRow {
        fn into_caller(self) -> StoreResult<Caller> {
            Ok(Caller {
                user: user_from((
                    self.id,
                    self.subject,
                    self.email,
                    self.name,
                    self.created_at,
                )),
                teams: self
                    .teams
                    .0
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
        last_seen_at: Ts,
        expires_at: Ts,
    }

    #[derive(sqlx::FromRow)]
    struct TokenUseRow {
        #[sqlx(flatten)]
        caller: CallerRow,
        last_used_at: Option<Ts>,
        expires_at: Option<Ts>,
    }

    fn user_from((id, subject, email, name, created_at): UserColumns) -> User {
        User {
            id,
            subject,
            email,
            name,
            created_at: created_at.0,
        }
    }

    type TokenColumns = (
        Uid,
        String,
        String,
        Ts,
        Option<Ts>,
        Option<Ts>,
    );

    fn token_from((id, name, prefix, created_at, expires_at, last_used_at): TokenColumns) -> ApiToken {
        ApiToken {
            id: id.0,
            name,
            prefix,
            created_at: created_at.0,
            expires_at: expires_at.map(|t| t.0),
            last_used_at: last_used_at.map(|t| t.0),
        }
    }

    #[async_trait]
    impl AuthStore for Store {
        #[tracing::instrument(skip_all)]
        async fn user_by_id(&self, id: UserId) -> StoreResult<User> {
            let row: UserColumns =
                sqlx::query_as("SELECT id, subject, email, name, created_at FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(user_from(row))
        }

        #[tracing::instrument(skip_all)]
        async fn create_login_state(&self, login: &LoginState) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO login_states (state_hash, nonce, pkce_verifier, next_path, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&login.state_hash)
            .bind(&login.nonce)
            .bind(&login.pkce_verifier)
            .bind(&login.next_path)
            .bind(Ts(now()))
            .bind(Ts(login.expires_at))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn take_login_state(&self, state_hash: &str) -> StoreResult<Option<LoginState>> {
            let row: Option<(String, String, String, String, Ts)> = sqlx::query_as(
                "DELETE FROM login_states WHERE state_hash = $1
                 RETURNING state_hash, nonce, pkce_verifier, next_path, expires_at",
            )
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.and_then(
                |(state_hash, nonce, pkce_verifier, next_path, expires_at)| {
                    (expires_at.0 > now()).then_some(LoginState {
                        state_hash,
                        nonce,
                        pkce_verifier,
                        next_path,
                        expires_at: expires_at.0,
                    })
                },
            ))
        }

        #[tracing::instrument(skip_all)]
        async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, id_token_hint, created_at,
                                       last_seen_at, idle_expires_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
            )
            .bind(&session.id_hash)
            .bind(session.user_id)
            .bind(&session.csrf_token)
            .bind(&session.id_token_hint)
            .bind(Ts(now()))
            .bind(Ts(session.idle_expires_at))
            .bind(Ts(session.expires_at))
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
                 WHERE s.id_hash = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2"
            ))
            .bind(id_hash)
            .bind(Ts(now()))
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| {
                Ok(Session {
                    caller: row.caller.into_caller()?,
                    csrf_token: row.csrf_token,
                    id_token_hint: row.id_token_hint,
                    last_seen_at: row.last_seen_at.0,
                    expires_at: row.expires_at.0,
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
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id_hash = $3",
            )
            .bind(Ts(now()))
            .bind(Ts(idle_expires_at))
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&self.pool)
                .await?;
            self.writes.committed();
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn purge_expired_logins(&self) -> StoreResult<u64> {
            let now = now();
            let sessions =
                sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR expires_at <= $1")
                    .bind(Ts(now))
                    .execute(&self.pool)
                    .await?;
            let logins = sqlx::query("DELETE FROM login_states WHERE expires_at <= $1")
                .bind(Ts(now))
                .execute(&self.pool)
                .await?;
            Ok(sessions.rows_affected() + logins.rows_affected())
        }

        #[tracing::instrument(skip_all)]
        async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<ApiToken> {
            let mut tx = self.begin().await?;
            let row: TokenColumns = sqlx::query_as(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING id, name, prefix, created_at, expires_at, last_used_at",
            )
            .bind(Uid::new())
            .bind(token.user_id)
            .bind(&token.name)
            .bind(&token.token_hash)
            .bind(&token.prefix)
            .bind(Ts(now()))
            .bind(token.expires_at.map(Ts))
            .fetch_one(&mut *tx)
            .await?;
            let created = token_from(row);
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
                 WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                 ORDER BY created_at DESC, id",
            )
            .bind(user)
            .bind(Ts(now()))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.into_iter().map(token_from).collect())
        }

        #[tracing::instrument(skip_all)]
        async fn revoke_api_token(&self, user: UserId, id: Uuid) -> StoreResult<bool> {
            let mut tx = self.begin().await?;
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            )
            .bind(Ts(now()))
            .bind(Uid(id))
            .bind(user)
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
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2)"
            ))
            .bind(token_hash)
            .bind(Ts(now))
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            // Record use at most once a minute: a busy client must not turn reads into writes.
            if row
                .last_used_at
                .is_none_or(|at| now - at.0 > time::Duration::MINUTE)
            {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                    .bind(Ts(now))
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(Some(TokenCaller {
                caller: row.caller.into_caller()?,
                expires_at: row.expires_at.map(|t| t.0),
            }))
        }
    }
}
