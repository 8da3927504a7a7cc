//! Who may do what: DESIGN.md's rules as pure functions over facts a handler has loaded.
//! Every handler, page or API, asks here; nothing else decides access.

use super::{EnvironmentKind, ProductStatus, Publisher, TeamName, UserId};

/// The signed-in caller: a person, or a machine client acting with its groups.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub user: UserId,
    pub teams: &'a [TeamName],
    pub is_admin: bool,
}

impl Subject<'_> {
    pub fn in_team(&self, team: &TeamName) -> bool {
        self.teams.contains(team)
    }
}

/// What decides who may publish from an environment.
#[derive(Debug, Clone, Copy)]
pub struct EnvironmentFacts<'a> {
    pub kind: EnvironmentKind,
    pub owner_team: Option<&'a TeamName>,
    pub publishers: &'a [Publisher],
}

impl EnvironmentFacts<'_> {
    /// Whether `team` may publish from here: at all (`None`), or tables of `database`.
    /// The sandbox holds no real data, so every team may; in an AWS account, the owner
    /// team and the teams its owners named, each limited to its databases if they said so.
    fn lets_team_publish(&self, team: &TeamName, database: Option<&str>) -> bool {
        if self.kind == EnvironmentKind::Sandbox || self.owner_team == Some(team) {
            return true;
        }
        self.publishers.iter().any(|publisher| {
            &publisher.team == team
                && (publisher.databases.is_empty()
                    || database.is_none_or(|wanted| {
                        publisher
                            .databases
                            .iter()
                            .any(|allowed| allowed.eq_ignore_ascii_case(wanted))
                    }))
        })
    }
}

/// Decide which teams may publish from an environment: admins and its owner team.
pub fn may_manage_publishers(subject: &Subject, environment: &EnvironmentFacts) -> bool {
    subject.is_admin
        || environment
            .owner_team
            .is_some_and(|team| subject.in_team(team))
}

/// See an environment's Glue catalog: admins, and members of a team that may publish from
/// it; `Some(database)` asks for one database, which that team must be allowed.
pub fn may_browse_catalog(
    subject: &Subject,
    environment: &EnvironmentFacts,
    database: Option<&str>,
) -> bool {
    subject.is_admin
        || subject
            .teams
            .iter()
            .any(|team| environment.lets_team_publish(team, database))
}

/// Why a product may not hold data of an environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    #[error(
        "team {team} may not publish from this environment; its owners (or an admin) decide which teams may"
    )]
    TeamNotPublisher { team: TeamName },
    #[error(
        "team {team} may not publish tables of the Glue database {database:?} from this environment"
    )]
    DatabaseNotAllowed { team: TeamName, database: String },
}

/// A product owned by `owner_team` may live in this environment (`database: None`), or hold
/// a table of `database` from it. Admins are no exception: the owners of the data decide.
pub fn may_publish(
    environment: &EnvironmentFacts,
    owner_team: &TeamName,
    database: Option<&str>,
) -> Result<(), PublishRefusal> {
    if !environment.lets_team_publish(owner_team, None) {
        return Err(PublishRefusal::TeamNotPublisher {
            team: owner_team.clone(),
        });
    }
    match database {
        Some(database) if !environment.lets_team_publish(owner_team, Some(database)) => {
            Err(PublishRefusal::DatabaseNotAllowed {
                team: owner_team.clone(),
                database: database.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// What decides access to a product.
#[derive(Debug, Clone, Copy)]
pub struct ProductFacts<'a> {
    pub owner_team: &'a TeamName,
    pub stewards: &'a [UserId],
    pub status: ProductStatus,
}

/// What decides access to an access request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub requester: UserId,
    pub consumer_team: &'a TeamName,
    pub product: ProductFacts<'a>,
}

/// What someone may do to an access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    Approve,
    Reject,
    Cancel,
    Revoke,
    Retry,
    /// Check granted access in Lake Formation now.
    Verify,
    /// Apply granted access again, then check it.
    Reapply,
    RequestExtension,
    ApproveExtension,
}

impl RequestAction {
    /// The moves a request page offers, by the names their forms post to.
    const NAMED: [(RequestAction, &'static str); 7] = [
        (Self::Approve, "approve"),
        (Self::Reject, "reject"),
        (Self::Cancel, "cancel"),
        (Self::Revoke, "revoke"),
        (Self::Retry, "retry"),
        (Self::Verify, "verify"),
        (Self::Reapply, "reapply"),
    ];

    /// The name in `/requests/{id}/{action}`; extensions have their own routes.
    pub fn name(self) -> &'static str {
        Self::NAMED
            .iter()
            .find(|(action, _)| *action == self)
            .map_or("extension", |(_, name)| name)
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(action, _)| *action)
    }
}

/// Domains, environments, jobs and other people's tokens: the admin group only.
pub fn may_administer(subject: &Subject) -> bool {
    subject.is_admin
}

/// Register or remove a consumer principal for `team`.
pub fn may_register_principal(subject: &Subject, team: &TeamName) -> bool {
    subject.is_admin || subject.in_team(team)
}

/// Create a product owned by `owner_team`.
pub fn may_create_product(subject: &Subject, owner_team: &TeamName) -> bool {
    subject.is_admin || subject.in_team(owner_team)
}

/// Edit, publish, deprecate, sync a product, and see who has access to it.
pub fn may_manage_product(subject: &Subject, product: &ProductFacts) -> bool {
    subject.is_admin
        || subject.in_team(product.owner_team)
        || product.stewards.contains(&subject.user)
}

/// Drafts are visible to the people who manage them only; everything else to anyone signed in.
pub fn may_view_product(subject: &Subject, product: &ProductFacts) -> bool {
    product.status != ProductStatus::Draft || may_manage_product(subject, product)
}

/// Why a request for access may not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    #[error("only published products can be requested")]
    NotPublished,
    #[error("you are not a member of the team you are requesting for")]
    NotInConsumerTeam,
    #[error("that principal is not registered to the requesting team")]
    PrincipalOfAnotherTeam,
}

