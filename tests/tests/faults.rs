//! Lake Formation misbehaving: throttling, concurrent modification, 5xx and a worker that
//! dies mid-job. Retries succeed, exhausted retries fail with the message, and nothing is
//! granted twice.

use std::time::{Duration, Instant};

use aws_sdk_glue::types::{Column, DatabaseInput, StorageDescriptor, TableInput};
use serde_json::{Value, json};
use wharf_e2e::faults::{Fault, FaultProxy};
use wharf_e2e::moto::Moto;
use wharf_e2e::{Backend, TestDatabase, Wharf, both_databases, start_worker};

const ROLE: &str = "arn:aws:iam::123456789012:role/analytics";

struct Stack {
    moto: Moto,
    proxy: FaultProxy,
    wharf: Wharf,
    dir: tempfile::TempDir,
    db: TestDatabase,
    omar: String,
    ana: String,
}

/// moto behind the fault proxy, Wharf pointed at the proxy, a published product and a
/// role for analytics. `env` adds settings (e.g. no in-process worker).
async fn stack(backend: Backend, env: &[(&str, &str)]) -> Stack {
    let moto = Moto::start().await;
    let glue = moto.glue().await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("sales").build().unwrap())
        .send()
        .await
        .unwrap();
    let columns = vec![
        Column::builder()
            .name("id")
            .r#type("bigint")
            .build()
            .unwrap(),
    ];
    let table = TableInput::builder()
        .name("orders")
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns))
                .build(),
        )
        .build()
        .unwrap();
    glue.create_table()
        .database_name("sales")
        .table_input(table)
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&moto.url).await;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(backend).await;
    let mut all_env = db.env();
    all_env.push(("WHARF_AWS_ENDPOINT_URL", proxy.url.as_str()));
    all_env.extend_from_slice(env);
    let wharf = Wharf::start(dir.path(), &[], &all_env).await;
    let (root, omar, ana) = (
        wharf.api_token("root").await,
        wharf.api_token("omar").await,
        wharf.api_token("ana").await,
    );
    wharf
        .api(
            "POST",
            "/api/v1/domains",
            &root,
            Some(json!({"name": "Sales"})),
        )
        .await;
    let env = json!({"name": "Lake", "kind": "aws", "aws_account_id": "123456789012", "aws_region": "us-east-1",
        "owner_team": "sales-data"});
    wharf
        .api("POST", "/api/v1/environments", &root, Some(env))
        .await;
    wharf
        .api(
            "POST",
            "/api/v1/environments/lake/principals",
            &ana,
            Some(json!({"team": "analytics", "arn": ROLE})),
        )
        .await;
    let product = json!({"name": "Sales", "domain": "sales", "owner_team": "sales-data", "environment": "lake"});
    wharf
        .api("POST", "/api/v1/products", &omar, Some(product))
        .await;
    wharf
        .api(
            "POST",
            "/api/v1/products/sales/assets",
            &omar,
            Some(json!({"glue": [{"database": "sales", "table": "orders"}]})),
        )
        .await;
    assert_eq!(
        wharf
            .api("POST", "/api/v1/products/sales/publish", &omar, None)
            .await
            .status(),
        200
    );
    Stack {
        moto,
        proxy,
        wharf,
        dir,
        db,
        omar,
        ana,
    }
}

impl Stack {
    /// Stop Wharf (it must exit cleanly) and drop the test's database.
    async fn finish(self) {
        assert!(self.wharf.stop());
        self.db.drop().await;
    }

