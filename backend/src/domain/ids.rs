//! Typed identifiers: UUID v7, so ids sort by creation time in both databases.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// A person or machine client known from the IdP.
    UserId,
    /// A team: one IdP group.
    TeamId,
    /// A business area grouping products.
    DomainId,
    /// Where data lives (an AWS account and region, or the sandbox).
    EnvironmentId,
    /// An IAM role registered to a team in an environment.
    PrincipalId,
    /// A data product.
    ProductId,
    /// A table in a product.
    AssetId,
    /// An access request.
    RequestId,
    /// A queued unit of background work.
    JobId,
    /// An event in the outbox.
    EventId,
    /// A webhook subscription.
    WebhookId,
    /// One event's delivery to one webhook subscription.
    DeliveryId,
    /// A message in someone's notification list.
    NotificationId,
);
