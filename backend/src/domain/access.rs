//! Access requests: the state machine of DESIGN.md, item by item.
//!
//! ```text
//! Submitted ─approve─▶ Granting ─ok─▶ Granted ─revoke─▶ Revoking ─▶ Revoked
//!     │                    │                  └─expiry──▶ Revoking ─▶ Expired
//!     ├─reject─▶ Rejected   └─error─▶ Failed ─retry─▶ Granting
//!     └─cancel─▶ Cancelled            (per item; the request shows the worst item)
//! ```

use super::RequestStatus;

/// Something that moves a request (or one item of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Approve,
    Reject,
    Cancel,
    /// The worker applied and verified the grant.
    Granted,
    /// The worker gave up on the grant.
    GrantFailed,
    Retry,
    Revoke,
    Expire,
    /// The worker removed the grant.
    Revoked,
}

/// A transition that is not allowed from the current state (answered with 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot be moved by {transition:?}")]
pub struct IllegalTransition {
    pub from: RequestStatus,
    pub transition: Transition,
}

/// Where `transition` takes something that is `from`. `Revoked` after an expiry ends as
/// `Expired`: the revoking job says which by passing `expired`.
pub fn next_status(
    from: RequestStatus,
    transition: Transition,
    expired: bool,
) -> Result<RequestStatus, IllegalTransition> {
    use RequestStatus::*;
    use Transition as T;
    let to = match (from, transition) {
        (Submitted, T::Approve) => Granting,
        (Submitted, T::Reject) => Rejected,
        (Submitted, T::Cancel) => Cancelled,
        (Granting, T::Granted) => Granted,
        (Granting, T::GrantFailed) => Failed,
        (Failed, T::Retry) => Granting,
        (Granted | Failed, T::Revoke) => Revoking,
        (Granted, T::Expire) => Revoking,
        (Revoking, T::Revoked) => {
            if expired {
                Expired
            } else {
                Revoked
            }
        }
        _ => return Err(IllegalTransition { from, transition }),
    };
    Ok(to)
}

/// Whether nothing can happen to it any more.
pub fn is_final(status: RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::Rejected
            | RequestStatus::Cancelled
            | RequestStatus::Revoked
            | RequestStatus::Expired
    )
}

/// The status a request shows for its items: the worst one, so a single failed table is
/// never hidden behind granted ones.
pub fn worst(items: impl IntoIterator<Item = RequestStatus>) -> Option<RequestStatus> {
    fn rank(status: RequestStatus) -> u8 {
        use RequestStatus::*;
        match status {
            Failed => 0,
            Revoking => 1,
            Granting => 2,
            Submitted => 3,
            Granted => 4,
            Expired => 5,
            Revoked => 6,
            Rejected => 7,
            Cancelled => 8,
        }
    }
    items.into_iter().min_by_key(|s| rank(*s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestStatus::*;

    const TRANSITIONS: [Transition; 9] = [
        Transition::Approve,
        Transition::Reject,
        Transition::Cancel,
        Transition::Granted,
        Transition::GrantFailed,
        Transition::Retry,
        Transition::Revoke,
        Transition::Expire,
        Transition::Revoked,
    ];

    #[test]
    fn the_happy_paths() {
        let granted = [Transition::Approve, Transition::Granted]
            .iter()
            .try_fold(Submitted, |s, t| next_status(s, *t, false))
            .unwrap();
        assert_eq!(granted, Granted);
        assert_eq!(
            next_status(
                next_status(Granted, Transition::Expire, true).unwrap(),
                Transition::Revoked,
                true
            ),
            Ok(Expired)
        );
        assert_eq!(
            next_status(
                next_status(Granted, Transition::Revoke, false).unwrap(),
                Transition::Revoked,
                false
            ),
            Ok(Revoked)
        );
        assert_eq!(next_status(Failed, Transition::Retry, false), Ok(Granting));
    }

    #[test]
    fn final_states_accept_nothing() {
        for status in [Rejected, Cancelled, Revoked, Expired] {
            assert!(is_final(status));
            for transition in TRANSITIONS {
                assert!(
                    next_status(status, transition, false).is_err(),
                    "{status} {transition:?}"
                );
            }
        }
    }

    /// A small deterministic generator: property tests without a dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as usize
        }
    }

    #[test]
    fn random_sequences_only_ever_reach_states_of_the_diagram() {
        let mut rng = Lcg(42);
        for _ in 0..2_000 {
            let mut status = Submitted;
            let mut approved = false;
            for _ in 0..12 {
                let transition = TRANSITIONS[rng.next() % TRANSITIONS.len()];
                match next_status(status, transition, rng.next().is_multiple_of(2)) {
                    Ok(next) => {
                        // Nothing is ever granted without an approval first.
                        if next == Granting {
                            approved |= transition == Transition::Approve;
                            assert!(approved, "granting without approval");
                        }
                        assert!(!is_final(status), "left a final state");
                        status = next;
                    }
                    Err(e) => assert_eq!(e.from, status, "a refused transition changes nothing"),
                }
            }
        }
    }

    #[test]
    fn the_request_shows_its_worst_item() {
        assert_eq!(worst([Granted, Failed, Granted]), Some(Failed));
        assert_eq!(worst([Granted, Granting]), Some(Granting));
        assert_eq!(worst([Granted, Granted]), Some(Granted));
        assert_eq!(worst([]), None);
    }
}

/// A request as people and the worker see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AccessRequest {
    pub id: super::RequestId,
    pub product_id: super::ProductId,
    pub product_slug: String,
    pub product_name: String,
    pub requester: super::PersonRef,
    pub consumer_team: super::TeamName,
    pub principal_id: super::PrincipalId,
    pub principal_arn: String,
    pub justification: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_until: time::OffsetDateTime,
    pub status: RequestStatus,
    pub items: Vec<RequestItem>,
    pub decisions: Vec<Decision>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

/// One table of a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RequestItem {
    pub id: uuid::Uuid,
    pub asset_id: super::AssetId,
    pub database: String,
    pub table: String,
    /// A column subset, or `None` for the whole table.
    pub columns: Option<Vec<String>>,
    pub status: RequestStatus,
    /// Why the grant failed, in words.
    pub error: Option<String>,
    /// The last check of the applied grant: `healthy`, `unhealthy` or `unknown`.
    pub health: Option<String>,
    /// What the check found missing, e.g. "DESCRIBE missing on database sales".
    pub health_detail: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_verified_at: Option<time::OffsetDateTime>,
}

/// Who moved the request, how, when and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub actor: Option<super::PersonRef>,
    pub decision: String,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
}

/// What a new request asks for, checked against the product and the policy.
#[derive(Debug, Clone)]
pub struct NewAccessRequest {
    pub product_id: super::ProductId,
    pub requester: super::UserId,
    pub consumer_team: super::TeamName,
    pub principal_id: super::PrincipalId,
    pub items: Vec<(super::AssetId, Option<Vec<String>>)>,
    pub justification: String,
    pub requested_until: time::OffsetDateTime,
    pub idempotency_key: Option<String>,
}
