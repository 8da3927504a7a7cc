//! Users and team memberships.

use async_trait::async_trait;

use crate::domain::*;
use crate::store::types::Ts;
use crate::store::{StoreError, StoreResult, UserStore, now};

for_both! {
    #[derive(sqlx::FromRow)]
    struct UserRow {
        id: UserId,
        subject: String,
        email: Option<String>,
        name: String,
        created_at: Ts,
    }

    impl From<UserRow> for User {
        fn from(row: UserRow) -> Self {
            User {
                id: row.id,
                subject: row.subject,
                email: row.email,
                name: row.name,
                created_at: row.created_at.0,
            }
        }
    }

    #[async_trait]
    impl UserStore for Store {
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
            .bind(UserId::new())
            .bind(&claims.subject)
            .bind(&claims.email)
            .bind(&claims.name)
            .bind(Ts(now))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM memberships WHERE user_id = $1")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            for team in teams {
                let team_id: TeamId = sqlx::query_scalar(
                    "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET name = excluded.name
                     RETURNING id",
                )
                .bind(TeamId::new())
                .bind(team.as_str())
                .bind(Ts(now))
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO memberships (user_id, team_id, refreshed_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(user.id)
                .bind(team_id)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(user.into())
        }

        #[tracing::instrument(skip_all)]
        async fn user_teams(&self, user: UserId) -> StoreResult<Vec<Team>> {
            let rows: Vec<(TeamId, String)> = sqlx::query_as(
                "SELECT t.id, t.name FROM teams t JOIN memberships m ON m.team_id = t.id
                 WHERE m.user_id = $1 ORDER BY t.name",
            )
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(|(id, name)| {
                    Ok(Team {
                        id,
                        name: TeamName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    })
                })
                .collect()
        }
    }
}
