//! Environments and consumer principals.

use async_trait::async_trait;
use serde_json::json;

use super::catalog::{ENVIRONMENT_COLUMNS, EnvironmentRow};
use crate::domain::*;
use crate::store::types::Ts;
use crate::store::{EnvironmentStore, StoreError, StoreResult, now};

type PrincipalRow = (PrincipalId, EnvironmentId, String, String, String, Ts);

fn principal_from(
    (id, environment_id, team, arn, label, created_at): PrincipalRow,
) -> StoreResult<ConsumerPrincipal> {
    let corrupt = |e: Invalid| StoreError::Corrupt(e.to_string());
    Ok(ConsumerPrincipal {
        id,
        environment_id,
        team: TeamName::parse(&team).map_err(corrupt)?,
        arn: PrincipalArn::parse(&arn).map_err(corrupt)?,
        label,
        created_at: created_at.0,
    })
}

const PRINCIPAL_SELECT: &str = "SELECT p.id, p.environment_id, t.name, p.arn, p.label, p.created_at
     FROM consumer_principals p JOIN teams t ON t.id = p.team_id";

for_both! {
    use peers::changes::record_change;

    /// The id of a team, created if nobody from it has signed in yet.
    pub(in crate::store) async fn team_id(conn: &mut Conn, team: &TeamName) -> StoreResult<TeamId> {
        Ok(sqlx::query_scalar(
            "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(TeamId::new())
        .bind(team.as_str())
        .bind(Ts(now()))
        .fetch_one(conn)
        .await?)
    }

    #[async_trait]
    impl EnvironmentStore for Store {
        #[tracing::instrument(skip_all)]
        async fn create_environment(
            &self,
            actor: Actor,
            env: &NewEnvironment,
        ) -> StoreResult<Environment> {
            let mut tx = self.begin().await?;
            let owner = match &env.owner_team {
                Some(team) => Some(team_id(&mut tx, team).await?),
                None => None,
            };
            let id = EnvironmentId::new();
            sqlx::query(
                "INSERT INTO environments (id, slug, name, kind, owner_team_id, aws_account_id, aws_region,
                                           aws_role_arn, endpoint_url, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
            )
            .bind(id)
            .bind(env.slug.as_str())
            .bind(&env.name)
            .bind(env.kind.as_str())
            .bind(owner)
            .bind(env.aws_account_id.as_ref().map(AwsAccountId::as_str))
            .bind(&env.aws_region)
            .bind(&env.aws_role_arn)
            .bind(&env.endpoint_url)
            .bind(Ts(now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("an environment {:?} already exists", env.slug.as_str())),
                other => other,
            })?;
            let row: EnvironmentRow = sqlx::query_as(&format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let created = row.into_environment()?;
            let data = json!({ "id": created.id, "slug": created.slug, "kind": created.kind });
            let event = NewEvent {
                event_type: EventType::EnvironmentCreated,
                subject: format!("environments/{}", created.slug),
                data: data.clone(),
            };
            record_change(
                &mut tx,
                actor,
                "environment.created",
                ("environment", &created.id.to_string()),
                &data,
                event,
            )
            .await?;
            tx.commit().await?;
            Ok(created)
        }

        #[tracing::instrument(skip_all)]
        async fn environment_by_slug(&self, slug: &Slug) -> StoreResult<Environment> {
            let row: EnvironmentRow = sqlx::query_as(&format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE slug = $1"
            ))
            .bind(slug.as_str())
            .fetch_one(&self.pool)
            .await?;
            row.into_environment()
        }

        #[tracing::instrument(skip_all)]
        async fn environment_by_id(&self, id: EnvironmentId) -> StoreResult<Environment> {
            let row: EnvironmentRow = sqlx::query_as(&format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
            row.into_environment()
        }

        #[tracing::instrument(skip_all)]
        async fn register_principal(
            &self,
            actor: Actor,
            environment: EnvironmentId,
            team: &TeamName,
            arn: &PrincipalArn,
            label: &str,
        ) -> StoreResult<ConsumerPrincipal> {
            let mut tx = self.begin().await?;
            let team_id = team_id(&mut tx, team).await?;
            let id = PrincipalId::new();
            sqlx::query(
                "INSERT INTO consumer_principals (id, environment_id, team_id, arn, label, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(environment)
            .bind(team_id)
            .bind(arn.as_str())
            .bind(label)
            .bind(actor.user_id())
            .bind(Ts(now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("{arn} is already registered in this environment")),
                other => other,
            })?;
            let row: PrincipalRow = sqlx::query_as(&format!("{PRINCIPAL_SELECT} WHERE p.id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let principal = principal_from(row)?;
            let data = json!({ "id": id, "environment_id": environment, "team": team, "arn": arn });
            let event = NewEvent {
                event_type: EventType::PrincipalRegistered,
                subject: format!("teams/{team}"),
                data: data.clone(),
            };
            record_change(
                &mut tx,
                actor,
                "principal.registered",
                ("principal", &id.to_string()),
                &data,
                event,
            )
            .await?;
            tx.commit().await?;
            Ok(principal)
        }

        #[tracing::instrument(skip_all)]
        async fn principal(&self, id: PrincipalId) -> StoreResult<ConsumerPrincipal> {
            let row: PrincipalRow = sqlx::query_as(&format!("{PRINCIPAL_SELECT} WHERE p.id = $1"))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
            principal_from(row)
        }

        #[tracing::instrument(skip_all)]
        async fn list_principals(
            &self,
            environment: EnvironmentId,
            teams: Option<&[TeamName]>,
        ) -> StoreResult<Vec<ConsumerPrincipal>> {
            let rows: Vec<PrincipalRow> = sqlx::query_as(&format!(
                "{PRINCIPAL_SELECT} WHERE p.environment_id = $1 ORDER BY t.name, p.arn"
            ))
            .bind(environment)
            .fetch_all(&self.pool)
            .await?;
            let principals = rows
                .into_iter()
                .map(principal_from)
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(match teams {
                Some(teams) => principals
                    .into_iter()
                    .filter(|p| teams.contains(&p.team))
                    .collect(),
                None => principals,
            })
        }

        #[tracing::instrument(skip_all)]
        async fn remove_principal(&self, actor: Actor, id: PrincipalId) -> StoreResult<()> {
            let mut tx = self.begin().await?;
            let row: PrincipalRow = sqlx::query_as(&format!("{PRINCIPAL_SELECT} WHERE p.id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let principal = principal_from(row)?;
            sqlx::query("DELETE FROM consumer_principals WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict(
                        "this principal has access requests; revoke them first".into(),
                    ),
                    other => other.into(),
                })?;
            let data = json!({ "id": id, "team": principal.team, "arn": principal.arn });
            let event = NewEvent {
                event_type: EventType::PrincipalRemoved,
                subject: format!("teams/{}", principal.team),
                data: data.clone(),
            };
            record_change(
                &mut tx,
                actor,
                "principal.removed",
                ("principal", &id.to_string()),
                &data,
                event,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}
