//! Applying access: the `GrantDriver` trait and its drivers (Lake Formation for `aws`
//! environments, the sandbox that only records), and the jobs that run them.

pub mod jobs;
pub mod lakeformation;

use async_trait::async_trait;

use crate::store::GrantRecord;

/// One table (or column subset) to grant to a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantItem {
    pub item: uuid::Uuid,
    pub database: String,
    pub table: String,
    pub columns: Option<Vec<String>>,
}

impl GrantItem {
    pub fn name(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }
}

/// The AWS calls one job made, collected for the audit log (concurrent reads push too).
#[derive(Debug, Default)]
pub struct CallLog(std::sync::Mutex<Vec<crate::domain::AwsCall>>);

impl CallLog {
    pub fn push(&self, call: crate::domain::AwsCall) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }

    pub fn take(&self) -> Vec<crate::domain::AwsCall> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub use crate::domain::grants::ItemResult;

/// Applies, removes and checks grants. Idempotent both ways: granting twice leaves one
/// set of grants, revoking what is gone succeeds. Batched: one call per job.
#[async_trait]
pub trait GrantDriver: Send + Sync {
    fn name(&self) -> &'static str;
    /// Every AWS call made goes to `calls`, for the audit log.
    async fn grant(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<GrantRecord>>;
    async fn revoke(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<()>>;
    /// `Err` says what is missing, e.g. "DESCRIBE missing on database sales".
    async fn verify(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<()>>;
}

/// The sandbox: grants are recorded in Wharf's database only, and pages say so.
pub struct SandboxDriver;

#[async_trait]
impl GrantDriver for SandboxDriver {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn grant(
        &self,
        principal: &str,
        items: &[GrantItem],
        _calls: &CallLog,
    ) -> Vec<ItemResult<GrantRecord>> {
        items
            .iter()
            .map(|item| {
                let record = GrantRecord {
                    principal_arn: principal.to_owned(),
                    resource: serde_json::json!({"database": item.database, "table": item.table, "columns": item.columns}),
                    permissions: vec!["SELECT".into(), "DESCRIBE".into()],
                    driver: "sandbox".into(),
                };
                ItemResult::new(item.item, Ok(record))
            })
            .collect()
    }

    async fn revoke(
        &self,
        _principal: &str,
        items: &[GrantItem],
        _calls: &CallLog,
    ) -> Vec<ItemResult<()>> {
        items
            .iter()
            .map(|item| ItemResult::new(item.item, Ok(())))
            .collect()
    }

    async fn verify(
        &self,
        _principal: &str,
        items: &[GrantItem],
        _calls: &CallLog,
    ) -> Vec<ItemResult<()>> {
        items
            .iter()
            .map(|item| ItemResult::new(item.item, Ok(())))
            .collect()
    }
}

/// What the grant jobs work with: the store, the drivers, the metrics and the queue, and
/// nothing of the web layer (no `App`), so a worker needs no router to apply a grant.
#[derive(Clone)]
pub struct GrantContext {
    pub store: std::sync::Arc<dyn crate::store::Store>,
    pub drivers: std::sync::Arc<Drivers>,
    pub metrics: std::sync::Arc<crate::telemetry::Metrics>,
    pub jobs: crate::jobs::JobQueue,
}

/// The driver for each environment: one Lake Formation driver per AWS account (so calls
/// into one account are serialised), and the sandbox.
pub struct Drivers {
    global_endpoint: Option<String>,
    retry: lakeformation::RetryPolicy,
    by_account: tokio::sync::Mutex<
        std::collections::HashMap<String, std::sync::Arc<lakeformation::LakeFormationDriver>>,
    >,
}

impl Drivers {
    pub fn new(global_endpoint: Option<String>, retry: lakeformation::RetryPolicy) -> Self {
        Self {
            global_endpoint,
            retry,
            by_account: Default::default(),
        }
    }

    pub async fn for_environment(
        &self,
        environment: &crate::domain::Environment,
    ) -> std::sync::Arc<dyn GrantDriver> {
        let Some(target) = environment.aws_target() else {
            return std::sync::Arc::new(SandboxDriver);
        };
        let mut drivers = self.by_account.lock().await;
        let key = format!(
            "{}|{}|{:?}",
            target.account_id, target.region, target.endpoint_url
        );
        if let Some(driver) = drivers.get(&key) {
            return driver.clone();
        }
        let config = crate::aws::sdk_config(&target, self.global_endpoint.as_deref()).await;
        let driver = std::sync::Arc::new(lakeformation::LakeFormationDriver::new(
            &config,
            &target.account_id,
            self.retry,
        ));
        drivers.insert(key, driver.clone());
        driver
    }
}
