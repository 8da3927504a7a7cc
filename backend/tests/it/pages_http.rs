//! Page polish through the real router: flash messages after actions (post/redirect/get),
//! server-rendered charts with their text alternatives, empty states.

use crate::common::{TestApp, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

fn set_cookies(response: &axum::http::Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_action_redirects_and_the_next_page_shows_its_outcome_once() {
    let app = TestApp::new().await;
    let ana = app.sign_in("ana").await;
    let form = format!(
        "csrf_token={}&back=account&team=analytics&arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbi",
        ana.csrf
    );
    let posted = app
        .post_form(Some(&ana), "/environments/sandbox/principals", &form)
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(posted.headers()[header::LOCATION], "/account");
    let flash = set_cookies(&posted)
        .into_iter()
        .find(|c| c.starts_with("wharf_flash="))
        .expect("the outcome travels in a cookie");
    assert!(
        flash.contains("HttpOnly") && flash.contains("SameSite=Lax"),
        "{flash}"
    );
    let flash_pair = flash.split(';').next().unwrap().to_owned();

    let with_flash = |path: &str| {
        Request::get(path)
            .header("cookie", format!("{}; {flash_pair}", ana.cookie))
            .body(Body::empty())
            .unwrap()
    };
    // An htmx fragment neither shows nor spends it.
    let mut fragment = with_flash("/catalog/results?q=x");
    fragment
        .headers_mut()
        .insert("hx-request", "true".parse().unwrap());
    let fragment = app.request(fragment).await;
    assert!(set_cookies(&fragment).is_empty());
    assert!(!body_text(fragment).await.contains("Role registered"));

    let page = app.request(with_flash("/account")).await;
    let cleared = set_cookies(&page);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("wharf_flash=;") && c.contains("Max-Age=0")),
        "shown once, then cleared: {cleared:?}"
    );
    let html = body_text(page).await;
    assert!(
        html.contains(
            r#"<div class="notice flash" role="status">Role registered for analytics.</div>"#
        ),
        "{html}"
    );
    let again = body_text(app.get_as(&ana, "/account").await).await;
    assert!(!again.contains("Role registered"), "not shown twice");
}

