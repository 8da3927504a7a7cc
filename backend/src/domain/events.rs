//! Events as the rest of the data mesh sees them: CloudEvents 1.0 built from outbox rows,
//! who is told about which event, and webhook signatures (where webhooks may be sent is
//! `webhook_targets`). Pure: the relay and sinks in `crate::events` do the I/O.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;

use super::{Invalid, OutboxEvent};

macro_rules! event_types {
    ($($variant:ident => $wire:literal, $meaning:literal;)*) => {
        /// Every event type Wharf emits. Its wire name (the CloudEvents `type`) is what the
        /// rest of the mesh scripts against: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $(#[doc = $meaning] $variant,)*
        }

        impl EventType {
            /// Every type, in the order the README's catalogue lists them.
            pub const ALL: &[EventType] = &[$(EventType::$variant),*];

            /// The wire name, like `wharf.access.granted`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $wire,)*
                }
            }

            /// The type with this wire name, if Wharf emits one.
            pub fn from_wire(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some(EventType::$variant),)*
                    _ => None,
                }
            }

            /// What the event means, in a sentence.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(EventType::$variant => $meaning,)*
                }
            }
        }

        /// Every event type Wharf emits, with what it means. The README's catalogue lists
        /// the same types with their `data` shapes.
        pub const EVENT_TYPES: &[(&str, &str)] = &[$(($wire, $meaning)),*];
    };
}

event_types! {
    ProductCreated => "wharf.product.created", "a data product was created (as a draft)";
    ProductUpdated => "wharf.product.updated", "a product's description, owners or settings changed";
    ProductPublished => "wharf.product.published", "a product became visible to everyone";
    ProductDeprecated => "wharf.product.deprecated", "a product is deprecated";
    ProductAssetsChanged => "wharf.product.assets_changed", "tables were imported or defined, or a re-sync found a table's description, location or parameters changed";
    ProductSchemaChanged => "wharf.product.schema_changed", "a re-sync found changed columns or tables";
    AccessRequested => "wharf.access.requested", "someone asked for access";
    AccessApproved => "wharf.access.approved", "an owner approved; grants are being applied";
    AccessRejected => "wharf.access.rejected", "an owner rejected the request";
    AccessCancelled => "wharf.access.cancelled", "the requester withdrew the request";
    AccessRetried => "wharf.access.retried", "failed grants are being applied again";
    AccessGranted => "wharf.access.granted", "every grant is applied and verified";
    AccessFailed => "wharf.access.failed", "a grant could not be applied";
    AccessRevokeRequested => "wharf.access.revoke_requested", "access is being revoked";
    AccessExpiring => "wharf.access.expiring", "the end date passed; grants are being removed";
    AccessExpiryApproaching => "wharf.access.expiry_approaching", "access ends within three days";
    AccessRevoked => "wharf.access.revoked", "grants were removed after a revoke";
    AccessExpired => "wharf.access.expired", "grants were removed at the end date";
    AccessUnhealthy => "wharf.access.unhealthy", "verification found a grant missing or different";
    AccessExtensionRequested => "wharf.access.extension_requested", "the requester asked for a later end date";
    AccessExtended => "wharf.access.extended", "an extension was approved: the end date moved";
    AccessExtensionRejected => "wharf.access.extension_rejected", "an extension was rejected: the end date stays";
    DomainCreated => "wharf.domain.created", "a business domain was created";
    EnvironmentCreated => "wharf.environment.created", "an environment was registered";
    EnvironmentPublisherSet => "wharf.environment.publisher_set", "a team may now publish from an environment (or from other databases of it)";
    EnvironmentPublisherRemoved => "wharf.environment.publisher_removed", "a team may no longer publish from an environment";
    PrincipalRegistered => "wharf.principal.registered", "a consumer principal was registered to a team";
    PrincipalRemoved => "wharf.principal.removed", "a consumer principal was removed";
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CloudEvents 1.0 event in its JSON format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudEvent<'a> {
    pub specversion: &'static str,
    pub id: String,
    pub source: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub subject: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub datacontenttype: &'static str,
    /// Wharf's outbox position: the pull feed's cursor and the order events happened in.
    pub wharfseq: i64,
    pub data: &'a serde_json::Value,
}

impl<'a> CloudEvent<'a> {
    /// `source` is this Wharf's public URL.
    pub fn new(event: &'a OutboxEvent, source: &'a str) -> Self {
        Self {
            specversion: "1.0",
            id: event.id.to_string(),
            source,
            event_type: &event.event_type,
            subject: &event.subject,
            time: event.time,
            datacontenttype: "application/json",
            wharfseq: event.seq,
            data: &event.data,
        }
    }
}

/// Whose notification list an event lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The owner team's members and the stewards of the request's product.
    ProductOwners,
    /// The person who asked for access.
    Requester,
}

