//! Importing tables from AWS Glue (moto on loopback) and re-syncing them after they change.

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::json;
use sqlx::Connection;
use wharf_e2e::Wharf;
use wharf_e2e::moto::Moto;

fn column(name: &str, data_type: &str) -> Column {
    Column::builder()
        .name(name)
        .r#type(data_type)
        .comment(format!("the {name}"))
        .build()
        .unwrap()
}

fn table(name: &str, columns: Vec<Column>) -> TableInput {
    TableInput::builder()
        .name(name)
        .description(format!("{name} from the shop"))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns))
                .location(format!("s3://lake/sales/{name}/"))
                .build(),
        )
        .partition_keys(column("dt", "string"))
        .parameters("classification", "parquet")
        .build()
        .unwrap()
}

async fn count_events(wharf_dir: &std::path::Path, event_type: &str) -> i64 {
    let url = format!(
        "sqlite://{}",
        wharf_dir.join("wharf-data/wharf.db").display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events WHERE type = ?")
        .bind(event_type)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn tables_are_imported_from_glue_and_resynced_when_they_change() {
    let moto = Moto::start().await;
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("sales_raw").build().unwrap())
        .send()
        .await
        .unwrap();
    let orders = vec![
        column("order_id", "bigint"),
        column("amount", "int"),
        column("note", "string"),
    ];
    glue.create_table()
        .database_name("sales_raw")
        .table_input(table("orders", orders))
        .send()
        .await
        .unwrap();
    glue.create_table()
        .database_name("sales_raw")
        .table_input(table("customers", vec![column("customer_id", "bigint")]))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(
        dir.path(),
        &[],
        &[("WHARF_AWS_ENDPOINT_URL", moto.url.as_str())],
    )
    .await;
    let root = wharf.api_token("root").await;
    let omar = wharf.api_token("omar").await;
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

    let databases: Vec<String> = wharf
        .api(
            "GET",
            "/api/v1/environments/lake/glue/databases",
            &omar,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(databases, ["sales_raw"]);
    let tables: serde_json::Value = wharf
        .api(
            "GET",
            "/api/v1/environments/lake/glue/databases/sales_raw/tables",
            &omar,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tables.as_array().unwrap().len(), 2);
    let missing_db = wharf
        .api(
            "GET",
            "/api/v1/environments/lake/glue/databases/nope/tables",
            &omar,
            None,
        )
        .await;
    assert_eq!(missing_db.status(), 400);

    let product = json!({"name": "Shop orders", "domain": "sales", "owner_team": "sales-data", "environment": "lake"});
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products", &omar, Some(product))
            .await
            .status(),
        201
    );
    let assets_url = "/api/v1/products/shop-orders/assets";

    // One missing table: the whole import is refused and nothing is written.
    let with_missing = json!({"glue": [{"database": "sales_raw", "table": "orders"}, {"database": "sales_raw", "table": "gone"}]});
    let refused = wharf
        .api("POST", assets_url, &omar, Some(with_missing))
        .await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("sales_raw.gone"));
    let unknown_db = json!({"glue": [{"database": "nope", "table": "orders"}]});
    assert_eq!(
        wharf
            .api("POST", assets_url, &omar, Some(unknown_db))
            .await
            .status(),
        400
    );
    let none: serde_json::Value = wharf
        .api("GET", assets_url, &omar, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(none.as_array().unwrap().is_empty(), "nothing half-written");

    let import = json!({"glue": [{"database": "sales_raw", "table": "orders"}, {"database": "sales_raw", "table": "customers"}]});
    let imported = wharf.api("POST", assets_url, &omar, Some(import)).await;
    assert_eq!(imported.status(), 201);
    let assets: serde_json::Value = imported.json().await.unwrap();
    let orders = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["table"] == "orders")
        .unwrap();
    assert_eq!(orders["location"], "s3://lake/sales/orders/");
    assert_eq!(orders["parameters"]["classification"], "parquet");
    assert_eq!(orders["description"], "orders from the shop");
    let columns: Vec<(String, String, bool)> = orders["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["data_type"].as_str().unwrap().into(),
                c["is_partition_key"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("order_id".into(), "bigint".into(), false),
            ("amount".into(), "int".into(), false),
            ("note".into(), "string".into(), false),
            ("dt".into(), "string".into(), true)
        ]
    );
    assert_eq!(orders["columns"][0]["description"], "the order_id");

    // The producer changes Glue: a column retyped, one added, one dropped, a table deleted.
    let changed = vec![
        column("order_id", "bigint"),
        column("amount", "decimal(10,2)"),
        column("currency", "string"),
    ];
    glue.update_table()
        .database_name("sales_raw")
        .table_input(table("orders", changed))
        .send()
        .await
        .unwrap();
    glue.delete_table()
        .database_name("sales_raw")
        .name("customers")
        .send()
        .await
        .unwrap();

    let synced: serde_json::Value = wharf
        .api("POST", "/api/v1/products/shop-orders/sync", &omar, None)
        .await
        .json()
        .await
        .unwrap();
    let changes = synced["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 4, "{synced}");
    for kind in [
        "column_retyped",
        "column_added",
        "column_removed",
        "table_removed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {synced}");
    }
    let history: serde_json::Value = wharf
        .api("GET", "/api/v1/products/shop-orders/history", &omar, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 4);
    let assets: serde_json::Value = wharf
        .api("GET", assets_url, &omar, None)
        .await
        .json()
        .await
        .unwrap();
    let customers = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["table"] == "customers")
        .unwrap();
    assert!(
        customers["removed_at"].is_string(),
        "a vanished table is marked, not forgotten"
    );

    // Syncing again finds nothing new.
    let again: serde_json::Value = wharf
        .api("POST", "/api/v1/products/shop-orders/sync", &omar, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(again["changes"].as_array().unwrap().is_empty(), "{again}");
    assert!(wharf.stop());
    assert_eq!(
        count_events(dir.path(), "wharf.product.schema_changed").await,
        2,
        "one event per changed table"
    );
}

