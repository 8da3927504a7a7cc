//! Sign-in, sessions, CSRF, API tokens and the policy, through the real router.

use crate::common::{Browser, TestApp, body_json, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

async fn token_for(app: &TestApp, browser: &Browser) -> String {
    let response = app
        .request(
            Request::post("/api/v1/tokens")
                .header("cookie", &browser.cookie)
                .header("x-csrf-token", &browser.csrf)
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": "tests"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(response).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn visitors_are_asked_to_sign_in() {
    let app = TestApp::new().await;
    let api = app.api("GET", "/api/v1/me", None, None).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"wharf\""
    );
    assert_eq!(
        api.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );

    let page = app.get("/requests?tab=mine").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()[header::LOCATION],
        "/auth/login?next=%2Frequests%3Ftab%3Dmine"
    );

    let bad = app
        .api("GET", "/api/v1/me", Some("wharf_not-a-real-token"), None)
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(
        bad.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let jwt = app
        .api("GET", "/api/v1/me", Some("eyJhbGciOiJub25lIn0.e30."), None)
        .await;
    assert_eq!(
        jwt.status(),
        StatusCode::UNAUTHORIZED,
        "no IdP configured: JWTs mean nothing"
    );
}

#[tokio::test]
async fn dev_sign_in_gives_a_session_with_the_demo_users_teams() {
    let app = TestApp::new().await;
    let page = body_text(app.get("/auth/login").await).await;
    assert!(page.contains("Sign in as Ana Analyst") && page.contains("Development sign-in is on"));

    let sofia = app.sign_in("sofia").await;
    let me = body_json(app.get_as(&sofia, "/api/v1/me").await).await;
    assert_eq!(me["name"], "Sofia Steward");
    assert_eq!(me["teams"], json!(["analytics", "finance-data"]));
    assert_eq!(me["is_admin"], false);
    assert_eq!(me["authenticated_by"], "session");

    let root = app.sign_in("root").await;
    assert_eq!(
        body_json(app.get_as(&root, "/api/v1/me").await).await["is_admin"],
        true
    );
    assert!(
        body_text(app.get_as(&root, "/").await)
            .await
            .contains("href=\"/admin\"")
    );
}

#[tokio::test]
async fn the_session_cookie_is_locked_down() {
    let app = TestApp::new().await;
    let response = app
        .post_form(None, "/auth/dev-login", "user=ana&next=/requests")
        .await;
    assert_eq!(response.headers()[header::LOCATION], "/requests");
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("wharf_session="));
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("wharf_session=");
    assert_eq!(id.len(), 43, "256 random bits, base64url");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http on loopback");

    let https = TestApp::builder()
        .env("WHARF_PUBLIC_URL", "https://wharf.example.com")
        .build()
        .await;
    let response = https.post_form(None, "/auth/dev-login", "user=ana").await;
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-wharf_session=") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn dev_sign_in_is_refused_with_an_idp_or_off_loopback() {
    let with_idp = TestApp::builder()
        .env("WHARF_OIDC_ISSUER", "http://127.0.0.1:9")
        .env("WHARF_OIDC_CLIENT_ID", "wharf")
        .build()
        .await;
    let off_loopback = TestApp::builder()
        .env("WHARF_LISTEN", "0.0.0.0:8080")
        .build()
        .await;
    for app in [&with_idp, &off_loopback] {
        let response = app.post_form(None, "/auth/dev-login", "user=root").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!response.headers().contains_key(header::SET_COOKIE));
        assert!(
            !body_text(app.get("/").await)
                .await
                .contains("Development sign-in is on")
        );
    }
    let page = body_text(off_loopback.get("/auth/login").await).await;
    assert!(page.contains("Sign-in is not configured") && !page.contains("Sign in as"));
    // With an IdP, /auth/login goes to the IdP (unreachable here: a clear 503).
    assert_eq!(
        with_idp.get("/auth/login").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn next_never_leaves_wharf() {
    let app = TestApp::new().await;
    for next in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let form = format!("user=ana&next={}", urlencode(next));
        let response = app.post_form(None, "/auth/dev-login", &form).await;
        assert_eq!(response.headers()[header::LOCATION], "/", "{next}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// An app that keeps callers for a minute: the change being tested, not the clock, must
/// be what ends a kept session or token.
async fn app_keeping_callers() -> TestApp {
    TestApp::builder()
        .env("WHARF_CALLER_CACHE_SECS", "60")
        .build()
        .await
}

#[tokio::test]
async fn unsafe_requests_on_a_session_need_the_csrf_token() {
    let app = app_keeping_callers().await;
    let ana = app.sign_in("ana").await;

    let missing = app.post_form(Some(&ana), "/auth/logout", "").await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(
        body_text(missing).await.contains("Reload the page"),
        "an HTML error page"
    );
    let wrong = app
        .post_form(Some(&ana), "/auth/logout", "csrf_token=guess")
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let json_without_header = app
        .request(
            Request::post("/api/v1/tokens")
                .header("cookie", &ana.cookie)
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": "x"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(json_without_header.status(), StatusCode::FORBIDDEN);

    let cross_site = app
        .request(
            Request::post("/auth/logout")
                .header("cookie", &ana.cookie)
                .header("origin", "https://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf_token={}", ana.csrf)))
                .unwrap(),
        )
        .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let via_localhost = app
        .request(
            Request::post("/api/v1/tokens")
                .header("cookie", &ana.cookie)
                .header("host", "localhost:8080")
                .header("origin", "http://localhost:8080")
                .header("x-csrf-token", &ana.csrf)
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": "same host"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(
        via_localhost.status(),
        StatusCode::CREATED,
        "the host the browser used is same-origin"
    );
    assert_eq!(
        app.get_as(&ana, "/api/v1/me").await.status(),
        StatusCode::OK,
        "still signed in"
    );

    let ok = app
        .post_form(
            Some(&ana),
            "/auth/logout",
            &format!("csrf_token={}", ana.csrf),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert!(
        ok.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        app.get_as(&ana, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "session ended"
    );
}

#[tokio::test]
async fn api_tokens_act_as_their_owner_until_revoked() {
    let app = app_keeping_callers().await;
    let omar = app.sign_in("omar").await;
    let token = token_for(&app, &omar).await;
    assert!(token.starts_with("wharf_"));

    let me = body_json(app.api("GET", "/api/v1/me", Some(&token), None).await).await;
    assert_eq!(me["name"], "Omar Owner");
    assert_eq!(me["teams"], json!(["sales-data"]));
    assert_eq!(me["authenticated_by"], "api_token");

    // Bearer requests need no CSRF token: no cookie can carry them. But a token does not
    // make tokens (one that could would outlive its own revocation): the person does.
    let minted = app
        .api(
            "POST",
            "/api/v1/tokens",
            Some(&token),
            Some(json!({"name": "second"})),
        )
        .await;
    assert_eq!(minted.status(), StatusCode::FORBIDDEN);
    token_for(&app, &omar).await;
    let listed = body_json(app.api("GET", "/api/v1/tokens", Some(&token), None).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&token),
        "the secret is never listed"
    );
    let id = listed[1]["id"].as_str().unwrap().to_owned();

    let ana = app.sign_in("ana").await;
    let anas = token_for(&app, &ana).await;
    let theirs = app
        .api("DELETE", &format!("/api/v1/tokens/{id}"), Some(&anas), None)
        .await;
    assert_eq!(
        theirs.status(),
        StatusCode::NOT_FOUND,
        "someone else's token does not exist for you"
    );

    let revoked = app
        .api(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.api("GET", "/api/v1/me", Some(&token), None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "expires_in_days": 999}),
            "expires_in_days",
        ),
    ] {
        let response = app
            .request(
                Request::post("/api/v1/tokens")
                    .header("cookie", &ana.cookie)
                    .header("x-csrf-token", &ana.csrf)
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body_json(response).await["errors"][0]["field"], field);
    }
}

/// Another replica (here: a second store on the same database, as another process has)
/// revokes a token and ends a session; this one keeps neither past `caller_cache_secs`.
#[tokio::test]
async fn a_revocation_elsewhere_takes_effect_within_the_caller_cache_time() {
    let app = TestApp::builder()
        .env("WHARF_CALLER_CACHE_SECS", "1")
        .build()
        .await;
    let omar = app.sign_in("omar").await;
    let token = token_for(&app, &omar).await;
    let me = |bearer: Option<String>| {
        let app = &app;
        let omar = &omar;
        async move {
            match bearer {
                Some(token) => app.api("GET", "/api/v1/me", Some(&token), None).await,
                None => app.get_as(omar, "/api/v1/me").await,
            }
            .status()
        }
    };
    assert_eq!(me(Some(token.clone())).await, StatusCode::OK);
    assert_eq!(me(None).await, StatusCode::OK);

    let elsewhere = app.db.open().await;
    let user = body_json(app.get_as(&omar, "/api/v1/me").await).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let id = elsewhere.list_api_tokens(user).await.unwrap()[0].id;
    assert!(elsewhere.revoke_api_token(user, id).await.unwrap());
    let session = omar.cookie.split_once('=').unwrap().1;
    elsewhere
        .delete_session(&wharf::http::auth::secrets::sha256_hex(session))
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for bearer in [Some(token), None] {
        while me(bearer.clone()).await != StatusCode::UNAUTHORIZED {
            assert!(
                std::time::Instant::now() < deadline,
                "still accepted long after another process ended it: {bearer:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn the_account_page_shows_a_new_token_once() {
    let app = TestApp::new().await;
    let ana = app.sign_in("ana").await;
    let form = format!("csrf_token={}&name=Notebook&expires_in_days=7", ana.csrf);
    let html = body_text(app.post_form(Some(&ana), "/account/tokens", &form).await).await;
    assert!(
        html.contains("Copy your new token now") && html.contains("wharf_"),
        "{html}"
    );
    let again = body_text(app.get_as(&ana, "/account").await).await;
    assert!(again.contains("Notebook") && !again.contains("Copy your new token now"));
}

#[tokio::test]
async fn domains_are_read_by_anyone_signed_in_and_created_by_admins() {
    let app = TestApp::new().await;
    let root = token_for(&app, &app.sign_in("root").await).await;
    let ana = token_for(&app, &app.sign_in("ana").await).await;
    let sales = json!({"name": "Sales & Marketing", "description": "Orders"});

    assert_eq!(
        app.api("POST", "/api/v1/domains", Some(&ana), Some(sales.clone()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let created = app
        .api("POST", "/api/v1/domains", Some(&root), Some(sales.clone()))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(body_json(created).await["slug"], "sales-marketing");
    let clash = app
        .api("POST", "/api/v1/domains", Some(&root), Some(sales))
        .await;
    assert_eq!(clash.status(), StatusCode::CONFLICT);
    let bad_slug = app
        .api(
            "POST",
            "/api/v1/domains",
            Some(&root),
            Some(json!({"name": "X", "slug": "Not A Slug"})),
        )
        .await;
    assert_eq!(bad_slug.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let not_json = app
        .request(
            Request::post("/api/v1/domains")
                .header("authorization", format!("Bearer {root}"))
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );

    let listed = body_json(app.api("GET", "/api/v1/domains", Some(&ana), None).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

/// Every endpoint that exists, for every kind of caller.
#[tokio::test]
async fn every_endpoint_checks_who_is_calling() {
    let app = TestApp::new().await;
    let ana = token_for(&app, &app.sign_in("ana").await).await;
    let root = token_for(&app, &app.sign_in("root").await).await;
    let ana_browser = app.sign_in("ana").await;
    let root_browser = app.sign_in("root").await;
    let domain = json!({"name": "Finance"});
    let token = json!({"name": "t"});

    // (method, path, body, visitor, analyst, admin)
    type Case<'a> = (&'a str, &'a str, Option<serde_json::Value>, u16, u16, u16);
    let api: &[Case] = &[
        ("GET", "/api/v1/me", None, 401, 200, 200),
        ("GET", "/api/v1/tokens", None, 401, 200, 200),
        // Tokens are made by a signed-in person, not by a token.
        ("POST", "/api/v1/tokens", Some(token.clone()), 401, 403, 403),
        (
            "DELETE",
            "/api/v1/tokens/0190b3a4-0000-7000-8000-000000000000",
            None,
            401,
            404,
            404,
        ),
        ("GET", "/api/v1/domains", None, 401, 200, 200),
        ("POST", "/api/v1/domains", Some(domain), 401, 403, 201),
    ];
    for (method, path, body, visitor, analyst, admin) in api {
        for (who, bearer, expected) in [
            ("visitor", None, visitor),
            ("analyst", Some(&ana), analyst),
            ("admin", Some(&root), admin),
        ] {
            let status = app
                .api(method, path, bearer.map(String::as_str), body.clone())
                .await
                .status();
            assert_eq!(status.as_u16(), *expected, "{who} {method} {path}");
        }
    }

    // (path, visitor, analyst, admin): visitors are sent to sign in.
    let pages: &[(&str, u16, u16, u16)] = &[
        ("/", 200, 200, 200),
        ("/requests", 303, 200, 200),
        ("/account", 303, 200, 200),
        ("/admin", 303, 403, 200),
        ("/auth/login", 200, 200, 200),
    ];
    for (path, visitor, analyst, admin) in pages {
        assert_eq!(
            app.get(path).await.status().as_u16(),
            *visitor,
            "visitor {path}"
        );
        assert_eq!(
            app.get_as(&ana_browser, path).await.status().as_u16(),
            *analyst,
            "analyst {path}"
        );
        assert_eq!(
            app.get_as(&root_browser, path).await.status().as_u16(),
            *admin,
            "admin {path}"
        );
    }
    let forbidden = body_text(app.get_as(&ana_browser, "/admin").await).await;
    assert!(
        forbidden.contains("<h1>Forbidden</h1>") && forbidden.contains("Ana Analyst"),
        "{forbidden}"
    );
}

/// Tokens are made by people who signed in: a token cannot mint a token that would
/// outlive its own revocation.
#[tokio::test]
async fn an_api_token_cannot_create_api_tokens() {
    let app = TestApp::new().await;
    let token = app.token("ana").await;
    let response = app
        .api(
            "POST",
            "/api/v1/tokens",
            Some(&token),
            Some(json!({"name": "child"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let p = body_json(response).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("cannot create API tokens"),
        "{p}"
    );
    let listed = body_json(app.api("GET", "/api/v1/tokens", Some(&token), None).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "only the one ana made");
    // The signed-in person still can (`token` above was made so).
    let browser = app.sign_in("ana").await;
    let made = app
        .request(
            Request::post("/api/v1/tokens")
                .header("cookie", &browser.cookie)
                .header("x-csrf-token", &browser.csrf)
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": "second"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
}
