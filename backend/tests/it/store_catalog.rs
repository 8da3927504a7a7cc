//! Catalog stories (environments, principals, products, tables, re-sync) on SQLite and PostgreSQL.

use crate::common::stories;
use wharf::domain::*;
use wharf::store::{ResyncOutcome, Store, StoreError};

stories!(
    store, seed = seed:
    environments_and_principals,
    environment_publishers_are_set_narrowed_and_removed,
    products_are_created_edited_and_published,
    stale_edits_and_bad_references_change_nothing,
    tables_are_put_and_resynced_with_history,
    twenty_concurrent_approvals_make_one_job,
);

async fn seed(store: &dyn Store) {
    store.ensure_sandbox_environment().await.unwrap();
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
}

fn team(name: &str) -> TeamName {
    TeamName::parse(name).unwrap()
}

fn fields(name: &str) -> ProductFields {
    ProductFields {
        name: name.into(),
        description: "Daily **orders**".into(),
        domain: Slug::parse("sales").unwrap(),
        owner_team: team("sales-data"),
        environment: Slug::parse("sandbox").unwrap(),
        classification: Classification::Internal,
        tags: vec!["orders".into(), "gold".into()],
        steward_emails: vec![],
        auto_approve: false,
        max_access_days: 90,
    }
}

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        data_type: data_type.into(),
        description: String::new(),
        is_pii: false,
        is_partition_key: false,
    }
}

fn table(name: &str, columns: Vec<Column>) -> TableDefinition {
    TableDefinition {
        database: "sales_curated".into(),
        table: name.into(),
        description: "rows".into(),
        location: Some("s3://lake/orders/".into()),
        parameters: serde_json::json!({"classification": "parquet"}),
        columns,
    }
}

async fn environment_publishers_are_set_narrowed_and_removed(store: &dyn Store) {
    let env = store
        .create_environment(
            Actor::System,
            &NewEnvironment {
                slug: Slug::parse("lake").unwrap(),
                name: "Lake".into(),
                kind: EnvironmentKind::Aws,
                aws_account_id: Some(AwsAccountId::parse("123456789012").unwrap()),
                aws_region: Some("eu-west-1".into()),
                aws_role_arn: None,
                endpoint_url: None,
                owner_team: Some(team("platform")),
            },
        )
        .await
        .unwrap();
    assert_eq!(env.owner_team, Some(team("platform")));
    assert!(store.list_publishers(env.id).await.unwrap().is_empty());
    let databases = vec!["analytics_db".to_owned(), "web_db".to_owned()];
    let set = store
        .set_publisher(Actor::System, &env, &team("analytics"), &databases)
        .await
        .unwrap();
    assert_eq!(
        (set.team.clone(), set.databases.clone()),
        (team("analytics"), databases)
    );
    store
        .set_publisher(Actor::System, &env, &team("sales-data"), &[])
        .await
        .unwrap();
    // Setting again replaces the databases: one row per team.
    store
        .set_publisher(
            Actor::System,
            &env,
            &team("analytics"),
            &["web_db".to_owned()],
        )
        .await
        .unwrap();
    let listed = store.list_publishers(env.id).await.unwrap();
    let listed: Vec<_> = listed
        .iter()
        .map(|p| (p.team.as_str(), p.databases.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("analytics", vec!["web_db".to_owned()]),
            ("sales-data", vec![])
        ]
    );
    store
        .remove_publisher(Actor::System, &env, &team("analytics"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_publisher(Actor::System, &env, &team("analytics"))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_publishers(env.id).await.unwrap().len(), 1);
    let events = store.events_after(0, 100).await.unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| t.starts_with("wharf.environment.publisher"))
            .count(),
        4,
        "{types:?}"
    );
}

