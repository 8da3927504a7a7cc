//! Chart aggregates. The UTC day of a request is the dialect's `CREATED_DAY`, read as
//! `YYYY-MM-DD` text on both databases.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::stats::RequestSpan;
use crate::domain::{ProductId, RequestStatus, TeamName, UserId};
use crate::store::types::{TextList, Ts};
use crate::store::{StatsStore, StoreError, StoreResult};

for_both! {
    #[async_trait]
    impl StatsStore for Store {
        #[tracing::instrument(skip_all)]
        async fn products_per_domain(&self) -> StoreResult<Vec<(String, i64)>> {
            Ok(sqlx::query_as(
                "SELECT d.name, COUNT(p.id) FROM domains d
                 LEFT JOIN products p ON p.domain_id = d.id AND p.status <> 'draft'
                 GROUP BY d.id, d.name ORDER BY COUNT(p.id) DESC, d.name",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        #[tracing::instrument(skip_all)]
        async fn requests_per_day(&self, since: OffsetDateTime) -> StoreResult<Vec<(time::Date, i64)>> {
            let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
                "SELECT {CREATED_DAY} AS day, COUNT(*) FROM access_requests
                 WHERE created_at >= $1 GROUP BY day ORDER BY day"
            ))
            .bind(Ts(since))
            .fetch_all(&self.pool)
            .await?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            rows.into_iter()
                .map(|(day, n)| {
                    time::Date::parse(&day, &format)
                        .map(|d| (d, n))
                        .map_err(|e| StoreError::Corrupt(format!("day {day:?}: {e}")))
                })
                .collect()
        }

        #[tracing::instrument(skip_all)]
        async fn request_spans(
            &self,
            product: ProductId,
            since: OffsetDateTime,
        ) -> StoreResult<Vec<RequestSpan>> {
            let rows: Vec<(String, Ts, Ts, Ts)> = sqlx::query_as(
                "SELECT status, created_at, updated_at, requested_until FROM access_requests
                 WHERE product_id = $1 AND (created_at >= $2 OR updated_at >= $2
                       OR status IN ('granted', 'revoking'))",
            )
            .bind(product)
            .bind(Ts(since))
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(|(status, created, updated, until)| {
                    Ok(RequestSpan {
                        status: RequestStatus::parse(&status)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        created_at: created.0,
                        updated_at: updated.0,
                        requested_until: until.0,
                    })
                })
                .collect()
        }

        #[tracing::instrument(skip_all)]
        async fn count_inbox(&self, teams: &[TeamName], user: UserId) -> StoreResult<i64> {
            let teams = TextList(teams.iter().map(|t| t.to_string()).collect());
            Ok(sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM access_requests r JOIN products p ON p.id = r.product_id
                 WHERE r.status = 'submitted' AND r.requester_id <> $1
                   AND (p.owner_team_id IN (SELECT id FROM teams WHERE name {})
                        OR EXISTS (SELECT 1 FROM product_stewards s
                                   WHERE s.product_id = r.product_id AND s.user_id = $1))",
                any_of(2)
            ))
            .bind(user)
            .bind(teams)
            .fetch_one(&self.pool)
            .await?)
        }
    }
}
