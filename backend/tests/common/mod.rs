//! Test support: a fresh database per test (a SQLite file, or a new PostgreSQL database on
//! the server at `WHARF_TEST_DATABASE_URL`) and a `TestApp` that sends requests through
//! the real router without a socket; the worlds stories start from (`world`), and
//! `stories!`, which runs each story on SQLite and on PostgreSQL.

pub mod world;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use sqlx::Connection;
use tower::ServiceExt;
use wharf::app::{App, AppState, router};
use wharf::config::{Config, DatabaseUrl};
use wharf::store::{self, Store};

/// Every story runs twice, on SQLite (in module `sqlite`) and on PostgreSQL (in module
/// `postgres`), as `#[tokio::test]`s named after it. The stories are functions of the
/// calling module, in one of four shapes:
///
/// - `stories!(app: a, b)`: `async fn a(postgres: bool)`, which builds its `TestApp` with
///   `TestApp::builder().postgres(postgres)` (or a world from [`world`]);
/// - `stories!(store: a, b)`: `async fn a(store: &dyn Store)` on a fresh, migrated database;
/// - `stories!(store, seed = f: a, b)`: the same, after `f(store)` has run;
/// - `stories!(store, world = W: a, b)`: `async fn a(store: &dyn Store, world: &W)`, the
///   world made by `W::seed(store)`.
macro_rules! stories {
    (app: $($story:ident),* $(,)?) => {
        $crate::common::stories!(@both $($story: |postgres| super::$story(postgres)),*);
    };
    (store: $($story:ident),* $(,)?) => {
        $crate::common::stories!(@both $($story: |postgres| $crate::common::with_store(
            postgres,
            async |store| super::$story(store).await,
        )),*);
    };
    (store, seed = $seed:ident: $($story:ident),* $(,)?) => {
        $crate::common::stories!(@both $($story: |postgres| $crate::common::with_store(
            postgres,
            async |store| {
                super::$seed(store).await;
                super::$story(store).await
            },
        )),*);
    };
    (store, world = $world:ident: $($story:ident),* $(,)?) => {
        $crate::common::stories!(@both $($story: |postgres| $crate::common::with_store(
            postgres,
            async |store| {
                let world = super::$world::seed(store).await;
                super::$story(store, &world).await
            },
        )),*);
    };
    (@both $($story:ident: $run:expr),*) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $story() {
                ($run)(false).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $story() {
                ($run)(true).await
            })*
        }
    };
}
pub(crate) use stories;

/// Where the PostgreSQL tests create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("WHARF_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A story on a fresh store: SQLite, or PostgreSQL when `postgres`; the PostgreSQL
/// database is dropped after.
pub async fn with_store(postgres: bool, story: impl AsyncFnOnce(&dyn Store)) {
    let db = if postgres {
        TestDb::postgres().await
    } else {
        TestDb::sqlite().await
    };
    let store = db.open().await;
    story(store.as_ref()).await;
    db.drop_database(store).await;
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("wharf.db").display());
        Self {
            url: DatabaseUrl::Sqlite(url),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    pub async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("wharf_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for this test and did not answer at {admin}: {e}. \
                 Run the suite with tests/run.sh, which starts one when none is running."
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let (base, _) = admin.rsplit_once('/').expect("database URL has a path");
        let url = DatabaseUrl::Postgres(format!("{base}/{name}"));
        Self {
            url,
            _dir: None,
            pg_name: Some(name),
        }
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        store::open(&self.url).await.expect("open store")
    }

    /// Drop the PostgreSQL database (SQLite files go with the temp dir).
    pub async fn drop_database(mut self, store: Arc<dyn Store>) {
        store.close().await;
        if let Some(name) = self.pg_name.take() {
            drop_postgres_database(&name).await;
        }
    }
}

async fn drop_postgres_database(name: &str) {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// A test that never called `drop_database` (an app test, or one that panicked) still
/// leaves no database behind. Drop cannot await, and the test's runtime is busy
/// dropping us: a thread with its own runtime does it.
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_postgres_database(&name));
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop a test database");
        }
    }
}

/// The app with its router, over a fresh database.
pub struct TestApp {
    pub state: AppState,
    pub db: TestDb,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            env: Vec::new(),
            postgres: false,
        }
    }

    pub async fn request(&self, request: Request<Body>) -> Response<Body> {
        router(self.state.clone())
            .oneshot(request)
            .await
            .expect("router answers")
    }

    pub async fn get(&self, path: &str) -> Response<Body> {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// Sign in through the development sign-in as one of the demo users.
    pub async fn sign_in(&self, login: &str) -> Browser {
        let response = self
            .request(
                Request::post("/auth/dev-login")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(format!("user={login}&next=/account")))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), 303, "dev sign-in as {login}");
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let page = body_text(self.as_browser(Request::get("/account"), &cookie).await).await;
        let csrf = scrape_csrf(&page).expect("the account page carries a CSRF token");
        Browser { cookie, csrf }
    }

    /// A personal API token of one of the demo users, made through the API as they would.
    pub async fn token(&self, login: &str) -> String {
        let browser = self.sign_in(login).await;
        let response = self
            .request(
                Request::post("/api/v1/tokens")
                    .header("cookie", &browser.cookie)
                    .header("x-csrf-token", &browser.csrf)
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"name": "t"}"#))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), 201, "token for {login}");
        body_json(response).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn as_browser(
        &self,
        request: axum::http::request::Builder,
        cookie: &str,
    ) -> Response<Body> {
        self.request(
            request
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn get_as(&self, browser: &Browser, path: &str) -> Response<Body> {
        self.as_browser(Request::get(path), &browser.cookie).await
    }

    /// Post an HTML form (the CSRF field is the caller's to include or leave out).
    pub async fn post_form(
        &self,
        browser: Option<&Browser>,
        path: &str,
        form: &str,
    ) -> Response<Body> {
        let mut request =
            Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(browser) = browser {
            request = request.header("cookie", &browser.cookie);
        }
        self.request(request.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Send JSON with an `Authorization: Bearer` token (or none).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Response<Body> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.request(request.body(body).unwrap()).await
    }
}

pub fn scrape_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned()).filter(|t| !t.is_empty())
}

pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("a JSON body")
}

pub struct TestAppBuilder {
    env: Vec<(String, String)>,
    postgres: bool,
}

impl TestAppBuilder {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Run on a fresh PostgreSQL database instead of SQLite.
    pub fn postgres(mut self, postgres: bool) -> Self {
        self.postgres = postgres;
        self
    }

    pub async fn build(self) -> TestApp {
        let db = if self.postgres {
            TestDb::postgres().await
        } else {
            TestDb::sqlite().await
        };
        let mut env = self.env;
        env.push(("WHARF_DATABASE_URL".into(), db.url.redacted()));
        let config = Config::from_sources(None, env).expect("test config");
        let store = wharf::server::open_store(&config)
            .await
            .expect("open store");
        let index = Arc::new(wharf::search::CatalogIndex::in_memory().expect("index"));
        let state = AppState(Arc::new(App::new(config, store, index).expect("build app")));
        TestApp { state, db }
    }
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}
