//! The store conformance suite: every story runs against SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::stories;
use time::Duration as TimeDelta;
use wharf::domain::*;
use wharf::store::{NewJob, Store, StoreError, now};

stories!(
    store:
    migrations_apply_and_ping,
    sign_in_replaces_memberships,
    domains_record_audit_and_outbox_in_one_transaction,
    duplicate_slug_is_a_conflict_and_writes_nothing,
    sandbox_environment_is_created_once,
    jobs_are_claimed_once_and_retried,
    expired_lease_is_reclaimed,
    catalog_counts_ignore_drafts,
    login_states_are_used_once_and_expire,
    sessions_expire_and_end,
    api_tokens_are_hashed_scoped_and_revocable,
    committed_writes_are_counted_and_reads_and_failures_are_not,
);

fn team(name: &str) -> TeamName {
    TeamName::parse(name).unwrap()
}

fn claims(subject: &str, name: &str) -> UserClaims {
    UserClaims {
        subject: subject.into(),
        email: Some(format!("{subject}@example.com")),
        name: name.into(),
    }
}

async fn migrations_apply_and_ping(store: &dyn Store) {
    store.ping().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 5);
}

async fn sign_in_replaces_memberships(store: &dyn Store) {
    let user = store
        .sign_in_user(&claims("u-1", "Ada"), &[team("analysts"), team("sales")])
        .await
        .unwrap();
    let names: Vec<_> = store
        .user_teams(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec![team("analysts"), team("sales")]);

    // The next sign-in carries other groups: the old membership must not linger.
    let again = store
        .sign_in_user(&claims("u-1", "Ada Lovelace"), &[team("finance")])
        .await
        .unwrap();
    assert_eq!(again.id, user.id, "same subject, same user");
    assert_eq!(again.name, "Ada Lovelace");
    assert_eq!(again.created_at, user.created_at);
    let names: Vec<_> = store
        .user_teams(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec![team("finance")]);

    // A second user in an existing team shares the team row.
    let other = store
        .sign_in_user(&claims("u-2", "Grace"), &[team("finance")])
        .await
        .unwrap();
    let a = store.user_teams(user.id).await.unwrap();
    let b = store.user_teams(other.id).await.unwrap();
    assert_eq!(a[0].id, b[0].id);
}

async fn domains_record_audit_and_outbox_in_one_transaction(store: &dyn Store) {
    let admin = store
        .sign_in_user(&claims("admin", "Admin"), &[team("wharf-admins")])
        .await
        .unwrap();
    let before = store.events_after(0, 100).await.unwrap().len();
    let created = store
        .create_domain(
            Actor::User(admin.id),
            &NewDomain {
                slug: Slug::parse("sales").unwrap(),
                name: "Sales".into(),
                description: "Orders & customers".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.domain_by_slug(&created.slug).await.unwrap(), created);
    assert_eq!(store.list_domains().await.unwrap(), vec![created.clone()]);

    let events = store.events_after(0, 100).await.unwrap();
    assert_eq!(events.len(), before + 1);
    let event = events.last().unwrap();
    assert_eq!(event.event_type, "wharf.domain.created");
    assert_eq!(event.subject, "domains/sales");
    assert_eq!(event.data["name"], "Sales");
    assert!(store.events_after(event.seq, 100).await.unwrap().is_empty());

    let audit = store
        .audit_for("domain", &created.id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "domain.created");
    assert_eq!(audit[0].actor_id, Some(admin.id));
}

async fn duplicate_slug_is_a_conflict_and_writes_nothing(store: &dyn Store) {
    let new = NewDomain {
        slug: Slug::parse("finance").unwrap(),
        name: "Finance".into(),
        description: String::new(),
    };
    store.create_domain(Actor::System, &new).await.unwrap();
    let events = store.events_after(0, 100).await.unwrap().len();
    let err = store.create_domain(Actor::System, &new).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("finance")),
        "{err:?}"
    );
    assert_eq!(
        store.events_after(0, 100).await.unwrap().len(),
        events,
        "no event for a failed write"
    );
    assert_eq!(store.list_domains().await.unwrap().len(), 1);
}

