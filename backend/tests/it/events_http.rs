//! Events reaching people: notifications, the feed and live stream (filtered to what each
//! caller may see), and signed webhooks with retries, against the real router, a real
//! worker and relay, and a real HTTP receiver on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::stories;
use crate::common::world::{Market, Orders, Tables};
use crate::common::{TestApp, body_json, body_text};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};

stories!(
    app:
    owners_and_requesters_are_notified,
    the_feed_shows_each_caller_only_what_they_may_see,
    the_live_stream_tells_the_request_page_what_changed,
    webhooks_are_signed_retried_and_logged,
    a_slow_receiver_holds_up_nobody,
    webhook_addresses_and_scopes_are_checked,
);

/// A published sandbox product `orders` owned by sales-data, a role for analytics, and the
/// worker plus event delivery (relay scheduler, hub, webhook dispatcher) running.
async fn world(postgres: bool) -> Market {
    Orders {
        postgres,
        tables: Tables::One,
        ..Orders::default()
    }
    .publish()
    .await
    .with_worker()
    .with_event_delivery()
}

async fn submit(w: &Market) -> String {
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    let body = json!({"product": "orders", "principal_id": w.principal, "justification": "Churn analysis",
        "until": until.to_string(), "tables": [{"table": "sales.orders"}]});
    let created = w
        .app
        .api("POST", "/api/v1/access-requests", Some(&w.ana), Some(body))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    body_json(created).await["id"].as_str().unwrap().to_owned()
}

/// Poll `probe` until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn unread(app: &TestApp, token: &str) -> u64 {
    let count = body_json(
        app.api("GET", "/api/v1/notifications/unread", Some(token), None)
            .await,
    )
    .await;
    count["unread"].as_u64().unwrap()
}