/// Ask for access to `product` for `consumer_team`, to be granted to a principal registered
/// to `principal_team`. Nobody can ask for a grant to a role of another team.
pub fn may_request_access(
    subject: &Subject,
    product: &ProductFacts,
    consumer_team: &TeamName,
    principal_team: &TeamName,
) -> Result<(), RequestRefusal> {
    if product.status != ProductStatus::Published {
        return Err(RequestRefusal::NotPublished);
    }
    if !subject.in_team(consumer_team) {
        return Err(RequestRefusal::NotInConsumerTeam);
    }
    if principal_team != consumer_team {
        return Err(RequestRefusal::PrincipalOfAnotherTeam);
    }
    Ok(())
}

/// See a request: its requester, their team, the product's managers, admins.
pub fn may_view_request(subject: &Subject, request: &RequestFacts) -> bool {
    subject.user == request.requester
        || subject.in_team(request.consumer_team)
        || may_manage_product(subject, &request.product)
}

/// Act on a request. Nobody approves their own request, admins included.
pub fn may_act_on_request(
    subject: &Subject,
    request: &RequestFacts,
    action: RequestAction,
) -> bool {
    let is_requester = subject.user == request.requester;
    let manages = may_manage_product(subject, &request.product);
    match action {
        RequestAction::Approve | RequestAction::Reject | RequestAction::ApproveExtension => {
            manages && !is_requester
        }
        RequestAction::Cancel | RequestAction::RequestExtension => is_requester || subject.is_admin,
        RequestAction::Revoke => is_requester || manages,
        RequestAction::Verify => may_view_request(subject, request),
        RequestAction::Retry | RequestAction::Reapply => manages,
    }
}

/// What decides who may see a grant.
#[derive(Debug, Clone, Copy)]
pub struct GrantFacts<'a> {
    /// The team the grant's principal is registered to.
    pub consumer_team: &'a TeamName,
    pub product: ProductFacts<'a>,
}

/// See a grant (and check it): admins; the product's owner team and stewards; members of
/// the team whose principal holds it. `GrantScope::VisibleTo` is the same rule in SQL.
pub fn may_view_grant(subject: &Subject, grant: &GrantFacts) -> bool {
    subject.in_team(grant.consumer_team) || may_manage_product(subject, &grant.product)
}

