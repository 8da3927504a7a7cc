//! Persistence: the only code that writes SQL.
//!
//! One `Store` trait, split by aggregate, with a SQLite and a PostgreSQL implementation
//! picked once from the database URL. Each write that changes the domain records its
//! audit entry and its outbox event in the same transaction.

mod access;
mod common;
mod delivery;
mod notifications;
mod postgres;
mod sqlite;
pub(crate) mod types;
mod webhooks;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::config::DatabaseUrl;
use crate::domain::*;

pub use access::*;
pub use delivery::*;
pub use notifications::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use webhooks::*;
pub(crate) use writes::{WriteCount, WriteTx};

/// What can go wrong in the store, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (slug taken, name taken): the caller sent a clash.
    #[error("{0}")]
    Conflict(String),
    /// The request named something that does not fit (an unknown domain, a steward who never signed in).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// An update was based on an older version than the stored one.
    #[error("the resource changed since it was read")]
    StaleVersion,
    #[error("not found")]
    NotFound,
    /// The database was migrated by a newer Wharf than this one.
    #[error(
        "the database was migrated by a newer Wharf (schema version {found} is unknown to \
         this build, which knows up to {known}); upgrade Wharf or use another database"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row held a value this build cannot read (hand-edited data, a bug).
    #[error("unreadable row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict("that name or slug is already taken".into())
            }
            _ => Self::Database(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Connectivity and schema.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// One round trip to the database; `/readyz` answers with it.
    async fn ping(&self) -> StoreResult<()>;
    /// The newest applied migration version.
    async fn schema_version(&self) -> StoreResult<i64>;
    /// Close the pool, letting in-flight statements finish.
    async fn close(&self);
}

/// Users and their teams (IdP groups).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Create or update the user from the IdP's claims and replace their memberships with
    /// exactly `teams`, in one transaction: membership is never kept stale.
    async fn sign_in_user(&self, claims: &UserClaims, teams: &[TeamName]) -> StoreResult<User>;
    async fn user_teams(&self, user: UserId) -> StoreResult<Vec<Team>>;
}

/// Sign-in: OIDC logins in flight, sessions, personal API tokens.
#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn user_by_id(&self, id: UserId) -> StoreResult<User>;
    async fn create_login_state(&self, login: &LoginState) -> StoreResult<()>;
    /// Remove and return an unexpired login state: each one can be used once.
    async fn take_login_state(&self, state_hash: &str) -> StoreResult<Option<LoginState>>;
    async fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The session with this id hash, if neither its idle nor its absolute expiry passed,
    /// with its user's teams (one statement: this runs on every page a browser loads).
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn touch_session(
        &self,
        id_hash: &str,
        idle_expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Forget expired sessions and login states; returns how many rows went.
    async fn purge_expired_logins(&self) -> StoreResult<u64>;
    async fn create_api_token(&self, token: &NewApiToken) -> StoreResult<ApiToken>;
    async fn list_api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    /// Revoke one of the user's tokens; `false` if they have no such live token.
    async fn revoke_api_token(&self, user: UserId, id: uuid::Uuid) -> StoreResult<bool>;
    /// The owner of a live (unrevoked, unexpired) token with their teams and the token's
    /// expiry, recording its use.
    async fn user_by_api_token(&self, token_hash: &str) -> StoreResult<Option<TokenCaller>>;
}

/// Domains, environments and (later) products and assets.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    async fn create_domain(&self, actor: Actor, domain: &NewDomain) -> StoreResult<BusinessDomain>;
    async fn list_domains(&self) -> StoreResult<Vec<BusinessDomain>>;
    async fn domain_by_slug(&self, slug: &Slug) -> StoreResult<BusinessDomain>;
    /// The built-in sandbox environment, created on first use.
    async fn ensure_sandbox_environment(&self) -> StoreResult<Environment>;
    async fn list_environments(&self) -> StoreResult<Vec<Environment>>;
    async fn catalog_counts(&self) -> StoreResult<CatalogCounts>;
}

