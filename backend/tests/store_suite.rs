//! The store conformance suite: every story runs against SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::TestDb;
use wharf::domain::*;
use wharf::store::{NewJob, Store, StoreError, now};

macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    let db = super::TestDb::sqlite().await;
                    let store = db.open().await;
                    super::$story(store.as_ref()).await;
                    db.drop_database(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    let db = super::TestDb::postgres().await;
                    let store = db.open().await;
                    super::$story(store.as_ref()).await;
                    db.drop_database(store).await;
                }
            )*
        }
    };
}

stories!(
    migrations_apply_and_ping,
    sign_in_replaces_memberships,
    domains_record_audit_and_outbox_in_one_transaction,
    duplicate_slug_is_a_conflict_and_writes_nothing,
    sandbox_environment_is_created_once,
    jobs_are_claimed_once_and_retried,
    expired_lease_is_reclaimed,
    catalog_counts_ignore_drafts,
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
    assert_eq!(store.schema_version().await.unwrap(), 1);
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
