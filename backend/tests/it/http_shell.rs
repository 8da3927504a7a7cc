//! The HTTP shell through the real router: pages, errors, headers, health, metrics, assets.

use crate::common::{TestApp, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
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

/// Whether a response is the site's HTML error page (with its chrome), not plain text.
async fn is_error_page(response: axum::http::Response<Body>, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = body_text(response).await;
    assert!(
        html.contains("/static/app.css?v=") && html.contains("Back to the catalog"),
        "the error page with the site's chrome: {html}"
    );
    html
}

fn dev_login_via(host: &str) -> Request<Body> {
    Request::post("/auth/dev-login")
        .header(header::HOST, host)
        .header(header::ORIGIN, format!("http://{host}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("user=root&next=/admin"))
        .unwrap()
}

#[tokio::test]
async fn dns_rebinding_hosts_are_refused_before_the_dev_sign_in() {
    let app = TestApp::new().await;
    // A page on a name that rebinds to 127.0.0.1 posts the sign-in form "same-origin".
    let rebound = app
        .request(dev_login_via("rebind.attacker.example:8080"))
        .await;
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(!rebound.headers().contains_key(header::SET_COOKIE));

    let api = app
        .request(
            Request::get("/api/v1/me")
                .header(header::HOST, "rebind.attacker.example:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(api.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(
        api.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem: serde_json::Value = serde_json::from_str(&body_text(api).await).unwrap();
    assert_eq!(problem["status"], 421);
    // An absolute-form request names its host in the URI.
    let absolute = app
        .get("http://rebind.attacker.example:8080/api/v1/me")
        .await;
    assert_eq!(absolute.status(), StatusCode::MISDIRECTED_REQUEST);
    // A loopback name on another port is another service's.
    let other_port = app.request(dev_login_via("localhost:9999")).await;
    assert_eq!(other_port.status(), StatusCode::MISDIRECTED_REQUEST);

    // The names a loopback listener is reached at, in any case, with a trailing dot.
    for host in [
        "127.0.0.1:8080",
        "LocalHost:8080",
        "localhost.:8080",
        "[::1]:8080",
    ] {
        let response = app.request(dev_login_via(host)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{host}");
    }
    // Probes reach a pod by its address; health says nothing and changes nothing.
    for path in ["/healthz", "/readyz"] {
        let probe = app
            .request(
                Request::get(path)
                    .header(header::HOST, "10.1.2.3:8080")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(probe.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn the_public_url_and_allowed_hosts_decide_which_hosts_are_served() {
    let app = TestApp::builder()
        .env("WHARF_LISTEN", "0.0.0.0:8080")
        .env("WHARF_PUBLIC_URL", "https://wharf.example.com")
        .env("WHARF_ALLOWED_HOSTS", "wharf.internal, wharf-proxy:8443")
        .build()
        .await;
    let status = |host: &'static str| {
        let app = &app;
        async move {
            app.request(
                Request::get("/")
                    .header(header::HOST, host)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .status()
        }
    };
    for host in [
        "wharf.example.com",
        "wharf.example.com:443",
        "WHARF.Example.com.",
        "wharf.internal",
        "wharf.internal:1234",
        "wharf-proxy:8443",
    ] {
        assert_eq!(status(host).await, StatusCode::OK, "{host}");
    }
    for host in [
        "wharf.example.com:8443",
        "wharf-proxy",
        "evil.example",
        "wharf.example.com.evil.example",
        // Not a loopback listener: loopback names are not Wharf's.
        "localhost:8080",
        "127.0.0.1:8080",
    ] {
        assert_eq!(
            status(host).await,
            StatusCode::MISDIRECTED_REQUEST,
            "{host}"
        );
    }
}

/// Serve the app on a real socket (hyper in front, as in production).
async fn serve(app: &TestApp, listener: std::net::TcpListener) -> String {
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = wharf::app::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test]
async fn oversized_query_strings_and_headers_get_problem_json_and_error_pages() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let app = TestApp::builder()
        .env("WHARF_LISTEN", &listen)
        .build()
        .await;
    let base = serve(&app, listener).await;
    let client = reqwest::Client::new();
    let long_query = format!("q={}", "x".repeat(20 * 1024));

    let too_long = client
        .get(format!("{base}/api/v1/products?{long_query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(
        too_long.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem: serde_json::Value = too_long.json().await.unwrap();
    assert_eq!(problem["status"], 414);
    assert!(problem["detail"].as_str().unwrap().contains("query"));

    // Both within hyper's own limits (400 KiB of head), so Wharf answers them itself.
    for size in [40 * 1024, 120 * 1024] {
        let big_header = client
            .get(format!("{base}/api/v1/products"))
            .header("x-padding", "y".repeat(size))
            .send()
            .await
            .unwrap();
        assert_eq!(
            big_header.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        assert_eq!(
            big_header.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem: serde_json::Value = big_header.json().await.unwrap();
        assert_eq!(problem["status"], 431);
    }

    // Pages answer the same limits with the error page.
    let page = client
        .get(format!("{base}/?{long_query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::URI_TOO_LONG);
    let html = page.text().await.unwrap();
    assert!(html.contains("Back to the catalog"), "{html}");
}

#[tokio::test]
async fn malformed_page_ids_and_forms_get_the_error_page() {
    let app = TestApp::builder()
        .env("WHARF_MAX_BODY_BYTES", "1024")
        .build()
        .await;
    let ana = app.sign_in("ana").await;

    let html = is_error_page(
        app.get_as(&ana, "/requests/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(html.contains("<h1>Bad Request</h1>"), "{html}");

    let form = format!("csrf_token={}&name=ci&expires_in_days=soon", ana.csrf);
    let html = is_error_page(
        app.post_form(Some(&ana), "/account/tokens", &form).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("expires_in_days"), "names the field: {html}");

    // An oversized form, announced by its length or not.
    let big = format!("user=ana&next={}", "x".repeat(4096));
    for announced in [true, false] {
        let mut request = Request::post("/auth/dev-login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if announced {
            request = request.header(header::CONTENT_LENGTH, big.len());
        }
        let response = app
            .request(request.body(Body::from(big.clone())).unwrap())
            .await;
        is_error_page(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
}
