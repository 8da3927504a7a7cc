//! What access requests keep: requests with their items and decisions, the grants applied
//! for them, and extensions.

use async_trait::async_trait;

use super::{NewJob, StoreResult};
use crate::domain::access::{AccessRequest, NewAccessRequest, Transition};
use crate::domain::extensions::{Extension, NewExtension};
use crate::domain::grants::{GrantScope, GrantView, ItemResult};
use crate::domain::*;

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Requests this user made.
    pub requester: Option<UserId>,
    /// Requests for products these teams own or this user stewards (an owner's inbox).
    pub managed_by: Option<(Vec<TeamName>, UserId)>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<RequestStatus>,
    /// Everything (admins).
    pub all: bool,
    /// Only requests after this one in the list's order (newest first): the next page.
    pub before: Option<(time::OffsetDateTime, RequestId)>,
    /// At most this many (500 when unset).
    pub limit: Option<u32>,
}

/// What the worker found for one item.
#[derive(Debug, Clone)]
pub struct ItemOutcome {
    pub item: uuid::Uuid,
    pub status: RequestStatus,
    pub error: Option<String>,
    /// The grant as applied (resource and permissions), for granted items.
    pub grant: Option<GrantRecord>,
}

/// A grant as a driver applied it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GrantRecord {
    pub principal_arn: String,
    pub resource: serde_json::Value,
    pub permissions: Vec<String>,
    pub driver: String,
}

/// Access requests, their items and decisions, and the grants applied for them.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Create a request, submitted (or, for an auto-approve product, already granting with
    /// its job enqueued), in one transaction. A repeated idempotency key of the same
    /// requester returns the first request and creates nothing.
    async fn create_request(
        &self,
        request: &NewAccessRequest,
        auto_approve: bool,
        grant_job: &NewJob,
    ) -> StoreResult<AccessRequest>;
    async fn access_request(&self, id: RequestId) -> StoreResult<AccessRequest>;
    /// The request this requester created with this idempotency key, if any.
    async fn request_by_idempotency_key(
        &self,
        requester: UserId,
        key: &str,
    ) -> StoreResult<Option<AccessRequest>>;
    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequest>>;
    /// Move the request and its live items by `transition` if it is still `from`, recording
    /// the decision, audit entry and event, and enqueuing `job`, all in one transaction.
    /// A request that moved meanwhile gives `Conflict` and changes nothing.
    async fn transition_request(
        &self,
        actor: Actor,
        id: RequestId,
        from: RequestStatus,
        transition: Transition,
        comment: &str,
        job: Option<&NewJob>,
    ) -> StoreResult<AccessRequest>;
    /// The worker's results: item states, grants, and the request's (worst) status, with an
    /// audit entry and, when given, an event.
    async fn record_item_outcomes(
        &self,
        id: RequestId,
        outcomes: &[ItemOutcome],
        event_type: Option<EventType>,
    ) -> StoreResult<AccessRequest>;
    /// Granted requests whose end date has passed.
    async fn requests_due_for_expiry(&self) -> StoreResult<Vec<RequestId>>;
    /// Record a check of a request's grants (`Err` = what is missing), audited, with a
    /// `wharf.access.unhealthy` event when something is missing.
    async fn record_verification(
        &self,
        id: RequestId,
        results: &[ItemResult<()>],
    ) -> StoreResult<AccessRequest>;
    /// Every granted request (for scheduled verification).
    async fn granted_requests(&self) -> StoreResult<Vec<RequestId>>;
}

/// Which grants to list: the caller's scope, filters, and the page.
#[derive(Debug, Clone)]
pub struct GrantFilter {
    pub scope: GrantScope,
    pub principal_arn: Option<String>,
    /// A product slug.
    pub product: Option<String>,
    /// The team whose principal holds the grant.
    pub team: Option<TeamName>,
    /// Also grants that were removed (revoked or expired).
    pub include_removed: bool,
    /// Grants listed after this one (the previous page's last id): newest first.
    pub after: Option<uuid::Uuid>,
    pub limit: i64,
}

/// Grants: who holds what, and why.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn list_grants(&self, filter: &GrantFilter) -> StoreResult<Vec<GrantView>>;
    async fn grant_by_id(&self, id: uuid::Uuid) -> StoreResult<GrantView>;
}

/// Extensions of access requests.
#[async_trait]
pub trait ExtensionStore: Send + Sync {
    /// Record a pending extension, audited, with a `wharf.access.extension_requested`
    /// event. Another pending extension of the request, or a request no longer granted:
    /// `Conflict`.
    async fn request_extension(
        &self,
        actor: Actor,
        request: RequestId,
        extension: &NewExtension,
    ) -> StoreResult<Extension>;
    /// Approve (moving the request's end date; `wharf.access.extended`) or reject
    /// (`wharf.access.extension_rejected`) a pending extension, in one transaction. One that
    /// was decided meanwhile, or whose request is no longer granted: `Conflict`.
    async fn decide_extension(
        &self,
        actor: Actor,
        request: RequestId,
        extension: uuid::Uuid,
        approve: bool,
        comment: &str,
    ) -> StoreResult<Extension>;
    async fn extensions_of(&self, request: RequestId) -> StoreResult<Vec<Extension>>;
}