async fn titles(app: &TestApp, token: &str) -> Vec<String> {
    let list = body_json(
        app.api("GET", "/api/v1/notifications", Some(token), None)
            .await,
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn owners_and_requesters_are_notified(postgres: bool) {
    let w = world(postgres).await;
    let id = submit(&w).await;
    let owner_titles = eventually(
        Duration::from_secs(5),
        "the owner's notification",
        || async {
            let titles = titles(&w.app, &w.omar).await;
            (!titles.is_empty()).then_some(titles)
        },
    )
    .await;
    assert_eq!(owner_titles, ["analytics asks for access to orders"]);
    assert!(
        titles(&w.app, &w.ana).await.is_empty(),
        "the requester asked; nothing to tell"
    );

    let approve = format!("/api/v1/access-requests/{id}/approve");
    assert_eq!(
        w.app
            .api("POST", &approve, Some(&w.omar), None)
            .await
            .status(),
        StatusCode::OK
    );
    let ana_titles = eventually(Duration::from_secs(10), "approved and granted", || async {
        let titles = titles(&w.app, &w.ana).await;
        (titles.len() == 2).then_some(titles)
    })
    .await;
    assert!(ana_titles.contains(&"Your request for orders was approved".to_owned()));
    assert!(ana_titles.contains(&"Access to orders is granted".to_owned()));
    assert!(
        titles(&w.app, &w.sofia).await.is_empty(),
        "a teammate who did not ask hears nothing"
    );

    // The list pages newest first, with the next page in a Link header.
    let first_page = w
        .app
        .api("GET", "/api/v1/notifications?limit=1", Some(&w.ana), None)
        .await;
    let link = first_page.headers()["link"].to_str().unwrap().to_owned();
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let first_page = body_json(first_page).await;
    let second_page = body_json(w.app.api("GET", &next, Some(&w.ana), None).await).await;
    assert_eq!(first_page.as_array().unwrap().len(), 1);
    assert_eq!(second_page.as_array().unwrap().len(), 1);
    assert_ne!(first_page[0]["id"], second_page[0]["id"]);

    // The bell shows the unread count; reading one follows its link and lowers the count.
    let browser = w.app.sign_in("ana").await;
    let page = body_text(w.app.get_as(&browser, "/notifications").await).await;
    assert!(
        page.contains("Notifications, 2 unread"),
        "bell in the header"
    );
    assert!(page.contains("Access to orders is granted"));
    let list = body_json(
        w.app
            .api("GET", "/api/v1/notifications", Some(&w.ana), None)
            .await,
    )
    .await;
    assert_eq!(unread(&w.app, &w.ana).await, 2);
    let first = list[0]["id"].as_str().unwrap();
    let read = w
        .app
        .request(
            Request::post("/notifications/read")
                .header("cookie", &browser.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf_token={}&id={first}",
                    browser.csrf
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(read.status(), StatusCode::SEE_OTHER);
    assert_eq!(read.headers()["location"], format!("/requests/{id}"));
    // Someone else's notification neither changes nor reveals where it points.
    let omar = w.app.sign_in("omar").await;
    let foreign = w
        .app
        .request(
            Request::post("/notifications/read")
                .header("cookie", &omar.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf_token={}&id={first}", omar.csrf)))
                .unwrap(),
        )
        .await;
    assert_eq!(foreign.headers()["location"], "/notifications");
    let marked = w
        .app
        .api(
            "POST",
            "/api/v1/notifications/read",
            Some(&w.ana),
            Some(json!({})),
        )
        .await;
    assert_eq!(body_json(marked).await["marked"], 1);
    assert_eq!(unread(&w.app, &w.ana).await, 0);
}

async fn feed_subjects(app: &TestApp, token: &str) -> Vec<String> {
    let mut subjects = Vec::new();
    let mut after = String::new();
    loop {
        let page = body_json(
            app.api(
                "GET",
                &format!("/api/v1/events?limit=50&after={after}"),
                Some(token),
                None,
            )
            .await,
        )
        .await;
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            return subjects;
        }
        for item in items {
            assert_eq!(item["specversion"], "1.0");
            assert!(item["source"].as_str().unwrap().starts_with("http"));
            subjects.push(item["subject"].as_str().unwrap().to_owned());
        }
        after = page["next_cursor"].as_str().unwrap().to_owned();
    }
}

async fn the_feed_shows_each_caller_only_what_they_may_see(postgres: bool) {
    let w = world(postgres).await;
    let draft = json!({"name": "Secret Plans", "domain": "sales", "owner_team": "sales-data"});
    w.app
        .api("POST", "/api/v1/products", Some(&w.omar), Some(draft))
        .await;
    // Sofia asks for finance-data, a team Ana is not in.
    let principal = json!({"team": "finance-data", "arn": "arn:aws:iam::111122223333:role/fin"});
    let principal = body_json(
        w.app
            .api(
                "POST",
                "/api/v1/environments/sandbox/principals",
                Some(&w.sofia),
                Some(principal),
            )
            .await,
    )
    .await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    let body = json!({"product": "orders", "principal_id": principal["id"], "consumer_team": "finance-data",
        "justification": "Budget planning for Q4", "until": until.to_string(), "tables": [{"table": "sales.orders"}]});
    let created = w
        .app
        .api(
            "POST",
            "/api/v1/access-requests",
            Some(&w.sofia),
            Some(body),
        )
        .await;
    let status = created.status();
    let created = body_json(created).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let sofias = format!("access-requests/{}", created["id"].as_str().unwrap());

    let ana = feed_subjects(&w.app, &w.ana).await;
    assert!(
        ana.contains(&"products/orders".to_owned()),
        "published product: {ana:?}"
    );
    assert!(
        !ana.contains(&"products/secret-plans".to_owned()),
        "a draft of another team"
    );
    assert!(!ana.contains(&sofias), "another team's request");
    let ana_drafts = ana.iter().filter(|s| *s == "products/orders").count();
    let omar = feed_subjects(&w.app, &w.omar).await;
    assert!(
        omar.contains(&"products/secret-plans".to_owned()),
        "the owners see their draft"
    );
    assert!(
        omar.contains(&sofias),
        "owners see requests for their product"
    );
    assert!(
        omar.iter().filter(|s| *s == "products/orders").count() > ana_drafts,
        "the draft days of `orders` are visible to its owners only"
    );
    let root = feed_subjects(&w.app, &w.root).await;
    assert!(root.len() >= omar.len());

    assert_eq!(
        w.app
            .api("GET", "/api/v1/events?after=banana", Some(&w.ana), None)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        w.app.get("/api/v1/events").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Read SSE frames until one contains `needle`.
async fn read_until(body: &mut Body, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, body.frame())
            .await
            .unwrap_or_else(|_| panic!("{needle} on the stream within 10 s; saw {seen}"))
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    seen
}

async fn the_live_stream_tells_the_request_page_what_changed(postgres: bool) {
    let w = world(postgres).await;
    let id = submit(&w).await;
    let subject = format!("access-requests/{id}");
    let stream = w
        .app
        .api(
            "GET",
            &format!("/api/v1/events/stream?subject={subject}"),
            Some(&w.ana),
            None,
        )
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut body = stream.into_body();
    w.app
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/approve"),
            Some(&w.omar),
            None,
        )
        .await;
    let seen = read_until(&mut body, "wharf.access.granted").await;
    assert!(seen.contains("wharf.access.approved"), "{seen}");
    assert!(!seen.contains("products/orders"), "filtered to the subject");

    // Unfiltered, the stream skips what the caller may not see: a draft of another
    // team comes before the visible update, and never reaches Ana.
    let everything = w
        .app
        .api("GET", "/api/v1/events/stream", Some(&w.ana), None)
        .await;
    let mut everything = everything.into_body();
    let draft = json!({"name": "Secret Plans", "domain": "sales", "owner_team": "sales-data"});
    w.app
        .api("POST", "/api/v1/products", Some(&w.omar), Some(draft))
        .await;
    w.app
        .api(
            "POST",
            "/api/v1/products/orders/deprecate",
            Some(&w.omar),
            None,
        )
        .await;
    let seen = read_until(&mut everything, "wharf.product.deprecated").await;
    assert!(!seen.contains("secret-plans"), "{seen}");

    // The request page subscribes and refreshes its status on each event.
    let browser = w.app.sign_in("ana").await;
    let page = body_text(w.app.get_as(&browser, &format!("/requests/{id}")).await).await;
    assert!(page.contains(&format!("data-live-subject=\"{subject}\"")));
    assert!(page.contains("wharf:event from:body"));
    assert!(page.contains("/static/live.js"));
    // What refreshes is everything the state decides: status, actions (with their CSRF
    // token), history; before, a page left open kept offering to cancel a granted request.
    let live = body_text(
        w.app
            .get_as(&browser, &format!("/requests/{id}/status"))
            .await,
    )
    .await;
    assert!(live.contains("state-granted"), "{live}");
    assert!(live.contains("action-revoke"), "{live}");
    assert!(!live.contains("action-cancel"), "{live}");
    assert!(live.contains("name=\"csrf_token\""), "{live}");
    assert!(live.contains(": approved"), "{live}");
}

#[derive(Clone, Default)]
struct Receiver {
    /// (headers, body) of every request, in arrival order.
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Status codes to answer, in order; 200 once they run out.
    script: Arc<Mutex<Vec<u16>>>,
    delay: Duration,
}

impl Receiver {
    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let state = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    tokio::time::sleep(state.delay).await;
                    state.seen.lock().unwrap().push((headers, body));
                    let mut script = state.script.lock().unwrap();
                    let code = if script.is_empty() {
                        200
                    } else {
                        script.remove(0)
                    };
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }
}

fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn webhooks_are_signed_retried_and_logged(postgres: bool) {
    let w = world(postgres).await;
    let receiver = Receiver {
        script: Arc::new(Mutex::new(vec![500, 500])),
        ..Default::default()
    };
    let url = receiver.clone().start().await;
    let created = w
        .app
        .api(
            "POST",
            "/api/v1/webhooks",
            Some(&w.omar),
            Some(
                json!({"url": url, "product": "orders", "event_types": ["wharf.access.requested"]}),
            ),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = body_json(created).await;
    let (hook, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    assert_eq!(secret.len(), 64, "a generated 256-bit secret");
    let listed = body_json(
        w.app
            .api("GET", "/api/v1/webhooks", Some(&w.omar), None)
            .await,
    )
    .await;
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once only"
    );

    let id = submit(&w).await;
    let log = eventually(
        Duration::from_secs(15),
        "delivered on the third attempt",
        || async {
            let log = body_json(
                w.app
                    .api(
                        "GET",
                        &format!("/api/v1/webhooks/{hook}/deliveries"),
                        Some(&w.omar),
                        None,
                    )
                    .await,
            )
            .await;
            (log[0]["status"] == "delivered").then_some(log)
        },
    )
    .await;
    let attempts: Vec<&Value> = log[0]["attempts"].as_array().unwrap().iter().collect();
    let codes: Vec<u64> = attempts
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 200], "{log}");
    assert_eq!(log.as_array().unwrap().len(), 1, "only the subscribed type");

    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let delivery_ids: Vec<&str> = seen
        .iter()
        .map(|(h, _)| h["wharf-delivery"].to_str().unwrap())
        .collect();
    assert!(
        delivery_ids.iter().all(|d| *d == delivery_ids[0]),
        "one delivery id"
    );
    let (headers, body) = &seen[2];
    assert_eq!(headers["content-type"], "application/cloudevents+json");
    let signature = headers["wharf-signature"].to_str().unwrap();
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .expect("t=…,v1=…");
    assert_eq!(
        v1,
        hmac_hex(secret, &format!("{t}.{body}")),
        "the signature verifies"
    );
    assert_ne!(v1, hmac_hex("wrong secret", &format!("{t}.{body}")));
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "wharf.access.requested");
    assert_eq!(event["subject"], format!("access-requests/{id}"));
    assert_eq!(event["data"]["product"], "orders");

    // The owner's page shows the log; others cannot see the subscription at all.
    let browser = w.app.sign_in("omar").await;
    let page = body_text(w.app.get_as(&browser, &format!("/webhooks/{hook}")).await).await;
    assert!(
        page.contains("HTTP 500") && page.contains("HTTP 200"),
        "{page}"
    );
    assert_eq!(
        w.app
            .api(
                "GET",
                &format!("/api/v1/webhooks/{hook}"),
                Some(&w.ana),
                None
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn a_slow_receiver_holds_up_nobody(postgres: bool) {
    let w = world(postgres).await;
    let slow = Receiver {
        delay: Duration::from_secs(8),
        ..Default::default()
    };
    let fast = Receiver::default();
    for receiver in [&slow, &fast] {
        let url = receiver.clone().start().await;
        let created = w
            .app
            .api(
                "POST",
                "/api/v1/webhooks",
                Some(&w.root),
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    submit(&w).await;
    eventually(
        Duration::from_secs(4),
        "the fast receiver's delivery",
        || async {
            let seen = fast.seen.lock().unwrap();
            seen.iter()
                .any(|(_, body)| body.contains("wharf.access.requested"))
                .then_some(())
        },
    )
    .await;
    eventually(
        Duration::from_secs(4),
        "the owner's notification",
        || async { (!titles(&w.app, &w.omar).await.is_empty()).then_some(()) },
    )
    .await;
    assert!(
        slow.seen.lock().unwrap().is_empty(),
        "the slow receiver is still busy"
    );
}

async fn webhook_addresses_and_scopes_are_checked(postgres: bool) {
    let w = world(postgres).await;
    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &w.app;
        async move {
            app.api("POST", "/api/v1/webhooks", Some(&token), Some(body))
                .await
        }
    };
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.com/",
        "http://[fd00:ec2::254]/",
    ] {
        let refused = create(&w.root, json!({"url": url})).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(body_text(refused).await.contains("url"));
    }
    let everything = create(&w.omar, json!({"url": "http://127.0.0.1:9/x"})).await;
    assert_eq!(
        everything.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "owners name a product"
    );
    let not_theirs = create(
        &w.ana,
        json!({"url": "http://127.0.0.1:9/x", "product": "orders"}),
    )
    .await;
    assert_eq!(not_theirs.status(), StatusCode::FORBIDDEN);
    let unknown_type = create(
        &w.omar,
        json!({"url": "http://127.0.0.1:9/x", "product": "orders", "event_types": ["wharf.nope"]}),
    )
    .await;
    assert_eq!(unknown_type.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let short_secret = create(
        &w.omar,
        json!({"url": "http://127.0.0.1:9/x", "product": "orders", "secret": "short"}),
    )
    .await;
    assert_eq!(short_secret.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
