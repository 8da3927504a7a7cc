//! Grants as people ask about them: "who holds what, and why does this role have access".
//! One row per applied (or removed) item grant, with the request that led to it.

use time::OffsetDateTime;

use super::{PersonRef, RequestId, RequestStatus, TeamName};

/// What a grant driver did (or found) for one item of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult<T> {
    pub item: uuid::Uuid,
    /// `Err` says what went wrong in words a data owner can act on.
    pub result: Result<T, String>,
}

impl<T> ItemResult<T> {
    pub fn new(item: uuid::Uuid, result: Result<T, String>) -> Self {
        Self { item, result }
    }

    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// One grant with its reason: the request, who asked, who approved, and its last check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: uuid::Uuid,
    pub request_id: RequestId,
    pub request_status: RequestStatus,
    pub item_id: uuid::Uuid,
    pub principal_arn: String,
    /// The team the principal is registered to (the requesting team).
    pub consumer_team: TeamName,
    pub product_slug: String,
    pub product_name: String,
    pub owner_team: TeamName,
    pub database: String,
    pub table: String,
    /// A column subset, or `None` for the whole table.
    pub columns: Option<Vec<String>>,
    pub permissions: Vec<String>,
    /// `lakeformation` or `sandbox` (recorded only).
    pub driver: String,
    /// `applied` while held, `revoked` once removed.
    pub state: String,
    pub requester: PersonRef,
    /// Who approved; `None` when the product approves automatically.
    pub approver: Option<PersonRef>,
    pub justification: String,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// `healthy`, `unhealthy` or `unknown`.
    pub health: String,
    /// What the last check found missing.
    pub health_detail: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_verified_at: Option<OffsetDateTime>,
}

impl GrantView {
    pub fn table_name(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }
}

/// Whose grants a listing may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantScope {
    /// Every grant (admins).
    All,
    /// Grants to these teams' principals, and grants on products these teams own or this
    /// user stewards: the same rule as `policy::may_view_grant`.
    VisibleTo {
        teams: Vec<TeamName>,
        user: super::UserId,
    },
}
