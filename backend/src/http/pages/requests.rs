//! Access requests in the browser: ask for access from a product page, follow a request
//! (its status refreshes itself while grants are being applied), decide in the inbox.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, PageForm, PagePath, RenderPage, flash};
use crate::actions::extensions::{self, NewExtensionBody};
use crate::actions::requests::{
    NewRequestBody, TableChoice, act, allowed_actions, check, list_for, request_facts, submit,
    visible_request,
};
use crate::app::{App, AppState};
use crate::domain::access::AccessRequest;
use crate::domain::extensions::{Extension, ExtensionStatus};
use crate::domain::policy::{RequestAction, may_act_on_request};
use crate::domain::{Product, RequestStatus};
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Template)]
#[template(path = "pages/requests.html")]
struct RequestsPage {
    chrome: Chrome,
    inbox: Vec<AccessRequest>,
    mine: Vec<AccessRequest>,
}

/// `GET /requests`: waiting for your decision, and your own requests.
pub async fn requests(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let inbox = list_for(
        &app,
        &user.subject(),
        "inbox",
        vec![RequestStatus::Submitted],
    )
    .await?;
    let mine = list_for(&app, &user.subject(), "mine", Vec::new()).await?;
    RequestsPage {
        chrome: Chrome::new(&app, Some(&user), "Requests").nav("requests"),
        inbox,
        mine,
    }
    .into_page()
}

/// Everything on the request page below its title. It refreshes itself on each event
/// about the request (and every few seconds while grants are applied or removed), so the
/// status, the actions that state allows, extensions and the history move together.
#[derive(Template)]
#[template(path = "partials/request_live.html")]
pub struct LivePart {
    pub request: AccessRequest,
    pub sandbox: bool,
    csrf_token: String,
    actions: Vec<&'static str>,
    extensions: Vec<Extension>,
    /// The viewer may ask for a later end date now.
    may_ask_extension: bool,
    /// The viewer may approve or reject the pending extension.
    may_decide_extension: bool,
}

impl LivePart {
    /// The worker is applying or removing grants.
    pub fn in_progress(&self) -> bool {
        matches!(
            self.request.status,
            RequestStatus::Granting | RequestStatus::Revoking
        )
    }

    /// Tables the worker is done with, for the progress bar.
    pub fn settled(&self) -> usize {
        self.request
            .items
            .iter()
            .filter(|item| item.status != self.request.status)
            .count()
    }

    fn pending_extension(&self) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.status == ExtensionStatus::Pending)
    }
}

#[derive(Template)]
#[template(path = "pages/request.html")]
struct RequestPage {
    chrome: Chrome,
    live: LivePart,
}

fn is_sandbox(product: &Product) -> bool {
    product.environment_kind == crate::domain::EnvironmentKind::Sandbox
}

/// The live part of a request's page, as `user` may see and act on it.
async fn live_part(app: &App, user: &CurrentUser, id: uuid::Uuid) -> Result<LivePart, AppError> {
    let (request, product) = visible_request(app, &user.subject(), id).await?;
    let actions = allowed_actions(&user.subject(), &request, &product)
        .into_iter()
        .map(RequestAction::name)
        .collect();
    let extensions = app.store.extensions_of(request.id).await?;
    let stewards = product.steward_ids();
    let facts = request_facts(&request, &product, &stewards);
    let pending = extensions
        .iter()
        .any(|e| e.status == ExtensionStatus::Pending);
    let granted = request.status == RequestStatus::Granted;
    let may = |action| may_act_on_request(&user.subject(), &facts, action);
    Ok(LivePart {
        may_ask_extension: granted && !pending && may(RequestAction::RequestExtension),
        may_decide_extension: granted && pending && may(RequestAction::ApproveExtension),
        sandbox: is_sandbox(&product),
        csrf_token: user.csrf_token().unwrap_or_default().to_owned(),
        request,
        actions,
        extensions,
    })
}

