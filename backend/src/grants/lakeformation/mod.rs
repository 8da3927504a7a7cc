//! AWS Lake Formation, same account: SELECT + DESCRIBE on the table (`TableWithColumns`
//! SELECT for a column subset, with DESCRIBE on the table), DESCRIBE on its database, never
//! the grant option. Batched in 20s (a documented AWS limit the API model does not
//! enforce), retried with exponential backoff and jitter on throttling, concurrent
//! modification and 5xx, and serialised per account so concurrent jobs do not collide.
//! Before granting, the table is looked up in Glue (Lake Formation itself does not check).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lakeformation::Client;
use aws_sdk_lakeformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lakeformation::types::{
    BatchPermissionsRequestEntry, DataLakePrincipal, DatabaseResource, Permission, Resource,
    TableResource, TableWithColumnsResource,
};
use futures::stream::{self, StreamExt};
use tokio::sync::Mutex;

use super::{CallLog, GrantDriver, GrantItem, ItemResult};
use crate::domain::AwsCall;
use crate::store::GrantRecord;
use aws_sdk_lakeformation::operation::RequestId;

mod verify;

/// `BatchGrantPermissions` / `BatchRevokePermissions` accept at most this many entries.
const BATCH: usize = 20;
/// How many reads (`GetTable`, `ListPermissions`) one job has in flight at once.
const READS_IN_FLIGHT: usize = 16;

/// How hard to retry a throttled or failing call.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

/// What a Lake Formation permission entry is for: one item's table (by its index in the
/// batch), or the DESCRIBE on a database that every item of that database shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryFor {
    Item(usize),
    Database,
}

pub struct LakeFormationDriver {
    lakeformation: Client,
    glue: aws_sdk_glue::Client,
    account: String,
    retry: RetryPolicy,
    /// One batch at a time per account.
    serial: Mutex<()>,
}

impl LakeFormationDriver {
    pub fn new(config: &aws_config::SdkConfig, account: &str, retry: RetryPolicy) -> Self {
        // Retries are ours (below), so a fault is retried exactly as the policy says.
        let lf_config = aws_sdk_lakeformation::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self {
            lakeformation: Client::from_conf(lf_config),
            glue: aws_sdk_glue::Client::new(config),
            account: account.to_owned(),
            retry,
            serial: Mutex::new(()),
        }
    }

    fn principal(arn: &str) -> DataLakePrincipal {
        DataLakePrincipal::builder()
            .data_lake_principal_identifier(arn)
            .build()
    }

    fn table(&self, item: &GrantItem) -> Resource {
        let table = TableResource::builder()
            .catalog_id(&self.account)
            .database_name(&item.database)
            .name(&item.table)
            .build()
            .expect("database and table are set");
        Resource::builder().table(table).build()
    }

    fn columns(&self, item: &GrantItem, columns: &[String]) -> Resource {
        let table = TableWithColumnsResource::builder()
            .catalog_id(&self.account)
            .database_name(&item.database)
            .name(&item.table)
            .set_column_names(Some(columns.to_vec()))
            .build()
            .expect("database and table are set");
        Resource::builder().table_with_columns(table).build()
    }

    fn database(&self, name: &str) -> Resource {
        let database = DatabaseResource::builder()
            .catalog_id(&self.account)
            .name(name)
            .build()
            .expect("name is set");
        Resource::builder().database(database).build()
    }

    /// The Lake Formation entries for `items`, each with what it is for.
    fn entries(
        &self,
        principal: &str,
        items: &[(usize, &GrantItem)],
    ) -> Vec<(EntryFor, BatchPermissionsRequestEntry)> {
        let mut entries = Vec::new();
        let entry = |id: String, resource: Resource, permissions: &[Permission]| {
            BatchPermissionsRequestEntry::builder()
                .id(id)
                .principal(Self::principal(principal))
                .resource(resource)
                .set_permissions(Some(permissions.to_vec()))
                .set_permissions_with_grant_option(Some(Vec::new()))
                .build()
                .expect("id is set")
        };
        for (index, item) in items {
            match &item.columns {
                None => entries.push((
                    EntryFor::Item(*index),
                    entry(
                        format!("t{index}"),
                        self.table(item),
                        &[Permission::Select, Permission::Describe],
                    ),
                )),
                Some(columns) => {
                    entries.push((
                        EntryFor::Item(*index),
                        entry(
                            format!("c{index}"),
                            self.columns(item, columns),
                            &[Permission::Select],
                        ),
                    ));
                    entries.push((
                        EntryFor::Item(*index),
                        entry(
                            format!("d{index}"),
                            self.table(item),
                            &[Permission::Describe],
                        ),
                    ));
                }
            }
        }
        let databases: BTreeSet<&str> = items
            .iter()
            .map(|(_, item)| item.database.as_str())
            .collect();
        for (n, database) in databases.into_iter().enumerate() {
            entries.push((
                EntryFor::Database,
                entry(
                    format!("db{n}"),
                    self.database(database),
                    &[Permission::Describe],
                ),
            ));
        }
        entries
    }