/// What callers kept in memory are checked against: it moves with every write this store
/// commits that could change a caller, a page's kept part or a header count, and with
/// nothing else.
async fn committed_writes_are_counted_and_reads_and_failures_are_not(store: &dyn Store) {
    let user = store
        .sign_in_user(&claims("w-1", "Wes"), &[team("analytics")])
        .await
        .unwrap();
    let mut before = store.local_writes();
    let mut moved = |what: &str, expected: bool| {
        let now = store.local_writes();
        assert_eq!(now > before, expected, "{what}: {before} -> {now}");
        before = now;
    };
    let new = NewDomain {
        slug: Slug::parse("hr").unwrap(),
        name: "HR".into(),
        description: String::new(),
    };
    store.create_domain(Actor::System, &new).await.unwrap();
    moved("a domain created", true);
    store.create_domain(Actor::System, &new).await.unwrap_err();
    moved("a clash rolled back", false);
    store.list_domains().await.unwrap();
    store.latest_event_seq().await.unwrap();
    moved("reads", false);
    store
        .sign_in_user(&claims("w-1", "Wes"), &[team("sales-data")])
        .await
        .unwrap();
    moved("new teams at sign-in", true);
    let session = NewSession {
        id_hash: "wes".into(),
        user_id: user.id,
        csrf_token: "csrf".into(),
        id_token_hint: None,
        idle_expires_at: now() + TimeDelta::hours(1),
        expires_at: now() + TimeDelta::hours(2),
    };
    store.create_session(&session).await.unwrap();
    store.session("wes").await.unwrap().expect("live");
    store.delete_session("wes").await.unwrap();
    moved("a sign-out", true);
    store.mark_notifications_read(user.id, None).await.unwrap();
    moved("nothing unread to mark", false);
}

async fn sandbox_environment_is_created_once(store: &dyn Store) {
    let first = store.ensure_sandbox_environment().await.unwrap();
    let second = store.ensure_sandbox_environment().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.kind, EnvironmentKind::Sandbox);
    assert_eq!(store.list_environments().await.unwrap(), vec![first]);
}

fn job(kind: &str) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({"n": 1}),
        run_at: now(),
        max_attempts: 3,
    }
}

