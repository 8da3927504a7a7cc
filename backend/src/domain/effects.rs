//! What a change to an access request causes besides itself: the decision row, the audit
//! action and the outbox event (and, for a submission, the first status and whether the
//! product approves it at once). Decided here once; the stores only persist it.

use super::RequestStatus;
use super::access::Transition;
use super::events::EventType;

/// A decision recorded on a request, with its audit action and event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// The decision row's word (`approved`, `revoke requested`, …).
    pub decision: &'static str,
    /// The audit entry's action (`request.approved`, …).
    pub audit_action: &'static str,
    /// The event the outbox carries.
    pub event: EventType,
}

/// What a person's (or the expiry's) transition causes; `None` for the worker's own
/// transitions, which record their outcome instead.
pub fn transition_effects(transition: Transition) -> Option<Effects> {
    let (decision, audit_action, event) = match transition {
        Transition::Approve => ("approved", "request.approved", EventType::AccessApproved),
        Transition::Reject => ("rejected", "request.rejected", EventType::AccessRejected),
        Transition::Cancel => ("cancelled", "request.cancelled", EventType::AccessCancelled),
        Transition::Retry => ("retried", "request.retried", EventType::AccessRetried),
        Transition::Revoke => (
            "revoke requested",
            "request.revoke_requested",
            EventType::AccessRevokeRequested,
        ),
        Transition::Expire => ("expired", "request.expired", EventType::AccessExpiring),
        Transition::Granted | Transition::GrantFailed | Transition::Revoked => return None,
    };
    Some(Effects {
        decision,
        audit_action,
        event,
    })
}

/// The event for what the worker found after granting: every item granted and checked,
/// or some failed (the request then shows the worst item).
pub fn grant_outcome_event(failures: usize) -> EventType {
    if failures == 0 {
        EventType::AccessGranted
    } else {
        EventType::AccessFailed
    }
}

/// The event for what the worker found after revoking; none while an item still holds
/// access (the request stays revoking and the job is tried again).
pub fn revoke_outcome_event(failures: usize, expired: bool) -> Option<EventType> {
    match (failures, expired) {
        (0, true) => Some(EventType::AccessExpired),
        (0, false) => Some(EventType::AccessRevoked),
        _ => None,
    }
}

/// What submitting a request causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submission {
    /// The status the request and its items start in.
    pub status: RequestStatus,
    /// The requester's own decision.
    pub submitted: Effects,
    /// With auto-approve, the system's approval (and a grant job) in the same transaction.
    pub auto_approval: Option<Effects>,
}

/// The comment on the system's approval of an auto-approve product's request.
pub const AUTO_APPROVE_COMMENT: &str = "auto-approve product";

/// A product with auto-approve moves Submitted → Granting at once, by the system actor.
pub fn submission(auto_approve: bool) -> Submission {
    Submission {
        status: if auto_approve {
            RequestStatus::Granting
        } else {
            RequestStatus::Submitted
        },
        submitted: Effects {
            decision: "submitted",
            audit_action: "request.submitted",
            event: EventType::AccessRequested,
        },
        auto_approval: auto_approve.then_some(Effects {
            decision: "approved",
            audit_action: "request.approved",
            event: EventType::AccessApproved,
        }),
    }
}

/// What asking for an extension causes.
pub fn extension_request() -> Effects {
    Effects {
        decision: "extension requested",
        audit_action: "request.extension_requested",
        event: EventType::AccessExtensionRequested,
    }
}

/// What deciding an extension causes.
pub fn extension_decision(approve: bool) -> Effects {
    if approve {
        Effects {
            decision: "extended",
            audit_action: "request.extended",
            event: EventType::AccessExtended,
        }
    } else {
        Effects {
            decision: "extension rejected",
            audit_action: "request.extension_rejected",
            event: EventType::AccessExtensionRejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_follow_the_decision_words() {
        let decided = [
            Transition::Approve,
            Transition::Reject,
            Transition::Cancel,
            Transition::Retry,
            Transition::Revoke,
            Transition::Expire,
        ]
        .into_iter()
        .filter_map(transition_effects)
        .chain([
            extension_request(),
            extension_decision(true),
            extension_decision(false),
        ])
        .chain(submission(true).auto_approval);
        for effects in decided {
            let expected = format!("request.{}", effects.decision.replace(' ', "_"));
            assert_eq!(effects.audit_action, expected);
        }
        assert_eq!(transition_effects(Transition::Granted), None);
    }

    #[test]
    fn auto_approve_starts_granting_with_the_systems_approval() {
        assert_eq!(submission(true).status, RequestStatus::Granting);
        assert_eq!(
            submission(true).auto_approval.map(|e| e.event),
            Some(EventType::AccessApproved)
        );
        assert_eq!(submission(false).status, RequestStatus::Submitted);
        assert_eq!(submission(false).auto_approval, None);
    }
}
