//! The HTTP shell through the real router: pages, errors, headers, health, metrics, assets.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestApp, body_text};
use wharf::domain::{Actor, NewDomain, Slug};

#[tokio::test]
async fn visitors_get_a_welcome_and_the_signed_in_get_honest_empty_states() {
    let app = TestApp::new().await;
    let html = body_text(app.get("/").await).await;
    assert!(html.contains("Sign in to browse the catalog"), "{html}");
    assert!(!html.contains("Data catalog"), "visitors see no catalog");

    let ana = app.sign_in("ana").await;
    let response = app.get_as(&ana, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("No data products yet"), "{html}");
    assert!(html.contains("No business domains yet"));
    for link in [
        "href=\"/\"",
        "href=\"/requests\"",
        "href=\"/account\"",
        "action=\"/auth/logout\"",
    ] {
        assert!(html.contains(link), "header links to {link}");
    }
    assert!(
        !html.contains("href=\"/admin\""),
        "the Admin link is for admins"
    );
}

#[tokio::test]
async fn user_text_is_escaped_in_pages() {
    let app = TestApp::new().await;
    app.store()
        .create_domain(
            Actor::System,
            &NewDomain {
                slug: Slug::parse("sales").unwrap(),
                name: "Sales <script>alert(1)</script>".into(),
                description: "Orders & \"customers\"".into(),
            },
        )
        .await
        .unwrap();
    let root = app.sign_in("root").await;
    let html = body_text(app.get_as(&root, "/admin").await).await;
    assert!(
        html.contains("Sales &#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::new().await;
    for path in ["/", "/healthz", "/missing", "/api/v1/missing"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert!(!headers["x-request-id"].is_empty(), "{path}");
        assert!(
            !headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
            "plain http"
        );
    }
}

#[tokio::test]
async fn https_public_url_adds_hsts() {
    let app = TestApp::builder()
        .env("WHARF_PUBLIC_URL", "https://wharf.example.com")
        .build()
        .await;
    let response = app.get("/healthz").await;
    assert!(
        response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

#[tokio::test]
async fn unknown_pages_get_an_html_error_page_and_the_api_gets_problem_json() {
    let app = TestApp::new().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = body_text(page).await;
    assert!(
        html.contains("<h1>Not Found</h1>") && html.contains("Back to the catalog"),
        "{html}"
    );

    let fragment = app
        .request(
            Request::get("/no/such/page")
                .header("hx-request", "true")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let html = body_text(fragment).await;
    assert!(
        html.contains("role=\"alert\"") && !html.contains("<html"),
        "htmx gets a fragment: {html}"
    );

    let api = app.get("/api/v1/nothing").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        api.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem: serde_json::Value = serde_json::from_str(&body_text(api).await).unwrap();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
    assert!(problem["type"].is_string() && problem["detail"].is_string());
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    // With the database gone, the process is alive but not ready.
    app.state.store.close().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_text(response).await.contains("database"));
}

#[tokio::test]
async fn metrics_report_requests_by_route_and_the_job_queue() {
    let app = TestApp::new().await;
    app.get("/").await;
    app.get("/missing").await;
    app.state
        .jobs
        .enqueue("noop", serde_json::json!({}))
        .await
        .unwrap();
    let text = body_text(app.get("/metrics").await).await;
    assert!(
        text.contains(r#"wharf_http_requests_total{method="GET",route="/",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("wharf_http_request_duration_seconds_bucket"));
    assert!(text.contains("wharf_job_queue_depth 1"), "{text}");
}

#[tokio::test]
async fn static_assets_are_embedded_with_cache_busting_urls() {
    let app = TestApp::new().await;
    let html = body_text(app.get("/").await).await;
    let start = html
        .find("/static/app.css?v=")
        .expect("versioned stylesheet link");
    let url = &html[start..html[start..].find('"').unwrap() + start];
    let response = app.get(url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/css");
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let stale = app.get("/static/app.css?v=old").await;
    assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        app.get("/static/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::builder()
        .env("WHARF_MAX_BODY_BYTES", "1024")
        .build()
        .await;
    let response = app
        .request(
            Request::post("/api/v1/anything")
                .header(header::CONTENT_LENGTH, "4096")
                .body(Body::from(vec![b'x'; 4096]))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