    async fn approved_request(&self) -> String {
        let principals: Value = self
            .wharf
            .api(
                "GET",
                "/api/v1/environments/lake/principals",
                &self.ana,
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        let until = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
            .date()
            .to_string();
        let body = json!({"product": "sales", "principal_id": principals[0]["id"], "justification": "Monthly reporting",
                          "until": until, "tables": [{"table": "sales.orders"}]});
        let request: Value = self
            .wharf
            .api("POST", "/api/v1/access-requests", &self.ana, Some(body))
            .await
            .json()
            .await
            .unwrap();
        let id = request["id"].as_str().unwrap().to_owned();
        let approved = self
            .wharf
            .api(
                "POST",
                &format!("/api/v1/access-requests/{id}/approve"),
                &self.omar,
                None,
            )
            .await;
        assert_eq!(approved.status(), 200);
        id
    }

    async fn wait_for(&self, id: &str, status: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let request: Value = self
                .wharf
                .api(
                    "GET",
                    &format!("/api/v1/access-requests/{id}"),
                    &self.ana,
                    None,
                )
                .await
                .json()
                .await
                .unwrap();
            if request["status"] == status {
                return request;
            }
            assert!(
                started.elapsed() < within,
                "still {} after {within:?}: {request}",
                request["status"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn held(&self) -> Vec<(String, Vec<String>)> {
        self.moto.permissions_of(ROLE).await
    }
}

fn one_grant_set() -> Vec<(String, Vec<String>)> {
    vec![
        ("database sales".to_owned(), vec!["DESCRIBE".to_owned()]),
        (
            "table sales.orders".to_owned(),
            vec!["DESCRIBE".to_owned(), "SELECT".to_owned()],
        ),
    ]
}

both_databases!(
    throttling_concurrent_modification_and_5xx_are_retried,
    exhausted_retries_fail_with_the_message_and_a_retry_finishes_the_job,
    a_worker_killed_mid_job_is_replaced_and_the_grant_is_applied_once,
);

async fn throttling_concurrent_modification_and_5xx_are_retried(backend: Backend) {
    let s = stack(backend, &[]).await;
    s.proxy.inject("BatchGrantPermissions", Fault::Throttle, 2);
    s.proxy
        .inject("BatchGrantPermissions", Fault::ConcurrentModification, 1);
    s.proxy
        .inject("BatchGrantPermissions", Fault::ServerError, 1);
    let id = s.approved_request().await;
    s.wait_for(&id, "granted", Duration::from_secs(30)).await;
    assert_eq!(
        s.proxy.calls("BatchGrantPermissions"),
        5,
        "four faults, then success"
    );
    assert_eq!(s.held().await, one_grant_set(), "granted once");
    s.finish().await;
}

async fn exhausted_retries_fail_with_the_message_and_a_retry_finishes_the_job(backend: Backend) {
    let s = stack(backend, &[]).await;
    s.proxy
        .inject("BatchGrantPermissions", Fault::Throttle, 1000);
    let id = s.approved_request().await;
    let failed = s.wait_for(&id, "failed", Duration::from_secs(60)).await;
    let error = failed["items"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("ThrottlingException") && error.contains("BatchGrantPermissions"),
        "{error}"
    );
    assert!(s.held().await.is_empty(), "nothing granted");
    let audit: Value = s
        .wharf
        .api(
            "GET",
            &format!("/api/v1/audit?target_type=access_request&target_id={id}"),
            &s.omar,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let failed_call = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "aws.BatchGrantPermissions")
        .unwrap_or_else(|| panic!("the failed call is audited: {audit}"));
    assert!(
        failed_call["error"]
            .as_str()
            .is_some_and(|e| e.contains("ThrottlingException")),
        "{failed_call}"
    );

    s.proxy.clear();
    let retried = s
        .wharf
        .api(
            "POST",
            &format!("/api/v1/access-requests/{id}/retry"),
            &s.omar,
            None,
        )
        .await;
    assert_eq!(retried.status(), 200);
    s.wait_for(&id, "granted", Duration::from_secs(30)).await;
    assert_eq!(s.held().await, one_grant_set());
    s.finish().await;
}

async fn a_worker_killed_mid_job_is_replaced_and_the_grant_is_applied_once(backend: Backend) {
    let env = [
        ("WHARF_SERVE_WORKER", "false"),
        ("WHARF_JOB_LEASE_SECS", "2"),
    ];
    let s = stack(backend, &env).await;
    let mut worker_env = s.db.env();
    worker_env.push(("WHARF_AWS_ENDPOINT_URL", s.proxy.url.as_str()));
    worker_env.extend_from_slice(&env);
    let mut doomed = start_worker(s.dir.path(), &worker_env);
    s.proxy.inject(
        "BatchGrantPermissions",
        Fault::Delay(Duration::from_secs(3)),
        1,
    );
    let id = s.approved_request().await;

    // Wait until the grant call is in flight, then kill the worker without warning.
    let started = Instant::now();
    while s.proxy.calls("BatchGrantPermissions") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the worker never called Lake Formation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-9", &doomed.id().to_string()])
        .status()
        .unwrap();
    let _ = doomed.wait();
    let stuck: Value = s
        .wharf
        .api(
            "GET",
            &format!("/api/v1/access-requests/{id}"),
            &s.ana,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stuck["status"], "granting",
        "the dead worker left it half-done"
    );

    let mut rescuer = start_worker(s.dir.path(), &worker_env);
    s.wait_for(&id, "granted", Duration::from_secs(30)).await;
    assert_eq!(
        s.held().await,
        one_grant_set(),
        "one set of grants, not two"
    );
    std::process::Command::new("kill")
        .args(["-TERM", &rescuer.id().to_string()])
        .status()
        .unwrap();
    let _ = rescuer.wait();
    s.finish().await;
}