    /// Make a call, retrying what is worth retrying, and log its outcome in `calls`.
    async fn retried<T, E, F, Fut>(
        &self,
        what: &'static str,
        calls: &CallLog,
        mut call: F,
    ) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        T: RequestId,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => {
                    calls.push(AwsCall {
                        operation: what.into(),
                        request_id: value.request_id().map(str::to_owned),
                        error: None,
                        attempts: attempt,
                    });
                    return Ok(value);
                }
                Err(error) if attempt < self.retry.attempts && retryable(&error) => {
                    let delay = backoff(self.retry, attempt);
                    tracing::info!(what, attempt, ?delay, error = %describe(&error), "retrying a Lake Formation call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => {
                    let message = format!(
                        "{what} failed after {attempt} attempt(s): {}",
                        describe(&error)
                    );
                    calls.push(AwsCall {
                        operation: what.into(),
                        request_id: error.request_id().map(str::to_owned),
                        error: Some(message.clone()),
                        attempts: attempt,
                    });
                    return Err(message);
                }
            }
        }
    }

    /// Tables that exist in Glue; the others fail with a message. Each table is looked up
    /// with `GetTable`, a bounded number at a time: one call per table costs less than
    /// listing a database of thousands of tables, and Glue has no batch lookup.
    async fn existing<'a>(
        &self,
        items: &'a [GrantItem],
        calls: &CallLog,
    ) -> (Vec<(usize, &'a GrantItem)>, Vec<ItemResult<GrantRecord>>) {
        // Futures gathered first: a lazy `map` held across awaits trips async-trait's
        // `Send` check (closure lifetimes are not general enough).
        let lookups: Vec<_> = items
            .iter()
            .map(|item| self.table_exists(item, calls))
            .collect();
        let found: Vec<Result<bool, String>> = stream::iter(lookups)
            .buffered(READS_IN_FLIGHT)
            .collect()
            .await;
        let mut present = Vec::new();
        let mut missing = Vec::new();
        for (index, (item, found)) in items.iter().zip(found).enumerate() {
            match found {
                Ok(true) => present.push((index, item)),
                Ok(false) => missing.push(ItemResult::new(
                    item.item,
                    Err(format!(
                        "table {} does not exist in the Glue catalog",
                        item.name()
                    )),
                )),
                Err(message) => missing.push(ItemResult::new(item.item, Err(message))),
            }
        }
        (present, missing)
    }

    async fn table_exists(&self, item: &GrantItem, calls: &CallLog) -> Result<bool, String> {
        // The Glue client keeps the SDK's standard retries.
        let lookup = self
            .glue
            .get_table()
            .catalog_id(&self.account)
            .database_name(&item.database)
            .name(&item.table)
            .send()
            .await;
        let request_id = match &lookup {
            Ok(output) => output.request_id(),
            Err(error) => error.request_id(),
        };
        let failed = lookup.as_ref().err().filter(|e| {
            !e.as_service_error()
                .is_some_and(|e| e.is_entity_not_found_exception())
        });
        calls.push(AwsCall {
            operation: "GetTable".into(),
            request_id: request_id.map(str::to_owned),
            error: failed.map(describe),
            attempts: 1,
        });
        match lookup {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_entity_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(format!(
                "could not look up {} in Glue: {}",
                item.name(),
                describe(&error)
            )),
        }
    }

    fn record(&self, principal: &str, item: &GrantItem) -> GrantRecord {
        let permissions = match item.columns {
            None => vec!["SELECT".into(), "DESCRIBE".into()],
            Some(_) => vec!["SELECT (columns)".into(), "DESCRIBE".into()],
        };
        GrantRecord {
            principal_arn: principal.to_owned(),
            resource: serde_json::json!({
                "catalog_id": self.account, "database": item.database, "table": item.table, "columns": item.columns,
            }),
            permissions,
            driver: "lakeformation".into(),
        }
    }
}

fn retryable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool
where
    R: std::fmt::Debug,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            matches!(
                code,
                "ThrottlingException"
                    | "ConcurrentModificationException"
                    | "InternalServiceException"
                    | "ServiceUnavailableException"
            ) || format!("{:?}", service.raw()).contains("status: StatusCode(5")
        }
        _ => false,
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    error: &SdkError<E, R>,
) -> String {
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

/// Exponential backoff with full jitter: a random delay up to base·2^(attempt−1), capped.
fn backoff(policy: RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(policy.cap);
    let mut bytes = [0u8; 2];
    let _ = getrandom::getrandom(&mut bytes);
    let fraction = f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX);
    ceiling.mul_f64(0.5 + fraction / 2.0)
}