async fn environments_and_principals(store: &dyn Store) {
    let env = store
        .create_environment(
            Actor::System,
            &NewEnvironment {
                slug: Slug::parse("prod").unwrap(),
                name: "Production".into(),
                kind: EnvironmentKind::Aws,
                aws_account_id: Some(AwsAccountId::parse("123456789012").unwrap()),
                aws_region: Some("eu-west-1".into()),
                aws_role_arn: None,
                endpoint_url: Some("http://127.0.0.1:5000".into()),
                owner_team: Some(team("platform")),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.environment_by_slug(&env.slug).await.unwrap(), env);
    let target = env.aws_target().unwrap();
    assert_eq!(
        (target.account_id.as_str(), target.region.as_str()),
        ("123456789012", "eu-west-1")
    );

    let arn = PrincipalArn::parse("arn:aws:iam::123456789012:role/analytics").unwrap();
    let p = store
        .register_principal(Actor::System, env.id, &team("analytics"), &arn, "BI")
        .await
        .unwrap();
    assert_eq!(store.principal(p.id).await.unwrap(), p);
    let again = store
        .register_principal(Actor::System, env.id, &team("other"), &arn, "")
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::Conflict(_)),
        "an ARN is registered to one team per environment"
    );
    assert_eq!(store.list_principals(env.id, None).await.unwrap().len(), 1);
    assert!(
        store
            .list_principals(env.id, Some(&[team("finance")]))
            .await
            .unwrap()
            .is_empty()
    );
    store.remove_principal(Actor::System, p.id).await.unwrap();
    assert!(
        store
            .list_principals(env.id, None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn products_are_created_edited_and_published(store: &dyn Store) {
    let steward = store
        .sign_in_user(
            &UserClaims {
                subject: "s".into(),
                email: Some("Sofia@Example.com".into()),
                name: "Sofia".into(),
            },
            &[],
        )
        .await
        .unwrap();
    let mut f = fields("Orders");
    f.steward_emails = vec!["sofia@example.com".into()];
    let product = store
        .create_product(Actor::System, &Slug::parse("orders").unwrap(), &f)
        .await
        .unwrap();
    assert_eq!(product.status, ProductStatus::Draft);
    assert_eq!(
        product.tags,
        vec!["gold", "orders"],
        "tags come back in order"
    );
    assert_eq!(product.stewards[0].id, steward.id);
    assert_eq!(product.domain_name, "Sales");
    assert_eq!(product.environment_kind, EnvironmentKind::Sandbox);

    let mut edited = fields("Orders (daily)");
    edited.tags = vec!["silver".into()];
    let updated = store
        .update_product(Actor::System, product.id, Some(product.version), &edited)
        .await
        .unwrap();
    assert_eq!(updated.version, product.version + 1);
    assert_eq!(updated.tags, vec!["silver"]);
    assert!(updated.stewards.is_empty());

    let published = store
        .set_product_status(Actor::System, product.id, ProductStatus::Published)
        .await
        .unwrap();
    assert_eq!(published.status, ProductStatus::Published);
    assert_eq!(
        store.product_by_slug(&product.slug).await.unwrap(),
        published
    );
    assert_eq!(
        store.list_products().await.unwrap(),
        vec![published.clone()]
    );

    let events: Vec<_> = store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == "products/orders")
        .collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "wharf.product.created",
            "wharf.product.updated",
            "wharf.product.published"
        ]
    );
    let audit = store
        .audit_for("product", &product.id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
}

async fn stale_edits_and_bad_references_change_nothing(store: &dyn Store) {
    let product = store
        .create_product(
            Actor::System,
            &Slug::parse("orders").unwrap(),
            &fields("Orders"),
        )
        .await
        .unwrap();
    let stale = store
        .update_product(
            Actor::System,
            product.id,
            Some(product.version - 1),
            &fields("X"),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::StaleVersion)));

    let clash = store
        .create_product(Actor::System, &product.slug, &fields("Orders again"))
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))));

    let mut unknown_domain = fields("Y");
    unknown_domain.domain = Slug::parse("nowhere").unwrap();
    let err = store
        .create_product(Actor::System, &Slug::parse("yy").unwrap(), &unknown_domain)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref i) if i.field == "domain"),
        "{err:?}"
    );

    let mut unknown_steward = fields("Z");
    unknown_steward.steward_emails = vec!["ghost@example.com".into()];
    let err = store
        .create_product(Actor::System, &Slug::parse("zz").unwrap(), &unknown_steward)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref i) if i.field == "stewards"),
        "{err:?}"
    );

    assert_eq!(
        store.list_products().await.unwrap().len(),
        1,
        "nothing half-written"
    );
    assert_eq!(
        store.product_by_id(product.id).await.unwrap(),
        product,
        "the stale edit changed nothing"
    );
}

