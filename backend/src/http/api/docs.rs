//! The OpenAPI 3.1 document of `/api/v1`: what is common to every operation (security
//! schemes, problem+json errors, tags). Each operation describes itself with
//! `#[utoipa::path]` on its handler and is registered with `routes!` in `api::router`, so
//! the route table and the document come from one source.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::http::error::{FieldError, Problem};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wharf API",
        description = "The REST API of Wharf, a data marketplace for a data lake: publish data \
products, request access to their tables, approve, and let Wharf apply the AWS Lake \
Formation grants.\n\n\
**Authentication**: a personal API token (`Authorization: Bearer wharf_…`, created on the \
account page or with `POST /api/v1/tokens`), an OIDC access token from the company IdP \
(`Authorization: Bearer <JWT>`), or the browser's session cookie (unsafe methods then also \
need the `X-CSRF-Token` header).\n\n\
**Errors** are RFC 9457 `application/problem+json` documents; validation problems list each \
wrong field in `errors`.\n\n\
**Lists** take `limit` (1–200, default 50) and `cursor`; the body is a JSON array in a stable \
order and, when there is more, the response has `Link: <…>; rel=\"next\"`.\n\n\
**Edits** take `If-Match` with the `ETag` a read returned and answer 412 when the resource \
changed since. **Access requests** accept an `Idempotency-Key` header: a retry with the same \
key returns the first request and creates nothing.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "me", description = "Who you are, and your personal API tokens"),
        (name = "catalog", description = "Business domains, environments and consumer principals"),
        (name = "products", description = "Data products and their tables"),
        (name = "access", description = "Access requests and their grants"),
        (name = "events", description = "The event feed and live stream, webhooks and notifications"),
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            Unavailable,
            InternalError,
            UriTooLong,
            HeadersTooLarge,
        ),
    ),

)]
pub struct ApiDoc;

/// Declare a reusable problem+json response (`components/responses/<Name>`) with an example.
macro_rules! problem_response {
    ($name:ident, $status:literal, $description:literal, $type:literal, $detail:literal) => {
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (
                    stringify!($name),
                    problem($description, $status, $type, $detail).into(),
                )
            }
        }
    };
}

fn problem(description: &str, status: u16, problem_type: &str, detail: &str) -> Response {
    let title = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut example = serde_json::json!({
        "type": problem_type,
        "title": title,
        "status": status,
        "detail": detail,
    });
    if status == 422 {
        example["errors"] = serde_json::json!([{"field": "name", "message": "must not be empty"}]);
    }
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
        .build()
}

problem_response!(
    BadRequest,
    400,
    "A parameter, header or body that does not parse (the parameter is named in `errors`).",
    "/problems/bad-request",
    "limit: a number from 1 to 200"
);
problem_response!(
    Unauthorized,
    401,
    "No credentials, or a token that is invalid, expired or revoked (see `WWW-Authenticate`).",
    "/problems/unauthorized",
    "Sign in, or send a bearer token."
);
problem_response!(
    Forbidden,
    403,
    "Signed in, but not allowed to do this.",
    "/problems/forbidden",
    "you are not allowed to do that"
);
problem_response!(
    NotFound,
    404,
    "There is no such thing, or you may not see it.",
    "/problems/not-found",
    "There is nothing here, or you may not see it."
);
problem_response!(
    Conflict,
    409,
    "Not possible in the current state (a transition that is not allowed, a name taken).",
    "/problems/conflict",
    "a request that is granted cannot be moved by Approve"
);
problem_response!(
    PreconditionFailed,
    412,
    "`If-Match` names an old version: someone changed it since you read it.",
    "/problems/precondition-failed",
    "the resource changed since you read it; reload and try again"
);
problem_response!(
    PayloadTooLarge,
    413,
    "The body is larger than the server accepts.",
    "/problems/payload-too-large",
    "the request body is too large"
);
problem_response!(
    UnsupportedMediaType,
    415,
    "The body is not `application/json`.",
    "/problems/unsupported-media-type",
    "send the body as application/json"
);
problem_response!(
    Unprocessable,
    422,
    "The body has the wrong shape or breaks a rule, or a body field or parameter holds text \
     that cannot be stored (a NUL character); each wrong field is in `errors`.",
    "/problems/invalid",
    "name: must not be empty"
);
problem_response!(
    Unavailable,
    503,
    "A service Wharf depends on (such as AWS Glue) did not answer; try again shortly.",
    "/problems/unavailable",
    "the AWS Glue catalog did not answer; try again shortly"
);
problem_response!(
    UriTooLong,
    414,
    "The path and query are longer than Wharf reads (8 KiB).",
    "/problems/uri-too-long",
    "The address is 9000 bytes long; Wharf reads at most 8192. Send fewer or shorter query parameters."
);
problem_response!(
    HeadersTooLarge,
    431,
    "The request headers are larger than Wharf reads (32 KiB).",
    "/problems/headers-too-large",
    "The request headers are 40000 bytes; Wharf reads at most 32768. Clear this site's cookies or send fewer headers."
);
problem_response!(
    InternalError,
    500,
    "Something went wrong on Wharf's side; it is logged with the request id.",
    "/problems/internal",
    "Something went wrong on our side. It has been logged; try again later."
);

