//! The access journey against Lake Formation (moto on loopback), checked in what Lake
//! Formation holds afterwards: request, approve, granted; revoke, gone.

use std::time::{Duration, Instant};

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::{Value, json};
use wharf_e2e::moto::Moto;
use wharf_e2e::{Backend, TestDatabase, Wharf, both_databases};

const ANALYTICS_ROLE: &str = "arn:aws:iam::123456789012:role/analytics";

async fn glue_tables(moto: &Moto) {
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("sales").build().unwrap())
        .send()
        .await
        .unwrap();
    for (name, columns) in [
        ("orders", vec!["order_id", "amount"]),
        ("customers", vec!["customer_id", "email", "country"]),
    ] {
        let columns = columns
            .into_iter()
            .map(|c| Column::builder().name(c).r#type("string").build().unwrap())
            .collect();
        let table = TableInput::builder()
            .name(name)
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .build(),
            )
            .build()
            .unwrap();
        glue.create_table()
            .database_name("sales")
            .table_input(table)
            .send()
            .await
            .unwrap();
    }
}

/// Wait until the request reaches `status` (the page and API would show it changing live).
async fn wait_for(wharf: &Wharf, token: &str, id: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let request: Value = wharf
            .api("GET", &format!("/api/v1/access-requests/{id}"), token, None)
            .await
            .json()
            .await
            .unwrap();
        if request["status"] == status {
            return request;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still {} after 20 s: {request}",
            request["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_databases!(a_request_is_granted_in_lake_formation_and_revoked_again);

async fn a_request_is_granted_in_lake_formation_and_revoked_again(backend: Backend) {
    let moto = Moto::start().await;
    glue_tables(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(backend).await;
    let mut env = db.env();
    env.push(("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()));
    let wharf = Wharf::start(dir.path(), &[], &env).await;
    let (root, omar, ana) = (
        wharf.api_token("root").await,
        wharf.api_token("omar").await,
        wharf.api_token("ana").await,
    );

    assert_eq!(
        wharf
            .api(
                "POST",
                "/api/v1/domains",
                &root,
                Some(json!({"name": "Sales"}))
            )
            .await
            .status(),
        201
    );
    let env = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "us-east-1",
        "owner_team": "sales-data"});
    assert_eq!(
        wharf
            .api("POST", "/api/v1/environments", &root, Some(env))
            .await
            .status(),
        201
    );
    let principal: Value = wharf
        .api(
            "POST",
            "/api/v1/environments/lake/principals",
            &ana,
            Some(json!({"team": "analytics", "arn": ANALYTICS_ROLE})),
        )
        .await
        .json()
        .await
        .unwrap();
    let product = json!({"name": "Sales", "domain": "sales", "owner_team": "sales-data", "environment": "lake"});
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products", &omar, Some(product))
            .await
            .status(),
        201
    );
    let import = json!({"glue": [{"database": "sales", "table": "orders"}, {"database": "sales", "table": "customers"}]});
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products/sales/assets", &omar, Some(import))
            .await
            .status(),
        201
    );
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products/sales/publish", &omar, None)
            .await
            .status(),
        200
    );

    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .date()
        .to_string();
    let body = json!({
        "product": "sales", "principal_id": principal["id"], "justification": "Weekly revenue dashboard",
        "until": until,
        "tables": [{"table": "sales.orders"}, {"table": "sales.customers", "columns": ["customer_id", "country"]}],
    });
    let submitted = wharf
        .api("POST", "/api/v1/access-requests", &ana, Some(body))
        .await;
    assert_eq!(submitted.status(), 201);
    let request: Value = submitted.json().await.unwrap();
    assert_eq!(request["status"], "submitted");
    let id = request["id"].as_str().unwrap().to_owned();
    assert!(
        moto.permissions_of(ANALYTICS_ROLE).await.is_empty(),
        "nothing before approval"
    );

    let own = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/approve"),
            &ana,
            None,
        )
        .await;
    assert_eq!(own.status(), 403, "nobody approves their own request");
    let approved = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/approve"),
            &omar,
            Some(json!({"comment": "ok"})),
        )
        .await;
    assert_eq!(approved.status(), 200);
    let granted = wait_for(&wharf, &ana, &id, "granted").await;
    assert!(
        granted["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "granted"),
        "{granted}"
    );

    assert_eq!(
        moto.permissions_of(ANALYTICS_ROLE).await,
        vec![
            (
                "columns sales.customers(customer_id,country)".to_owned(),
                vec!["SELECT".to_owned()]
            ),
            ("database sales".to_owned(), vec!["DESCRIBE".to_owned()]),
            (
                "table sales.customers".to_owned(),
                vec!["DESCRIBE".to_owned()]
            ),
            (
                "table sales.orders".to_owned(),
                vec!["DESCRIBE".to_owned(), "SELECT".to_owned()]
            ),
        ]
    );
    let again = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/approve"),
            &omar,
            None,
        )
        .await;
    assert_eq!(again.status(), 409, "approving twice changes nothing");

    // Verify on demand: healthy. Then someone removes SELECT behind Wharf's back.
    let checked: Value = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/verify"),
            &ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        checked["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["health"] == "healthy"),
        "{checked}"
    );
    remove_select_on_orders(&moto).await;
    let checked: Value = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/verify"),
            &ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let orders = checked["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["table"] == "orders")
        .unwrap();
    assert_eq!(orders["health"], "unhealthy", "{checked}");
    assert_eq!(
        orders["health_detail"],
        "SELECT missing on table sales.orders"
    );
    // The grants page's API answers "why does this role have access", and checks one grant.
    let held: Value = wharf
        .api(
            "GET",
            &format!("/api/v1/grants?principal={ANALYTICS_ROLE}"),
            &ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let held = held.as_array().unwrap().clone();
    assert_eq!(held.len(), 2, "{held:?}");
    let orders_grant = held.iter().find(|g| g["table"] == "orders").unwrap();
    assert_eq!(orders_grant["driver"], "lakeformation");
    assert_eq!(orders_grant["request_id"], id.as_str());
    assert_eq!(orders_grant["approver"]["name"], "Omar Owner");
    let checked: Value = wharf
        .api(
            "POST",
            &format!(
                "/api/v1/grants/{}/verify",
                orders_grant["id"].as_str().unwrap()
            ),
            &ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(checked["health"], "unhealthy", "{checked}");
    assert_eq!(
        checked["health_detail"],
        "SELECT missing on table sales.orders"
    );

    let refused = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/reapply"),
            &ana,
            None,
        )
        .await;
    assert_eq!(refused.status(), 403, "reapplying is for the owners");
    let restored: Value = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/reapply"),
            &omar,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        restored["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["health"] == "healthy"),
        "{restored}"
    );

    // Every Lake Formation change is in the audit log with its AWS request id.
    let audit: Value = wharf
        .api(
            "GET",
            &format!("/api/v1/audit?target_type=access_request&target_id={id}"),
            &ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let grants_calls: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "aws.BatchGrantPermissions")
        .collect();
    assert!(!grants_calls.is_empty(), "{audit}");
    assert!(
        grants_calls.iter().all(
            |e| e["aws_request_id"].as_str().is_some_and(|r| !r.is_empty()) && e["error"].is_null()
        ),
        "{grants_calls:?}"
    );

    let revoked = wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/revoke"),
            &ana,
            None,
        )
        .await;
    assert_eq!(revoked.status(), 200);
    wait_for(&wharf, &ana, &id, "revoked").await;
    let left = moto.permissions_of(ANALYTICS_ROLE).await;
    assert_eq!(
        left,
        vec![("database sales".to_owned(), vec!["DESCRIBE".to_owned()])],
        "only the shared database DESCRIBE stays"
    );
    assert!(wharf.stop());
    db.drop().await;
}

async fn remove_select_on_orders(moto: &Moto) {
    use aws_sdk_lakeformation::types::{DataLakePrincipal, Permission, Resource, TableResource};
    let table = TableResource::builder()
        .catalog_id("123456789012")
        .database_name("sales")
        .name("orders")
        .build()
        .unwrap();
    moto.lakeformation()
        .await
        .revoke_permissions()
        .principal(
            DataLakePrincipal::builder()
                .data_lake_principal_identifier(ANALYTICS_ROLE)
                .build(),
        )
        .resource(Resource::builder().table(table).build())
        .permissions(Permission::Select)
        .send()
        .await
        .unwrap();
}