/// Environments and the consumer principals registered in them.
#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    async fn create_environment(
        &self,
        actor: Actor,
        environment: &NewEnvironment,
    ) -> StoreResult<Environment>;
    async fn environment_by_slug(&self, slug: &Slug) -> StoreResult<Environment>;
    async fn environment_by_id(&self, id: EnvironmentId) -> StoreResult<Environment>;
    /// Register `arn` to `team` in `environment` (the team row is created if new).
    async fn register_principal(
        &self,
        actor: Actor,
        environment: EnvironmentId,
        team: &TeamName,
        arn: &PrincipalArn,
        label: &str,
    ) -> StoreResult<ConsumerPrincipal>;
    async fn principal(&self, id: PrincipalId) -> StoreResult<ConsumerPrincipal>;
    /// Principals of an environment, optionally of some teams only.
    async fn list_principals(
        &self,
        environment: EnvironmentId,
        teams: Option<&[TeamName]>,
    ) -> StoreResult<Vec<ConsumerPrincipal>>;
    async fn remove_principal(&self, actor: Actor, id: PrincipalId) -> StoreResult<()>;
}

/// Which teams may publish from an environment.
#[async_trait]
pub trait PublisherStore: Send + Sync {
    /// The environment's publishers, by team name.
    async fn list_publishers(&self, environment: EnvironmentId) -> StoreResult<Vec<Publisher>>;
    /// Let `team` publish from `environment`: tables of `databases` only, or of every
    /// database when it is empty. Replaces what the team was allowed before.
    async fn set_publisher(
        &self,
        actor: Actor,
        environment: &Environment,
        team: &TeamName,
        databases: &[String],
    ) -> StoreResult<Publisher>;
    /// `NotFound` when `team` was not a publisher of `environment`.
    async fn remove_publisher(
        &self,
        actor: Actor,
        environment: &Environment,
        team: &TeamName,
    ) -> StoreResult<()>;
}

/// How a re-sync found one table.
#[derive(Debug, Clone)]
pub enum ResyncOutcome {
    /// The table still exists; these are its current definition and what changed.
    Present {
        definition: TableDefinition,
        /// Columns added, removed or retyped (recorded in the schema history).
        changes: Vec<SchemaChange>,
        /// The definition differs from the stored one in any way (descriptions, location,
        /// parameters, column order or flags too): the product's page and events must
        /// learn of it even when the schema did not change.
        refreshed: bool,
    },
    /// The table is gone from its catalog.
    Removed,
}

/// Data products, their tables and schema history.
#[async_trait]
pub trait ProductStore: Send + Sync {
    /// Create a draft product. Unknown domain, environment or steward: `Invalid`.
    async fn create_product(
        &self,
        actor: Actor,
        slug: &Slug,
        fields: &ProductFields,
    ) -> StoreResult<Product>;
    /// Replace the editable fields; with `expected_version`, refuse a stale edit.
    async fn update_product(
        &self,
        actor: Actor,
        id: ProductId,
        expected_version: Option<i64>,
        fields: &ProductFields,
    ) -> StoreResult<Product>;
    async fn set_product_status(
        &self,
        actor: Actor,
        id: ProductId,
        status: ProductStatus,
    ) -> StoreResult<Product>;
    async fn product_by_slug(&self, slug: &Slug) -> StoreResult<Product>;
    async fn product_by_id(&self, id: ProductId) -> StoreResult<Product>;
    /// Every product (for rebuilding the search index), with tags and stewards, in a few statements.
    async fn list_products(&self) -> StoreResult<Vec<Product>>;
    /// Tables of some products (removed ones included), with their columns.
    async fn assets_of(&self, products: &[ProductId]) -> StoreResult<Vec<Asset>>;
    /// Add a table to a product or refresh its definition, audited, with an event.
    async fn put_asset(
        &self,
        actor: Actor,
        product: &Product,
        table: &TableDefinition,
    ) -> StoreResult<Asset>;
    /// Record what a re-sync found for one table: new columns, removal, history, event.
    async fn record_resync(
        &self,
        actor: Actor,
        product: &Product,
        asset: AssetId,
        outcome: &ResyncOutcome,
    ) -> StoreResult<()>;
    async fn schema_history(&self, product: ProductId) -> StoreResult<Vec<SchemaChangeEntry>>;
}