/// What every operation shares: the security schemes, and the errors any of them can
/// answer (401 without credentials, 400 for a parameter that does not parse, 422 for one
/// that holds a NUL, 414 and 431 for an oversized request head, the body errors for
/// operations with a body, 500).
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("wharf_…")
                    .description(Some(
                        "A personal API token: acts as its owner, with their teams.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oidc_access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An OIDC access token from the configured IdP, checked against its \
                         JWKS (issuer, expiry, audience).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "wharf_session",
                "The browser session (`__Host-wharf_session` behind https). Unsafe methods \
                 also need the session's CSRF token in `X-CSRF-Token`.",
            ))),
        );
        let security: Vec<SecurityRequirement> = ["api_token", "oidc_access_token", "session"]
            .into_iter()
            .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
            .collect();
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                operation.security = Some(security.clone());
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                let is_list = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.name == "cursor"));
                let mut add = |status: &str, name: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| Ref::from_response_name(name).into());
                };
                if has_params || has_body {
                    add("400", "BadRequest");
                    // Text that cannot be stored (a NUL) is refused in any parameter too.
                    add("422", "Unprocessable");
                }
                add("401", "Unauthorized");
                // Any request can carry too long a query or too many headers.
                add("414", "UriTooLong");
                add("431", "HeadersTooLarge");
                if has_body {
                    add("413", "PayloadTooLarge");
                    add("415", "UnsupportedMediaType");
                }
                add("500", "InternalError");
                if is_list {
                    announce_next_page(&mut operation.responses);
                }
            }
        }
        link_creations(openapi);
        // A product's tables were first called assets: that path still answers, marked so
        // that generated clients and readers prefer `…/tables`.
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.ends_with("/assets") {
                for operation in operations(item) {
                    operation.deprecated = Some(utoipa::openapi::Deprecated::True);
                }
            }
        }
    }
}

/// Lists say where their next page is in a `Link` header.
fn announce_next_page(responses: &mut utoipa::openapi::Responses) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{Object, Type};
    let Some(RefOr::T(ok)) = responses.responses.get_mut("200") else {
        return;
    };
    let link = HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::String)))
        .description(Some(
            "RFC 8288: `<…?cursor=…>; rel=\"next\"` when there is a next page; absent on the last.",
        ))
        .build();
    ok.headers.insert("Link".into(), RefOr::T(link));
}

/// Link each creation to the operations on what it created: `POST /x` answering 201 with
/// `{"id": …}` links to every `/x/{id}…` operation (clients and fuzzers can follow them).
fn link_creations(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    let mut targets: Vec<(String, String, String)> = Vec::new(); // (path, method, operation id)
    for (path, item) in &openapi.paths.paths {
        for (method, operation) in [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("delete", &item.delete),
        ] {
            if let Some(id) = operation.as_ref().and_then(|o| o.operation_id.clone()) {
                targets.push((path.clone(), method.to_owned(), id));
            }
        }
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some(created) = item
            .post
            .as_mut()
            .and_then(|o| o.responses.responses.get_mut("201"))
        else {
            continue;
        };
        let RefOr::T(created) = created else { continue };
        for (target, _, operation_id) in &targets {
            let Some(rest) = target.strip_prefix(&format!("{path}/{{")) else {
                continue;
            };
            let Some((param, _)) = rest.split_once('}') else {
                continue;
            };
            let mut link = LinkBuilder::new()
                .operation_id(operation_id.clone())
                .parameter(param, format!("$response.body#/{param}"));
            // Parameters the creation had in its own path are passed on.
            for earlier in path.split('{').skip(1).filter_map(|p| p.split_once('}')) {
                link = link.parameter(earlier.0, format!("$request.path.{}", earlier.0));
            }
            created
                .links
                .insert(operation_id.clone(), RefOr::T(link.build()));
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The finished document, rendered once when the router is built.
#[derive(Debug)]
pub struct Document {
    pub json: String,
    pub value: serde_json::Value,
}

/// Add what every operation shares to the document the route table produced.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> Document {
    Common.modify(&mut doc);
    let value = serde_json::to_value(&doc).expect("the OpenAPI document serializes");
    let json = serde_json::to_string_pretty(&value).expect("JSON serializes");
    Document { json, value }
}

/// The document as served at `/api/openapi.json`, built from the API's route table.
pub fn document() -> Document {
    finish(super::router().into_openapi())
}

/// `GET /api/openapi.json` (public: it says what exists, never what anyone holds).
pub async fn openapi_json(
    axum::Extension(doc): axum::Extension<std::sync::Arc<Document>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.json.clone(),
    )
        .into_response()
}
