//! The event feed (`GET /api/v1/events?after=`) and the live stream
//! (`GET /api/v1/events/stream`, Server-Sent Events), both as CloudEvents and both filtered
//! to what the caller may see.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::ApiQuery;
use crate::actions::products::can_view_at;
use crate::actions::requests::visible_request;
use crate::app::{App, AppState};
use crate::domain::events::CloudEvent;
use crate::domain::{OutboxEvent, Product, ProductStatus, Slug};
use crate::http::AppError;
use crate::http::auth::CurrentUser;

const PAGE: i64 = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// The `next_cursor` of the previous page; omitted, the feed starts at the beginning.
    #[serde(default)]
    #[param(pattern = "^[0-9]*$")]
    pub after: Option<String>,
    /// Events per page (default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only events about this subject (`products/<slug>`, `access-requests/<id>`).
    #[serde(default)]
    pub subject: Option<String>,
}

/// A page of the feed.
/// Where the live stream starts, and what it carries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this feed cursor (or send `Last-Event-ID`); omitted, only new events.
    #[serde(default)]
    #[param(pattern = "^[0-9]*$")]
    pub after: Option<String>,
    /// Only events about this subject (`products/<slug>`, `access-requests/<id>`).
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    /// CloudEvents 1.0 JSON, oldest first.
    pub items: Vec<serde_json::Value>,
    /// Pass as `after` for the next page; present even when this page is empty, so a
    /// poller can keep its place.
    pub next_cursor: String,
    /// The URL of the next page.
    pub next: String,
}

fn parse_cursor(text: Option<&str>) -> Result<i64, AppError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| {
                AppError::InvalidParameter(crate::http::error::FieldError {
                    field: "after".into(),
                    message: "not a cursor from this feed".into(),
                })
            }),
    }
}

/// Decides which events a caller may see, remembering what it loaded: a feed page holds
/// many events about the same few products and requests.
pub struct Visibility<'a> {
    app: &'a App,
    user: &'a CurrentUser,
    products: HashMap<String, Option<Product>>,
    requests: HashMap<String, bool>,
}

impl<'a> Visibility<'a> {
    pub fn new(app: &'a App, user: &'a CurrentUser) -> Self {
        Self {
            app,
            user,
            products: HashMap::new(),
            requests: HashMap::new(),
        }
    }

    /// Whether the caller may see this event: its product as it was when the event
    /// happened (a draft's history stays hidden from people who could not see the draft),
    /// or its request.
    pub async fn may_see(&mut self, event: &OutboxEvent) -> bool {
        if self.user.is_admin {
            return true;
        }
        if let Some(slug) = event.subject.strip_prefix("products/") {
            if !self.products.contains_key(slug) {
                let product = match Slug::parse(slug) {
                    Ok(parsed) => self.app.store.product_by_slug(&parsed).await.ok(),
                    Err(_) => None,
                };
                self.products.insert(slug.to_owned(), product);
            }
            let Some(Some(product)) = self.products.get(slug) else {
                return false;
            };
            let status_then = event.data["status"]
                .as_str()
                .and_then(|s| ProductStatus::parse(s).ok())
                .unwrap_or(product.status);
            return can_view_at(&self.user.subject(), product, status_then);
        }
        if let Some(id) = event.subject.strip_prefix("access-requests/") {
            if let Some(visible) = self.requests.get(id) {
                return *visible;
            }
            let visible = match id.parse() {
                Ok(id) => visible_request(self.app, &self.user.subject(), id)
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            self.requests.insert(id.to_owned(), visible);
            return visible;
        }
        if let Some(team) = event.subject.strip_prefix("teams/") {
            return self.user.teams.iter().any(|t| t.as_str() == team);
        }
        // Domains and environments: catalog-wide facts every signed-in user sees.
        event.subject.starts_with("domains/") || event.subject.starts_with("environments/")
    }
}

fn cloud_json(app: &App, event: &OutboxEvent) -> serde_json::Value {
    serde_json::to_value(CloudEvent::new(event, &app.config.public_url))
        .unwrap_or(serde_json::Value::Null)
}

/// The event feed
///
/// Every change as a CloudEvent, in order, filtered to what you may see. Poll with
/// `after` = the previous `next_cursor` (also in `next` and `Link: rel="next"`).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(FeedParams),
    responses((status = 200, description = "A page of events", body = FeedPage)),
)]
pub async fn feed(
    State(app): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> Result<axum::response::Response, AppError> {
    let limit = params.limit.unwrap_or(PAGE);
    if !(1..=500).contains(&limit) {
        return Err(AppError::InvalidParameter(crate::http::error::FieldError {
            field: "limit".into(),
            message: "a number from 1 to 500".into(),
        }));
    }
    let mut cursor = parse_cursor(params.after.as_deref())?;
    let mut items = Vec::new();
    let mut visibility = Visibility::new(&app, &user);
    // Skip over pages the caller may not see, but never read more than a few.
    for _ in 0..5 {
        let events = app.store.events_after(cursor, limit).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            break;
        };
        for event in &events {
            if params.subject.as_deref().is_none_or(|s| s == event.subject)
                && visibility.may_see(event).await
            {
                items.push(cloud_json(&app, event));
            }
        }
        cursor = last;
        if !items.is_empty() || (events.len() as i64) < limit {
            break;
        }
    }
    let mut next = format!("/api/v1/events?after={cursor}&limit={limit}");
    if let Some(subject) = &params.subject {
        next.push_str("&subject=");
        next.push_str(
            &url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>(),
        );
    }
    let link = axum::http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""));
    let mut response = axum::response::IntoResponse::into_response(Json(FeedPage {
        items,
        next_cursor: cursor.to_string(),
        next,
    }));
    if let Ok(link) = link {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, link);
    }
    Ok(response)
}