#[tokio::test]
async fn a_forged_flash_is_escaped_like_any_text() {
    let app = TestApp::new().await;
    let ana = app.sign_in("ana").await;
    let response = app
        .request(
            Request::get("/account")
                .header(
                    "cookie",
                    format!(
                        "{}; wharf_flash=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                        ana.cookie
                    ),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let html = body_text(response).await;
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
}

#[tokio::test]
async fn the_home_page_draws_products_per_domain_and_requests_per_week() {
    let app = TestApp::new().await;
    let ana = app.sign_in("ana").await;
    let empty = body_text(app.get_as(&ana, "/").await).await;
    assert!(empty.contains("No data products yet"), "{empty}");
    assert!(
        !empty.contains(r#"<figure class="chart">"#),
        "no charts over an empty catalog"
    );

    wharf::demo::seed(app.store()).await.unwrap();
    app.state.indexer().catch_up().await.unwrap();
    let html = body_text(app.get_as(&ana, "/").await).await;
    assert!(
        html.contains(
            r#"role="img" aria-labelledby="products-per-domain-title products-per-domain-desc""#
        ),
        "the chart has a title and a description"
    );
    assert!(html.contains("<title id=\"products-per-domain-title\">Products per domain</title>"));
    assert!(
        html.contains(r#"<th scope="row">Sales</th>"#),
        "numbers as a table"
    );
    // The demo's three requests were all made this week.
    assert!(
        html.contains(r#"aria-labelledby="requests-per-week-title requests-per-week-desc""#)
            && !html.contains("No access requests in these weeks yet."),
        "the demo's requests are drawn: {html}"
    );

    let searching = body_text(app.get_as(&ana, "/?q=orders").await).await;
    assert!(
        !searching.contains(r#"<figure class="chart">"#),
        "charts make way for results"
    );
}

#[tokio::test]
async fn a_product_page_shows_its_access_timeline() {
    let app = TestApp::new().await;
    wharf::demo::seed(app.store()).await.unwrap();
    let ana = app.sign_in("ana").await;
    let product = app.store().list_products().await.unwrap().remove(0);
    let html = body_text(
        app.get_as(&ana, &format!("/products/{}", product.slug))
            .await,
    )
    .await;
    assert!(html.contains("Access over the last weeks"));
    assert!(html.contains("Nobody has asked for access in these weeks yet."));
}

/// The product page keeps its viewer-independent part between visits; no change may hide
/// behind that: each of these shows on the very next visit.
#[tokio::test]
async fn a_product_page_shows_every_change_on_the_next_visit() {
    let app = TestApp::new().await;
    wharf::demo::seed(app.store()).await.unwrap();
    let omar = app.token("omar").await;
    let (ana, owner) = (app.sign_in("ana").await, app.sign_in("omar").await);
    let product = serde_json::json!({"name": "Cached", "domain": "sales", "owner_team": "sales-data",
        "description": "First words."});
    let created = app
        .api("POST", "/api/v1/products", Some(&omar), Some(product))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let page = |who| {
        let app = &app;
        async move { body_text(app.get_as(who, "/products/cached").await).await }
    };
    // A draft: the owner's visit loads it; the analyst still may not see it.
    assert!(page(&owner).await.contains("First words."));
    let hidden = app.get_as(&ana, "/products/cached").await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);

    let table = serde_json::json!({"tables": [{"database": "db", "table": "orders",
        "location": "s3://lake/orders/", "columns": [{"name": "id", "data_type": "bigint"}]}]});
    let added = app
        .api(
            "POST",
            "/api/v1/products/cached/assets",
            Some(&omar),
            Some(table),
        )
        .await;
    assert!(added.status().is_success(), "{}", added.status());
    assert!(page(&owner).await.contains("db.orders"));
    let published = app
        .api("POST", "/api/v1/products/cached/publish", Some(&omar), None)
        .await;
    assert!(published.status().is_success());
    let html = page(&ana).await;
    assert!(html.contains("db.orders") && !html.contains("role/bi"));

    let edit = serde_json::json!({"name": "Cached", "domain": "sales", "owner_team": "sales-data",
        "description": "Second words."});
    let edited = app
        .api("PUT", "/api/v1/products/cached", Some(&omar), Some(edit))
        .await;
    assert!(edited.status().is_success(), "{}", edited.status());
    let html = page(&ana).await;
    assert!(html.contains("Second words.") && !html.contains("First words."));

    // Registering a role is another record's change; the request form offers it at once.
    let role = format!(
        "csrf_token={}&back=account&team=analytics&arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbi",
        ana.csrf
    );
    app.post_form(Some(&ana), "/environments/sandbox/principals", &role)
        .await;
    assert!(
        page(&ana)
            .await
            .contains("analytics: arn:aws:iam::111122223333:role/bi")
    );

    // A re-sync that finds only a new location changes no schema, but the page says it.
    let product = app
        .store()
        .product_by_slug(&wharf::domain::Slug::parse("cached").unwrap())
        .await
        .unwrap();
    let asset = app
        .store()
        .assets_of(&[product.id])
        .await
        .unwrap()
        .remove(0);
    let definition = wharf::domain::TableDefinition {
        database: asset.database.clone(),
        table: asset.table.clone(),
        description: asset.description.clone(),
        location: Some("s3://lake/orders-v2/".into()),
        parameters: asset.parameters.clone(),
        columns: asset.columns.clone(),
    };
    assert!(!asset.is_defined_by(&definition));
    let outcome = wharf::store::ResyncOutcome::Present {
        refreshed: !asset.is_defined_by(&definition),
        definition,
        changes: vec![],
    };
    app.store()
        .record_resync(wharf::domain::Actor::System, &product, asset.id, &outcome)
        .await
        .unwrap();
    assert!(page(&ana).await.contains("s3://lake/orders-v2/"));
    let seq = app.store().latest_event_seq().await.unwrap();
    let events = app.store().events_after(seq - 1, 10).await.unwrap();
    assert_eq!(events[0].event_type, "wharf.product.assets_changed");
}
