//! Every `<form>` in the templates is submitted here as a person would: from the page that
//! shows it, with the fields and the CSRF token that page rendered, by a user who may use
//! it, against a real `wharf serve` (with moto for Glue and Lake Formation), and each answer
//! is a success. A form added to a template that this journey does not submit fails the
//! test, and so does a POST form without a CSRF token (only the signed-out sign-in has none).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::json;
use wharf_e2e::html_forms::{matches, rendered_forms, template_forms};
use wharf_e2e::moto::Moto;
use wharf_e2e::{Wharf, browser, free_port};

/// The page each template is drawn on (`*` is one path segment); the layout is on all.
const TEMPLATE_PAGES: &[(&str, &[&str])] = &[
    ("layouts/base.html", &["**"]),
    ("pages/account.html", &["/account"]),
    ("pages/admin.html", &["/admin"]),
    ("pages/catalog.html", &["/"]),
    ("pages/environment.html", &["/environments/*"]),
    ("pages/grants.html", &["/grants"]),
    ("pages/notifications.html", &["/notifications"]),
    ("pages/product.html", &["/products/*"]),
    (
        "pages/product_editor.html",
        &["/products/new", "/products/*/edit"],
    ),
    ("pages/sign_in.html", &["/auth/login"]),
    ("pages/webhook.html", &["/webhooks/*"]),
    ("pages/webhooks.html", &["/webhooks"]),
    ("partials/request_live.html", &["/requests/*"]),
];

/// Signed-out forms: nobody has a session (and so a CSRF token) yet.
const WITHOUT_CSRF: &[&str] = &["pages/sign_in.html"];

/// What the journey submitted: the page it came from, the method and the action.
struct Journey {
    wharf: Wharf,
    submitted: Vec<(String, String, String)>,
}

impl Journey {
    /// Open `page` as `client`, fill the form posting to `action` (a pattern; `*` is any
    /// segment) with `values` over what the page rendered, send it, and insist it worked.
    async fn submit(
        &mut self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        values: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = format!("{}{page}", self.wharf.base_url);
        let html = client.get(&url).send().await.unwrap().text().await.unwrap();
        let forms = rendered_forms(&html);
        let form = forms
            .iter()
            .find(|f| matches(action, f.action.as_deref().unwrap_or(page)))
            .unwrap_or_else(|| panic!("{page} shows no form posting to {action}: {forms:#?}"));
        let mut fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(name, _)| !values.iter().any(|(n, _)| n == name))
            .cloned()
            .collect();
        fields.extend(values.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let target = form.action.clone().unwrap_or_else(|| page.to_owned());
        let target_url = format!("{}{target}", self.wharf.base_url);
        let response = if form.method == "post" {
            client.post(&target_url).form(&fields).send().await.unwrap()
        } else {
            client.get(&target_url).query(&fields).send().await.unwrap()
        };
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap_or_default();
        assert!(
            status.is_redirection() || status.is_success(),
            "{page} → {} {target} answered {status}: {body}",
            form.method
        );
        assert!(
            !body.contains("role=\"alert\""),
            "{page} → {target} shows an error: {body}"
        );
        self.submitted
            .push((page.to_owned(), form.method.clone(), target.clone()));
        // Hand back what the answer pointed at, for the next step.
        let next = location.unwrap_or(target);
        client
            .get(format!("{}{next}", self.wharf.base_url))
            .send()
            .await
            .unwrap()
    }
}

fn column(name: &str, data_type: &str) -> Column {
    Column::builder()
        .name(name)
        .r#type(data_type)
        .build()
        .unwrap()
}

async fn glue_with_orders(moto: &Moto) {
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("sales_raw").build().unwrap())
        .send()
        .await
        .unwrap();
    let orders = TableInput::builder()
        .name("orders")
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(vec![
                    column("order_id", "bigint"),
                    column("amount", "int"),
                ]))
                .location("s3://lake/sales/orders/")
                .build(),
        )
        .build()
        .unwrap();
    glue.create_table()
        .database_name("sales_raw")
        .table_input(orders)
        .send()
        .await
        .unwrap();
}

