//! Sign-in through a real IdP (npm `oidc-provider`), as a browser and as a machine client.

use wharf_e2e::{Idp, Wharf, browser, follow, free_port, scrape_csrf};

struct Stack {
    wharf: Wharf,
    idp: Idp,
    _dir: tempfile::TempDir,
}

async fn stack() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let idp = Idp::start(port).await;
    let env = idp.wharf_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let wharf = Wharf::start_on(port, dir.path(), &[], &env).await;
    Stack {
        wharf,
        idp,
        _dir: dir,
    }
}

async fn me(client: &reqwest::Client, wharf: &Wharf) -> reqwest::Response {
    client
        .get(format!("{}/api/v1/me", wharf.base_url))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn people_sign_in_through_the_idp_and_land_with_their_teams() {
    let s = stack().await;
    for (login, teams, admin) in [
        (
            "sofia",
            serde_json::json!(["analytics", "finance-data"]),
            false,
        ),
        ("root", serde_json::json!(["wharf-admins"]), true),
    ] {
        let client = browser();
        let start = format!("{}/auth/login?next=/requests", s.wharf.base_url);
        let journey = follow(&client, &start, login).await;
        assert_eq!(journey.last.status(), 200, "{:?}", journey.visited);
        let landed = journey.visited.last().unwrap();
        assert_eq!(
            landed,
            &format!("{}/requests", s.wharf.base_url),
            "{:?}",
            journey.visited
        );
        assert!(
            journey.visited.iter().any(|u| u.starts_with(&s.idp.issuer)),
            "went through the IdP"
        );

        let me: serde_json::Value = me(&client, &s.wharf).await.json().await.unwrap();
        assert_eq!(me["subject"], login);
        assert_eq!(me["teams"], teams, "{login}");
        assert_eq!(me["is_admin"], admin);
        assert_eq!(me["authenticated_by"], "session");
    }
}

#[tokio::test]
async fn a_callback_can_be_used_once_and_only_with_a_state_we_issued() {
    let s = stack().await;
    let client = browser();
    let journey = follow(&client, &format!("{}/auth/login", s.wharf.base_url), "ana").await;
    let callback = journey
        .visited
        .iter()
        .find(|u| u.contains("/auth/callback?"))
        .expect("went through the callback")
        .clone();

    let replay = browser().get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400, "a replayed callback is refused");
    assert!(!replay.headers().contains_key("set-cookie"));
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("expired or was already used")
    );

    let forged = callback.replace("state=", "state=x");
    assert_eq!(
        browser().get(&forged).send().await.unwrap().status(),
        400,
        "unknown state"
    );
}

#[tokio::test]
async fn next_cannot_send_people_elsewhere() {
    let s = stack().await;
    let client = browser();
    let start = format!(
        "{}/auth/login?next=https://evil.example/steal",
        s.wharf.base_url
    );
    let journey = follow(&client, &start, "ana").await;
    assert_eq!(
        journey.visited.last().unwrap(),
        &format!("{}/", s.wharf.base_url)
    );
    assert!(
        journey
            .visited
            .iter()
            .all(|u| !u.contains("evil.example/steal") || u.contains("next="))
    );
}

#[tokio::test]
async fn signing_out_ends_the_idp_session_too() {
    let s = stack().await;
    let client = browser();
    follow(&client, &format!("{}/auth/login", s.wharf.base_url), "omar").await;
    let account = client
        .get(format!("{}/account", s.wharf.base_url))
        .send()
        .await
        .unwrap();
    let csrf = scrape_csrf(&account.text().await.unwrap()).expect("csrf token");

    let out = client
        .post(format!("{}/auth/logout", s.wharf.base_url))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/session/end?", s.idp.issuer)),
        "{location}"
    );
    assert!(location.contains("id_token_hint=") && location.contains("post_logout_redirect_uri="));
    assert_eq!(
        me(&client, &s.wharf).await.status(),
        401,
        "the Wharf session is over"
    );

    // Confirm at the IdP; it sends the browser back to Wharf.
    let page = client
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.find(&marker).map(|i| i + marker.len())?;
        Some(page[start..].split('"').next()?.to_owned())
    };
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let back = client
        .post(action)
        .form(&[
            ("xsrf", field("xsrf").unwrap_or_default()),
            ("logout", "yes".into()),
        ])
        .send()
        .await
        .unwrap();
    let back_to = back.headers()["location"].to_str().unwrap();
    assert!(
        back_to.starts_with(&format!("{}/", s.wharf.base_url)),
        "{back_to}"
    );

    // The IdP session is gone too: signing in again asks for the password.
    let again = follow(&client, &format!("{}/auth/login", s.wharf.base_url), "omar").await;
    assert!(
        again
            .visited
            .iter()
            .any(|u| u.contains("/interaction/") && u.ends_with("/login"))
    );
}

#[tokio::test]
async fn machine_clients_use_jwt_access_tokens_for_our_audience_only() {
    let s = stack().await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/me", s.wharf.base_url);

    let token = s.idp.machine_token("urn:wharf").await;
    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["subject"], "automation");
    assert_eq!(me["teams"], serde_json::json!(["ci-bots", "sales-data"]));
    assert_eq!(me["authenticated_by"], "access_token");

    let other = s.idp.machine_token("urn:other").await;
    let refused = client.get(&url).bearer_auth(&other).send().await.unwrap();
    assert_eq!(refused.status(), 401, "a token for another audience");
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&tampered)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn the_dev_sign_in_is_off_when_an_idp_is_configured() {
    let s = stack().await;
    let response = browser()
        .post(format!("{}/auth/dev-login", s.wharf.base_url))
        .form(&[("user", "root")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let home = reqwest::get(format!("{}/", s.wharf.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("Development sign-in is on"));
}
