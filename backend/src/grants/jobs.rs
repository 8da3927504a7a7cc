//! The durable jobs that apply and remove grants, and the scheduler that ends access at its
//! end date. A job may run twice (a worker died mid-way): it looks at the request's current
//! state and the drivers are idempotent, so the second run finishes the first's work.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::{CallLog, GrantContext, GrantItem, ItemResult};
use crate::domain::access::{AccessRequest, Transition};
use crate::domain::effects;
use crate::domain::{Actor, RequestId, RequestStatus};
use crate::store::{ItemOutcome, NewJob, StoreError, now};
use crate::telemetry::GrantLabels;

pub const GRANT_JOB: &str = "access.grant";
pub const REVOKE_JOB: &str = "access.revoke";

pub fn grant_job(request: RequestId) -> NewJob {
    NewJob {
        kind: GRANT_JOB.into(),
        payload: serde_json::json!({ "request_id": request }),
        run_at: now(),
        max_attempts: 10,
    }
}

pub fn revoke_job(request: RequestId, expired: bool) -> NewJob {
    NewJob {
        kind: REVOKE_JOB.into(),
        payload: serde_json::json!({ "request_id": request, "expired": expired }),
        run_at: now(),
        max_attempts: 20,
    }
}

fn items_in(request: &AccessRequest, status: RequestStatus) -> Vec<GrantItem> {
    request
        .items
        .iter()
        .filter(|i| i.status == status)
        .map(|i| GrantItem {
            item: i.id,
            database: i.database.clone(),
            table: i.table.clone(),
            columns: i.columns.clone(),
        })
        .collect()
}

/// What of a job's AWS calls the audit log keeps: every change (with its AWS request id),
/// and the reads that failed. Successful reads are many (one per table and check) and say
/// nothing the item states do not.
async fn audit_calls(app: &GrantContext, request: RequestId, calls: &CallLog) {
    let kept: Vec<_> = calls
        .take()
        .into_iter()
        .filter(|c| c.error.is_some() || c.operation.starts_with("Batch"))
        .collect();
    if let Err(error) = app
        .store
        .record_aws_calls(("access_request", &request.to_string()), &kept)
        .await
    {
        tracing::warn!(%error, %request, "could not audit the AWS calls of a job");
    }
}

fn request_id(payload: &serde_json::Value) -> anyhow::Result<RequestId> {
    Ok(serde_json::from_value(payload["request_id"].clone())?)
}

async fn driver_for(
    app: &GrantContext,
    request: &AccessRequest,
) -> anyhow::Result<std::sync::Arc<dyn super::GrantDriver>> {
    let product = app.store.product_by_id(request.product_id).await?;
    let environment = app.store.environment_by_slug(&product.environment).await?;
    Ok(app.drivers.for_environment(&environment).await)
}

/// Applies a request's granting items, verifies them, and records the outcome.
pub struct GrantJob(pub GrantContext);

#[async_trait]
impl crate::jobs::JobHandler for GrantJob {
    async fn run(&self, payload: &serde_json::Value) -> anyhow::Result<()> {
        let app = &self.0;
        let request = app.store.access_request(request_id(payload)?).await?;
        let items = items_in(&request, RequestStatus::Granting);
        if items.is_empty() {
            return Ok(());
        }
        let driver = driver_for(app, &request).await?;
        let calls = CallLog::default();
        let granted = driver.grant(&request.principal_arn, &items, &calls).await;
        let applied: Vec<GrantItem> = items
            .iter()
            .filter(|i| granted.iter().any(|g| g.item == i.item && g.is_ok()))
            .cloned()
            .collect();
        let verified: Vec<ItemResult<()>> = driver
            .verify(&request.principal_arn, &applied, &calls)
            .await;
        audit_calls(app, request.id, &calls).await;
        let outcomes: Vec<ItemOutcome> = granted
            .into_iter()
            .map(|ItemResult { item, result }| match result {
                Ok(record) => match verified
                    .iter()
                    .find(|v| v.item == item)
                    .map(|v| v.result.clone())
                {
                    Some(Err(missing)) => ItemOutcome {
                        item,
                        status: RequestStatus::Failed,
                        error: Some(format!("applied, but the check found: {missing}")),
                        grant: None,
                    },
                    _ => ItemOutcome {
                        item,
                        status: RequestStatus::Granted,
                        error: None,
                        grant: Some(record),
                    },
                },
                Err(message) => ItemOutcome {
                    item,
                    status: RequestStatus::Failed,
                    error: Some(message),
                    grant: None,
                },
            })
            .collect();
        let failures = outcomes
            .iter()
            .filter(|o| o.status == RequestStatus::Failed)
            .count();
        for outcome in &outcomes {
            let label = if outcome.status == RequestStatus::Granted {
                "granted"
            } else {
                "failed"
            };
            app.metrics
                .grant_outcomes
                .get_or_create(&GrantLabels {
                    driver: driver.name().into(),
                    outcome: label.into(),
                })
                .inc();
        }
        let event = effects::grant_outcome_event(failures);
        app.store
            .record_item_outcomes(request.id, &outcomes, Some(event))
            .await?;
        tracing::info!(request = %request.id, items = outcomes.len(), failures, "grant job done");
        Ok(())
    }
}

