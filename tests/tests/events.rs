//! The event relay against DynamoDB (moto on loopback), checked in what the table holds:
//! every outbox event exactly once, in order per subject, also across a relay killed with
//! SIGKILL in the middle of its work.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use wharf_e2e::Wharf;
use wharf_e2e::faults::{Fault, FaultProxy};
use wharf_e2e::moto::Moto;

const TABLE: &str = "wharf-events";

type Item = HashMap<String, AttributeValue>;

fn text<'a>(item: &'a Item, key: &str) -> &'a str {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .unwrap_or_else(|| panic!("{key} in {item:?}"))
}

/// Every event the admin's feed lists, oldest first: (id, subject, type).
async fn outbox(wharf: &Wharf, token: &str) -> Vec<(String, String, String)> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = wharf
            .api(
                "GET",
                &format!("/api/v1/events?limit=500&after={after}"),
                token,
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            return events;
        }
        events.extend(items.iter().map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
                e["type"].as_str().unwrap().to_owned(),
            )
        }));
        after = page["next_cursor"].as_str().unwrap().to_owned();
    }
}

/// Wait until the table holds `count` items (or fail, showing how many it holds).
async fn wait_for_items(moto: &Moto, count: usize) -> Vec<Item> {
    let started = Instant::now();
    loop {
        let items = moto.scan_all(TABLE).await;
        if items.len() >= count {
            return items;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "DynamoDB holds {} of {count} events after 60 s",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each event once, and a subject's events sorted by their sort key come in outbox order.
fn assert_exactly_once_in_order(items: &[Item], events: &[(String, String, String)]) {
    let ids: Vec<&str> = items.iter().map(|i| text(i, "id")).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event was written twice");
    assert_eq!(ids.len(), events.len(), "one item per outbox event");
    let mut by_subject: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for item in items {
        by_subject
            .entry(text(item, "subject"))
            .or_default()
            .push((text(item, "sort"), text(item, "id")));
    }
    for (subject, mut stored) in by_subject {
        stored.sort();
        let stored: Vec<&str> = stored.into_iter().map(|(_, id)| id).collect();
        let expected: Vec<&str> = events
            .iter()
            .filter(|(_, s, _)| s == subject)
            .map(|(id, _, _)| id.as_str())
            .collect();
        assert_eq!(stored, expected, "order of {subject}");
    }
}

/// A webhook receiver on loopback that keeps every CloudEvent it is sent.
async fn receiver(received: Arc<Mutex<Vec<Value>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let received = received.clone();
            async move {
                received
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap());
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn wait_for_status(wharf: &Wharf, token: &str, id: &str, status: &str) {
    let started = Instant::now();
    loop {
        let request: Value = wharf
            .api("GET", &format!("/api/v1/access-requests/{id}"), token, None)
            .await
            .json()
            .await
            .unwrap();
        if request["status"] == status {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{request}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_access_journey_lands_in_dynamodb_once_and_in_order() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()),
        ("WHARF_EVENTS_DYNAMODB_TABLE", TABLE),
        ("WHARF_EVENTS_DYNAMODB_CREATE", "true"),
        ("AWS_REGION", "us-east-1"),
    ];
    let wharf = Wharf::start(dir.path(), &["--demo"], &env).await;
    let (ana, omar, root) = (
        wharf.api_token("ana").await,
        wharf.api_token("omar").await,
        wharf.api_token("root").await,
    );
    let principal: Value = wharf
        .api(
            "POST",
            "/api/v1/environments/sandbox/principals",
            &ana,
            Some(json!({"team": "analytics", "arn": "arn:aws:iam::111122223333:role/bi"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let product: Value = wharf
        .api("GET", "/api/v1/products?owner_team=sales-data", &omar, None)
        .await
        .json()
        .await
        .unwrap();
    let slug = product["hits"][0]["product_slug"]
        .as_str()
        .expect("a demo product")
        .to_owned();
    let detail: Value = wharf
        .api("GET", &format!("/api/v1/products/{slug}"), &ana, None)
        .await
        .json()
        .await
        .unwrap();
    let table = &detail["assets"][0];
    let received = Arc::new(Mutex::new(Vec::<Value>::new()));
    let receiver_url = receiver(received.clone()).await;
    let hook = wharf
        .api(
            "POST",
            "/api/v1/webhooks",
            &root,
            Some(json!({"url": receiver_url, "event_types": ["wharf.access.*"]})),
        )
        .await;
    assert_eq!(hook.status(), 201);
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(20)).date();
    let request: Value = wharf
        .api(
            "POST",
            "/api/v1/access-requests",
            &ana,
            Some(json!({"product": slug, "principal_id": principal["id"], "justification": "Events test",
                "until": until.to_string(),
                "tables": [{"table": format!("{}.{}", table["database"].as_str().unwrap(), table["table"].as_str().unwrap())}]})),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = request["id"].as_str().expect("created").to_owned();
    let act = |action: &str| format!("/api/v1/access-requests/{id}/{action}");
    assert_eq!(
        wharf
            .api("POST", &act("approve"), &omar, None)
            .await
            .status(),
        200
    );
    wait_for_status(&wharf, &ana, &id, "granted").await;
    assert_eq!(
        wharf
            .api("POST", &act("revoke"), &omar, None)
            .await
            .status(),
        200
    );
    wait_for_status(&wharf, &ana, &id, "revoked").await;

    let events = outbox(&wharf, &root).await;
    let items = wait_for_items(&moto, events.len()).await;
    assert_exactly_once_in_order(&items, &events);
    assert!(
        events.len() > 100,
        "the demo catalog's events too: {}",
        events.len()
    );
    let subject = format!("access-requests/{id}");
    let mut journey: Vec<(&str, &str)> = items
        .iter()
        .filter(|i| text(i, "subject") == subject)
        .map(|i| (text(i, "sort"), text(i, "type")))
        .collect();
    journey.sort();
    let types: Vec<&str> = journey.into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        types,
        [
            "wharf.access.requested",
            "wharf.access.approved",
            "wharf.access.granted",
            "wharf.access.revoke_requested",
            "wharf.access.revoked"
        ]
    );
    let granted = items
        .iter()
        .find(|i| text(i, "subject") == subject && text(i, "type") == "wharf.access.granted")
        .unwrap();
    let cloud: Value = serde_json::from_str(text(granted, "event")).unwrap();
    assert_eq!(cloud["specversion"], "1.0");
    assert_eq!(cloud["source"], wharf.base_url);
    assert_eq!(cloud["data"]["status"], "granted");

    // The same journey reached the webhook receiver, in order, and the right people.
    let started = Instant::now();
    let delivered = loop {
        let delivered: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["subject"] == subject)
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        if delivered.len() >= types.len() || started.elapsed() > Duration::from_secs(20) {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivered, types);
    let titles = |token: String| {
        let wharf = &wharf;
        async move {
            let list: Value = wharf
                .api("GET", "/api/v1/notifications", &token, None)
                .await
                .json()
                .await
                .unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let ana_heard = titles(ana.clone()).await;
    for expected in ["was approved", "is granted", "was revoked"] {
        assert!(
            ana_heard.iter().any(|t| t.contains(expected)),
            "{expected}: {ana_heard:?}"
        );
    }
    let omar_heard = titles(omar.clone()).await;
    assert!(
        omar_heard
            .iter()
            .any(|t| t.starts_with("analytics asks for access")),
        "{omar_heard:?}"
    );

    // The table was created with streams on, for other domains' consumers.
    let described = moto
        .dynamodb()
        .await
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    let spec = described.table.unwrap().stream_specification.unwrap();
    assert!(spec.stream_enabled);
}

#[tokio::test]
async fn a_relay_killed_midway_delivers_each_event_once() {
    let moto = Moto::start().await;
    let proxy = FaultProxy::start(&moto.url).await;
    moto.dynamodb()
        .await
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("subject")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("sort")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("subject")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("sort")
                .key_type(aws_sdk_dynamodb::types::KeyType::Range)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    // Every put waits a little, so the demo catalog's events take seconds to relay.
    proxy.inject(
        "PutItem",
        Fault::Delay(Duration::from_millis(40)),
        usize::MAX,
    );
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("WHARF_AWS_ENDPOINT_URL", proxy.url.as_str()),
        ("WHARF_EVENTS_DYNAMODB_TABLE", TABLE),
        ("WHARF_JOB_LEASE_SECS", "2"),
        ("AWS_REGION", "us-east-1"),
    ];
    let wharf = Wharf::start(dir.path(), &["--demo"], &env).await;
    let started = Instant::now();
    loop {
        let held = moto.scan_all(TABLE).await.len();
        if held >= 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relay started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(wharf); // SIGKILL, in the middle of the relay's work
    let held = moto.scan_all(TABLE).await.len();

    let wharf = Wharf::start(dir.path(), &[], &env).await;
    let root = wharf.api_token("root").await;
    let events = outbox(&wharf, &root).await;
    assert!(
        held < events.len(),
        "killed mid-way: {held} of {} written",
        events.len()
    );
    proxy.clear();
    wait_for_items(&moto, events.len()).await;
    // Signing in may have added events since; take the final list.
    let events = outbox(&wharf, &root).await;
    let items = wait_for_items(&moto, events.len()).await;
    assert_exactly_once_in_order(&items, &events);
}
