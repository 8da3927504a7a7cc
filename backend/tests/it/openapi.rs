//! The OpenAPI document: a snapshot of all of it (so every interface change shows up in
//! review), and proof that it describes exactly the `/api/v1` routes the router serves.
//!
//! After an intended change to the API, update the snapshot and review its diff:
//!
//! ```sh
//! INSTA_UPDATE=always cargo test -p wharf --test it openapi
//! git diff backend/tests/it/snapshots/
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{TestApp, body_json};
use axum::body::Body;
use axum::http::{Request, StatusCode};

#[test]
fn the_whole_document_matches_its_snapshot() {
    let doc = wharf::http::api::docs::document();
    insta::assert_json_snapshot!("openapi", doc.value);
}

/// Documented operations: path → methods.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let doc = wharf::http::api::docs::document();
    doc.value["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Every method the router answers on a documented path is documented, and every
/// documented operation is routed: with credentials, a method the router does not serve
/// on a path answers 405 (and no handler does).
#[tokio::test]
async fn every_routed_method_is_documented_and_every_documented_one_routed() {
    let app = TestApp::new().await;
    let root = app.token("root").await;
    let documented = documented();
    assert!(documented.len() > 10, "{documented:?}");
    for (path, methods) in &documented {
        let concrete = path.replace('{', "x").replace('}', "");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let response = app
                .request(
                    Request::builder()
                        .method(method)
                        .uri(&concrete)
                        .header("authorization", format!("Bearer {root}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let routed = response.status() != StatusCode::METHOD_NOT_ALLOWED;
            assert_eq!(
                routed,
                methods.contains(method),
                "{method} {path}: the router answers {}, the document has {methods:?}",
                response.status()
            );
        }
    }
}

/// Every `/api/v1/…` path written anywhere in the server's source (a `.route(…)` added
/// by hand, outside `api::router`) is in the document.
#[test]
fn every_api_path_in_the_source_is_documented() {
    let documented = documented();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            // A path, without the query of an example URL.
            let literal = literal.split('?').next().unwrap_or_default();
            if literal.starts_with("/api/v1")
                && !literal.contains(char::is_whitespace)
                && !documented.contains_key(literal)
            {
                missing.push(format!("{literal} ({})", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document (register them with `routes!` in \
         backend/src/http/api/mod.rs): {missing:#?}"
    );
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn the_document_and_the_reference_page_are_served() {
    let app = TestApp::new().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = body_json(response).await;
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served, wharf::http::api::docs::document().value);
    for scheme in ["api_token", "oidc_access_token", "session"] {
        assert!(
            served["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }

    let response = app.get("/api/docs").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = crate::common::body_text(response).await;
    for expected in [
        "POST /api/v1/access-requests/{id}/approve",
        "Idempotency-Key",
        "schema-Problem",
    ] {
        assert!(html.contains(expected), "{expected} on the reference page");
    }
    assert!(!html.contains("<script>"), "no inline script");
}
