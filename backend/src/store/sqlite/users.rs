//! Users and team memberships on SQLite.

use async_trait::async_trait;

use super::{SqliteStore, parse_id, parse_ts, ts};
use crate::domain::*;
use crate::store::{StoreResult, UserStore, now};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    subject: String,
    email: Option<String>,
    name: String,
    created_at: String,
}

impl UserRow {
    fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: parse_id(&self.id)?,
            subject: self.subject,
            email: self.email,
            name: self.name,
            created_at: parse_ts(&self.created_at)?,
        })
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn sign_in_user(&self, claims: &UserClaims, teams: &[TeamName]) -> StoreResult<User> {
        let now = ts(now());
        let mut tx = self.begin().await?;
        let user: UserRow = sqlx::query_as(
            "INSERT INTO users (id, subject, email, name, created_at, last_seen_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (subject) DO UPDATE SET
                 email = excluded.email, name = excluded.name, last_seen_at = excluded.last_seen_at
             RETURNING id, subject, email, name, created_at",
        )
        .bind(UserId::new().to_string())
        .bind(&claims.subject)
        .bind(&claims.email)
        .bind(&claims.name)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM memberships WHERE user_id = ?")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        for team in teams {
            let team_id: String = sqlx::query_scalar(
                "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET name = excluded.name
                 RETURNING id",
            )
            .bind(TeamId::new().to_string())
            .bind(team.as_str())
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO memberships (user_id, team_id, refreshed_at) VALUES (?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&user.id)
            .bind(&team_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        user.into_user()
    }

    #[tracing::instrument(skip_all)]
    async fn user_teams(&self, user: UserId) -> StoreResult<Vec<Team>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.id, t.name FROM teams t JOIN memberships m ON m.team_id = t.id
             WHERE m.user_id = ? ORDER BY t.name",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(Team {
                    id: parse_id(&id)?,
                    name: TeamName::parse(&name)
                        .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}