struct Live {
    app: AppState,
    user: CurrentUser,
    subject: Option<String>,
    receiver: broadcast::Receiver<Arc<OutboxEvent>>,
    backlog: VecDeque<OutboxEvent>,
    last: i64,
}

impl Live {
    /// The next event this caller may see, waiting for it if need be.
    async fn next(&mut self) -> Option<OutboxEvent> {
        loop {
            let event = match self.backlog.pop_front() {
                Some(event) => event,
                None => match self.receiver.recv().await {
                    Ok(event) => (*event).clone(),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the hub: read what was missed from the store.
                        let missed = self.app.store.events_after(self.last, 500).await.ok()?;
                        self.backlog.extend(missed);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            if event.seq <= self.last {
                continue;
            }
            self.last = event.seq;
            if self.subject.as_deref().is_none_or(|s| s == event.subject)
                // A fresh check per event: visibility changes as products are published.
                && Visibility::new(&self.app, &self.user).may_see(&event).await
            {
                return Some(event);
            }
        }
    }
}

/// The live event stream
///
/// Server-Sent Events, one per CloudEvent you may see, with the feed cursor as the SSE
/// id; a reconnecting client sends `Last-Event-ID` (or `after`) and resumes.
#[utoipa::path(
    get,
    path = "/api/v1/events/stream",
    tag = "events",
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (the SSE id)"),
    ),
    responses(
        (status = 200, description = "An endless stream of `data: <CloudEvent JSON>` messages",
            content_type = "text/event-stream", body = serde_json::Value),
    ),
)]
pub async fn stream(
    State(app): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    // Both are checked: a malformed `after` is refused even when the header wins.
    let after = match params.after.as_deref() {
        Some(after) => Some(parse_cursor(Some(after))?),
        None => None,
    };
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let resume = match header {
        Some(id) => Some(parse_cursor(Some(id))?),
        None => after,
    };
    // Subscribe before reading the backlog, so nothing falls between the two.
    let receiver = app.events.subscribe();
    let (last, backlog) = match resume {
        Some(after) => (after, app.store.events_after(after, 500).await?),
        None => (app.store.latest_event_seq().await?, Vec::new()),
    };
    let live = Live {
        app,
        user,
        subject: params.subject,
        receiver,
        backlog: backlog.into(),
        last,
    };
    let events = futures::stream::unfold(live, |mut live| async move {
        let event = live.next().await?;
        // Unnamed SSE events, so `EventSource.onmessage` sees them all; the type is in
        // the CloudEvent.
        let sse = Event::default()
            .id(event.seq.to_string())
            .data(cloud_json(&live.app, &event).to_string());
        Some((Ok(sse), live))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
