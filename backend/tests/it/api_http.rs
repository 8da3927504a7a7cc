//! What every API operation shares, through the real router: problem+json errors with
//! the wrong field named, cursor pagination with `Link: rel="next"`, `If-Match` / 412,
//! and idempotent access-request creation.

use std::collections::BTreeSet;

use crate::common::world::{Market, Orders, Tables};
use crate::common::{TestApp, body_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

fn send(method: &str, path: &str, token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
}

/// The status and problem document of an error answer (asserting it is problem+json).
async fn problem(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    let body = body_json(response).await;
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with('/')));
    (status, body)
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect()
}

#[tokio::test]
async fn every_error_is_problem_json_naming_the_wrong_field() {
    let app = TestApp::new().await;
    let root = app.token("root").await;

    // A body of the wrong media type, not JSON, or of the wrong shape.
    let body = |content_type: &str, text: &str| {
        send("POST", "/api/v1/domains", &root)
            .header("content-type", content_type)
            .body(Body::from(text.to_owned()))
            .unwrap()
    };
    let (status, _) = problem(app.request(body("text/plain", "{}")).await).await;
    assert_eq!(status, 415);
    let (status, _) = problem(app.request(body("application/json", "{\"name\": ")).await).await;
    assert_eq!(status, 400);
    let (status, p) = problem(app.request(body("application/json", "{}")).await).await;
    assert_eq!((status, fields(&p)), (422, vec!["name"]));
    let (status, p) = problem(
        app.request(body("application/json", r#"{"name": 7}"#))
            .await,
    )
    .await;
    assert_eq!((status, fields(&p)), (422, vec!["name"]));
    let (status, p) = problem(
        app.request(body("application/json", r#"{"name": "x", "colour": 1}"#))
            .await,
    )
    .await;
    assert_eq!((status, fields(&p)), (422, vec!["colour"]));
    // A rule of the domain: still 422 with the field.
    let (status, p) = problem(
        app.request(body("application/json", r#"{"name": " "}"#))
            .await,
    )
    .await;
    assert_eq!((status, fields(&p)), (422, vec!["name"]));

    // Path and query parameters that do not parse.
    let get = |path: &str| send("GET", path, &root).body(Body::empty()).unwrap();
    let (status, p) = problem(app.request(get("/api/v1/access-requests/not-a-uuid")).await).await;
    assert_eq!((status, fields(&p)), (400, vec!["id"]));
    let (status, p) = problem(app.request(get("/api/v1/domains?limit=0")).await).await;
    assert_eq!((status, fields(&p)), (400, vec!["limit"]));
    let (status, p) = problem(app.request(get("/api/v1/domains?limit=abc")).await).await;
    assert_eq!((status, fields(&p)), (400, vec!["limit"]));
    let (status, p) = problem(app.request(get("/api/v1/tokens?cursor=%21%21")).await).await;
    assert_eq!((status, fields(&p)), (400, vec!["cursor"]));
    let (status, p) = problem(
        app.request(get("/api/v1/access-requests?status=sleeping"))
            .await,
    )
    .await;
    assert_eq!((status, fields(&p)), (400, vec!["status"]));
    let (status, p) = problem(app.request(get("/api/v1/products?limit=1000")).await).await;
    assert_eq!((status, fields(&p)), (400, vec!["limit"]));

    // Routing: no such path, a method not allowed, no credentials.
    let (status, _) = problem(app.request(get("/api/v1/nothing-here")).await).await;
    assert_eq!(status, 404);
    let response = app
        .request(
            send("PATCH", "/api/v1/domains", &root)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(response.headers().contains_key("allow"));
    let (status, _) = problem(response).await;
    assert_eq!(status, 405);
    let (status, _) = problem(app.get("/api/v1/me").await).await;
    assert_eq!(status, 401);
}

/// Follow `Link: rel="next"` from `first` to the end; the ids of every page in order.
async fn walk(app: &TestApp, token: &str, first: &str, key: &str) -> (Vec<String>, usize) {
    let mut next = Some(first.to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let response = app
            .request(send("GET", &url, token).body(Body::empty()).unwrap())
            .await;
        assert_eq!(response.status(), 200, "{url}");
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link[1..link.find('>').unwrap()].to_owned()
        });
        let items = body_json(response).await;
        seen.extend(
            items
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i[key].as_str().unwrap().to_owned()),
        );
        pages += 1;
        assert!(pages < 50, "the pages never end");
    }
    (seen, pages)
}

#[tokio::test]
async fn lists_page_with_a_cursor_and_a_next_link() {
    let app = TestApp::new().await;
    let root = app.token("root").await;
    for name in ["Sales", "Finance", "Marketing", "Logistics", "People"] {
        let created = app
            .api(
                "POST",
                "/api/v1/domains",
                Some(&root),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let (slugs, pages) = walk(&app, &root, "/api/v1/domains?limit=2", "slug").await;
    assert_eq!(pages, 3);
    assert_eq!(
        slugs,
        vec!["finance", "logistics", "marketing", "people", "sales"],
        "every domain once, in name order"
    );
    let (all, pages) = walk(&app, &root, "/api/v1/domains", "slug").await;
    assert_eq!((all, pages), (slugs, 1), "one page by default");
}

/// A published sandbox product owned by sales-data and a role of analytics.
async fn orders() -> Market {
    Orders {
        max_access_days: None,
        tables: Tables::One,
        ..Orders::default()
    }
    .publish()
    .await
}

fn access_request(principal: &str, why: &str) -> Value {
    json!({"product": "orders", "principal_id": principal, "until": "2030-01-01",
        "justification": why, "tables": [{"table": "sales.orders"}]})
}

async fn submit(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> Response<Body> {
    let mut request =
        send("POST", "/api/v1/access-requests", token).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    app.request(request.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn access_requests_page_newest_first_and_retries_with_a_key_create_nothing() {
    let w = orders().await;
    let (app, omar, ana, principal) = (&w.app, &w.omar, &w.ana, &w.principal);
    // Too far in the future for the product: fix the limit first.
    let edit = json!({"name": "Orders", "domain": "sales", "owner_team": "sales-data",
        "max_access_days": 3650});
    let response = app
        .request(
            send("PUT", "/api/v1/products/orders", omar)
                .header("content-type", "application/json")
                .body(Body::from(edit.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);

    let mut created = Vec::new();
    for n in 0..5 {
        let body = access_request(principal, &format!("Dashboard number {n}"));
        let response = submit(app, ana, Some(&format!("key-{n}")), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        created.push(body_json(response).await["id"].as_str().unwrap().to_owned());
    }
    // 2099 is beyond 3650 days: refused, naming the field.
    let mut too_long = access_request(principal, "Too long a time");
    too_long["until"] = json!("2099-01-01");
    let (status, p) = problem(submit(app, ana, None, &too_long).await).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&p), vec!["until"]);

    let (ids, pages) = walk(app, ana, "/api/v1/access-requests?scope=mine&limit=2", "id").await;
    created.reverse();
    assert_eq!(ids, created, "newest first, each once");
    assert_eq!(pages, 3);
    let (inbox, _) = walk(
        app,
        omar,
        "/api/v1/access-requests?scope=inbox&limit=2",
        "id",
    )
    .await;
    assert_eq!(inbox, created, "the owner's inbox pages the same way");

    // A retry with the same key returns the first request, even after it moved on.
    let first = created.last().unwrap().clone();
    let cancelled = app
        .api(
            "POST",
            &format!("/api/v1/access-requests/{first}/cancel"),
            Some(ana),
            None,
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let again = submit(
        app,
        ana,
        Some("key-0"),
        &access_request(principal, "Dashboard number 0"),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again = body_json(again).await;
    assert_eq!(
        (again["id"].as_str(), again["status"].as_str()),
        (Some(first.as_str()), Some("cancelled"))
    );
    let (all, _) = walk(app, ana, "/api/v1/access-requests?scope=mine", "id").await;
    assert_eq!(all.len(), 5, "the retry created nothing");
    // The same key for another product or principal is a mistake, not a retry.
    let mut other = access_request(principal, "Dashboard number 0");
    other["principal_id"] = json!(uuid::Uuid::now_v7());
    let (status, p) = problem(submit(app, ana, Some("key-0"), &other).await).await;
    assert_eq!((status, fields(&p)), (422, vec!["Idempotency-Key"]));
    assert_eq!(
        walk(app, ana, "/api/v1/access-requests?scope=mine", "id")
            .await
            .0
            .len(),
        5
    );
    let unique: BTreeSet<_> = all.into_iter().collect();
    assert_eq!(unique.len(), 5);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let w = orders().await;
    let (app, omar) = (&w.app, &w.omar);
    let read = app
        .request(
            send("GET", "/api/v1/products/orders", omar)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let edit = |description: &str, if_match: &str| {
        send("PUT", "/api/v1/products/orders", omar)
            .header("content-type", "application/json")
            .header("if-match", if_match)
            .body(Body::from(
                json!({"name": "Orders", "domain": "sales", "owner_team": "sales-data",
                    "description": description})
                .to_string(),
            ))
            .unwrap()
    };
    let first = app.request(edit("first", &etag)).await;
    assert_eq!(first.status(), 200);
    assert_ne!(first.headers()["etag"], etag.as_str(), "a new version");
    let (status, _) = problem(app.request(edit("second", &etag)).await).await;
    assert_eq!(status, 412);
    let now = body_json(
        app.request(
            send("GET", "/api/v1/products/orders", omar)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(
        now["description"], "first",
        "the stale edit changed nothing"
    );
}

/// A webhook is refused for a metadata or host service address however it is written:
/// inside IPv6 (IPv4-compatible, NAT64, 6to4) or as another cloud's service.
#[tokio::test]
async fn webhooks_to_a_metadata_address_in_any_form_are_422() {
    let app = TestApp::new().await;
    let root = app.token("root").await;
    for url in [
        "http://[::169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[2002:a9fe:a9fe::]/",
        "http://100.100.100.200/latest/meta-data/",
        "http://168.63.129.16/machine?comp=goalstate",
        "http://2852039166/",
    ] {
        let response = app
            .api(
                "POST",
                "/api/v1/webhooks",
                Some(&root),
                Some(json!({"url": url})),
            )
            .await;
        let (status, p) = problem(response).await;
        assert_eq!((status, fields(&p)), (422, vec!["url"]), "{url}");
    }
    let fine = app
        .api(
            "POST",
            "/api/v1/webhooks",
            Some(&root),
            Some(json!({"url": "http://[::1]:9/in"})),
        )
        .await;
    assert_eq!(fine.status(), StatusCode::CREATED);
}
