//! Property tests of an access request's life: random sequences of (who, what) against the
//! state machine and the policy together, the way handlers combine them (policy first,
//! then the transition). Whatever the sequence, access only ever comes from an approval by
//! someone other than the requester, refused moves change nothing, and final states stay.

use proptest::prelude::*;

use super::access::{Transition, is_final, next_status};
use super::policy::{ProductFacts, RequestAction, RequestFacts, Subject, may_act_on_request};
use super::{ProductStatus, RequestStatus, TeamName, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Owner,
    Steward,
    Requester,
    Teammate,
    Outsider,
    /// The worker and the expiry scheduler: not subject to the policy.
    System,
}

/// One step: a person's action, or something the system does.
#[derive(Debug, Clone, Copy)]
enum Step {
    Act(Role, RequestAction),
    Worker(Transition),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Admin),
        Just(Role::Owner),
        Just(Role::Steward),
        Just(Role::Requester),
        Just(Role::Teammate),
        Just(Role::Outsider),
    ]
}

fn action() -> impl Strategy<Value = RequestAction> {
    prop_oneof![
        Just(RequestAction::Approve),
        Just(RequestAction::Reject),
        Just(RequestAction::Cancel),
        Just(RequestAction::Revoke),
        Just(RequestAction::Retry),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (role(), action()).prop_map(|(r, a)| Step::Act(r, a)),
        1 => prop_oneof![
            Just(Transition::Granted),
            Just(Transition::GrantFailed),
            Just(Transition::Expire),
            Just(Transition::Revoked),
        ]
        .prop_map(Step::Worker),
    ]
}

struct People {
    ids: Vec<(Role, UserId)>,
    owners: TeamName,
    consumers: TeamName,
    other: TeamName,
    admins: TeamName,
    stewards: Vec<UserId>,
}

impl People {
    fn new() -> Self {
        let ids: Vec<_> = [
            Role::Admin,
            Role::Owner,
            Role::Steward,
            Role::Requester,
            Role::Teammate,
            Role::Outsider,
        ]
        .into_iter()
        .map(|r| (r, UserId::new()))
        .collect();
        let steward = ids.iter().find(|(r, _)| *r == Role::Steward).unwrap().1;
        Self {
            ids,
            owners: TeamName::parse("sales-data").unwrap(),
            consumers: TeamName::parse("analytics").unwrap(),
            other: TeamName::parse("marketing").unwrap(),
            admins: TeamName::parse("wharf-admins").unwrap(),
            stewards: vec![steward],
        }
    }

    fn id(&self, role: Role) -> UserId {
        self.ids.iter().find(|(r, _)| *r == role).unwrap().1
    }

    fn teams(&self, role: Role) -> Vec<TeamName> {
        match role {
            Role::Admin => vec![self.admins.clone()],
            Role::Owner => vec![self.owners.clone()],
            Role::Requester | Role::Teammate => vec![self.consumers.clone()],
            Role::Steward | Role::Outsider | Role::System => vec![self.other.clone()],
        }
    }
}

/// What a handler does with a person's action: the move it asks for from the current state.
fn transition_of(action: RequestAction) -> Transition {
    match action {
        RequestAction::Approve => Transition::Approve,
        RequestAction::Reject => Transition::Reject,
        RequestAction::Cancel => Transition::Cancel,
        RequestAction::Revoke => Transition::Revoke,
        RequestAction::Retry => Transition::Retry,
        RequestAction::Verify
        | RequestAction::Reapply
        | RequestAction::RequestExtension
        | RequestAction::ApproveExtension => unreachable!("not generated"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn access_only_ever_comes_from_someone_elses_approval(
        steps in proptest::collection::vec(step(), 0..24),
        auto_approve in any::<bool>(),
    ) {
        let people = People::new();
        let product = ProductFacts {
            owner_team: &people.owners,
            stewards: &people.stewards,
            status: ProductStatus::Published,
        };
        let request = RequestFacts {
            requester: people.id(Role::Requester),
            consumer_team: &people.consumers,
            product,
        };
        let mut status = if auto_approve { RequestStatus::Granting } else { RequestStatus::Submitted };
        let mut approved_by: Option<Role> = auto_approve.then_some(Role::System);
        let mut ever_granted = false;
        for step in steps {
            let before = status;
            let (who, transition, allowed) = match step {
                Step::Act(role, action) => {
                    let teams = people.teams(role);
                    let subject = Subject {
                        user: people.id(role),
                        teams: &teams,
                        is_admin: role == Role::Admin,
                    };
                    (role, transition_of(action), may_act_on_request(&subject, &request, action))
                }
                Step::Worker(transition) => (Role::System, transition, true),
            };
            let moved = if allowed { next_status(status, transition, false).ok() } else { None };
            match moved {
                None => prop_assert_eq!(status, before, "a refused move changes nothing"),
                Some(next) => {
                    prop_assert!(!is_final(before), "{before} is final but moved to {next}");
                    prop_assert!(who != Role::Outsider, "an outsider moved the request");
                    prop_assert!(who != Role::Teammate, "a teammate (not the requester) moved it");
                    if transition == Transition::Approve {
                        prop_assert!(who != Role::Requester, "self-approval");
                        prop_assert!(
                            matches!(who, Role::Admin | Role::Owner | Role::Steward),
                            "{who:?} approved"
                        );
                        approved_by = Some(who);
                    }
                    if next == RequestStatus::Granted {
                        prop_assert!(approved_by.is_some(), "granted without an approval");
                        ever_granted = true;
                    }
                    if matches!(next, RequestStatus::Revoking | RequestStatus::Revoked | RequestStatus::Expired) {
                        prop_assert!(
                            approved_by.is_some(),
                            "revoking what was never approved"
                        );
                    }
                    if next == RequestStatus::Cancelled {
                        prop_assert!(matches!(who, Role::Requester | Role::Admin), "{who:?} cancelled");
                    }
                    status = next;
                }
            }
        }
        if ever_granted {
            prop_assert!(approved_by.is_some());
        }
        if approved_by.is_none() {
            prop_assert!(
                matches!(status, RequestStatus::Submitted | RequestStatus::Rejected | RequestStatus::Cancelled),
                "{status} without an approval"
            );
        }
    }

    /// Nobody may decide their own request, whatever teams and admin rights they hold.
    #[test]
    fn nobody_decides_their_own_request(
        in_owner_team in any::<bool>(),
        steward in any::<bool>(),
        admin in any::<bool>(),
    ) {
        let people = People::new();
        let me = people.id(Role::Requester);
        let stewards = if steward { vec![me] } else { vec![] };
        let mut teams = vec![people.consumers.clone()];
        if in_owner_team {
            teams.push(people.owners.clone());
        }
        let subject = Subject { user: me, teams: &teams, is_admin: admin };
        let request = RequestFacts {
            requester: me,
            consumer_team: &people.consumers,
            product: ProductFacts { owner_team: &people.owners, stewards: &stewards, status: ProductStatus::Published },
        };
        for action in [RequestAction::Approve, RequestAction::Reject, RequestAction::ApproveExtension] {
            prop_assert!(!may_act_on_request(&subject, &request, action), "{action:?}");
        }
    }
}
