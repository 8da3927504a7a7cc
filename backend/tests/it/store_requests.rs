//! Listing access requests a page at a time, and finding one by its idempotency key, on
//! SQLite and PostgreSQL.

use crate::common::stories;
use wharf::domain::access::NewAccessRequest;
use wharf::domain::*;
use wharf::store::{RequestFilter, Store};

stories!(store: requests_page_newest_first);

fn team(name: &str) -> TeamName {
    TeamName::parse(name).unwrap()
}

async fn requests_page_newest_first(store: &dyn Store) {
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
    let analyst = store
        .sign_in_user(
            &UserClaims {
                subject: "a".into(),
                email: None,
                name: "Ana".into(),
            },
            &[team("analytics")],
        )
        .await
        .unwrap();
    let product = store
        .create_product(
            Actor::System,
            &Slug::parse("orders").unwrap(),
            &ProductFields {
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
            },
        )
        .await
        .unwrap();
    let asset = store
        .put_asset(
            Actor::System,
            &product,
            &TableDefinition {
                database: "sales".into(),
                table: "orders".into(),
                description: String::new(),
                location: None,
                parameters: serde_json::json!({}),
                columns: vec![Column {
                    name: "id".into(),
                    data_type: "bigint".into(),
                    description: String::new(),
                    is_pii: false,
                    is_partition_key: false,
                }],
            },
        )
        .await
        .unwrap();
    let arn = PrincipalArn::parse("arn:aws:iam::111122223333:role/bi").unwrap();
    let principal = store
        .register_principal(Actor::System, sandbox.id, &team("analytics"), &arn, "")
        .await
        .unwrap();
    let mut created = Vec::new();
    for n in 0..5 {
        let request = store
            .create_request(
                &NewAccessRequest {
                    product_id: product.id,
                    requester: analyst.id,
                    consumer_team: team("analytics"),
                    principal_id: principal.id,
                    items: vec![(asset.id, None)],
                    justification: format!("dashboard {n}"),
                    requested_until: wharf::store::now() + time::Duration::days(10),
                    idempotency_key: Some(format!("key-{n}")),
                },
                false,
                &wharf::grants::jobs::grant_job(RequestId::new()),
            )
            .await
            .unwrap();
        created.push(request.id);
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_requests(&RequestFilter {
                requester: Some(analyst.id),
                before,
                limit: Some(2),
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some((last.created_at, last.id));
        seen.extend(page.iter().map(|r| r.id));
        assert!(seen.len() <= 5, "{seen:?}");
    }
    assert_eq!(seen, created, "newest first, each once");

    let found = store
        .request_by_idempotency_key(analyst.id, "key-3")
        .await
        .unwrap()
        .expect("found by key");
    assert_eq!(found.justification, "dashboard 3");
    assert!(
        store
            .request_by_idempotency_key(analyst.id, "key-9")
            .await
            .unwrap()
            .is_none()
    );
}