#[async_trait]
impl GrantDriver for LakeFormationDriver {
    fn name(&self) -> &'static str {
        "lakeformation"
    }

    async fn grant(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<GrantRecord>> {
        let _serial = self.serial.lock().await;
        let (present, mut results) = self.existing(items, calls).await;
        let mut failed: HashMap<usize, String> = HashMap::new();
        let entries = self.entries(principal, &present);
        for chunk in entries.chunks(BATCH) {
            let batch: Vec<BatchPermissionsRequestEntry> =
                chunk.iter().map(|(_, e)| e.clone()).collect();
            let outcome = self
                .retried("BatchGrantPermissions", calls, || {
                    self.lakeformation
                        .batch_grant_permissions()
                        .catalog_id(&self.account)
                        .set_entries(Some(batch.clone()))
                        .send()
                })
                .await;
            match outcome {
                Ok(output) => {
                    for failure in output.failures() {
                        let id = failure.request_entry().map(|e| e.id()).unwrap_or_default();
                        let message = failure
                            .error()
                            .map(|e| {
                                format!(
                                    "{}: {}",
                                    e.error_code().unwrap_or("error"),
                                    e.error_message().unwrap_or_default()
                                )
                            })
                            .unwrap_or_else(|| "refused".into());
                        match chunk.iter().find(|(_, e)| e.id() == id) {
                            Some((EntryFor::Database, _)) | None => {
                                for (index, _) in &present {
                                    failed.entry(*index).or_insert_with(|| {
                                        format!("DESCRIBE on the database: {message}")
                                    });
                                }
                            }
                            Some((EntryFor::Item(index), _)) => {
                                failed.insert(*index, message);
                            }
                        }
                    }
                }
                Err(message) => {
                    for (entry_for, _) in chunk {
                        let targets: Vec<usize> = match entry_for {
                            EntryFor::Database => present.iter().map(|(i, _)| *i).collect(),
                            EntryFor::Item(index) => vec![*index],
                        };
                        for target in targets {
                            failed.entry(target).or_insert_with(|| message.clone());
                        }
                    }
                }
            }
        }
        for (index, item) in present {
            match failed.remove(&index) {
                Some(message) => results.push(ItemResult::new(item.item, Err(message))),
                None => results.push(ItemResult::new(item.item, Ok(self.record(principal, item)))),
            }
        }
        results
    }

    async fn revoke(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<()>> {
        let _serial = self.serial.lock().await;
        let indexed: Vec<(usize, &GrantItem)> = items.iter().enumerate().collect();
        // The database DESCRIBE may serve other grants of this principal: it stays.
        let entries: Vec<_> = self
            .entries(principal, &indexed)
            .into_iter()
            .filter_map(|(entry_for, entry)| match entry_for {
                EntryFor::Item(index) => Some((index, entry)),
                EntryFor::Database => None,
            })
            .collect();
        let mut failed: HashMap<usize, String> = HashMap::new();
        for chunk in entries.chunks(BATCH) {
            let batch: Vec<BatchPermissionsRequestEntry> =
                chunk.iter().map(|(_, e)| e.clone()).collect();
            let outcome = self
                .retried("BatchRevokePermissions", calls, || {
                    self.lakeformation
                        .batch_revoke_permissions()
                        .catalog_id(&self.account)
                        .set_entries(Some(batch.clone()))
                        .send()
                })
                .await;
            match outcome {
                Ok(output) => {
                    for failure in output.failures() {
                        let id = failure.request_entry().map(|e| e.id()).unwrap_or_default();
                        let detail = failure.error();
                        let code = detail.and_then(|e| e.error_code()).unwrap_or_default();
                        let message = detail.and_then(|e| e.error_message()).unwrap_or_default();
                        // Revoking what is already gone is success.
                        if code == "EntityNotFoundException"
                            || message.contains("No permissions revoked")
                            || message.contains("not granted")
                            || message.contains("does not exist")
                        {
                            continue;
                        }
                        if let Some((index, _)) = chunk.iter().find(|(_, e)| e.id() == id) {
                            failed.insert(*index, format!("{code}: {message}"));
                        }
                    }
                }
                Err(message) => {
                    for (index, _) in chunk {
                        failed.entry(*index).or_insert_with(|| message.clone());
                    }
                }
            }
        }
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                ItemResult::new(item.item, failed.remove(&index).map_or(Ok(()), Err))
            })
            .collect()
    }

    /// Reads only; see `verify.rs` for how few calls a check makes.
    async fn verify(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<()>> {
        self.verify_items(principal, items, calls).await
    }
}
