//! Access requests through the real router, on the sandbox (grants recorded only), with a
//! real worker running the jobs.

use crate::common::world::{Market, Orders, date_in, wait_for};
use crate::common::{TestApp, body_json, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

/// A published sandbox product owned by sales-data, a role for analytics, and a worker.
async fn world(auto_approve: bool) -> Market {
    Orders {
        auto_approve,
        ..Orders::default()
    }
    .publish()
    .await
    .with_worker()
}

fn request(principal: &str, extra: Value) -> Value {
    let mut body = json!({
        "product": "orders", "principal_id": principal, "justification": "Churn analysis for Q3",
        "until": date_in(30), "tables": [{"table": "sales.orders", "columns": ["id"]}, {"table": "sales.returns"}],
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn request_approve_grant_revoke_in_the_sandbox() {
    let w = world(false).await;
    let created = w
        .app
        .api(
            "POST",
            "/api/v1/access-requests",
            Some(&w.ana),
            Some(request(&w.principal, json!({}))),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = body_json(created).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["items"][0]["columns"], json!(["id"]));

    let omar = w.app.sign_in("omar").await;
    let page = body_text(w.app.get_as(&omar, "/requests").await).await;
    assert!(
        page.contains("1 waiting for your decision") && page.contains("Ana Analyst"),
        "inbox badge and list"
    );

    let url = |action: &str| format!("/api/v1/access-requests/{id}/{action}");
    assert_eq!(
        w.app
            .api("POST", &url("approve"), Some(&w.ana), None)
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "own request"
    );
    assert_eq!(
        w.app
            .api(
                "POST",
                &url("approve"),
                Some(&w.omar),
                Some(json!({"comment": "fine"}))
            )
            .await
            .status(),
        StatusCode::OK
    );
    let granted = wait_for(&w.app, &w.ana, &id, "granted").await;
    let decisions: Vec<&str> = granted["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["submitted", "approved"]);
    assert_eq!(
        w.app
            .api("POST", &url("cancel"), Some(&w.ana), None)
            .await
            .status(),
        StatusCode::CONFLICT,
        "too late to cancel"
    );

    let page = body_text(
        w.app
            .get_as(&w.app.sign_in("ana").await, &format!("/requests/{id}"))
            .await,
    )
    .await;
    assert!(
        page.contains("granted") && page.contains("Sandbox: the grant is recorded"),
        "{page}"
    );

    assert_eq!(
        w.app
            .api("POST", &url("revoke"), Some(&w.ana), None)
            .await
            .status(),
        StatusCode::OK
    );
    wait_for(&w.app, &w.ana, &id, "revoked").await;
    assert_eq!(
        w.app
            .api("POST", &url("revoke"), Some(&w.ana), None)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let events: Vec<String> = w
        .app
        .store()
        .events_after(0, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == format!("access-requests/{id}"))
        .map(|e| e.event_type)
        .collect();
    for expected in [
        "wharf.access.requested",
        "wharf.access.approved",
        "wharf.access.granted",
        "wharf.access.revoked",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }
}

#[tokio::test]
async fn auto_approve_products_grant_at_once_and_keys_make_retries_safe() {
    let w = world(true).await;
    let send = |key: &'static str| {
        Request::post("/api/v1/access-requests")
            .header("authorization", format!("Bearer {}", w.ana))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(request(&w.principal, json!({})).to_string()))
            .unwrap()
    };
    let first = body_json(w.app.request(send("retry-1")).await).await;
    let again = body_json(w.app.request(send("retry-1")).await).await;
    assert_eq!(
        first["id"], again["id"],
        "the same key returns the first request"
    );
    let mine = body_json(
        w.app
            .api(
                "GET",
                "/api/v1/access-requests?scope=mine",
                Some(&w.ana),
                None,
            )
            .await,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "and creates nothing new");
    wait_for(&w.app, &w.ana, first["id"].as_str().unwrap(), "granted").await;
}

#[tokio::test]
async fn requests_that_must_be_refused_are_and_nothing_is_granted() {
    let w = world(false).await;

    // Omar is not in analytics: he cannot ask for a grant to its role.
    assert_eq!(
        post(&w.app, &w.omar, request(&w.principal, json!({})))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Sofia is in analytics and finance-data: asking for finance-data with analytics' role is refused.
    assert_eq!(
        post(
            &w.app,
            &w.sofia,
            request(&w.principal, json!({"consumer_team": "finance-data"}))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    for (extra, field) in [
        (json!({"until": date_in(365)}), "until"),
        (json!({"until": "yesterday"}), "until"),
        (json!({"justification": "pls"}), "justification"),
        (json!({"tables": [{"table": "sales.nope"}]}), "tables"),
        (
            json!({"tables": [{"table": "sales.orders", "columns": ["nope"]}]}),
            "tables",
        ),
        (json!({"tables": []}), "tables"),
        (
            json!({"principal_id": "0190b3a4-0000-7000-8000-000000000000"}),
            "principal_id",
        ),
    ] {
        let response = post(&w.app, &w.ana, request(&w.principal, extra.clone())).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra}"
        );
        assert_eq!(
            body_json(response).await["errors"][0]["field"],
            field,
            "{extra}"
        );
    }
    // A role registered in another environment.
    let root = w.app.token("root").await;
    let env = json!({"name": "Prod", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "eu-west-1"});
    w.app
        .api("POST", "/api/v1/environments", Some(&root), Some(env))
        .await;
    let elsewhere = json!({"team": "analytics", "arn": "arn:aws:iam::123456789012:role/bi"});
    let elsewhere = body_json(
        w.app
            .api(
                "POST",
                "/api/v1/environments/prod/principals",
                Some(&w.ana),
                Some(elsewhere),
            )
            .await,
    )
    .await;
    let response = post(
        &w.app,
        &w.ana,
        request(elsewhere["id"].as_str().unwrap(), json!({})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A request you may not see does not exist for you, and cannot be acted on.
    let fin = json!({"team": "finance-data", "arn": "arn:aws:iam::111122223333:role/fin"});
    let fin = body_json(
        w.app
            .api(
                "POST",
                "/api/v1/environments/sandbox/principals",
                Some(&w.sofia),
                Some(fin),
            )
            .await,
    )
    .await;
    let theirs = body_json(
        post(
            &w.app,
            &w.sofia,
            request(fin["id"].as_str().unwrap(), json!({})),
        )
        .await,
    )
    .await;
    let id = theirs["id"].as_str().unwrap();
    assert_eq!(
        w.app
            .api(
                "GET",
                &format!("/api/v1/access-requests/{id}"),
                Some(&w.ana),
                None
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app
            .api(
                "POST",
                &format!("/api/v1/access-requests/{id}/cancel"),
                Some(&w.ana),
                None
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app
            .api(
                "POST",
                &format!("/api/v1/access-requests/{id}/approve"),
                Some(&w.ana),
                None
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let everything = w
        .app
        .store()
        .list_requests(&wharf::store::RequestFilter {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(everything.len(), 1, "only sofia's valid request exists");
    assert_eq!(
        everything[0].status,
        wharf::domain::RequestStatus::Submitted,
        "and nothing was granted"
    );
}

async fn post(app: &TestApp, token: &str, body: Value) -> axum::http::Response<Body> {
    app.api("POST", "/api/v1/access-requests", Some(token), Some(body))
        .await
}
