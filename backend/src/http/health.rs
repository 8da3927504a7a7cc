//! Liveness, readiness and metrics, for load balancers and Prometheus.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppError;
use crate::app::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(app): State<AppState>) -> Result<&'static str, AppError> {
    match tokio::time::timeout(Duration::from_secs(2), app.store.ping()).await {
        Ok(Ok(())) => Ok("ready\n"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            Err(AppError::Unavailable("the database is unreachable".into()))
        }
        Err(_) => Err(AppError::Unavailable(
            "the database did not answer within 2 s".into(),
        )),
    }
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
pub async fn metrics(State(app): State<AppState>) -> Response {
    match app.store.job_queue_depth().await {
        Ok(depth) => {
            app.metrics.job_queue_depth.set(depth);
        }
        Err(error) => tracing::warn!(%error, "could not read the job queue depth"),
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response()
}