/// Who should hear about an event, and the line they read; `None` for events nobody is
/// told about in the app (they still reach DynamoDB, webhooks and the feed).
pub fn notification_for(event: &OutboxEvent) -> Option<(Audience, String)> {
    let product = event.data["product"].as_str().unwrap_or("a product");
    let message = match event.event_type.as_str() {
        "wharf.access.requested" => {
            let team = event.data["consumer_team"].as_str().unwrap_or("a team");
            return Some((
                Audience::ProductOwners,
                format!("{team} asks for access to {product}"),
            ));
        }
        "wharf.access.extension_requested" => {
            let team = event.data["consumer_team"].as_str().unwrap_or("a team");
            return Some((
                Audience::ProductOwners,
                format!("{team} asks to extend its access to {product}"),
            ));
        }
        "wharf.access.extended" => format!("Your access to {product} was extended"),
        "wharf.access.extension_rejected" => {
            format!("Your extension for {product} was rejected")
        }
        "wharf.access.approved" => format!("Your request for {product} was approved"),
        "wharf.access.rejected" => format!("Your request for {product} was rejected"),
        "wharf.access.granted" => format!("Access to {product} is granted"),
        "wharf.access.failed" => format!("Granting access to {product} failed"),
        "wharf.access.revoked" => format!("Your access to {product} was revoked"),
        "wharf.access.expired" => format!("Your access to {product} has expired"),
        "wharf.access.expiry_approaching" => format!("Your access to {product} ends soon"),
        _ => return None,
    };
    Some((Audience::Requester, message))
}

/// Where a notification about an event points.
pub fn link_for(event: &OutboxEvent) -> Option<String> {
    if let Some(id) = event.subject.strip_prefix("access-requests/") {
        return Some(format!("/requests/{id}"));
    }
    event
        .subject
        .strip_prefix("products/")
        .map(|slug| format!("/products/{slug}"))
}

/// Which event types a webhook receives: exact types, or prefixes written `wharf.access.*`.
/// An empty filter receives everything.
pub fn type_matches(filter: &[String], event_type: &str) -> bool {
    filter.is_empty()
        || filter
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => event_type.starts_with(prefix),
                None => pattern == event_type,
            })
}

/// Check a webhook's event-type filter: each entry a known type or a `prefix.*` of some.
pub fn parse_type_filter(filter: &[String]) -> Result<Vec<String>, Invalid> {
    let mut parsed = Vec::with_capacity(filter.len());
    for pattern in filter {
        let pattern = pattern.trim();
        if !EVENT_TYPES
            .iter()
            .any(|(known, _)| type_matches(&[pattern.to_owned()], known))
        {
            return Err(Invalid::new(
                "event_types",
                format!("{pattern:?} matches no event type (see the catalogue in the README)"),
            ));
        }
        parsed.push(pattern.to_owned());
    }
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

/// The value of the `Wharf-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`, the scheme Stripe and others use so receivers can refuse replays.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_match_exact_types_and_prefixes() {
        let filter = vec![
            "wharf.access.*".to_owned(),
            "wharf.product.published".into(),
        ];
        assert!(type_matches(&filter, "wharf.access.granted"));
        assert!(type_matches(&filter, "wharf.product.published"));
        assert!(!type_matches(&filter, "wharf.product.updated"));
        assert!(type_matches(&[], "wharf.product.updated"));
        assert!(parse_type_filter(&["wharf.nothing".into()]).is_err());
        assert!(parse_type_filter(&["wharf.access.*".into()]).is_ok());
    }

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let one = signature("s3cret", 1_700_000_000, b"{}");
        assert!(one.starts_with("t=1700000000,v1="));
        assert_ne!(one, signature("s3cret", 1_700_000_001, b"{}"));
        assert_ne!(one, signature("other", 1_700_000_000, b"{}"));
        // RFC 4231 test case 2, as a check that the MAC is HMAC-SHA256 over "<t>.<body>".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn requesters_and_owners_hear_about_their_requests() {
        let event = |event_type: &str| OutboxEvent {
            seq: 1,
            id: super::super::EventId::new(),
            event_type: event_type.into(),
            subject: "access-requests/r1".into(),
            time: OffsetDateTime::UNIX_EPOCH,
            data: serde_json::json!({"product": "sales-orders", "consumer_team": "analytics"}),
        };
        let (audience, text) = notification_for(&event("wharf.access.requested")).unwrap();
        assert_eq!(audience, Audience::ProductOwners);
        assert_eq!(text, "analytics asks for access to sales-orders");
        let (audience, _) = notification_for(&event("wharf.access.granted")).unwrap();
        assert_eq!(audience, Audience::Requester);
        assert!(notification_for(&event("wharf.access.retried")).is_none());
        assert_eq!(
            link_for(&event("wharf.access.granted")).as_deref(),
            Some("/requests/r1")
        );
    }
}
