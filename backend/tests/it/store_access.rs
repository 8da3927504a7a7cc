//! Access stories on SQLite and PostgreSQL: grants (who holds what, visibility, pages),
//! extensions (one pending, approval moves the end date, events in the same transaction),
//! and the audit export's visibility.

use crate::common::stories;
use wharf::domain::access::{AccessRequest, NewAccessRequest, Transition};
use wharf::domain::extensions::{ExtensionStatus, NewExtension};
use wharf::domain::grants::GrantScope;
use wharf::domain::*;
use wharf::store::{AuditFilter, GrantFilter, GrantRecord, ItemOutcome, Store, StoreError, now};

stories!(
    store, world = World:
    grants_answer_who_holds_what_and_why,
    grants_are_listed_only_to_those_who_may_see_them,
    extensions_move_the_end_date_once_approved,
    audit_export_shows_others_only_what_they_may_see,
);

fn team(name: &str) -> TeamName {
    TeamName::parse(name).unwrap()
}

struct World {
    owner: User,
    analyst: User,
    outsider: User,
    product: Product,
    assets: Vec<Asset>,
    principal: ConsumerPrincipal,
}

async fn user(store: &dyn Store, subject: &str, teams: &[&str]) -> User {
    let teams: Vec<TeamName> = teams.iter().map(|t| team(t)).collect();
    store
        .sign_in_user(
            &UserClaims {
                subject: subject.into(),
                email: None,
                name: subject.into(),
            },
            &teams,
        )
        .await
        .unwrap()
}

impl World {
    /// A sandbox product of sales-data with three tables, and a role of analytics.
    async fn seed(store: &dyn Store) -> Self {
        let sandbox = store.ensure_sandbox_environment().await.unwrap();
        store
            .create_domain(
                Actor::System,
                &NewDomain {
                    slug: Slug::parse("sales").unwrap(),
                    name: "Sales".into(),
                    description: String::new(),
                },
            )
            .await
            .unwrap();
        let owner = user(store, "owner", &["sales-data"]).await;
        let analyst = user(store, "analyst", &["analytics"]).await;
        let outsider = user(store, "outsider", &["marketing"]).await;
        let fields = ProductFields {
            name: "Orders".into(),
            description: String::new(),
            domain: Slug::parse("sales").unwrap(),
            owner_team: team("sales-data"),
            environment: Slug::parse("sandbox").unwrap(),
            classification: Classification::Internal,
            tags: vec![],
            steward_emails: vec![],
            auto_approve: false,
            max_access_days: 90,
        };
        let product = store
            .create_product(Actor::System, &Slug::parse("orders").unwrap(), &fields)
            .await
            .unwrap();
        let mut assets = Vec::new();
        for name in ["orders", "returns", "refunds"] {
            let table = TableDefinition {
                database: "sales".into(),
                table: name.into(),
                description: String::new(),
                location: None,
                columns: vec![Column {
                    name: "id".into(),
                    data_type: "bigint".into(),
                    description: String::new(),
                    is_pii: false,
                    is_partition_key: false,
                }],
                parameters: serde_json::json!({}),
            };
            assets.push(
                store
                    .put_asset(Actor::System, &product, &table)
                    .await
                    .unwrap(),
            );
        }
        let product = store
            .set_product_status(Actor::System, product.id, ProductStatus::Published)
            .await
            .unwrap();
        let arn = PrincipalArn::parse("arn:aws:iam::111122223333:role/bi").unwrap();
        let principal = store
            .register_principal(Actor::System, sandbox.id, &team("analytics"), &arn, "")
            .await
            .unwrap();
        Self {
            owner,
            analyst,
            outsider,
            product,
            assets,
            principal,
        }
    }