/// Manage a personal API token: its owner only.
pub fn may_manage_token(subject: &Subject, owner: UserId) -> bool {
    subject.user == owner
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The people in every table below.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Role {
        Admin,
        /// A member of the team that owns the AWS environment.
        Platform,
        Owner,
        Steward,
        Requester,
        Teammate,
        Outsider,
    }

    use Role::*;
    const ROLES: [Role; 7] = [
        Admin, Platform, Owner, Steward, Requester, Teammate, Outsider,
    ];

    struct World {
        ids: Vec<(Role, UserId)>,
        platform: TeamName,
        owners: TeamName,
        consumers: TeamName,
        other: TeamName,
        admins: TeamName,
        stewards: Vec<UserId>,
        /// The product owners may publish from every database; the consumers from
        /// `analytics_db` only.
        publishers: Vec<Publisher>,
    }

    impl World {
        fn new() -> Self {
            let ids: Vec<_> = ROLES.iter().map(|r| (*r, UserId::new())).collect();
            let steward = ids.iter().find(|(r, _)| *r == Steward).unwrap().1;
            let owners = TeamName::parse("sales-data").unwrap();
            let consumers = TeamName::parse("analytics").unwrap();
            let publisher = |team: &TeamName, databases: &[&str]| Publisher {
                team: team.clone(),
                databases: databases.iter().map(|d| d.to_string()).collect(),
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            };
            Self {
                ids,
                platform: TeamName::parse("data-platform").unwrap(),
                publishers: vec![
                    publisher(&owners, &[]),
                    publisher(&consumers, &["analytics_db"]),
                ],
                owners,
                consumers,
                other: TeamName::parse("marketing").unwrap(),
                admins: TeamName::parse("wharf-admins").unwrap(),
                stewards: vec![steward],
            }
        }

        fn environment(&self, kind: EnvironmentKind) -> EnvironmentFacts<'_> {
            EnvironmentFacts {
                kind,
                owner_team: Some(&self.platform),
                publishers: &self.publishers,
            }
        }

        fn id(&self, role: Role) -> UserId {
            self.ids.iter().find(|(r, _)| *r == role).unwrap().1
        }

        fn teams(&self, role: Role) -> Vec<TeamName> {
            match role {
                Admin => vec![self.admins.clone()],
                Platform => vec![self.platform.clone()],
                Owner => vec![self.owners.clone()],
                Steward => vec![self.other.clone()],
                Requester | Teammate => vec![self.consumers.clone()],
                Outsider => vec![self.other.clone()],
            }
        }

        fn product(&self, status: ProductStatus) -> ProductFacts<'_> {
            ProductFacts {
                owner_team: &self.owners,
                stewards: &self.stewards,
                status,
            }
        }

        fn request(&self) -> RequestFacts<'_> {
            RequestFacts {
                requester: self.id(Requester),
                consumer_team: &self.consumers,
                product: self.product(ProductStatus::Published),
            }
        }

        fn check(&self, role: Role, rule: impl Fn(&Subject) -> bool) -> bool {
            let teams = self.teams(role);
            rule(&Subject {
                user: self.id(role),
                teams: &teams,
                is_admin: role == Admin,
            })
        }
    }

    /// Each row: an action, and the roles allowed to do it (everyone else is refused).
    #[test]
    fn every_role_against_every_action() {
        let w = World::new();
        let draft = w.product(ProductStatus::Draft);
        let published = w.product(ProductStatus::Published);
        let request = w.request();
        let aws = w.environment(EnvironmentKind::Aws);
        let sandbox = w.environment(EnvironmentKind::Sandbox);
        type Rule<'a> = Box<dyn Fn(&Subject) -> bool + 'a>;
        let table: Vec<(&str, Rule, &[Role])> = vec![
            ("administer", Box::new(may_administer), &[Admin]),
            (
                "register principal for consumers",
                Box::new(|s| may_register_principal(s, &w.consumers)),
                &[Admin, Requester, Teammate],
            ),
            (
                "create product for owners",
                Box::new(|s| may_create_product(s, &w.owners)),
                &[Admin, Owner],
            ),
            (
                "manage product",
                Box::new(|s| may_manage_product(s, &published)),
                &[Admin, Owner, Steward],
            ),
            (
                "view draft",
                Box::new(|s| may_view_product(s, &draft)),
                &[Admin, Owner, Steward],
            ),
            (
                "view published",
                Box::new(|s| may_view_product(s, &published)),
                &ROLES,
            ),
            (
                "view request",
                Box::new(|s| may_view_request(s, &request)),
                &[Admin, Owner, Steward, Requester, Teammate],
            ),
            (
                "approve",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Approve)),
                &[Admin, Owner, Steward],
            ),
            (
                "reject",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Reject)),
                &[Admin, Owner, Steward],
            ),
            (
                "approve extension",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::ApproveExtension)),
                &[Admin, Owner, Steward],
            ),
            (
                "cancel",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Cancel)),
                &[Admin, Requester],
            ),
            (
                "request extension",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::RequestExtension)),
                &[Admin, Requester],
            ),
            (
                "revoke",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Revoke)),
                &[Admin, Owner, Steward, Requester],
            ),
            (
                "retry",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Retry)),
                &[Admin, Owner, Steward],
            ),
            (
                "verify",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Verify)),
                &[Admin, Owner, Steward, Requester, Teammate],
            ),
            (
                "reapply",
                Box::new(|s| may_act_on_request(s, &request, RequestAction::Reapply)),
                &[Admin, Owner, Steward],
            ),
            (
                "view grant",
                Box::new(|s| {
                    may_view_grant(
                        s,
                        &GrantFacts {
                            consumer_team: &w.consumers,
                            product: published,
                        },
                    )
                }),
                &[Admin, Owner, Steward, Requester, Teammate],
            ),
            (
                "manage an aws environment's publishers",
                Box::new(|s| may_manage_publishers(s, &aws)),
                &[Admin, Platform],
            ),
            (
                "browse an aws environment's Glue catalog",
                Box::new(|s| may_browse_catalog(s, &aws, None)),
                &[Admin, Platform, Owner, Requester, Teammate],
            ),
            (
                "browse a database only the product owners may publish from",
                Box::new(|s| may_browse_catalog(s, &aws, Some("finance_db"))),
                &[Admin, Platform, Owner],
            ),
            (
                "browse the database the consumers may publish from",
                Box::new(|s| may_browse_catalog(s, &aws, Some("ANALYTICS_DB"))),
                &[Admin, Platform, Owner, Requester, Teammate],
            ),
            (
                "browse the sandbox",
                Box::new(|s| may_browse_catalog(s, &sandbox, None)),
                &ROLES,
            ),
            (
                "manage own token",
                Box::new(|s| may_manage_token(s, w.id(Teammate))),
                &[Teammate],
            ),
        ];
        for (action, rule, allowed) in &table {
            for role in ROLES {
                let expected = allowed.contains(&role);
                assert_eq!(
                    w.check(role, rule),
                    expected,
                    "{role:?} {action}: expected {expected}"
                );
            }
        }
    }

    #[test]
    fn nobody_approves_their_own_request_not_even_an_admin() {
        let w = World::new();
        let admin = w.id(Admin);
        let teams = w.teams(Admin);
        let subject = Subject {
            user: admin,
            teams: &teams,
            is_admin: true,
        };
        let own = RequestFacts {
            requester: admin,
            ..w.request()
        };
        assert!(!may_act_on_request(&subject, &own, RequestAction::Approve));
        assert!(may_act_on_request(&subject, &own, RequestAction::Cancel));
    }

    #[test]
    fn access_is_requested_only_for_your_team_and_its_principals() {
        let w = World::new();
        let published = w.product(ProductStatus::Published);
        let teams = w.teams(Requester);
        let s = Subject {
            user: w.id(Requester),
            teams: &teams,
            is_admin: false,
        };
        assert_eq!(
            may_request_access(&s, &published, &w.consumers, &w.consumers),
            Ok(())
        );
        assert_eq!(
            may_request_access(&s, &published, &w.consumers, &w.other),
            Err(RequestRefusal::PrincipalOfAnotherTeam)
        );
        assert_eq!(
            may_request_access(&s, &published, &w.other, &w.other),
            Err(RequestRefusal::NotInConsumerTeam)
        );
        for status in [ProductStatus::Draft, ProductStatus::Deprecated] {
            assert_eq!(
                may_request_access(&s, &w.product(status), &w.consumers, &w.consumers),
                Err(RequestRefusal::NotPublished)
            );
        }
        // Admins are no exception: a grant goes to the requesting team's principal only.
        let admin_teams = w.teams(Admin);
        let admin = Subject {
            user: w.id(Admin),
            teams: &admin_teams,
            is_admin: true,
        };
        assert_eq!(
            may_request_access(&admin, &published, &w.consumers, &w.consumers),
            Err(RequestRefusal::NotInConsumerTeam)
        );
    }

    #[test]
    fn products_hold_data_only_from_environments_their_team_may_publish_from() {
        let w = World::new();
        let aws = w.environment(EnvironmentKind::Aws);
        assert_eq!(may_publish(&aws, &w.owners, None), Ok(()));
        assert_eq!(may_publish(&aws, &w.owners, Some("finance_db")), Ok(()));
        assert_eq!(may_publish(&aws, &w.platform, Some("finance_db")), Ok(()));
        assert_eq!(
            may_publish(&aws, &w.consumers, Some("analytics_db")),
            Ok(())
        );
        assert_eq!(
            may_publish(&aws, &w.consumers, Some("finance_db")),
            Err(PublishRefusal::DatabaseNotAllowed {
                team: w.consumers.clone(),
                database: "finance_db".into()
            })
        );
        // Being an admin does not make the admins' team a publisher.
        for team in [&w.other, &w.admins] {
            assert_eq!(
                may_publish(&aws, team, None),
                Err(PublishRefusal::TeamNotPublisher { team: team.clone() })
            );
        }
        let sandbox = w.environment(EnvironmentKind::Sandbox);
        assert_eq!(may_publish(&sandbox, &w.other, Some("anything")), Ok(()));
        let unowned = EnvironmentFacts {
            kind: EnvironmentKind::Aws,
            owner_team: None,
            publishers: &[],
        };
        assert!(may_publish(&unowned, &w.owners, None).is_err());
    }
}
