//! Grants, extensions and the audit export through the real router (sandbox grants, a real
//! worker): who may see and do what, and what the pages show.

use std::time::Duration;

use crate::common::world::{Market, Orders, date_in, wait_for};
use crate::common::{Browser, TestApp, body_json, body_text};
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The common world, with a granted request of ana's and an outsider.
struct World {
    market: Market,
    /// A member of marketing only: no business with this product or role.
    outsider: String,
    /// A granted request of ana's for two tables.
    request: String,
}

impl std::ops::Deref for World {
    type Target = Market;
    fn deref(&self) -> &Market {
        &self.market
    }
}

async fn granted_world() -> World {
    let market = Orders::default().publish().await.with_worker();
    let Market {
        app,
        omar,
        ana,
        principal,
        ..
    } = &market;
    let body = json!({
        "product": "orders", "principal_id": principal, "justification": "Churn analysis for Q3",
        "until": date_in(30), "tables": [{"table": "sales.orders", "columns": ["id"]}, {"table": "sales.returns"}],
    });
    let created = body_json(
        app.api("POST", "/api/v1/access-requests", Some(ana), Some(body))
            .await,
    )
    .await;
    let request = created["id"].as_str().unwrap().to_owned();
    let approved = app
        .api(
            "POST",
            &format!("/api/v1/access-requests/{request}/approve"),
            Some(omar),
            Some(json!({"comment": "for the churn work"})),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    wait_for(app, ana, &request, "granted").await;
    // A member of marketing only: signs in through a token made by hand in the store.
    let outsider = outsider_token(app).await;
    World {
        market,
        outsider,
        request,
    }
}

/// An API token for a user of the marketing team (no demo user is one).
async fn outsider_token(app: &TestApp) -> String {
    let store = app.store();
    let user = store
        .sign_in_user(
            &wharf::domain::UserClaims {
                subject: "mallory".into(),
                email: Some("mallory@example.com".into()),
                name: "Mallory".into(),
            },
            &[wharf::domain::TeamName::parse("marketing").unwrap()],
        )
        .await
        .unwrap();
    let secret = wharf::http::auth::secrets::new_api_token();
    store
        .create_api_token(&wharf::domain::NewApiToken {
            user_id: user.id,
            name: "outsider".into(),
            token_hash: wharf::http::auth::secrets::sha256_hex(&secret),
            prefix: secret.chars().take(10).collect(),
            expires_at: Some(wharf::store::now() + time::Duration::days(1)),
        })
        .await
        .unwrap();
    secret
}

/// GET a path; a list comes back as `{"items": [...], "next_cursor": ...}`, the cursor
/// taken from its `Link: rel="next"` header.
async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let response = app.api("GET", path, Some(token), None).await;
    let status = response.status();
    let next_cursor = response
        .headers()
        .get("link")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.split("cursor=").nth(1))
        .and_then(|rest| rest.split(['>', '&']).next())
        .map(str::to_owned);
    let text = body_text(response).await;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    match body {
        Value::Array(items) => (status, json!({"items": items, "next_cursor": next_cursor})),
        other => (status, other),
    }
}