    /// A request for `tables` (indexes into the assets), approved by the owner and granted.
    async fn granted(&self, store: &dyn Store, tables: &[usize]) -> AccessRequest {
        let request = store
            .create_request(
                &NewAccessRequest {
                    product_id: self.product.id,
                    requester: self.analyst.id,
                    consumer_team: team("analytics"),
                    principal_id: self.principal.id,
                    items: tables.iter().map(|i| (self.assets[*i].id, None)).collect(),
                    justification: "dashboards for the board".into(),
                    requested_until: now() + time::Duration::days(10),
                    idempotency_key: None,
                },
                false,
                &wharf::grants::jobs::grant_job(RequestId::new()),
            )
            .await
            .unwrap();
        store
            .transition_request(
                Actor::User(self.owner.id),
                request.id,
                RequestStatus::Submitted,
                Transition::Approve,
                "fine",
                None,
            )
            .await
            .unwrap();
        let outcomes: Vec<ItemOutcome> = request
            .items
            .iter()
            .map(|item| ItemOutcome {
                item: item.id,
                status: RequestStatus::Granted,
                error: None,
                grant: Some(GrantRecord {
                    principal_arn: self.principal.arn.to_string(),
                    resource: serde_json::json!({"database": item.database, "table": item.table}),
                    permissions: vec!["SELECT".into(), "DESCRIBE".into()],
                    driver: "sandbox".into(),
                }),
            })
            .collect();
        store
            .record_item_outcomes(request.id, &outcomes, Some(EventType::AccessGranted))
            .await
            .unwrap()
    }
}

fn all_grants() -> GrantFilter {
    GrantFilter {
        scope: GrantScope::All,
        principal_arn: None,
        product: None,
        team: None,
        include_removed: false,
        after: None,
        limit: 100,
    }
}