async fn tables_are_put_and_resynced_with_history(store: &dyn Store) {
    let product = store
        .create_product(
            Actor::System,
            &Slug::parse("orders").unwrap(),
            &fields("Orders"),
        )
        .await
        .unwrap();
    let orders = store
        .put_asset(
            Actor::System,
            &product,
            &table(
                "orders",
                vec![column("id", "bigint"), column("amount", "int")],
            ),
        )
        .await
        .unwrap();
    let returns = store
        .put_asset(
            Actor::System,
            &product,
            &table("returns", vec![column("id", "bigint")]),
        )
        .await
        .unwrap();
    assert_eq!(orders.columns.len(), 2);
    assert_eq!(orders.location.as_deref(), Some("s3://lake/orders/"));
    assert_eq!(orders.parameters["classification"], "parquet");

    let new_columns = vec![
        column("id", "bigint"),
        column("amount", "decimal(10,2)"),
        column("currency", "string"),
    ];
    let changes = diff_columns("sales_curated.orders", &orders.columns, &new_columns);
    let definition = table("orders", new_columns);
    store
        .record_resync(
            Actor::System,
            &product,
            orders.id,
            &ResyncOutcome::Present {
                definition,
                changes,
                refreshed: true,
            },
        )
        .await
        .unwrap();
    store
        .record_resync(Actor::System, &product, returns.id, &ResyncOutcome::Removed)
        .await
        .unwrap();

    let assets = store.assets_of(&[product.id]).await.unwrap();
    let orders_now = assets.iter().find(|a| a.table == "orders").unwrap();
    assert_eq!(orders_now.columns.len(), 3);
    assert_eq!(orders_now.columns[1].data_type, "decimal(10,2)");
    assert!(
        assets
            .iter()
            .find(|a| a.table == "returns")
            .unwrap()
            .removed_at
            .is_some()
    );

    let history = store.schema_history(product.id).await.unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().any(|h| matches!(&h.change, SchemaChange::TableRemoved { table } if table == "sales_curated.returns")));
    let changed: Vec<_> = store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "wharf.product.schema_changed")
        .collect();
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0].data["changes"].as_array().unwrap().len(), 2);

    // Same schema, new location: not history, but an event; the same again: nothing.
    let mut moved = table("orders", orders_now.columns.clone());
    moved.location = Some("s3://lake/orders-v2/".into());
    let seq = store.latest_event_seq().await.unwrap();
    for refreshed in [true, false] {
        let outcome = ResyncOutcome::Present {
            definition: moved.clone(),
            changes: vec![],
            refreshed,
        };
        store
            .record_resync(Actor::System, &product, orders.id, &outcome)
            .await
            .unwrap();
    }
    let after: Vec<_> = store.events_after(seq, 100).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].event_type, "wharf.product.assets_changed");
    assert_eq!(after[0].data["table"], "sales_curated.orders");
    assert_eq!(store.schema_history(product.id).await.unwrap().len(), 3);
    let assets = store.assets_of(&[product.id]).await.unwrap();
    let orders_moved = assets.iter().find(|a| a.table == "orders").unwrap();
    assert!(orders_moved.is_defined_by(&moved));
}

async fn twenty_concurrent_approvals_make_one_job(store: &dyn Store) {
    use wharf::domain::access::{NewAccessRequest, Transition};
    let owner = store
        .sign_in_user(
            &UserClaims {
                subject: "o".into(),
                email: None,
                name: "Owner".into(),
            },
            &[team("sales-data")],
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
            &fields("Orders"),
        )
        .await
        .unwrap();
    let asset = store
        .put_asset(
            Actor::System,
            &product,
            &table("orders", vec![column("id", "bigint")]),
        )
        .await
        .unwrap();
    let sandbox = store.ensure_sandbox_environment().await.unwrap();
    let arn = PrincipalArn::parse("arn:aws:iam::111122223333:role/bi").unwrap();
    let principal = store
        .register_principal(Actor::System, sandbox.id, &team("analytics"), &arn, "")
        .await
        .unwrap();
    let job = |id| wharf::grants::jobs::grant_job(id);
    let request = store
        .create_request(
            &NewAccessRequest {
                product_id: product.id,
                requester: analyst.id,
                consumer_team: team("analytics"),
                principal_id: principal.id,
                items: vec![(asset.id, None)],
                justification: "dashboards".into(),
                requested_until: wharf::store::now() + time::Duration::days(10),
                idempotency_key: None,
            },
            false,
            &job(RequestId::new()),
        )
        .await
        .unwrap();
    let before = store.job_queue_depth().await.unwrap();
    let grant = job(request.id);
    let approvals = (0..20).map(|_| {
        store.transition_request(
            Actor::User(owner.id),
            request.id,
            RequestStatus::Submitted,
            Transition::Approve,
            "",
            Some(&grant),
        )
    });
    let results = futures_join_all(approvals).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!((won, conflicts), (1, 19), "{results:?}");
    assert_eq!(
        store.job_queue_depth().await.unwrap(),
        before + 1,
        "exactly one grant job"
    );
    assert_eq!(
        store.access_request(request.id).await.unwrap().status,
        RequestStatus::Granting
    );
}

/// Poll every future together (they contend for the database, like concurrent HTTP requests).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => outputs[i] = Some(output),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}
