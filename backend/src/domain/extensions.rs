//! Extensions: before access ends, the requester asks for a later end date with a reason;
//! the product's owners or stewards (never the requester themself) approve or reject it.
//! Approval moves the request's end date; the grants stay as they are.

use time::{Duration, OffsetDateTime};

use super::{Invalid, PersonRef, RequestId, RequestStatus};

/// Where an extension stands. At most one per request is pending at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionStatus {
    Pending,
    Approved,
    Rejected,
}

impl ExtensionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        Ok(match text {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => return Err(Invalid::new("status", "pending, approved or rejected")),
        })
    }
}

impl std::fmt::Display for ExtensionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a later end date.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Extension {
    pub id: uuid::Uuid,
    pub request_id: RequestId,
    pub requested_by: PersonRef,
    /// The end date asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The end date before the extension, kept for the record.
    #[serde(with = "time::serde::rfc3339")]
    pub previous_until: OffsetDateTime,
    pub reason: String,
    pub status: ExtensionStatus,
    pub decided_by: Option<PersonRef>,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

/// Why an extension cannot be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefusal {
    /// Only access that is held can be extended (answered with 409).
    #[error("only granted access can be extended; this request is {0}")]
    NotGranted(RequestStatus),
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// A checked extension: a later end date within the product's longest access, and a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExtension {
    pub until: OffsetDateTime,
    pub reason: String,
}

impl NewExtension {
    /// Check an ask against the request as it is `now` and the product's `max_access_days`.
    pub fn check(
        status: RequestStatus,
        current_until: OffsetDateTime,
        max_access_days: i32,
        now: OffsetDateTime,
        until: OffsetDateTime,
        reason: &str,
    ) -> Result<Self, ExtensionRefusal> {
        if status != RequestStatus::Granted {
            return Err(ExtensionRefusal::NotGranted(status));
        }
        let reason = reason.trim();
        if !(10..=2000).contains(&reason.chars().count()) {
            return Err(Invalid::new("reason", "say why in 10–2000 characters").into());
        }
        if until <= current_until {
            return Err(Invalid::new("until", "must be later than the current end date").into());
        }
        if until > now + Duration::days(i64::from(max_access_days.max(0))) {
            return Err(Invalid::new(
                "until",
                format!("this product grants access for at most {max_access_days} days from now"),
            )
            .into());
        }
        Ok(Self {
            until,
            reason: reason.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> OffsetDateTime {
        time::macros::datetime!(2027-01-01 12:00 UTC) + Duration::days(days)
    }

    fn ask(
        status: RequestStatus,
        until: i64,
        reason: &str,
    ) -> Result<NewExtension, ExtensionRefusal> {
        NewExtension::check(status, at(10), 90, at(0), at(until), reason)
    }

    #[test]
    fn a_later_date_within_the_products_limit_is_accepted() {
        let ok = ask(RequestStatus::Granted, 60, "  the project runs longer  ").unwrap();
        assert_eq!(ok.until, at(60));
        assert_eq!(ok.reason, "the project runs longer");
        assert!(ask(RequestStatus::Granted, 90, "the project runs longer").is_ok());
    }

    #[test]
    fn earlier_too_long_unexplained_or_not_granted_is_refused() {
        let field = |r: Result<NewExtension, ExtensionRefusal>| match r {
            Err(ExtensionRefusal::Invalid(i)) => i.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(ask(RequestStatus::Granted, 10, "the project runs longer")),
            "until"
        );
        assert_eq!(
            field(ask(RequestStatus::Granted, 5, "the project runs longer")),
            "until"
        );
        assert_eq!(
            field(ask(RequestStatus::Granted, 91, "the project runs longer")),
            "until"
        );
        assert_eq!(field(ask(RequestStatus::Granted, 60, "short")), "reason");
        for status in [
            RequestStatus::Submitted,
            RequestStatus::Granting,
            RequestStatus::Failed,
            RequestStatus::Revoking,
            RequestStatus::Revoked,
            RequestStatus::Expired,
        ] {
            assert_eq!(
                ask(status, 60, "the project runs longer"),
                Err(ExtensionRefusal::NotGranted(status))
            );
        }
    }
}
