//! Users and team memberships on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PgStore;
use crate::domain::*;
use crate::store::{StoreError, StoreResult, UserStore, now};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    subject: String,
    email: Option<String>,
    name: String,
    created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            subject: row.subject,
            email: row.email,
            name: row.name,
            created_at: row.created_at,
        }
    }
}

#[async_trait]
impl UserStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn sign_in_user(&self, claims: &UserClaims, teams: &[TeamName]) -> StoreResult<User> {
        let now = now();
        let mut tx = self.begin().await?;
        let user: UserRow = sqlx::query_as(
            "INSERT INTO users (id, subject, email, name, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (subject) DO UPDATE SET
                 email = excluded.email, name = excluded.name, last_seen_at = excluded.last_seen_at
             RETURNING id, subject, email, name, created_at",
        )
        .bind(UserId::new().0)
        .bind(&claims.subject)
        .bind(&claims.email)
        .bind(&claims.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM memberships WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        for team in teams {
            let team_id: Uuid = sqlx::query_scalar(
                "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET name = excluded.name
                 RETURNING id",
            )
            .bind(TeamId::new().0)
            .bind(team.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO memberships (user_id, team_id, refreshed_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(user.id)
            .bind(team_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(user.into())
    }

    #[tracing::instrument(skip_all)]
    async fn user_teams(&self, user: UserId) -> StoreResult<Vec<Team>> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT t.id, t.name FROM teams t JOIN memberships m ON m.team_id = t.id
             WHERE m.user_id = $1 ORDER BY t.name",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name)| {
                Ok(Team {
                    id: TeamId(id),
                    name: TeamName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}
