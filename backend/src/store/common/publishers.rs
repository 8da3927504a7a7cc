//! The teams that may publish from an environment.

use async_trait::async_trait;
use serde_json::json;
use sqlx::types::Json;

use crate::domain::*;
use crate::store::types::Ts;
use crate::store::{PublisherStore, StoreError, StoreResult, now};

for_both! {
    use peers::changes::record_change;
    use peers::environments::team_id;

    type PublisherRow = (String, Json<Vec<String>>, Ts);

    fn publisher_from((team, databases, created_at): PublisherRow) -> StoreResult<Publisher> {
        Ok(Publisher {
            team: TeamName::parse(&team).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            databases: databases.0,
            created_at: created_at.0,
        })
    }

    const PUBLISHER_SELECT: &str = "SELECT t.name, p.databases, p.created_at
         FROM environment_publishers p JOIN teams t ON t.id = p.team_id";

    fn publisher_event(environment: &Environment, team: &TeamName, event_type: EventType) -> NewEvent {
        NewEvent {
            event_type,
            subject: format!("environments/{}", environment.slug),
            data: json!({ "environment": environment.slug, "team": team }),
        }
    }

    #[async_trait]
    impl PublisherStore for Store {
        #[tracing::instrument(skip_all)]
        async fn list_publishers(&self, environment: EnvironmentId) -> StoreResult<Vec<Publisher>> {
            let rows: Vec<PublisherRow> = sqlx::query_as(&format!(
                "{PUBLISHER_SELECT} WHERE p.environment_id = $1 ORDER BY t.name"
            ))
            .bind(environment)
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter().map(publisher_from).collect()
        }

        #[tracing::instrument(skip_all)]
        async fn set_publisher(
            &self,
            actor: Actor,
            environment: &Environment,
            team: &TeamName,
            databases: &[String],
        ) -> StoreResult<Publisher> {
            let mut tx = self.begin().await?;
            let team_id = team_id(&mut tx, team).await?;
            sqlx::query(
                "INSERT INTO environment_publishers (environment_id, team_id, databases, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (environment_id, team_id) DO UPDATE SET databases = excluded.databases",
            )
            .bind(environment.id)
            .bind(team_id)
            .bind(Json(databases))
            .bind(actor.user_id())
            .bind(Ts(now()))
            .execute(&mut *tx)
            .await?;
            let row: PublisherRow = sqlx::query_as(&format!(
                "{PUBLISHER_SELECT} WHERE p.environment_id = $1 AND p.team_id = $2"
            ))
            .bind(environment.id)
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
            let event = publisher_event(environment, team, EventType::EnvironmentPublisherSet);
            let detail = json!({ "team": team, "databases": databases });
            record_change(
                &mut tx,
                actor,
                "environment.publisher_set",
                ("environment", &environment.id.to_string()),
                &detail,
                event,
            )
            .await?;
            tx.commit().await?;
            publisher_from(row)
        }

        #[tracing::instrument(skip_all)]
        async fn remove_publisher(
            &self,
            actor: Actor,
            environment: &Environment,
            team: &TeamName,
        ) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            let removed = sqlx::query(
                "DELETE FROM environment_publishers
                 WHERE environment_id = $1 AND team_id = (SELECT id FROM teams WHERE name = $2)",
            )
            .bind(environment.id)
            .bind(team.as_str())
            .execute(&mut *tx)
            .await?;
            if removed.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let event = publisher_event(environment, team, EventType::EnvironmentPublisherRemoved);
            record_change(
                &mut tx,
                actor,
                "environment.publisher_removed",
                ("environment", &environment.id.to_string()),
                &json!({ "team": team }),
                event,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
