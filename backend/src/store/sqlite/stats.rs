//! Chart aggregates on SQLite. Timestamps are RFC 3339 UTC text, so the first ten
//! characters are the UTC day.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{SqliteStore, parse_ts, ts};
use crate::domain::stats::RequestSpan;
use crate::domain::{ProductId, RequestStatus, TeamName, UserId};
use crate::store::{StatsStore, StoreError, StoreResult};

#[async_trait]
impl StatsStore for SqliteStore {
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
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) FROM access_requests
             WHERE created_at >= ?1 GROUP BY day ORDER BY day",
        )
        .bind(ts(since))
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
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT status, created_at, updated_at, requested_until FROM access_requests
             WHERE product_id = ?1 AND (created_at >= ?2 OR updated_at >= ?2
                   OR status IN ('granted', 'revoking'))",
        )
        .bind(product.to_string())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(status, created, updated, until)| {
                Ok(RequestSpan {
                    status: RequestStatus::parse(&status)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    created_at: parse_ts(&created)?,
                    updated_at: parse_ts(&updated)?,
                    requested_until: parse_ts(&until)?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn count_inbox(&self, teams: &[TeamName], user: UserId) -> StoreResult<i64> {
        let teams: Vec<&str> = teams.iter().map(|t| t.as_str()).collect();
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_requests r JOIN products p ON p.id = r.product_id
             WHERE r.status = 'submitted' AND r.requester_id <> ?1
               AND (p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each(?2)))
                    OR EXISTS (SELECT 1 FROM product_stewards s
                               WHERE s.product_id = r.product_id AND s.user_id = ?1))",
        )
        .bind(user.to_string())
        .bind(serde_json::json!(teams).to_string())
        .fetch_one(&self.pool)
        .await?)
    }
}
