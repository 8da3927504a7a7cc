//! The records of the domain model as the rest of the code sees them.

use serde::Serialize;
use time::OffsetDateTime;

pub use super::events::EventType;
use super::*;

/// Who did something: a signed-in person or client, or Wharf itself (auto-approve, expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    System,
}

impl Actor {
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Self::User(id) => Some(id),
            Self::System => None,
        }
    }
}

/// Text enums stored as their lowercase names and checked by the schema.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Result<Self, Invalid> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(Invalid::new(
                        stringify!($name),
                        format!("unknown value {text:?}; expected one of {}", [$($text),*].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where grants go: a real AWS account, or the built-in sandbox that only records them.
    EnvironmentKind { Aws => "aws", Sandbox => "sandbox" }
);

text_enum!(
    /// How sensitive a product's data is.
    Classification {
        Public => "public",
        Internal => "internal",
        Confidential => "confidential",
        Restricted => "restricted",
    }
);

text_enum!(
    /// A product's life cycle: drafts are visible to their owners only.
    ProductStatus { Draft => "draft", Published => "published", Deprecated => "deprecated" }
);

impl ProductStatus {
    /// Which status may follow which: a draft is published, a published product
    /// deprecated, and a deprecated one published again. Nothing goes back to draft.
    pub fn may_become(self, next: ProductStatus) -> bool {
        matches!(
            (self, next),
            (Self::Draft, Self::Published)
                | (Self::Published, Self::Deprecated)
                | (Self::Deprecated, Self::Published)
        )
    }
}

text_enum!(
    /// Where an access request (or one of its items) stands.
    RequestStatus {
        Submitted => "submitted",
        Granting => "granting",
        Granted => "granted",
        Failed => "failed",
        Rejected => "rejected",
        Cancelled => "cancelled",
        Revoking => "revoking",
        Revoked => "revoked",
        Expired => "expired",
    }
);

/// A person or machine client, as last seen from the IdP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub subject: String,
    pub email: Option<String>,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the IdP says about a user at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    pub subject: String,
    pub email: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: TeamId,
    pub name: TeamName,
}

/// A business area (Sales, Finance) that groups products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BusinessDomain {
    pub id: DomainId,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewDomain {
    pub slug: Slug,
    pub name: String,
    pub description: String,
}

/// Where data lives and grants are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Environment {
    pub id: EnvironmentId,
    pub slug: Slug,
    pub name: String,
    pub kind: EnvironmentKind,
    pub aws_account_id: Option<String>,
    pub aws_region: Option<String>,
    pub aws_role_arn: Option<String>,
    pub endpoint_url: Option<String>,
    /// The team whose members decide which teams may publish from this environment.
    pub owner_team: Option<TeamName>,
}

/// A team that may publish products from an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Publisher {
    pub team: TeamName,
    /// The Glue databases it may publish tables from (lower case); empty means every one.
    pub databases: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Environment {
    /// What the publishing rule needs to know, with the environment's `publishers`.
    pub fn publishing<'a>(
        &'a self,
        publishers: &'a [Publisher],
    ) -> super::policy::EnvironmentFacts<'a> {
        super::policy::EnvironmentFacts {
            kind: self.kind,
            owner_team: self.owner_team.as_ref(),
            publishers,
        }
    }

    /// Where this environment's AWS calls go; `None` for the sandbox.
    pub fn aws_target(&self) -> Option<AwsTarget> {
        match (self.kind, &self.aws_account_id, &self.aws_region) {
            (EnvironmentKind::Aws, Some(account_id), Some(region)) => Some(AwsTarget {
                account_id: account_id.clone(),
                region: region.clone(),
                role_arn: self.aws_role_arn.clone(),
                endpoint_url: self.endpoint_url.clone(),
            }),
            _ => None,
        }
    }
}

/// How much the catalog holds, for the home page and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatalogCounts {
    pub domains: i64,
    pub products: i64,
    pub assets: i64,
    pub environments: i64,
}

/// A row of the transactional outbox: the event, before any sink has seen it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    pub seq: i64,
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub data: serde_json::Value,
}

/// An event to record in the same transaction as the change it describes.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: EventType,
    pub subject: String,
    pub data: serde_json::Value,
}

/// One call to AWS and how it ended, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsCall {
    /// The API operation, e.g. `BatchGrantPermissions`.
    pub operation: String,
    /// The request id AWS answered with (`x-amzn-requestid`), when it answered.
    pub request_id: Option<String>,
    /// Why it failed, after its retries; `None` when it succeeded.
    pub error: Option<String>,
    /// How many attempts it took.
    pub attempts: u32,
}

/// Who did what to which thing, when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    /// The AWS request id of the call this entry records, when it records one.
    pub aws_request_id: Option<String>,
    /// What went wrong, for an entry that records a failure.
    pub error: Option<String>,
}