/// `GET /requests/{id}`
pub async fn request_page(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, AppError> {
    let live = live_part(&app, &user, id).await?;
    let title = format!("Request for {}", live.request.product_name);
    RequestPage {
        chrome: Chrome::new(&app, Some(&user), &title).nav("requests"),
        live,
    }
    .into_page()
}

/// `GET /requests/{id}/status`: the live part, for htmx.
pub async fn request_status(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
) -> Result<Response, AppError> {
    live_part(&app, &user, id).await?.into_page()
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    comment: String,
}

/// `POST /requests/{id}/{action}`
pub async fn decide(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath((id, action)): PagePath<(uuid::Uuid, String)>,
    PageForm(form): PageForm<DecisionForm>,
) -> Result<Response, AppError> {
    let here = format!("/requests/{id}");
    let action = RequestAction::parse(&action).ok_or(AppError::NotFound)?;
    if matches!(action, RequestAction::Verify | RequestAction::Reapply) {
        let reapply = action == RequestAction::Reapply;
        check(&app, &user.subject(), id, reapply).await?;
        let message = if reapply {
            "Grants applied again and checked."
        } else {
            "Access checked: see each table's result below."
        };
        return Ok(flash::redirect(&app, &here, message));
    }
    act(&app, &user.subject(), id, action, form.comment.trim()).await?;
    let message = match action {
        RequestAction::Approve => "Approved: Wharf is applying the grants, and this page follows.",
        RequestAction::Reject => "Rejected.",
        RequestAction::Cancel => "Request cancelled.",
        RequestAction::Revoke => "Revoking access: this page shows when it is gone.",
        _ => "Retrying the grants.",
    };
    Ok(flash::redirect(&app, &here, message))
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    until: String,
    reason: String,
}

/// `POST /requests/{id}/extensions`: ask for a later end date.
pub async fn ask_extension(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(id): PagePath<uuid::Uuid>,
    PageForm(form): PageForm<ExtensionForm>,
) -> Result<Response, AppError> {
    let body = NewExtensionBody {
        until: form.until,
        reason: form.reason,
    };
    extensions::ask(&app, &user.subject(), id, &body).await?;
    Ok(flash::redirect(
        &app,
        &format!("/requests/{id}"),
        "Extension asked for: the product's owners decide.",
    ))
}

/// `POST /requests/{id}/extensions/{extension}/{approve|reject}`
pub async fn decide_extension(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath((id, extension, action)): PagePath<(uuid::Uuid, uuid::Uuid, String)>,
    PageForm(form): PageForm<DecisionForm>,
) -> Result<Response, AppError> {
    let approve = match action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::NotFound),
    };
    extensions::decide(
        &app,
        &user.subject(),
        id,
        extension,
        approve,
        form.comment.trim(),
    )
    .await?;
    let message = if approve {
        "Extension approved: access now ends later."
    } else {
        "Extension rejected."
    };
    Ok(flash::redirect(&app, &format!("/requests/{id}"), message))
}

/// The request form on a product page posts pairs like `table=<asset id>` (repeated).
#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    table: Vec<uuid::Uuid>,
    principal_id: uuid::Uuid,
    justification: String,
    until: String,
}

/// `POST /products/{slug}/request`
pub async fn request_access(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    axum_extra_form: axum::extract::RawForm,
) -> Result<Response, AppError> {
    let form: RequestForm = serde_urlencoded_multi(&axum_extra_form.0)?;
    let body = NewRequestBody {
        product: slug,
        tables: form
            .table
            .into_iter()
            .map(|id| TableChoice {
                table: None,
                asset_id: Some(id),
                columns: None,
            })
            .collect(),
        principal_id: form.principal_id,
        consumer_team: None,
        justification: form.justification,
        until: form.until,
    };
    let request = submit(&app, &user.subject(), body, None).await?;
    let message = if request.status == RequestStatus::Submitted {
        format!(
            "Request sent: the owners of {} decide.",
            request.product_name
        )
    } else {
        "Request approved at once: Wharf is applying the grants.".to_owned()
    };
    Ok(flash::redirect(
        &app,
        &format!("/requests/{}", request.id),
        message,
    ))
}

/// HTML forms repeat a key for each checked box; collect those into a list.
fn serde_urlencoded_multi(body: &[u8]) -> Result<RequestForm, AppError> {
    let mut tables = Vec::new();
    let (mut principal, mut justification, mut until) = (None, String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "table" => tables.push(
                value
                    .parse()
                    .map_err(|_| AppError::BadRequest("a chosen table is not valid".into()))?,
            ),
            "principal_id" => {
                principal = Some(
                    value
                        .parse()
                        .map_err(|_| AppError::BadRequest("choose a principal".into()))?,
                )
            }
            "justification" => justification = value.into_owned(),
            "until" => until = value.into_owned(),
            _ => {}
        }
    }
    let principal_id = principal.ok_or_else(|| {
        crate::domain::Invalid::new("principal_id", "choose the role that gets access")
    })?;
    Ok(RequestForm {
        table: tables,
        principal_id,
        justification,
        until,
    })
}
