//! The SQLite store: the embedded default. One file in WAL mode; write transactions
//! start with `BEGIN IMMEDIATE` so concurrent writers (serve and worker processes)
//! queue on the busy timeout instead of failing on a lock upgrade.

mod access;
mod extensions;
mod notifications;
mod products;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{StoreError, StoreResult, WriteCount, WriteTx, migrate_error};
use crate::config::redact_url;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(in crate::store) pool: SqlitePool,
    pub(in crate::store) writes: WriteCount,
}

impl SqliteStore {
    /// Open (creating if missing) the database file and apply pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let connect_error = |source| StoreError::Connect {
            url: redact_url(url),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(parent) = options
            .get_filename()
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| connect_error(sqlx::Error::Io(e)))?;
        }
        // A connection to a local file does not go stale the way a network one does, and
        // sqlx's check before each acquire is one more hop to the connection's thread: that
        // hop doubled the cost of every statement on a page.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| migrate_error(e, latest_migration()))?;
        Ok(Self {
            pool,
            writes: WriteCount::default(),
        })
    }

    pub(in crate::store) async fn begin(&self) -> StoreResult<WriteTx<Sqlite>> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx::new(tx, &self.writes))
    }
}

fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Timestamps are stored as RFC 3339 UTC with exactly six fractional digits, so text order
/// is time order.
fn ts(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| at.to_string())
}

fn parse_ts(text: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

fn parse_id<T: FromStr>(text: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("id {text:?}")))
}

fn parse_json(text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

pub(super) use crate::store::common::sqlite_peers::changes::{record_audit, record_change};

/// What SQLite says differently; the common bodies call these by name.
pub(in crate::store) mod dialect {
    /// A request's UTC day as `YYYY-MM-DD`. Timestamps are RFC 3339 UTC text, so the first ten characters are the UTC day.
    pub(in crate::store) const CREATED_DAY: &str = "substr(created_at, 1, 10)";

    /// Which grants a caller may list: `$1` all, else those of the teams `$2` (a
    /// `TextList`) or the steward `$3`; then the filters `$4` to `$9` and the limit `$10`.
    pub(in crate::store) const GRANT_VISIBLE: &str = "WHERE ($1 = 1
                OR ct.name IN (SELECT value FROM json_each($2))
                OR ot.name IN (SELECT value FROM json_each($2))
                OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3))
           AND ($4 IS NULL OR g.principal_arn = $4)
           AND ($5 IS NULL OR p.slug = $5)
           AND ($6 IS NULL OR ct.name = $6)
           AND ($7 = 1 OR g.state = 'applied')
           AND ($8 IS NULL OR g.id < $8)
           AND ($9 IS NULL OR g.id = $9)
         ORDER BY g.id DESC LIMIT $10";

    /// Which audit entries a caller may list: `$1` everything, else about requests and
    /// products visible to the teams `$2` (a `TextList`) or the user `$3`; then the
    /// filters `$4` to `$8` and the limit `$9`.
    pub(in crate::store) const AUDIT_VISIBLE: &str = "WHERE ($1 = 1
                OR (e.target_type = 'access_request' AND EXISTS (
                    SELECT 1 FROM access_requests r JOIN products p ON p.id = r.product_id
                    WHERE r.id = e.target_id AND (
                        r.requester_id = $3
                        OR r.consumer_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each($2)))
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each($2)))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3))))
                OR (e.target_type = 'product' AND EXISTS (
                    SELECT 1 FROM products p WHERE p.id = e.target_id AND (
                        p.status <> 'draft'
                        OR p.owner_team_id IN (SELECT id FROM teams WHERE name IN (SELECT value FROM json_each($2)))
                        OR EXISTS (SELECT 1 FROM product_stewards s WHERE s.product_id = p.id AND s.user_id = $3)))))
               AND ($4 IS NULL OR e.target_type = $4)
               AND ($5 IS NULL OR e.target_id = $5)
               AND ($6 IS NULL OR e.actor_id = $6)
               AND ($7 IS NULL OR e.at >= $7)
               AND ($8 IS NULL OR e.id > $8)
             ORDER BY e.id LIMIT $9";

    /// What `HealthStore::backend` answers.
    pub(in crate::store) const NAME: &str = "sqlite";

    pub(in crate::store) use super::notifications::insert_notification;
    pub(in crate::store) use super::webhooks::claim_delivery_rows;

    /// "is one of the list bound at `$n`" (a `TextList` or an `IdList`), after a column.
    pub(in crate::store) fn any_of(n: u8) -> String {
        format!("IN (SELECT value FROM json_each(${n}))")
    }

    /// Who is asking, as the first columns of a query over `users u`: the user, their
    /// teams (sorted, as a `TextList`) and the outbox's last sequence number (see `Caller`).
    pub(in crate::store) const CALLER_COLUMNS: &str =
        "u.id, u.subject, u.email, u.name, u.created_at,
        (SELECT json_group_array(tm.name ORDER BY tm.name)
         FROM memberships m JOIN teams tm ON tm.id = m.team_id WHERE m.user_id = u.id) AS teams,
        (SELECT COALESCE(MAX(seq), 0) FROM outbox_events) AS outbox_seq";

    /// How a job claim locks the row it picks. SQLite has one writer, so its claim `UPDATE` needs no row lock.
    pub(in crate::store) const CLAIM_LOCK: &str = "";

    use crate::store::{StoreResult, WriteTx};

    /// SQLite has one writer at a time (`BEGIN IMMEDIATE`): outbox order is commit order.
    pub(in crate::store) async fn lock_outbox(_tx: &mut WriteTx<sqlx::Sqlite>) -> StoreResult<()> {
        Ok(())
    }
}