/// Removes a request's revoking items; ends as Revoked, or Expired after its end date.
pub struct RevokeJob(pub GrantContext);

#[async_trait]
impl crate::jobs::JobHandler for RevokeJob {
    async fn run(&self, payload: &serde_json::Value) -> anyhow::Result<()> {
        let app = &self.0;
        let expired = payload["expired"].as_bool().unwrap_or(false);
        let request = app.store.access_request(request_id(payload)?).await?;
        let items = items_in(&request, RequestStatus::Revoking);
        if items.is_empty() {
            return Ok(());
        }
        let driver = driver_for(app, &request).await?;
        let done = if expired {
            RequestStatus::Expired
        } else {
            RequestStatus::Revoked
        };
        let calls = CallLog::default();
        let results = driver.revoke(&request.principal_arn, &items, &calls).await;
        audit_calls(app, request.id, &calls).await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.result.clone().err())
            .collect();
        let outcomes: Vec<ItemOutcome> = results
            .into_iter()
            .map(|ItemResult { item, result }| match result {
                Ok(()) => ItemOutcome {
                    item,
                    status: done,
                    error: None,
                    grant: None,
                },
                Err(message) => ItemOutcome {
                    item,
                    status: RequestStatus::Revoking,
                    error: Some(message),
                    grant: None,
                },
            })
            .collect();
        let event = effects::revoke_outcome_event(failed.len(), expired);
        app.store
            .record_item_outcomes(request.id, &outcomes, event)
            .await?;
        if !failed.is_empty() {
            // Try again later: access must not outlive its end.
            anyhow::bail!(
                "{} item(s) could not be revoked yet: {}",
                failed.len(),
                failed.join("; ")
            );
        }
        Ok(())
    }
}

/// Every `every`, end the access whose end date has passed.
pub async fn expire_due(app: GrantContext, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        match app.store.requests_due_for_expiry().await {
            Ok(due) => {
                for id in due {
                    let job = revoke_job(id, true);
                    match app
                        .store
                        .transition_request(
                            Actor::System,
                            id,
                            RequestStatus::Granted,
                            Transition::Expire,
                            "the end date was reached",
                            Some(&job),
                        )
                        .await
                    {
                        Ok(_) => app.jobs.wake(),
                        Err(StoreError::Conflict(_)) => {}
                        Err(error) => {
                            tracing::warn!(%error, request = %id, "could not expire a request")
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not look for expired access"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub const VERIFY_JOB: &str = "access.verify";

pub fn verify_job(request: RequestId) -> NewJob {
    NewJob {
        kind: VERIFY_JOB.into(),
        payload: serde_json::json!({ "request_id": request }),
        run_at: now(),
        max_attempts: 5,
    }
}

/// Check a granted request's grants in the driver, optionally applying them again first
/// (`reapply` restores what someone removed outside Wharf), and record their health.
pub async fn verify_request(
    app: &GrantContext,
    id: RequestId,
    reapply: bool,
) -> anyhow::Result<AccessRequest> {
    verify_items(app, id, None, reapply).await
}

/// `verify_request` for some of the request's items only (`None`: all of them).
pub async fn verify_items(
    app: &GrantContext,
    id: RequestId,
    only: Option<&[uuid::Uuid]>,
    reapply: bool,
) -> anyhow::Result<AccessRequest> {
    let request = app.store.access_request(id).await?;
    let mut items = items_in(&request, RequestStatus::Granted);
    if let Some(only) = only {
        items.retain(|i| only.contains(&i.item));
    }
    if items.is_empty() {
        return Ok(request);
    }
    let driver = driver_for(app, &request).await?;
    let calls = CallLog::default();
    if reapply {
        let applied = driver.grant(&request.principal_arn, &items, &calls).await;
        if let Some(Err(message)) = applied.iter().map(|a| &a.result).find(|r| r.is_err()) {
            tracing::warn!(request = %id, %message, "reapply failed for an item");
        }
    }
    let results = driver.verify(&request.principal_arn, &items, &calls).await;
    audit_calls(app, id, &calls).await;
    Ok(app.store.record_verification(id, &results).await?)
}

/// Runs `verify_request` as a job (scheduled verification).
pub struct VerifyJob(pub GrantContext);

#[async_trait]
impl crate::jobs::JobHandler for VerifyJob {
    async fn run(&self, payload: &serde_json::Value) -> anyhow::Result<()> {
        verify_request(&self.0, request_id(payload)?, false)
            .await
            .map(|_| ())
    }
}

/// Every `every`, queue a check of every granted request.
pub async fn verify_all(app: GrantContext, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        match app.store.granted_requests().await {
            Ok(ids) => {
                for id in ids {
                    if let Err(error) = app
                        .jobs
                        .enqueue(VERIFY_JOB, serde_json::json!({ "request_id": id }))
                        .await
                    {
                        tracing::warn!(%error, "could not queue a verification");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not list granted requests to verify"),
        }
    }
}