async fn glue_databases(wharf: &Wharf, token: &str) -> Vec<String> {
    let url = "/api/v1/environments/lake/glue/databases";
    wharf
        .api("GET", url, token, None)
        .await
        .json()
        .await
        .unwrap()
}

/// A team the lake's owners allowed one database sees that database only, and imports from
/// it and nowhere else; the owner team sees them all.
#[tokio::test]
async fn a_publisher_limited_to_a_database_sees_and_imports_only_that_database() {
    let moto = Moto::start().await;
    let glue = moto.glue().await;
    for (database, name) in [("sales_raw", "orders"), ("web_raw", "clicks")] {
        glue.create_database()
            .database_input(DatabaseInput::builder().name(database).build().unwrap())
            .send()
            .await
            .unwrap();
        glue.create_table()
            .database_name(database)
            .table_input(table(name, vec![column("id", "bigint")]))
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let env = [("WHARF_AWS_ENDPOINT_URL", moto.url.as_str())];
    let wharf = Wharf::start(dir.path(), &[], &env).await;
    let (root, omar, ana) = (
        wharf.api_token("root").await,
        wharf.api_token("omar").await,
        wharf.api_token("ana").await,
    );
    wharf
        .api(
            "POST",
            "/api/v1/domains",
            &root,
            Some(json!({"name": "Web"})),
        )
        .await;
    let lake = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012",
        "aws_region": "us-east-1", "owner_team": "sales-data"});
    wharf
        .api("POST", "/api/v1/environments", &root, Some(lake))
        .await;
    assert_eq!(
        glue_databases(&wharf, &omar).await,
        ["sales_raw", "web_raw"]
    );
    let refused = wharf
        .api(
            "GET",
            "/api/v1/environments/lake/glue/databases",
            &ana,
            None,
        )
        .await;
    assert_eq!(refused.status(), 403);

    let only_web = json!({"databases": ["web_raw"]});
    let set = wharf
        .api(
            "PUT",
            "/api/v1/environments/lake/publishers/analytics",
            &omar,
            Some(only_web),
        )
        .await;
    assert_eq!(set.status(), 200);
    assert_eq!(glue_databases(&wharf, &ana).await, ["web_raw"]);

    let product = json!({"name": "Clicks", "domain": "web", "owner_team": "analytics", "environment": "lake"});
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products", &ana, Some(product))
            .await
            .status(),
        201
    );
    let import =
        |database: &str, table: &str| json!({"glue": [{"database": database, "table": table}]});
    let url = "/api/v1/products/clicks/assets";
    assert_eq!(
        wharf
            .api("POST", url, &ana, Some(import("sales_raw", "orders")))
            .await
            .status(),
        403
    );
    assert_eq!(
        wharf
            .api("POST", url, &ana, Some(import("web_raw", "clicks")))
            .await
            .status(),
        201
    );
    assert!(wharf.stop());
}
