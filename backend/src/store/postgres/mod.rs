//! The PostgreSQL store: for deployments that outgrow one machine. Job claims use
//! `FOR UPDATE SKIP LOCKED` so many workers share the queue without blocking each other.

mod access;
mod extensions;
mod notifications;
mod products;
mod webhooks;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use super::{StoreError, StoreResult, WriteCount, WriteTx, migrate_error};
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

pub(super) use crate::store::common::postgres_peers::changes::{record_audit, record_change};

/// What PostgreSQL says differently; the common bodies call these by name.
pub(in crate::store) mod dialect {
    /// A request's UTC day as `YYYY-MM-DD`. The UTC day of `created_at`, as text.
    pub(in crate::store) const CREATED_DAY: &str =
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

    /// Which grants a caller may list: `$1` all, else those of the teams `$2` (a
    /// `TextList`) or the steward `$3`; then the filters `$4` to `$9` and the limit `$10`.
    pub(in crate::store) const GRANT_VISIBLE: &str = "WHERE ($1
                OR ct.name = ANY($2)
                OR ot.name = ANY($2)
                OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3))
           AND ($4::TEXT IS NULL OR g.principal_arn = $4)
           AND ($5::TEXT IS NULL OR p.slug = $5)
           AND ($6::TEXT IS NULL OR ct.name = $6)
           AND ($7 OR g.state = 'applied')
           AND ($8::UUID IS NULL OR g.id < $8)
           AND ($9::UUID IS NULL OR g.id = $9)
         ORDER BY g.id DESC LIMIT $10";

    /// Which audit entries a caller may list: `$1` everything, else about requests and
    /// products visible to the teams `$2` (a `TextList`) or the user `$3`; then the
    /// filters `$4` to `$8` and the limit `$9`.
    pub(in crate::store) const AUDIT_VISIBLE: &str = "WHERE ($1
                OR (e.target_type = 'access_request' AND EXISTS (
                    SELECT 1 FROM access_requests r JOIN products p ON p.id = r.product_id
                    WHERE r.id::TEXT = e.target_id AND (
                        r.requester_id = $3
                        OR r.consumer_team_id IN (SELECT id FROM teams WHERE name = ANY($2))
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name = ANY($2))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3))))
                OR (e.target_type = 'product' AND EXISTS (
                    SELECT 1 FROM products p WHERE p.id::TEXT = e.target_id AND (
                        p.status <> 'draft'
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name = ANY($2))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3)))))
               AND ($4::TEXT IS NULL OR e.target_type = $4)
               AND ($5::TEXT IS NULL OR e.target_id = $5)
               AND ($6::UUID IS NULL OR e.actor_id = $6)
               AND ($7::TIMESTAMPTZ IS NULL OR e.at >= $7)
               AND ($8::UUID IS NULL OR e.id > $8)
             ORDER BY e.id LIMIT $9";

    /// What `HealthStore::backend` answers.
    pub(in crate::store) const NAME: &str = "postgres";

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
