//! Text the two databases cannot store alike: PostgreSQL refuses U+0000 in `text` and
//! `jsonb`, SQLite keeps it. Every text the API accepts (body fields at any depth, query
//! filters, path parameters) with a NUL in it is refused at the edge with a 422 naming
//! the field, on both databases, and nothing is stored.

use crate::common::stories;
use crate::common::world::{Market, Orders, Tables};
use crate::common::{TestApp, body_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

stories!(
    app:
    a_nul_in_any_body_field_is_422_naming_the_field,
    a_nul_in_a_list_filter_or_path_is_422_naming_the_parameter,
    a_nul_in_a_page_form_is_the_error_page_naming_the_field,
);

/// The status and the fields an answer names (asserting an error is problem+json).
async fn refusal(response: axum::response::Response) -> (u16, Vec<String>) {
    let status = response.status().as_u16();
    if status >= 400 {
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let body = body_json(response).await;
    let fields = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect();
    (status, fields)
}

/// A domain, a product with a table, a principal of analytics and a submitted request.
struct World {
    market: Market,
    request: String,
}

impl std::ops::Deref for World {
    type Target = Market;
    fn deref(&self) -> &Market {
        &self.market
    }
}

async fn world(postgres: bool) -> World {
    let market = Orders {
        postgres,
        max_access_days: None,
        tables: Tables::One,
        ..Orders::default()
    }
    .publish()
    .await;
    let request = access_request(&market.principal, "Churn analysis");
    let created = market
        .app
        .api(
            "POST",
            "/api/v1/access-requests",
            Some(&market.ana),
            Some(request),
        )
        .await;
    assert!(
        created.status().is_success(),
        "request: {}",
        created.status()
    );
    let request = body_json(created).await["id"].as_str().unwrap().to_owned();
    World { market, request }
}

fn access_request(principal: &str, why: &str) -> Value {
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    json!({"product": "orders", "principal_id": principal, "until": until.to_string(),
        "justification": why, "tables": [{"table": "sales.orders"}]})
}

async fn a_nul_in_any_body_field_is_422_naming_the_field(postgres: bool) {
    let w = world(postgres).await;
    let (root, omar, ana) = (w.root.as_str(), w.omar.as_str(), w.ana.as_str());
    let product = |extra: Value| {
        let mut body = json!({"name": "Returns", "domain": "sales", "owner_team": "sales-data"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let table = |column: Value, parameters: Value| {
        json!({"tables": [{"database": "sales", "table": "returns", "parameters": parameters,
            "columns": [{"name": "id", "data_type": "bigint"}, column]}]})
    };
    let column = json!({"name": "reason", "data_type": "string"});
    let mut request = access_request(&w.principal, "Churn\u{0}analysis");
    request["product"] = json!("orders");
    let reject = format!("/api/v1/access-requests/{}/reject", w.request);
    let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
        // (who, method, path, body, the field named)
        (
            root,
            "POST",
            "/api/v1/domains",
            json!({"name": "Fin\u{0}ance"}),
            "name",
        ),
        (
            root,
            "POST",
            "/api/v1/domains",
            json!({"name": "Finance", "description": "Money\u{0}"}),
            "description",
        ),
        (
            root,
            "POST",
            "/api/v1/environments",
            json!({"name": "Lab\u{0}", "kind": "sandbox"}),
            "name",
        ),
        (
            ana,
            "POST",
            "/api/v1/environments/sandbox/principals",
            json!({"team": "analytics", "arn": "arn:aws:iam::111122223333:role/etl",
                "label": "ETL\u{0}jobs"}),
            "label",
        ),
        (
            omar,
            "POST",
            "/api/v1/products",
            product(json!({"description": "Returned\u{0}orders"})),
            "description",
        ),
        (
            omar,
            "POST",
            "/api/v1/products",
            product(json!({"tags": ["sales", "ret\u{0}urns"]})),
            "tags[1]",
        ),
        (
            omar,
            "PUT",
            "/api/v1/products/orders",
            json!({"name": "Orders\u{0}", "domain": "sales", "owner_team": "sales-data"}),
            "name",
        ),
        (
            omar,
            "POST",
            "/api/v1/products/orders/assets",
            table(
                json!({"name": "reason", "data_type": "string", "description": "Why\u{0}"}),
                json!({}),
            ),
            "tables[0].columns[1].description",
        ),
        (
            omar,
            "POST",
            "/api/v1/products/orders/assets",
            table(column.clone(), json!({"classification": "csv\u{0}"})),
            "tables[0].parameters.classification",
        ),
        (
            ana,
            "POST",
            "/api/v1/access-requests",
            request,
            "justification",
        ),
        (
            omar,
            "POST",
            &reject,
            json!({"comment": "no\u{0}"}),
            "comment",
        ),
        (
            root,
            "POST",
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/in\u{0}"}),
            "url",
        ),
        (
            root,
            "POST",
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/in", "secret": "0123456789abcdef\u{0}"}),
            "secret",
        ),
        (
            root,
            "POST",
            "/api/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/in", "event_types": ["wharf.access.*\u{0}"]}),
            "event_types[0]",
        ),
        // A key is text too.
        (
            root,
            "POST",
            "/api/v1/domains",
            json!({"name": "Finance", "desc\u{0}ription": "x"}),
            "body",
        ),
    ];
    for (token, method, path, body, field) in cases {
        let answer = refusal(
            w.app
                .api(method, path, Some(token), Some(body.clone()))
                .await,
        )
        .await;
        assert_eq!(
            answer,
            (422, vec![field.to_owned()]),
            "{method} {path} {body}"
        );
    }
    // A token's name, from the browser session that may create tokens.
    let browser = w.app.sign_in("ana").await;
    let token = w
        .app
        .request(
            Request::post("/api/v1/tokens")
                .header("cookie", &browser.cookie)
                .header("x-csrf-token", &browser.csrf)
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": "ci\u{0}"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(refusal(token).await, (422, vec!["name".to_owned()]));

    // Nothing was stored, and the request was not moved.
    let domains = body_json(w.app.api("GET", "/api/v1/domains", Some(root), None).await).await;
    assert_eq!(domains.as_array().unwrap().len(), 1, "{domains}");
    let path = format!("/api/v1/access-requests/{}", w.request);
    let request = body_json(w.app.api("GET", &path, Some(ana), None).await).await;
    assert_eq!(request["status"], "submitted");

    // The six characters `\u0000`, written as text, are not a NUL and are kept.
    let created = w
        .app
        .api(
            "POST",
            "/api/v1/domains",
            Some(root),
            Some(json!({"name": "Escapes", "description": "write \\u0000 for NUL"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        body_json(created).await["description"],
        "write \\u0000 for NUL"
    );
}

async fn a_nul_in_a_list_filter_or_path_is_422_naming_the_parameter(postgres: bool) {
    let w = world(postgres).await;
    for (path, field) in [
        ("/api/v1/grants?principal=%00", "principal"),
        ("/api/v1/grants?team=analytics&product=or%00ders", "product"),
        ("/api/v1/audit?target_id=%00", "target_id"),
        ("/api/v1/audit?target_type=x%00", "target_type"),
        ("/api/v1/products?q=orders%00", "q"),
        ("/api/v1/products?tag=a%00", "tag"),
        ("/api/v1/events?subject=products%2Forders%00", "subject"),
        ("/api/v1/access-requests?scope=%00", "scope"),
        ("/api/v1/domains?cursor=%00", "cursor"),
        ("/api/v1/products/ord%00ers", "slug"),
        ("/api/v1/environments/sand%00box/principals", "slug"),
    ] {
        let answer = refusal(w.app.api("GET", path, Some(&w.root), None).await).await;
        assert_eq!(answer, (422, vec![field.to_owned()]), "{path}");
    }
    // The same filters without a NUL still answer.
    for path in [
        "/api/v1/grants?principal=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbi",
        "/api/v1/audit?target_id=orders",
        "/api/v1/products?q=orders",
    ] {
        let response = w.app.api("GET", path, Some(&w.root), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// Pages take the same text as the API, so they refuse it the same way, as a page.
async fn a_nul_in_a_page_form_is_the_error_page_naming_the_field(postgres: bool) {
    let app = TestApp::builder().postgres(postgres).build().await;
    let ana = app.sign_in("ana").await;
    let form = format!(
        "csrf_token={}&back=account&team=analytics&label=BI%00&arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbi",
        ana.csrf
    );
    let response = app
        .post_form(Some(&ana), "/environments/sandbox/principals", &form)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = crate::common::body_text(response).await;
    assert!(page.contains("label"), "{page}");
    let sandbox = app.store().ensure_sandbox_environment().await.unwrap();
    assert!(
        app.store()
            .list_principals(sandbox.id, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
}
