//! The PostgreSQL store: for deployments that outgrow one machine. Job claims use
//! `FOR UPDATE SKIP LOCKED` so many workers share the queue without blocking each other.

mod access;
mod audit;
mod extensions;
mod grants;
mod notifications;
mod products;
mod stats;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use super::{HealthStore, StoreError, StoreResult, WriteCount, WriteTx, migrate_error};
use crate::config::redact_url;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(in crate::store) pool: PgPool,
    pub(in crate::store) writes: WriteCount,
}

impl PgStore {
    /// Connect and apply pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(url),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| migrate_error(e, latest_migration()))?;
        Ok(Self {
            pool,
            writes: WriteCount::default(),
        })
    }

    pub(in crate::store) async fn begin(&self) -> StoreResult<WriteTx<Postgres>> {
        Ok(WriteTx::new(self.pool.begin().await?, &self.writes))
    }
}

fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

#[async_trait]
impl HealthStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

pub(super) use crate::store::common::postgres_peers::changes::{record_audit, record_change};

/// What PostgreSQL says differently; the common bodies call these by name.
pub(in crate::store) mod dialect {
    pub(in crate::store) use super::notifications::insert_notification;
    pub(in crate::store) use super::webhooks::claim_delivery_rows;

    /// "is one of the list bound at `$n`" (a `TextList` or an `IdList`), after a column.
    pub(in crate::store) fn any_of(n: u8) -> String {
        format!("= ANY(${n})")
    }

    /// Who is asking, as the first columns of a query over `users u`: the user, their
    /// teams (sorted, as a `TextList`) and the outbox's last sequence number (see `Caller`).
    pub(in crate::store) const CALLER_COLUMNS: &str =
        "u.id, u.subject, u.email, u.name, u.created_at,
        ARRAY(SELECT tm.name FROM memberships m JOIN teams tm ON tm.id = m.team_id
              WHERE m.user_id = u.id ORDER BY tm.name) AS teams,
        (SELECT COALESCE(MAX(seq), 0) FROM outbox_events) AS outbox_seq";

    /// How a job claim locks the row it picks. Workers claim concurrently, each skipping the rows another holds.
    pub(in crate::store) const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";

    use sqlx::Postgres;

    use crate::store::{StoreResult, WriteTx};

    /// The advisory lock that orders outbox writers (an arbitrary, fixed key).
    const OUTBOX_LOCK: i64 = 0x5748_4152_465f_4f42;

    /// Identity values are taken at insert but become visible at commit, so two writers
    /// can commit out of order and a reader following `seq` would skip the late one.
    /// Holding one lock from the insert to the commit makes seq order the commit order; it
    /// only serialises the tail of transactions that emit events.
    pub(in crate::store) async fn lock_outbox(tx: &mut WriteTx<Postgres>) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(OUTBOX_LOCK)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
