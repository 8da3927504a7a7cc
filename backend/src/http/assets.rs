//! Static files (CSS, JS, icons) embedded in the binary. URLs carry a content hash
//! (`/static/app.css?v=1a2b3c4d`), so a versioned URL can be cached forever.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;

#[derive(RustEmbed)]
#[folder = "../static/"]
struct StaticFiles;

/// The content hash of every embedded file, computed at build time.
#[derive(Debug, Clone)]
pub struct Assets {
    versions: HashMap<String, String>,
}

impl Default for Assets {
    fn default() -> Self {
        let versions = StaticFiles::iter()
            .filter_map(|name| {
                let file = StaticFiles::get(&name)?;
                Some((
                    name.to_string(),
                    hex::encode(&file.metadata.sha256_hash()[..4]),
                ))
            })
            .collect();
        Self { versions }
    }
}

impl Assets {
    /// The cache-busting URL of an embedded file.
    pub fn url(&self, name: &str) -> String {
        match self.versions.get(name) {
            Some(version) => format!("/static/{name}?v={version}"),
            None => format!("/static/{name}"),
        }
    }
}

#[derive(Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

/// `GET /static/{*path}`
pub async fn serve_static(Path(path): Path<String>, Query(query): Query<VersionQuery>) -> Response {
    let Some(file) = StaticFiles::get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let version = hex::encode(&file.metadata.sha256_hash()[..4]);
    let cache = if query.v.as_deref() == Some(version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let content_type = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::ETAG,
                HeaderValue::from_str(&format!("\"{version}\""))
                    .unwrap_or(HeaderValue::from_static("\"0\"")),
            ),
        ],
        file.data.into_owned(),
    )
        .into_response()
}
