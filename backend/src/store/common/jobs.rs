//! The job queue. A claim is one conditional `UPDATE … RETURNING`: SQLite runs it
//! atomically (one writer), and on PostgreSQL `FOR UPDATE SKIP LOCKED` (the dialect's
//! `CLAIM_LOCK`) lets many workers claim concurrently, each getting a different job.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::JobId;
use crate::store::types::Ts;
use crate::store::{ClaimedJob, JobStore, NewJob, StoreResult, now};

for_both! {
    /// Insert a job, inside whatever transaction the caller holds (work is enqueued in the
    /// same transaction as the change that asks for it).
    pub(in crate::store) async fn insert_job(conn: &mut Conn, job: &NewJob) -> StoreResult<JobId> {
        let id = JobId::new();
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, max_attempts, run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(&job.kind)
        .bind(&job.payload)
        .bind(job.max_attempts)
        .bind(Ts(job.run_at))
        .bind(Ts(now()))
        .execute(conn)
        .await?;
        Ok(id)
    }

    #[async_trait]
    impl JobStore for Store {
        #[tracing::instrument(skip_all)]
        async fn enqueue_job(&self, job: &NewJob) -> StoreResult<JobId> {
            let mut conn = self.pool.acquire().await?;
            insert_job(&mut conn, job).await
        }

        #[tracing::instrument(skip_all)]
        async fn enqueue_job_once(&self, job: &NewJob) -> StoreResult<Option<JobId>> {
            let id = JobId::new();
            let now = now();
            let inserted = sqlx::query(
                "INSERT INTO jobs (id, kind, payload, max_attempts, run_at, created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, $6
                 WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = $2 AND status IN ('queued', 'running'))",
            )
            .bind(id)
            .bind(&job.kind)
            .bind(&job.payload)
            .bind(job.max_attempts)
            .bind(Ts(job.run_at))
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
            Ok((inserted.rows_affected() == 1).then_some(id))
        }

        #[tracing::instrument(skip_all)]
        async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>> {
            let now = now();
            let row: Option<(JobId, String, serde_json::Value, i32, i32)> = sqlx::query_as(&format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1,
                        locked_by = $1, locked_until = $2, updated_at = $3
                 WHERE id = (
                     SELECT id FROM jobs
                     WHERE (status = 'queued' AND run_at <= $3)
                        OR (status = 'running' AND locked_until < $3)
                     ORDER BY run_at, id LIMIT 1
                     {CLAIM_LOCK})
                 RETURNING id, kind, payload, attempts, max_attempts"
            ))
            .bind(worker)
            .bind(Ts(now + lease))
            .bind(Ts(now))
            .fetch_optional(&self.pool)
            .await?;
            Ok(
                row.map(|(id, kind, payload, attempts, max_attempts)| ClaimedJob {
                    id,
                    kind,
                    payload,
                    attempts,
                    max_attempts,
                }),
            )
        }

        #[tracing::instrument(skip_all)]
        async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()> {
            sqlx::query(
                "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL,
                        last_error = NULL, updated_at = $1
                 WHERE id = $2 AND locked_by = $3",
            )
            .bind(Ts(now()))
            .bind(id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn fail_job(
            &self,
            id: JobId,
            worker: &str,
            error: &str,
            retry_at: Option<OffsetDateTime>,
        ) -> StoreResult<()> {
            let now = now();
            sqlx::query(
                "UPDATE jobs SET status = $1, run_at = $2, locked_by = NULL, locked_until = NULL,
                        last_error = $3, updated_at = $4
                 WHERE id = $5 AND locked_by = $6",
            )
            .bind(if retry_at.is_some() {
                "queued"
            } else {
                "failed"
            })
            .bind(Ts(retry_at.unwrap_or(now)))
            .bind(error)
            .bind(Ts(now))
            .bind(id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        #[tracing::instrument(skip_all)]
        async fn job_queue_depth(&self) -> StoreResult<i64> {
            Ok(
                sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                    .fetch_one(&self.pool)
                    .await?,
            )
        }
    }
}