#[tokio::test]
async fn the_grants_api_says_who_holds_what_and_why_to_those_who_may_see_it() {
    let w = granted_world().await;
    let (status, page) = get(&w.app, &w.omar, "/api/v1/grants").await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    let orders = items.iter().find(|g| g["table"] == "orders").unwrap();
    assert_eq!(orders["principal_arn"], "arn:aws:iam::111122223333:role/bi");
    assert_eq!(orders["columns"], json!(["id"]));
    assert_eq!(orders["request_id"], w.request.as_str());
    assert_eq!(orders["requester"]["name"], "Ana Analyst");
    assert_eq!(orders["approver"]["name"], "Omar Owner");
    assert_eq!(orders["health"], "healthy");
    assert_eq!(orders["driver"], "sandbox");
    assert!(orders["granted_at"].is_string() && orders["last_verified_at"].is_string());
    assert!(page["next_cursor"].is_null());

    // The principal's team and admins see it too; someone else sees nothing.
    for (token, expected) in [(&w.ana, 2), (&w.root, 2), (&w.outsider, 0)] {
        let (_, page) = get(&w.app, token, "/api/v1/grants").await;
        assert_eq!(page["items"].as_array().unwrap().len(), expected, "{page}");
    }
    let id = orders["id"].as_str().unwrap();
    let (status, _) = get(&w.app, &w.outsider, &format!("/api/v1/grants/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refused = w
        .app
        .api(
            "POST",
            &format!("/api/v1/grants/{id}/verify"),
            Some(&w.outsider),
            None,
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::NOT_FOUND,
        "nothing to check for them"
    );

    // Filters and pages.
    let (_, one) = get(&w.app, &w.root, "/api/v1/grants?limit=1").await;
    let cursor = one["next_cursor"].as_str().expect("a next page");
    let (_, two) = get(
        &w.app,
        &w.root,
        &format!("/api/v1/grants?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(two["items"].as_array().unwrap().len(), 1);
    assert_ne!(one["items"][0]["id"], two["items"][0]["id"]);
    assert!(two["next_cursor"].is_null());
    for (query, expected) in [
        ("principal=arn:aws:iam::111122223333:role/bi", 2),
        ("principal=arn:aws:iam::111122223333:role/other", 0),
        ("product=orders", 2),
        ("product=other", 0),
        ("team=analytics", 2),
        ("team=marketing", 0),
    ] {
        let (status, page) = get(&w.app, &w.root, &format!("/api/v1/grants?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(page["items"].as_array().unwrap().len(), expected, "{query}");
    }
    let (status, _) = get(&w.app, &w.root, "/api/v1/grants?cursor=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Checking one grant now records a new verification time.
    let before = orders["last_verified_at"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let checked = w
        .app
        .api(
            "POST",
            &format!("/api/v1/grants/{id}/verify"),
            Some(&w.ana),
            None,
        )
        .await;
    assert_eq!(checked.status(), StatusCode::OK);
    let checked = body_json(checked).await;
    assert_eq!(checked["health"], "healthy");
    assert_ne!(checked["last_verified_at"].as_str().unwrap(), before);
}

#[tokio::test]
async fn the_grants_page_lists_grants_with_their_reasons_and_checks_them() {
    let w = granted_world().await;
    let omar = w.app.sign_in("omar").await;
    let response = w.app.get_as(&omar, "/grants").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body_text(response).await;
    for expected in [
        "arn:aws:iam::111122223333:role/bi",
        "sales.orders",
        "sales.returns",
        "Ana Analyst",
        "approved by Omar Owner",
        "Churn analysis for Q3",
        &format!("/requests/{}", w.request),
        "healthy",
        "sandbox: recorded, not enforced",
    ] {
        assert!(page.contains(expected), "{expected} missing from {page}");
    }
    let filtered = body_text(w.app.get_as(&omar, "/grants?product=other").await).await;
    assert!(filtered.contains("No grants match"), "{filtered}");
    let requests = body_text(w.app.get_as(&omar, "/requests").await).await;
    assert!(
        requests.contains("href=\"/grants\""),
        "linked from the requests page"
    );

    let grants = get(&w.app, &w.omar, "/api/v1/grants").await.1;
    let id = grants["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/grants/{id}/verify");
    let forged = w.app.post_form(Some(&omar), &path, "").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let checked = w
        .app
        .post_form(Some(&omar), &path, &format!("csrf_token={}", omar.csrf))
        .await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app.api("POST", path, Some(token), Some(body)).await;
    let status = response.status();
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn extensions_are_asked_by_the_requester_and_decided_by_the_owners() {
    let w = granted_world().await;
    let path = format!("/api/v1/access-requests/{}/extensions", w.request);
    let ask = json!({"until": date_in(60), "reason": "the churn study runs into Q4"});
    let (status, _) = post(&w.app, &w.omar, &path, ask.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the requester asks");
    let (status, _) = post(&w.app, &w.outsider, &path, ask.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "cannot see the request");
    for (bad, field) in [
        (
            json!({"until": date_in(200), "reason": "the churn study runs into Q4"}),
            "until",
        ),
        (
            json!({"until": date_in(10), "reason": "the churn study runs into Q4"}),
            "until",
        ),
        (json!({"until": date_in(60), "reason": "why"}), "reason"),
    ] {
        let (status, problem) = post(&w.app, &w.ana, &path, bad).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {problem}"
        );
    }
    let (status, extension) = post(&w.app, &w.ana, &path, ask.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{extension}");
    assert_eq!(extension["status"], "pending");
    let (status, _) = post(&w.app, &w.ana, &path, ask.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "one pending at a time");

    let decide = |action: &str| format!("{path}/{}/{action}", extension["id"].as_str().unwrap());
    let (status, _) = post(&w.app, &w.ana, &decide("approve"), json!({})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "nobody approves their own extension"
    );
    let (status, approved) = post(
        &w.app,
        &w.omar,
        &decide("approve"),
        json!({"comment": "ok"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    let (status, _) = post(&w.app, &w.omar, &decide("reject"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "already decided");
    let request = get(
        &w.app,
        &w.ana,
        &format!("/api/v1/access-requests/{}", w.request),
    )
    .await
    .1;
    assert!(
        request["requested_until"]
            .as_str()
            .unwrap()
            .starts_with(&date_in(60)),
        "{request}"
    );
    let (_, list) = get(&w.app, &w.ana, &path).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let events: Vec<String> = w
        .app
        .store()
        .events_after(0, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(events.contains(&"wharf.access.extension_requested".to_owned()));
    assert!(events.contains(&"wharf.access.extended".to_owned()));
}

async fn form(app: &TestApp, browser: &Browser, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf_token", &browser.csrf);
    for (key, value) in fields {
        body.append_pair(key, value);
    }
    app.post_form(Some(browser), path, &body.finish())
        .await
        .status()
}

#[tokio::test]
async fn extensions_from_the_request_page() {
    let w = granted_world().await;
    let page_path = format!("/requests/{}", w.request);
    let ana = w.app.sign_in("ana").await;
    let page = body_text(w.app.get_as(&ana, &page_path).await).await;
    assert!(page.contains("Ask for an extension"), "{page}");
    let omar = w.app.sign_in("omar").await;
    let page = body_text(w.app.get_as(&omar, &page_path).await).await;
    assert!(!page.contains("Ask for an extension"), "owners do not ask");

    let until = date_in(45);
    let ask = [
        ("until", until.as_str()),
        ("reason", "the churn study runs into Q4"),
    ];
    let path = format!("{page_path}/extensions");
    let forged = w
        .app
        .post_form(
            Some(&ana),
            &path,
            &format!("until={until}&reason=the+churn+study+runs+long"),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(form(&w.app, &ana, &path, &ask).await, StatusCode::SEE_OTHER);

    let page = body_text(w.app.get_as(&omar, &page_path).await).await;
    assert!(
        page.contains("the churn study runs into Q4") && page.contains("Approve extension"),
        "{page}"
    );
    let start = page.find("/extensions/").unwrap() + "/extensions/".len();
    let extension = &page[start..start + 36];
    let reject = format!("{path}/{extension}/reject");
    assert_eq!(
        form(&w.app, &ana, &reject, &[("comment", "")]).await,
        StatusCode::FORBIDDEN,
        "the requester cannot decide"
    );
    assert_eq!(
        form(
            &w.app,
            &omar,
            &reject,
            &[("comment", "ask again in December")]
        )
        .await,
        StatusCode::SEE_OTHER
    );
    let page = body_text(w.app.get_as(&ana, &page_path).await).await;
    assert!(
        page.contains("rejected") && page.contains("ask again in December"),
        "{page}"
    );
    assert!(page.contains("Ask for an extension"), "may ask again");
}

#[tokio::test]
async fn the_audit_export_shows_admins_everything_and_others_what_they_may_see() {
    let w = granted_world().await;
    let (status, all) = get(&w.app, &w.root, "/api/v1/audit?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let entries = all["items"].as_array().unwrap();
    let about = |entries: &[Value]| {
        entries
            .iter()
            .filter(|e| e["target_id"] == w.request.as_str())
            .count()
    };
    assert!(about(entries) >= 3, "{all}");
    assert!(entries.iter().any(|e| e["target_type"] == "domain"));
    assert!(
        entries
            .iter()
            .all(|e| e.get("aws_request_id").is_some() && e.get("error").is_some())
    );

    let (_, ana) = get(&w.app, &w.ana, "/api/v1/audit?limit=500").await;
    let ana = ana["items"].as_array().unwrap();
    assert_eq!(
        about(ana),
        about(entries),
        "the requester sees their request's history"
    );
    assert!(ana.iter().all(|e| e["target_type"] != "domain"));
    let (_, outsider) = get(&w.app, &w.outsider, "/api/v1/audit?limit=500").await;
    assert_eq!(about(outsider["items"].as_array().unwrap()), 0);

    let (_, only) = get(
        &w.app,
        &w.root,
        &format!(
            "/api/v1/audit?target_type=access_request&target_id={}",
            w.request
        ),
    )
    .await;
    assert_eq!(only["items"].as_array().unwrap().len(), about(entries));
    let (_, one) = get(&w.app, &w.root, "/api/v1/audit?limit=1").await;
    let cursor = one["next_cursor"].as_str().unwrap();
    let (_, next) = get(
        &w.app,
        &w.root,
        &format!("/api/v1/audit?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(next["items"][0]["id"], entries[1]["id"]);
    let (status, _) = get(&w.app, &w.root, "/api/v1/audit?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, future) = get(&w.app, &w.root, "/api/v1/audit?since=2999-01-01T00:00:00Z").await;
    assert!(future["items"].as_array().unwrap().is_empty());
}
