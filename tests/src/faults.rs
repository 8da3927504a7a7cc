//! A small fault-injecting proxy in front of moto: chosen AWS operations answer with
//! throttling, concurrent modification, HTTP 500, or a delay, a given number of times;
//! everything else is forwarded unchanged. Every call is logged by operation name.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Throttle,
    ConcurrentModification,
    ServerError,
    /// Forward, but only after this long (a window to kill a worker in).
    Delay(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

pub struct FaultProxy {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rules: Arc::default(),
            log: Arc::default(),
            client: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// Answer the next `times` calls of `operation` (e.g. `BatchGrantPermissions`) with `fault`.
    pub fn inject(&self, operation: &str, fault: Fault, times: usize) {
        self.shared.rules.lock().unwrap().push(Rule {
            operation: operation.into(),
            fault,
            remaining: times,
        });
    }

    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// How many calls of `operation` reached the proxy.
    pub fn calls(&self, operation: &str) -> usize {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|o| *o == operation)
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation a request is for: Lake Formation puts it in the path, Glue and DynamoDB
/// in `X-Amz-Target`.
fn operation(path: &str, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    path.trim_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    (
        status,
        [
            ("x-amzn-errortype", code),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        body,
    )
        .into_response()
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let operation = operation(parts.uri.path(), &parts.headers);
    shared.log.lock().unwrap().push(operation.clone());
    let fault = {
        let mut rules = shared.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.operation == operation && r.remaining > 0)
            .map(|rule| {
                rule.remaining -= 1;
                rule.fault
            })
    };
    match fault {
        Some(Fault::Throttle) => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded",
            );
        }
        Some(Fault::ConcurrentModification) => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "ConcurrentModificationException",
                "Try again",
            );
        }
        Some(Fault::ServerError) => {
            return aws_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceException",
                "Oops",
            );
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let url = format!(
        "{}{}",
        shared.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut forward = shared
        .client
        .request(parts.method.clone(), url)
        .body(bytes.to_vec());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    match forward.send().await {
        Ok(upstream) => {
            let status = upstream.status();
            let headers = upstream.headers().clone();
            let body = upstream.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}
