//! The world most HTTP stories start from, made through the API as people would: a domain
//! Sales, a published sandbox product `orders` owned by sales-data (omar's team), and a
//! role the analytics team (ana and sofia) registered in the sandbox.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{TestApp, body_json};

/// The tables `orders` holds.
#[derive(Debug, Clone, Copy)]
pub enum Tables {
    /// `sales.orders` (`id`).
    One,
    /// `sales.orders` (`id`, `email`) and `sales.returns` (`id`).
    Two,
}

/// How to make the world: `Orders { postgres: true, ..Orders::default() }.publish()`.
#[derive(Debug, Clone, Copy)]
pub struct Orders {
    pub postgres: bool,
    pub auto_approve: bool,
    /// `None`: the product's default.
    pub max_access_days: Option<u32>,
    pub tables: Tables,
}

impl Default for Orders {
    fn default() -> Self {
        Self {
            postgres: false,
            auto_approve: false,
            max_access_days: Some(90),
            tables: Tables::Two,
        }
    }
}

/// The world, with API tokens of omar (owner, sales-data), ana and sofia (analytics) and
/// root (admin).
pub struct Market {
    pub app: TestApp,
    pub omar: String,
    pub ana: String,
    pub sofia: String,
    pub root: String,
    /// The id of analytics' role in the sandbox.
    pub principal: String,
    /// Stops the worker and event delivery when dropped (or sent `true`).
    stop: watch::Sender<bool>,
}

impl Orders {
    pub async fn publish(self) -> Market {
        let app = TestApp::builder().postgres(self.postgres).build().await;
        let (omar, ana, sofia, root) = (
            app.token("omar").await,
            app.token("ana").await,
            app.token("sofia").await,
            app.token("root").await,
        );
        let ok = |response: axum::response::Response, what: &str| {
            assert!(
                response.status().is_success(),
                "{what}: {}",
                response.status()
            );
            response
        };
        let sales = json!({"name": "Sales"});
        ok(
            app.api("POST", "/api/v1/domains", Some(&root), Some(sales))
                .await,
            "domain",
        );
        let mut product = json!({"name": "Orders", "domain": "sales", "owner_team": "sales-data",
            "auto_approve": self.auto_approve});
        if let Some(days) = self.max_access_days {
            product["max_access_days"] = days.into();
        }
        let created = app
            .api("POST", "/api/v1/products", Some(&omar), Some(product))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "product");
        let tables = match self.tables {
            Tables::One => json!({"tables": [{"database": "sales", "table": "orders",
                "columns": [{"name": "id", "data_type": "bigint"}]}]}),
            Tables::Two => json!({"tables": [
                {"database": "sales", "table": "orders", "columns": [
                    {"name": "id", "data_type": "bigint"}, {"name": "email", "data_type": "string"}]},
                {"database": "sales", "table": "returns", "columns": [
                    {"name": "id", "data_type": "bigint"}]}]}),
        };
        let path = "/api/v1/products/orders/assets";
        ok(
            app.api("POST", path, Some(&omar), Some(tables)).await,
            "tables",
        );
        let path = "/api/v1/products/orders/publish";
        ok(app.api("POST", path, Some(&omar), None).await, "publish");
        let principal = json!({"team": "analytics", "arn": "arn:aws:iam::111122223333:role/bi"});
        let path = "/api/v1/environments/sandbox/principals";
        let principal = body_json(ok(
            app.api("POST", path, Some(&ana), Some(principal)).await,
            "principal",
        ))
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (stop, _) = watch::channel(false);
        Market {
            app,
            omar,
            ana,
            sofia,
            root,
            principal,
            stop,
        }
    }
}

impl Market {
    /// Run the job worker (grants, checks) until the world is dropped.
    pub fn with_worker(self) -> Self {
        tokio::spawn(wharf::server::worker_for(&self.app.state).run(self.stop.subscribe()));
        self
    }

    /// Run event delivery too (relay scheduler, hub, webhook dispatcher).
    pub fn with_event_delivery(self) -> Self {
        wharf::server::spawn_event_delivery(&self.app.state, &self.stop.subscribe());
        self
    }
}

/// A day `days` from today, as the API writes dates.
pub fn date_in(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

/// Poll an access request until it has `status` (for at most 10 s), and return it.
pub async fn wait_for(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let request = body_json(
            app.api(
                "GET",
                &format!("/api/v1/access-requests/{id}"),
                Some(token),
                None,
            )
            .await,
        )
        .await;
        if request["status"] == status {
            return request;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {}: {request}",
            request["status"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
