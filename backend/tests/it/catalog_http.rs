//! The catalog through the real router: products, visibility, editing, tables, principals,
//! and the bad input people and scripts send.

use crate::common::stories;
use crate::common::{TestApp, body_json, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

/// An app with a domain, and tokens for an owner (omar, sales-data), an analyst (ana) and an admin.
async fn setup() -> (TestApp, String, String, String) {
    let app = TestApp::new().await;
    let (omar, ana, root) = (
        app.token("omar").await,
        app.token("ana").await,
        app.token("root").await,
    );
    let created = app
        .api(
            "POST",
            "/api/v1/domains",
            Some(&root),
            Some(json!({"name": "Sales"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    (app, omar, ana, root)
}

fn orders(extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({
        "name": "Orders", "description": "Daily **orders**.", "domain": "sales",
        "owner_team": "sales-data", "tags": ["gold"], "classification": "internal"
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn sandbox_table(name: &str) -> serde_json::Value {
    json!({"tables": [{"database": "sales_curated", "table": name, "columns": [
        {"name": "order_id", "data_type": "bigint"},
        {"name": "customer_email", "data_type": "string", "is_pii": true},
        {"name": "ingestion_date", "data_type": "date", "is_partition_key": true}
    ]}]})
}

async fn wait_for_search(
    app: &TestApp,
    token: &str,
    query: &str,
    expected: usize,
) -> serde_json::Value {
    app.state.indexer().catch_up().await.unwrap();
    let page = body_json(
        app.api(
            "GET",
            &format!("/api/v1/products?{query}"),
            Some(token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        page["hits"].as_array().unwrap().len(),
        expected,
        "{query}: {page}"
    );
    page
}

#[tokio::test]
async fn owners_create_fill_and_publish_products_that_others_then_find() {
    let (app, omar, ana, _) = setup().await;
    let created = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({}))),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()[header::ETAG], "\"1\"");
    let product = body_json(created).await;
    assert_eq!(
        (product["slug"].as_str(), product["status"].as_str()),
        (Some("orders"), Some("draft"))
    );
    assert_eq!(
        product["description_html"],
        "<p>Daily <strong>orders</strong>.</p>\n"
    );

    // A draft is the owners' business: others do not know it exists.
    assert_eq!(
        app.api("GET", "/api/v1/products/orders", Some(&ana), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    wait_for_search(&app, &ana, "q=orders", 0).await;
    wait_for_search(&app, &omar, "q=orders", 1).await;

    let empty = app
        .api("POST", "/api/v1/products/orders/publish", Some(&omar), None)
        .await;
    assert_eq!(
        empty.status(),
        StatusCode::CONFLICT,
        "nothing to publish without a table"
    );
    let added = app
        .api(
            "POST",
            "/api/v1/products/orders/assets",
            Some(&omar),
            Some(sandbox_table("orders")),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let assets = body_json(added).await;
    assert_eq!(assets[0]["columns"][1]["is_pii"], true);
    assert_eq!(assets[0]["columns"][2]["is_partition_key"], true);
    assert_eq!(
        app.api("POST", "/api/v1/products/orders/publish", Some(&ana), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api("POST", "/api/v1/products/orders/publish", Some(&omar), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api("POST", "/api/v1/products/orders/publish", Some(&omar), None)
            .await
            .status(),
        StatusCode::CONFLICT
    );

    let page = wait_for_search(&app, &ana, "q=orders", 2).await;
    assert_eq!(page["hits"][0]["product_slug"], "orders");
    let seen = body_json(
        app.api("GET", "/api/v1/products/orders", Some(&ana), None)
            .await,
    )
    .await;
    assert_eq!(seen["manageable"], false);
    assert_eq!(
        app.api(
            "PUT",
            "/api/v1/products/orders",
            Some(&ana),
            Some(orders(json!({})))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );

    let html = body_text(
        app.request(
            Request::get("/products/orders")
                .header("authorization", format!("Bearer {ana}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        html.contains("sales_curated.orders")
            && html.contains("PII")
            && html.contains("partition key"),
        "{html}"
    );
}

#[tokio::test]
async fn edits_need_a_fresh_version_and_valid_fields() {
    let (app, omar, _, _) = setup().await;
    app.api(
        "POST",
        "/api/v1/products",
        Some(&omar),
        Some(orders(json!({}))),
    )
    .await;
    let request = |etag: &'static str, body: serde_json::Value| {
        Request::put("/api/v1/products/orders")
            .header("authorization", format!("Bearer {omar}"))
            .header("content-type", "application/json")
            .header(header::IF_MATCH, etag)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let ok = app
        .request(request("\"1\"", orders(json!({"name": "Orders v2"}))))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[header::ETAG], "\"2\"");
    let stale = app
        .request(request("\"1\"", orders(json!({"name": "Lost update"}))))
        .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let product = body_json(
        app.api("GET", "/api/v1/products/orders", Some(&omar), None)
            .await,
    )
    .await;
    assert_eq!(
        product["name"], "Orders v2",
        "the stale edit changed nothing"
    );

    for (body, field) in [
        (
            orders(json!({"classification": "secret"})),
            "classification",
        ),
        (orders(json!({"domain": "nowhere"})), "domain"),
        (
            orders(json!({"stewards": ["ghost@example.com"]})),
            "stewards",
        ),
        (orders(json!({"max_access_days": 0})), "max_access_days"),
        (orders(json!({"tags": ["<b>bold</b>"]})), "tags"),
    ] {
        let response = app
            .api("POST", "/api/v1/products", Some(&omar), Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body_json(response).await["errors"][0]["field"], field);
    }
    let clash = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({"name": "Orders v3", "slug": "orders"}))),
        )
        .await;
    assert_eq!(clash.status(), StatusCode::CONFLICT);
    let not_my_team = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({"owner_team": "finance-data", "slug": "x1"}))),
        )
        .await;
    assert_eq!(not_my_team.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn descriptions_are_rendered_safely_and_bounded() {
    let (app, omar, _, _) = setup().await;
    let payload = "Hi <script>alert(1)</script><iframe src=x></iframe> [x](javascript:alert(1)) <img src=x onerror=alert(1)>";
    let created = body_json(
        app.api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({"description": payload}))),
        )
        .await,
    )
    .await;
    let html = created["description_html"].as_str().unwrap().to_lowercase();
    for bad in ["<script", "<iframe", "javascript:", "onerror"] {
        assert!(!html.contains(bad), "{html}");
    }
    let page = body_text(
        app.request(
            Request::get("/products/orders")
                .header("authorization", format!("Bearer {omar}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        !page.to_lowercase().contains("<script>alert") && !page.contains("onerror="),
        "the page too"
    );

    let huge = "x".repeat(10 * 1024 * 1024);
    let response = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({"slug": "big", "description": huge}))),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let over = "x".repeat(150_000);
    let response = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(orders(json!({"slug": "big", "description": over}))),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.api("GET", "/api/v1/products/big", Some(&omar), None)
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "nothing written"
    );
}

#[tokio::test]
async fn principals_are_validated_and_kept_to_their_team() {
    let (app, _, ana, root) = setup().await;
    let env = json!({"name": "Production", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "eu-west-1"});
    assert_eq!(
        app.api(
            "POST",
            "/api/v1/environments",
            Some(&ana),
            Some(env.clone())
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let created = app
        .api("POST", "/api/v1/environments", Some(&root), Some(env))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let bad_env = json!({"name": "Broken", "kind": "aws", "aws_region": "eu-west-1"});
    assert_eq!(
        app.api("POST", "/api/v1/environments", Some(&root), Some(bad_env))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let url = "/api/v1/environments/production/principals";
    let principal = |team: &str, arn: &str| json!({"team": team, "arn": arn, "label": "BI"});
    let cases = [
        (
            principal("analytics", "arn:aws:iam::123456789012:role/bi"),
            StatusCode::CREATED,
        ),
        (
            principal("analytics", "arn:aws:iam::123456789012:role/bi"),
            StatusCode::CONFLICT,
        ),
        (
            principal("analytics", "not-an-arn"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            principal("analytics", "arn:aws:iam::999999999999:role/bi"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            principal("finance-data", "arn:aws:iam::123456789012:role/fin"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (body, expected) in cases {
        let response = app.api("POST", url, Some(&ana), Some(body.clone())).await;
        assert_eq!(response.status(), expected, "{body}");
    }
    let listed = body_json(app.api("GET", url, Some(&ana), None).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let omar = app.token("omar").await;
    assert!(
        body_json(app.api("GET", url, Some(&omar), None).await)
            .await
            .as_array()
            .unwrap()
            .is_empty(),
        "not omar's team"
    );
    let id = listed[0]["id"].as_str().unwrap();
    assert_eq!(
        app.api("DELETE", &format!("{url}/{id}"), Some(&omar), None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api("DELETE", &format!("{url}/{id}"), Some(&ana), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn sandbox_tables_are_checked_before_anything_is_written() {
    let (app, omar, _, _) = setup().await;
    app.api(
        "POST",
        "/api/v1/products",
        Some(&omar),
        Some(orders(json!({}))),
    )
    .await;
    let url = "/api/v1/products/orders/assets";
    let bad = [
        json!({"tables": [{"database": "sales", "table": "x; drop table", "columns": [{"name": "id", "data_type": "int"}]}]}),
        json!({"tables": [{"database": "sales", "table": "t", "columns": []}]}),
        json!({"glue": [{"database": "sales", "table": "t"}]}),
        json!({}),
    ];
    for body in bad {
        let status = app
            .api("POST", url, Some(&omar), Some(body.clone()))
            .await
            .status();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert!(
        body_json(app.api("GET", url, Some(&omar), None).await)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_catalog_page_searches_and_filters() {
    let (app, omar, ana, _) = setup().await;
    app.api(
        "POST",
        "/api/v1/products",
        Some(&omar),
        Some(orders(json!({}))),
    )
    .await;
    app.api(
        "POST",
        "/api/v1/products/orders/assets",
        Some(&omar),
        Some(sandbox_table("orders")),
    )
    .await;
    app.api("POST", "/api/v1/products/orders/publish", Some(&omar), None)
        .await;
    app.state.indexer().catch_up().await.unwrap();
    let get = |path: &str| {
        Request::get(path)
            .header("authorization", format!("Bearer {ana}"))
            .body(Body::empty())
            .unwrap()
    };
    let page = body_text(app.request(get("/?q=orders")).await).await;
    assert!(page.contains("href=\"/products/orders\""), "{page}");
    let partial = body_text(app.request(get("/catalog/results?q=orders")).await).await;
    assert!(
        partial.contains("/products/orders") && !partial.contains("<html"),
        "a fragment"
    );
    let none = body_text(app.request(get("/?q=zzzzzz")).await).await;
    assert!(none.contains("Nothing matches"));
}

#[tokio::test]
async fn team_members_register_their_roles_from_the_account_page() {
    let app = TestApp::new().await;
    let ana = app.sign_in("ana").await;
    let page = body_text(app.get_as(&ana, "/account").await).await;
    assert!(
        page.contains("Your teams&#39; roles") || page.contains("Your teams' roles"),
        "{page}"
    );
    let form = format!(
        "csrf_token={}&back=account&team=analytics&arn={}",
        ana.csrf,
        url::form_urlencoded::byte_serialize(b"arn:aws:iam::111122223333:role/bi")
            .collect::<String>()
    );
    let response = app
        .post_form(Some(&ana), "/environments/sandbox/principals", &form)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/account");
    let page = body_text(app.get_as(&ana, "/account").await).await;
    assert!(page.contains("arn:aws:iam::111122223333:role/bi"), "{page}");

    let other_team = format!(
        "csrf_token={}&back=account&team=finance-data&arn=123456789012",
        ana.csrf
    );
    let refused = app
        .post_form(Some(&ana), "/environments/sandbox/principals", &other_team)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// An AWS environment's data is published only by the teams its owners allow: nobody else
/// can browse its Glue catalog, own a product there, move one in, or add its tables.
async fn only_publishers_of_an_aws_environment_can_publish_from_it(postgres: bool) {
    let app = TestApp::builder().postgres(postgres).build().await;
    let (omar, ana, sofia, root) = (
        app.token("omar").await,
        app.token("ana").await,
        app.token("sofia").await,
        app.token("root").await,
    );
    let status = |response: axum::response::Response| response.status();
    app.api(
        "POST",
        "/api/v1/domains",
        Some(&root),
        Some(json!({"name": "Sales"})),
    )
    .await;
    let env = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012",
        "aws_region": "eu-west-1", "owner_team": "sales-data"});
    let created = body_json(
        app.api("POST", "/api/v1/environments", Some(&root), Some(env))
            .await,
    )
    .await;
    assert_eq!(created["owner_team"], "sales-data");
    let in_lake = |team: &str, slug: &str| {
        orders(json!({"slug": slug, "owner_team": team, "environment": "lake"}))
    };

    // An analyst of another team: no catalog, no product of her team in the lake.
    for path in [
        "/api/v1/environments/lake/glue/databases",
        "/api/v1/environments/lake/glue/databases/finance_db/tables",
    ] {
        assert_eq!(
            status(app.api("GET", path, Some(&ana), None).await),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let refused = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&ana),
            Some(in_lake("analytics", "mine")),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        body_json(refused).await["detail"]
            .as_str()
            .unwrap()
            .contains("analytics may not publish")
    );
    // Nor can she decide who publishes.
    let publisher = "/api/v1/environments/lake/publishers/analytics";
    let only_analytics_db = json!({"databases": ["Analytics_DB"]});
    assert_eq!(
        status(
            app.api(
                "PUT",
                publisher,
                Some(&ana),
                Some(only_analytics_db.clone())
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );

    // The owner team publishes, and lets analytics publish from one database.
    let owned = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&omar),
            Some(in_lake("sales-data", "orders")),
        )
        .await;
    assert_eq!(owned.status(), StatusCode::CREATED);
    let set = app
        .api("PUT", publisher, Some(&omar), Some(only_analytics_db))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(body_json(set).await["databases"], json!(["analytics_db"]));
    let listed = body_json(
        app.api(
            "GET",
            "/api/v1/environments/lake/publishers",
            Some(&ana),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed[0]["team"], "analytics");

    let mine = app
        .api(
            "POST",
            "/api/v1/products",
            Some(&ana),
            Some(in_lake("analytics", "mine")),
        )
        .await;
    assert_eq!(mine.status(), StatusCode::CREATED);
    // Another domain's table stays out of reach, and nothing is written.
    let salaries = json!({"glue": [{"database": "finance_db", "table": "salaries"}]});
    let refused = app
        .api(
            "POST",
            "/api/v1/products/mine/assets",
            Some(&ana),
            Some(salaries),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        body_json(refused).await["detail"]
            .as_str()
            .unwrap()
            .contains("finance_db")
    );
    let tables = body_json(
        app.api("GET", "/api/v1/products/mine/assets", Some(&ana), None)
            .await,
    )
    .await;
    assert!(tables.as_array().unwrap().is_empty());
    assert_eq!(
        status(
            app.api(
                "GET",
                "/api/v1/environments/lake/glue/databases/finance_db/tables",
                Some(&ana),
                None
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );

    // Moving a product in counts as publishing from the lake: finance-data may not.
    let sandboxed = orders(json!({"slug": "ledger", "owner_team": "finance-data"}));
    assert_eq!(
        status(
            app.api(
                "POST",
                "/api/v1/products",
                Some(&sofia),
                Some(sandboxed.clone())
            )
            .await
        ),
        StatusCode::CREATED
    );
    let mut moved = sandboxed;
    moved["environment"] = json!("lake");
    assert_eq!(
        status(
            app.api("PUT", "/api/v1/products/ledger", Some(&sofia), Some(moved))
                .await
        ),
        StatusCode::FORBIDDEN
    );
    // Handing the lake product to a team that may not publish there is refused too.
    assert_eq!(
        status(
            app.api(
                "PUT",
                "/api/v1/products/orders",
                Some(&root),
                Some(in_lake("finance-data", "orders"))
            )
            .await
        ),
        StatusCode::FORBIDDEN,
        "not even an admin hands the lake's data to a team its owners did not name"
    );

    // Removing the team stops new products; an admin may also change the list.
    assert_eq!(
        status(app.api("DELETE", publisher, Some(&omar), None).await),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(app.api("DELETE", publisher, Some(&root), None).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(
            app.api(
                "POST",
                "/api/v1/products",
                Some(&ana),
                Some(in_lake("analytics", "again"))
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
}

stories!(app: only_publishers_of_an_aws_environment_can_publish_from_it);

/// A product's tables have one name, `/tables`; `/assets`, their first name, still answers
/// the same way for scripts written against it.
#[tokio::test]
async fn a_products_tables_answer_at_tables_and_at_their_old_name() {
    let (app, omar, _, _) = setup().await;
    app.api(
        "POST",
        "/api/v1/products",
        Some(&omar),
        Some(orders(json!({}))),
    )
    .await;
    let added = app
        .api(
            "POST",
            "/api/v1/products/orders/tables",
            Some(&omar),
            Some(sandbox_table("orders")),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let old_name = app
        .api(
            "POST",
            "/api/v1/products/orders/assets",
            Some(&omar),
            Some(sandbox_table("returns")),
        )
        .await;
    assert_eq!(old_name.status(), StatusCode::CREATED);
    let tables = body_json(
        app.api("GET", "/api/v1/products/orders/tables", Some(&omar), None)
            .await,
    )
    .await;
    let assets = body_json(
        app.api("GET", "/api/v1/products/orders/assets", Some(&omar), None)
            .await,
    )
    .await;
    assert_eq!(tables.as_array().unwrap().len(), 2);
    assert_eq!(tables, assets);
}