async fn wait_for_status(client: &reqwest::Client, wharf: &Wharf, id: &str, status: &str) {
    let started = Instant::now();
    loop {
        let request: serde_json::Value = client
            .get(format!("{}/api/v1/access-requests/{id}", wharf.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if request["status"] == status {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "request still {}: {request}",
            request["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The last path segment of where a response landed (`/requests/<id>` → `<id>`).
fn landed_id(response: &reqwest::Response) -> String {
    response.url().path().rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_form_in_the_templates_is_submitted_by_someone_who_may() {
    let forms = template_forms();
    assert!(forms.len() > 20, "found only {} forms", forms.len());
    for form in &forms {
        assert!(
            form.method == "get" || form.has_csrf || WITHOUT_CSRF.contains(&&*form.template),
            "{} posts to {:?} without a CSRF token",
            form.template,
            form.action
        );
        assert!(
            TEMPLATE_PAGES.iter().any(|(t, _)| *t == form.template),
            "say on which page {} is drawn (TEMPLATE_PAGES)",
            form.template
        );
    }

    let moto = Moto::start().await;
    glue_with_orders(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let nobody_listens = format!("http://127.0.0.1:{}/hook", free_port());
    let wharf = Wharf::start(
        dir.path(),
        &[],
        &[
            ("WHARF_AWS_ENDPOINT_URL", moto.url.as_str()),
            ("WHARF_WEBHOOK_PAUSE_AFTER", "1"),
        ],
    )
    .await;
    let root_token = wharf.api_token("root").await;
    wharf
        .api(
            "POST",
            "/api/v1/domains",
            &root_token,
            Some(json!({"name": "Sales"})),
        )
        .await;
    let (root, omar, ana) = (
        wharf.dev_client("root").await,
        wharf.dev_client("omar").await,
        wharf.dev_client("ana").await,
    );
    let mut j = Journey {
        wharf,
        submitted: Vec::new(),
    };

    // An admin registers the data account, owned by the sales team, and a webhook whose
    // receiver is down (so it pauses and can be resumed).
    j.submit(
        &root,
        "/admin",
        "/admin/environments",
        &[
            ("name", "Lake"),
            ("aws_account_id", "123456789012"),
            ("aws_region", "us-east-1"),
            ("owner_team", "sales-data"),
        ],
    )
    .await;
    j.submit(
        &root,
        "/admin",
        "/environments/sandbox/principals",
        &[
            ("arn", "arn:aws:iam::111122223333:role/bi"),
            ("team", "analytics"),
        ],
    )
    .await;
    j.submit(&root, "/webhooks", "/webhooks", &[("url", &nobody_listens)])
        .await;

    // The owners decide who publishes; an analyst registers her team's role.
    j.submit(
        &omar,
        "/environments/lake",
        "/environments/lake/publishers",
        &[("team", "analytics"), ("databases", "analytics_db, web_db")],
    )
    .await;
    j.submit(
        &omar,
        "/environments/lake",
        "/environments/lake/publishers/analytics/remove",
        &[],
    )
    .await;
    j.submit(
        &ana,
        "/account",
        "/environments/lake/principals",
        &[("arn", "arn:aws:iam::123456789012:role/analytics")],
    )
    .await;

    // The owner makes a product from Glue and publishes it.
    let product = j
        .submit(
            &omar,
            "/products/new",
            "/products/new",
            &[("name", "Shop orders"), ("environment", "lake")],
        )
        .await;
    assert_eq!(product.url().path(), "/products/shop-orders");
    j.submit(
        &omar,
        "/products/shop-orders/edit",
        "/products/shop-orders/edit",
        &[("description", "Every order from the shop.")],
    )
    .await;
    j.submit(
        &omar,
        "/products/shop-orders",
        "/products/shop-orders/tables",
        &[("glue", "sales_raw.orders")],
    )
    .await;
    j.submit(
        &omar,
        "/products/shop-orders",
        "/products/shop-orders/sync",
        &[],
    )
    .await;
    j.submit(
        &omar,
        "/products/shop-orders",
        "/products/shop-orders/status",
        &[],
    )
    .await;

    // The analyst asks; the owner approves; Lake Formation grants; she asks for longer.
    let request = j
        .submit(
            &ana,
            "/products/shop-orders",
            "/products/shop-orders/request",
            &[("justification", "Basket analysis for the Q3 plan.")],
        )
        .await;
    let id = landed_id(&request);
    let page = format!("/requests/{id}");
    j.submit(
        &omar,
        &page,
        &format!("{page}/approve"),
        &[("comment", "Fine.")],
    )
    .await;
    wait_for_status(&ana, &j.wharf, &id, "granted").await;
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(60))
        .date()
        .to_string();
    j.submit(
        &ana,
        &page,
        &format!("{page}/extensions"),
        &[
            ("until", &later),
            ("reason", "The plan review moved to next quarter."),
        ],
    )
    .await;
    j.submit(&omar, &page, &format!("{page}/extensions/*/approve"), &[])
        .await;
    j.submit(&omar, "/grants", "/grants", &[("team", "analytics")])
        .await;
    j.submit(&omar, "/grants", "/grants/*/verify", &[]).await;
    j.submit(&ana, &page, &format!("{page}/revoke"), &[]).await;
    wait_for_status(&ana, &j.wharf, &id, "revoked").await;

    // Notifications, the catalog search, tokens.
    j.submit(&ana, "/notifications", "/notifications/read", &[])
        .await;
    j.submit(&ana, "/", "/", &[("q", "orders")]).await;
    j.submit(&ana, "/account", "/account/tokens", &[("name", "laptop")])
        .await;
    j.submit(&ana, "/account", "/account/tokens/*/revoke", &[])
        .await;

    // The webhook paused on its first failed delivery: resume it, then delete it.
    let webhooks: serde_json::Value = root
        .get(format!("{}/api/v1/webhooks", j.wharf.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = format!("/webhooks/{}", webhooks[0]["id"].as_str().unwrap());
    let started = Instant::now();
    while !root
        .get(format!("{}{webhook}", j.wharf.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("/resume\"")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the webhook never paused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    j.submit(&root, &webhook, &format!("{webhook}/resume"), &[])
        .await;
    j.submit(&root, &webhook, &format!("{webhook}/delete"), &[])
        .await;

    // Signing in and out.
    j.submit(&browser(), "/auth/login", "/auth/dev-login", &[])
        .await;
    j.submit(&ana, "/account", "/auth/logout", &[]).await;

    let missing: BTreeSet<String> = forms
        .iter()
        .filter(|form| {
            let pages = TEMPLATE_PAGES
                .iter()
                .find(|(t, _)| *t == form.template)
                .unwrap()
                .1;
            !j.submitted.iter().any(|(page, method, target)| {
                *method == form.method
                    && pages.iter().any(|p| matches(p, page))
                    && match &form.action {
                        Some(action) => matches(action, target),
                        None => target == page,
                    }
            })
        })
        .map(|form| format!("{} {:?} ({})", form.method, form.action, form.template))
        .collect();
    assert!(
        missing.is_empty(),
        "forms no test submits: {missing:#?}\nsubmitted: {:#?}",
        j.submitted
    );
}
