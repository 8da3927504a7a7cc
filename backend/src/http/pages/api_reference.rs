//! `GET /api/docs`: a reference of the REST API rendered from the OpenAPI document the
//! binary serves (no script, no CDN: the page is plain HTML within our CSP).

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::{Chrome, RenderPage};
use crate::app::AppState;
use crate::http::AppError;
use crate::http::auth::MaybeUser;

#[derive(Template)]
#[template(path = "pages/api_reference.html")]
struct ReferencePage {
    chrome: Chrome,
    version: String,
    description: Vec<String>,
    sections: Vec<Section>,
    schemas: Vec<(String, String)>,
}

struct Section {
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<Parameter>,
    /// The body's schema name (or "JSON") and an example, pretty-printed.
    body: Option<(String, String, bool)>,
    responses: Vec<(String, String, String)>,
}

struct Parameter {
    name: String,
    location: String,
    required: bool,
    description: String,
}

pub async fn reference_page(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
    Extension(doc): Extension<Arc<crate::http::api::docs::Document>>,
) -> Result<Response, AppError> {
    let doc: &Value = &doc.value;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut sections: Vec<Section> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tag| Section {
            name: text(&tag["name"]),
            description: text(&tag["description"]),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let tag = op["tags"][0].as_str().unwrap_or("other");
            let operation = operation(doc, path, method, op);
            match sections.iter_mut().find(|s| s.name == tag) {
                Some(section) => section.operations.push(operation),
                None => sections.push(Section {
                    name: tag.to_owned(),
                    description: String::new(),
                    operations: vec![operation],
                }),
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.clone(), pretty(schema)))
        .collect();
    ReferencePage {
        chrome: Chrome::new(&app, user.as_ref(), "API reference"),
        version: text(&doc["info"]["version"]),
        description: text(&doc["info"]["description"])
            .split("\n\n")
            .map(str::to_owned)
            .collect(),
        sections,
        schemas,
    }
    .into_page()
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Operation {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let parameters = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Parameter {
            name: text(&p["name"]),
            location: text(&p["in"]),
            required: p["required"].as_bool().unwrap_or(false),
            description: text(&p["description"]),
        })
        .collect();
    let body = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|media| {
            let schema = schema_name(&media["schema"]);
            let example = media
                .get("example")
                .or_else(|| component_example(doc, &media["schema"]))
                .map(pretty)
                .unwrap_or_default();
            let required = op["requestBody"]["required"].as_bool().unwrap_or(false);
            (schema, example, required)
        });
    let responses = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, response)| {
            let response = resolve(doc, response);
            let schema = response["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|media| schema_name(&media["schema"]))
                .unwrap_or_default();
            (status.clone(), text(&response["description"]), schema)
        })
        .collect();
    Operation {
        anchor: format!("{method}-{path}")
            .replace(['/', '{', '}'], "-")
            .replace("--", "-"),
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(&op["summary"]),
        description: text(&op["description"]),
        parameters,
        body,
        responses,
    }
}

/// Follow a `$ref` to `#/components/…`.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => reference
            .trim_start_matches("#/")
            .split('/')
            .fold(doc, |node, key| &node[key]),
        None => value,
    }
}

fn component_example<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let target = resolve(doc, schema);
    target.get("example").or_else(|| {
        target["oneOf"]
            .as_array()?
            .iter()
            .find_map(|s| resolve(doc, s).get("example"))
    })
}

/// `#/components/schemas/Product` → `Product`; arrays as `[Product]`.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    if schema["type"] == "array" {
        return format!("[{}]", schema_name(&schema["items"]));
    }
    if let Some(options) = schema["oneOf"].as_array() {
        return options
            .iter()
            .map(schema_name)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => String::new(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