async fn grants_answer_who_holds_what_and_why(store: &dyn Store, w: &World) {
    let first = w.granted(store, &[0, 1]).await;
    let second = w.granted(store, &[2]).await;
    let grants = store.list_grants(&all_grants()).await.unwrap();
    assert_eq!(grants.len(), 3);
    let refunds = &grants[0];
    assert_eq!(refunds.table_name(), "sales.refunds", "newest first");
    assert_eq!(refunds.request_id, second.id);
    assert_eq!(refunds.principal_arn, "arn:aws:iam::111122223333:role/bi");
    assert_eq!(refunds.consumer_team, team("analytics"));
    assert_eq!(refunds.product_slug, "orders");
    assert_eq!(refunds.requester.id, w.analyst.id);
    assert_eq!(refunds.approver.as_ref().map(|a| a.id), Some(w.owner.id));
    assert_eq!(refunds.permissions, vec!["SELECT", "DESCRIBE"]);
    assert_eq!(refunds.health, "healthy");
    assert!(refunds.last_verified_at.is_some());
    assert!(
        grants[1..].iter().all(|g| g.request_id == first.id),
        "{grants:?}"
    );

    // Pages follow one another without gaps or repeats.
    let page = |after| GrantFilter {
        after,
        limit: 2,
        ..all_grants()
    };
    let one = store.list_grants(&page(None)).await.unwrap();
    let two = store
        .list_grants(&page(Some(one.last().unwrap().id)))
        .await
        .unwrap();
    let ids: Vec<_> = one.iter().chain(&two).map(|g| g.id).collect();
    assert_eq!(ids, grants.iter().map(|g| g.id).collect::<Vec<_>>());

    // Filters.
    let by = |f: GrantFilter| async move { store.list_grants(&f).await.unwrap().len() };
    assert_eq!(
        by(GrantFilter {
            principal_arn: Some("arn:aws:iam::111122223333:role/bi".into()),
            ..all_grants()
        })
        .await,
        3
    );
    assert_eq!(
        by(GrantFilter {
            principal_arn: Some("arn:aws:iam::111122223333:role/other".into()),
            ..all_grants()
        })
        .await,
        0
    );
    assert_eq!(
        by(GrantFilter {
            product: Some("nope".into()),
            ..all_grants()
        })
        .await,
        0
    );
    assert_eq!(
        by(GrantFilter {
            team: Some(team("marketing")),
            ..all_grants()
        })
        .await,
        0
    );
    assert_eq!(store.grant_by_id(refunds.id).await.unwrap(), *refunds);
    assert!(matches!(
        store.grant_by_id(uuid::Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));

    // A revoked grant leaves the default list but stays on record.
    store
        .transition_request(
            Actor::User(w.analyst.id),
            second.id,
            RequestStatus::Granted,
            Transition::Revoke,
            "",
            None,
        )
        .await
        .unwrap();
    let revoked: Vec<ItemOutcome> = second
        .items
        .iter()
        .map(|i| ItemOutcome {
            item: i.id,
            status: RequestStatus::Revoked,
            error: None,
            grant: None,
        })
        .collect();
    store
        .record_item_outcomes(second.id, &revoked, Some(EventType::AccessRevoked))
        .await
        .unwrap();
    assert_eq!(by(all_grants()).await, 2);
    let everything = store
        .list_grants(&GrantFilter {
            include_removed: true,
            ..all_grants()
        })
        .await
        .unwrap();
    assert_eq!(everything.len(), 3);
    assert_eq!(everything[0].state, "revoked");
}

async fn grants_are_listed_only_to_those_who_may_see_them(store: &dyn Store, w: &World) {
    w.granted(store, &[0]).await;
    let visible_to = |teams: &[&str], user: &User| GrantFilter {
        scope: GrantScope::VisibleTo {
            teams: teams.iter().map(|t| team(t)).collect(),
            user: user.id,
        },
        ..all_grants()
    };
    let count = |f: GrantFilter| async move { store.list_grants(&f).await.unwrap().len() };
    assert_eq!(
        count(visible_to(&["sales-data"], &w.owner)).await,
        1,
        "owner team"
    );
    assert_eq!(
        count(visible_to(&["analytics"], &w.analyst)).await,
        1,
        "the principal's team"
    );
    assert_eq!(
        count(visible_to(&["marketing"], &w.outsider)).await,
        0,
        "others"
    );
    // A steward sees the grants of the product they steward.
    let mut fields = ProductFields {
        name: w.product.name.clone(),
        description: String::new(),
        domain: Slug::parse("sales").unwrap(),
        owner_team: team("sales-data"),
        environment: Slug::parse("sandbox").unwrap(),
        classification: Classification::Internal,
        tags: vec![],
        steward_emails: vec![],
        auto_approve: false,
        max_access_days: 90,
    };
    let steward = store
        .sign_in_user(
            &UserClaims {
                subject: "steward".into(),
                email: Some("steward@example.com".into()),
                name: "Steward".into(),
            },
            &[team("finance")],
        )
        .await
        .unwrap();
    assert_eq!(count(visible_to(&["finance"], &steward)).await, 0);
    fields.steward_emails = vec!["steward@example.com".into()];
    store
        .update_product(Actor::System, w.product.id, None, &fields)
        .await
        .unwrap();
    assert_eq!(
        count(visible_to(&["finance"], &steward)).await,
        1,
        "steward"
    );
}

async fn extensions_move_the_end_date_once_approved(store: &dyn Store, w: &World) {
    let request = w.granted(store, &[0]).await;
    let later = request.requested_until + time::Duration::days(20);
    let ask = NewExtension {
        until: later,
        reason: "the project runs longer".into(),
    };
    let events_before = store.latest_event_seq().await.unwrap();
    let pending = store
        .request_extension(Actor::User(w.analyst.id), request.id, &ask)
        .await
        .unwrap();
    assert_eq!(pending.status, ExtensionStatus::Pending);
    assert_eq!(pending.previous_until, request.requested_until);
    assert!(
        matches!(
            store
                .request_extension(Actor::User(w.analyst.id), request.id, &ask)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one pending extension at a time"
    );

    let rejected = store
        .decide_extension(
            Actor::User(w.owner.id),
            request.id,
            pending.id,
            false,
            "not now",
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, ExtensionStatus::Rejected);
    assert_eq!(rejected.decided_by.as_ref().map(|p| p.id), Some(w.owner.id));
    assert_eq!(
        store
            .access_request(request.id)
            .await
            .unwrap()
            .requested_until,
        request.requested_until,
        "a rejection changes nothing"
    );
    assert!(
        matches!(
            store
                .decide_extension(Actor::User(w.owner.id), request.id, pending.id, true, "")
                .await,
            Err(StoreError::Conflict(_))
        ),
        "decided once"
    );

    let again = store
        .request_extension(Actor::User(w.analyst.id), request.id, &ask)
        .await
        .unwrap();
    let approved = store
        .decide_extension(Actor::User(w.owner.id), request.id, again.id, true, "ok")
        .await
        .unwrap();
    assert_eq!(approved.status, ExtensionStatus::Approved);
    let moved = store.access_request(request.id).await.unwrap();
    assert_eq!(moved.requested_until, later);
    assert_eq!(moved.status, RequestStatus::Granted);
    let history = store.extensions_of(request.id).await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![ExtensionStatus::Rejected, ExtensionStatus::Approved]
    );
    let events: Vec<String> = store
        .events_after(events_before, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        events,
        vec![
            "wharf.access.extension_requested",
            "wharf.access.extension_rejected",
            "wharf.access.extension_requested",
            "wharf.access.extended",
        ]
    );
    let actions: Vec<String> = store
        .audit_for("access_request", &request.id.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.contains("exten"))
        .collect();
    assert_eq!(
        actions,
        vec![
            "request.extension_requested",
            "request.extension_rejected",
            "request.extension_requested",
            "request.extended",
        ]
    );
    assert!(
        moved.decisions.iter().any(|d| d.decision == "extended"),
        "the request's history shows it"
    );

    // Access that is no longer held cannot be extended.
    store
        .transition_request(
            Actor::User(w.analyst.id),
            request.id,
            RequestStatus::Granted,
            Transition::Revoke,
            "",
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .request_extension(Actor::User(w.analyst.id), request.id, &ask)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

async fn audit_export_shows_others_only_what_they_may_see(store: &dyn Store, w: &World) {
    let request = w.granted(store, &[0]).await;
    let filter = |visible_to: Option<(Vec<TeamName>, UserId)>| AuditFilter {
        visible_to,
        target_type: None,
        target_id: None,
        actor: None,
        since: None,
        after: None,
        limit: 1000,
    };
    let everything = store.list_audit(&filter(None)).await.unwrap();
    assert!(everything.iter().any(|e| e.target_type == "domain"));
    assert!(everything.iter().any(|e| e.target_type == "principal"));
    let about_request = |entries: &[AuditEntry]| {
        entries
            .iter()
            .filter(|e| e.target_id == request.id.to_string())
            .count()
    };
    assert!(
        about_request(&everything) >= 3,
        "submitted, approved, worker result"
    );

    let analyst = store
        .list_audit(&filter(Some((vec![team("analytics")], w.analyst.id))))
        .await
        .unwrap();
    assert_eq!(about_request(&analyst), about_request(&everything));
    assert!(
        analyst
            .iter()
            .all(|e| e.target_type == "access_request" || e.target_type == "product"),
        "no environments, principals or domains for non-admins"
    );
    let outsider = store
        .list_audit(&filter(Some((vec![team("marketing")], w.outsider.id))))
        .await
        .unwrap();
    assert_eq!(about_request(&outsider), 0, "someone else's request");
    assert!(
        outsider.iter().all(|e| e.target_type == "product"),
        "a published product's history is public: {outsider:?}"
    );

    // Filters and pages, oldest first.
    let mine = store
        .list_audit(&AuditFilter {
            actor: Some(w.owner.id),
            ..filter(None)
        })
        .await
        .unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|e| e.actor_id == Some(w.owner.id)));
    let first = store
        .list_audit(&AuditFilter {
            limit: 2,
            ..filter(None)
        })
        .await
        .unwrap();
    let next = store
        .list_audit(&AuditFilter {
            limit: 2,
            after: Some(first[1].id),
            ..filter(None)
        })
        .await
        .unwrap();
    assert_eq!(
        first.iter().chain(&next).map(|e| e.id).collect::<Vec<_>>(),
        everything[..4].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    let future = store
        .list_audit(&AuditFilter {
            since: Some(now() + time::Duration::hours(1)),
            ..filter(None)
        })
        .await
        .unwrap();
    assert!(future.is_empty());
    let only = store
        .list_audit(&AuditFilter {
            target_type: Some("access_request".into()),
            target_id: Some(request.id.to_string()),
            ..filter(None)
        })
        .await
        .unwrap();
    assert_eq!(only.len(), about_request(&everything));
}