async fn jobs_are_claimed_once_and_retried(store: &dyn Store) {
    let id = store.enqueue_job(&job("grant")).await.unwrap();
    assert_eq!(store.job_queue_depth().await.unwrap(), 1);

    let claimed = store
        .claim_job("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((claimed.id, claimed.attempts), (id, 1));
    assert_eq!(claimed.payload["n"], 1);
    assert!(
        store
            .claim_job("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "held by w1"
    );

    // Only the holder may record the outcome.
    store.complete_job(id, "w2").await.unwrap();
    assert_eq!(store.job_queue_depth().await.unwrap(), 1);

    store
        .fail_job(id, "w1", "throttled", Some(now()))
        .await
        .unwrap();
    let again = store
        .claim_job("w2", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (id, 2));
    store.complete_job(id, "w2").await.unwrap();
    assert_eq!(store.job_queue_depth().await.unwrap(), 0);
    assert!(
        store
            .claim_job("w1", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );

    // A retry in the future is not due yet; giving up removes it from the queue.
    let later = store.enqueue_job(&job("grant")).await.unwrap();
    let claimed = store
        .claim_job("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, later);
    store
        .fail_job(later, "w1", "boom", Some(now() + Duration::from_secs(3600)))
        .await
        .unwrap();
    assert!(
        store
            .claim_job("w1", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    let claimed = store.enqueue_job(&job("other")).await.unwrap();
    let c = store
        .claim_job("w1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.id, claimed);
    store
        .fail_job(claimed, "w1", "no handler", None)
        .await
        .unwrap();
    assert_eq!(
        store.job_queue_depth().await.unwrap(),
        1,
        "only the delayed retry is left"
    );
}

async fn expired_lease_is_reclaimed(store: &dyn Store) {
    let id = store.enqueue_job(&job("grant")).await.unwrap();
    let first = store
        .claim_job("dead-worker", Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, id);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = store
        .claim_job("w2", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempts), (id, 2));
    // The dead worker's late report is ignored: the job stays with w2.
    store
        .fail_job(id, "dead-worker", "late", None)
        .await
        .unwrap();
    assert_eq!(store.job_queue_depth().await.unwrap(), 1);
}

async fn catalog_counts_ignore_drafts(store: &dyn Store) {
    store.ensure_sandbox_environment().await.unwrap();
    let counts = store.catalog_counts().await.unwrap();
    assert_eq!(
        counts,
        CatalogCounts {
            domains: 0,
            products: 0,
            assets: 0,
            environments: 1
        }
    );
}

fn login_state(hash: &str, expires_in: TimeDelta) -> LoginState {
    LoginState {
        state_hash: hash.into(),
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        next_path: "/requests".into(),
        expires_at: now() + expires_in,
    }
}

async fn login_states_are_used_once_and_expire(store: &dyn Store) {
    let fresh = login_state("fresh", TimeDelta::minutes(10));
    store.create_login_state(&fresh).await.unwrap();
    assert_eq!(store.take_login_state("fresh").await.unwrap(), Some(fresh));
    assert_eq!(
        store.take_login_state("fresh").await.unwrap(),
        None,
        "a replay finds nothing"
    );
    assert_eq!(store.take_login_state("unknown").await.unwrap(), None);

    store
        .create_login_state(&login_state("stale", TimeDelta::seconds(-1)))
        .await
        .unwrap();
    assert_eq!(
        store.take_login_state("stale").await.unwrap(),
        None,
        "expired"
    );
}

async fn sessions_expire_and_end(store: &dyn Store) {
    let user_teams = vec![team("analytics"), team("sales-data")];
    let user = store
        .sign_in_user(&claims("s-1", "Sam"), &user_teams)
        .await
        .unwrap();
    let session = |hash: &str, idle: TimeDelta, max: TimeDelta| NewSession {
        id_hash: hash.into(),
        user_id: user.id,
        csrf_token: format!("csrf-{hash}"),
        id_token_hint: Some("id-token".into()),
        idle_expires_at: now() + idle,
        expires_at: now() + max,
    };
    store
        .create_session(&session("live", TimeDelta::hours(1), TimeDelta::hours(8)))
        .await
        .unwrap();
    store
        .create_session(&session(
            "idle",
            TimeDelta::seconds(-1),
            TimeDelta::hours(8),
        ))
        .await
        .unwrap();
    store
        .create_session(&session("old", TimeDelta::hours(1), TimeDelta::seconds(-1)))
        .await
        .unwrap();

    let live = store.session("live").await.unwrap().expect("live session");
    assert_eq!(live.caller.user, user);
    assert_eq!(
        live.caller.teams, user_teams,
        "the user's teams come with the session"
    );
    assert_eq!(
        live.caller.outbox_seq,
        store.latest_event_seq().await.unwrap()
    );
    assert_eq!(live.csrf_token, "csrf-live");
    assert_eq!(live.id_token_hint.as_deref(), Some("id-token"));
    assert!(
        store.session("idle").await.unwrap().is_none(),
        "idle expiry"
    );
    assert!(
        store.session("old").await.unwrap().is_none(),
        "absolute expiry"
    );

    store
        .touch_session("live", now() + TimeDelta::hours(2))
        .await
        .unwrap();
    assert!(store.session("live").await.unwrap().unwrap().last_seen_at >= live.last_seen_at);
    assert_eq!(store.purge_expired_logins().await.unwrap(), 2);
    store.delete_session("live").await.unwrap();
    assert!(store.session("live").await.unwrap().is_none());
}

async fn api_tokens_are_hashed_scoped_and_revocable(store: &dyn Store) {
    let owner = store
        .sign_in_user(&claims("t-1", "Tia"), &[team("sales-data")])
        .await
        .unwrap();
    let other = store
        .sign_in_user(&claims("t-2", "Tom"), &[])
        .await
        .unwrap();
    let new = |hash: &str, expires_at| NewApiToken {
        user_id: owner.id,
        name: "deploy bot".into(),
        token_hash: hash.into(),
        prefix: "wharf_abcd".into(),
        expires_at,
    };
    let token = store
        .create_api_token(&new("hash-1", Some(now() + TimeDelta::days(30))))
        .await
        .unwrap();
    store
        .create_api_token(&new("hash-old", Some(now() - TimeDelta::days(1))))
        .await
        .unwrap();

    let found = store.user_by_api_token("hash-1").await.unwrap().unwrap();
    assert_eq!(
        found.expires_at, token.expires_at,
        "kept no longer than this"
    );
    let found = found.caller;
    assert_eq!(found.user, owner);
    assert_eq!(found.teams, vec![team("sales-data")]);
    assert_eq!(
        found.outbox_seq,
        store.latest_event_seq().await.unwrap(),
        "how far the outbox had got, read with the caller"
    );
    assert_eq!(
        store.user_by_api_token("hash-old").await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.user_by_api_token("nope").await.unwrap(), None);
    let listed = store.list_api_tokens(owner.id).await.unwrap();
    assert_eq!(listed.len(), 1, "expired tokens are not listed");
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
    assert!(store.list_api_tokens(other.id).await.unwrap().is_empty());

    assert!(
        !store.revoke_api_token(other.id, token.id).await.unwrap(),
        "not theirs"
    );
    assert!(store.revoke_api_token(owner.id, token.id).await.unwrap());
    assert!(
        !store.revoke_api_token(owner.id, token.id).await.unwrap(),
        "already revoked"
    );
    assert_eq!(store.user_by_api_token("hash-1").await.unwrap(), None);

    let audit = store
        .audit_for("api_token", &token.id.to_string())
        .await
        .unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["token.created", "token.revoked"]);
    assert!(
        !audit[0].detail.to_string().contains("hash-1"),
        "no secret in the audit log"
    );
}