/// Which audit entries to export.
#[derive(Debug, Clone)]
pub struct AuditFilter {
    /// `None` for admins (everything); otherwise only entries about requests and products
    /// this caller may see.
    pub visible_to: Option<(Vec<TeamName>, UserId)>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor: Option<UserId>,
    pub since: Option<OffsetDateTime>,
    /// Entries after this one (the previous page's last id): oldest first.
    pub after: Option<uuid::Uuid>,
    pub limit: i64,
}

/// The transactional outbox and the audit log (both written by the other stores).
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Outbox events with `seq > after`, oldest first.
    async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>>;
    /// The newest outbox sequence number (0 when empty).
    async fn latest_event_seq(&self) -> StoreResult<i64>;
    /// Writes this process has committed so far: changes whenever this process changes
    /// anything, without a statement (other processes' writes do not move it).
    fn local_writes(&self) -> u64;
}

/// The audit log as people read it: one thing's history, or an export.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit_for(&self, target_type: &str, target_id: &str) -> StoreResult<Vec<AuditEntry>>;
    /// The audit log, oldest first, a page at a time.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
    /// One entry per AWS call made for `target` (by the system), with its request id and
    /// error, in one transaction.
    async fn record_aws_calls(&self, target: (&str, &str), calls: &[AwsCall]) -> StoreResult<()>;
}

/// A job to run in the background.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: OffsetDateTime,
    pub max_attempts: i32,
}

/// A job a worker has claimed; its lease runs until `locked_until`.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// The durable job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<JobId>;
    /// Enqueue unless a job of the same kind is already queued or running (singletons
    /// such as the event relay); `None` when one was.
    async fn enqueue_job_once(&self, job: &NewJob) -> StoreResult<Option<JobId>>;
    /// Claim the oldest due job (or one whose worker's lease ran out) for `lease`.
    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>>;
    async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()>;
    /// Record a failure; `retry_at` queues it again, `None` gives up.
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()>;
    /// Jobs waiting or running.
    async fn job_queue_depth(&self) -> StoreResult<i64>;
}

/// Small aggregates for the pages' charts (see `domain::stats`).
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Every domain by name with its published or deprecated products (drafts are private).
    async fn products_per_domain(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Access requests made per day (UTC) since `since`.
    async fn requests_per_day(&self, since: OffsetDateTime) -> StoreResult<Vec<(time::Date, i64)>>;
    /// A product's requests that may show on a timeline starting at `since`.
    async fn request_spans(
        &self,
        product: ProductId,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<crate::domain::stats::RequestSpan>>;
    /// Submitted requests, not `user`'s own, for products `teams` own or `user` stewards:
    /// the header's inbox badge, counted in one statement on every page.
    async fn count_inbox(&self, teams: &[TeamName], user: UserId) -> StoreResult<i64>;
}

/// Everything Wharf persists.
pub trait Store:
    HealthStore
    + UserStore
    + AuthStore
    + CatalogStore
    + EnvironmentStore
    + PublisherStore
    + ProductStore
    + AccessStore
    + GrantStore
    + ExtensionStore
    + EventStore
    + DeliveryStore
    + NotificationStore
    + WebhookStore
    + AuditStore
    + JobStore
    + StatsStore
{
}
impl<T> Store for T where
    T: HealthStore
        + UserStore
        + AuthStore
        + CatalogStore
        + EnvironmentStore
        + PublisherStore
        + ProductStore
        + AccessStore
        + GrantStore
        + ExtensionStore
        + EventStore
        + DeliveryStore
        + NotificationStore
        + WebhookStore
        + AuditStore
        + JobStore
        + StatsStore
{
}

/// Connect to the database the URL names and bring its schema up to date.
pub async fn open(url: &DatabaseUrl) -> StoreResult<Arc<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(url) => Arc::new(SqliteStore::open(url).await?),
        DatabaseUrl::Postgres(url) => Arc::new(PgStore::open(url).await?),
    })
}

/// Now, at the precision both databases keep (microseconds), so values round-trip exactly.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// Map a migration run's error, recognising a database from a newer Wharf.
fn migrate_error(error: sqlx::migrate::MigrateError, known: i64) -> StoreError {
    match error {
        sqlx::migrate::MigrateError::VersionMissing(found) => {
            StoreError::NewerSchema { found, known }
        }
        other => StoreError::Migrate(other),
    }
}
