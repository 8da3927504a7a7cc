//! What a product page shows that is the same for every viewer, kept while nothing changed.
//!
//! Loading it takes six statements (product, tables with columns, schema history,
//! environment, principals, request spans), and every sqlx-sqlite statement is a round trip
//! to its connection's thread: those hops, not the queries, were most of a page's cost.
//! Every change to what the page shows commits an outbox event in the same transaction, so
//! the outbox's last sequence number, read *before* loading, tells whether a kept copy is
//! current enough: one loaded at that number or later. That number comes with the caller
//! (read in the same statement, or kept with them: see `auth::callers`), so a kept page
//! costs no statement of its own; a page shows every change this process committed before
//! it was asked for (a viewer's own edit included), and another process's within a
//! second. The day is part of the key because the access timeline's window moves with it.
//!
//! A few writes commit no event: a steward's new display name at sign-in, a revoke job's
//! partial outcome, anything done to the database by hand. A kept copy is therefore also
//! reloaded once it is [`ProductPages::MAX_AGE`] old.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use time::Date;

use super::charts;
use crate::domain::*;
use crate::http::AppError;
use crate::store::{Store, now};

/// Weeks on a product page's access timeline.
const TIMELINE_WEEKS: usize = 12;

#[derive(Template)]
#[template(path = "partials/product_tables.html")]
struct ProductTables<'a> {
    assets: &'a [Asset],
}

#[derive(Template)]
#[template(path = "partials/schema_history.html")]
struct SchemaHistory<'a> {
    history: &'a [SchemaChangeEntry],
}

/// A product page's viewer-independent part. Visibility and the viewer's own parts
/// (whether they manage it, their roles) are decided per request from it.
#[derive(Debug)]
pub struct ProductPageData {
    pub product: Product,
    /// The Markdown description rendered to safe HTML.
    pub description_html: String,
    pub assets: Vec<Asset>,
    /// Every role registered in the product's environment (filtered to the viewer's teams).
    pub principals: Vec<ConsumerPrincipal>,
    /// The tables with their columns, the schema history, and requests and access week by
    /// week, rendered: the bulk of the page, the same for everyone, escaped once.
    pub tables_html: String,
    pub history_html: String,
    pub timeline_html: String,
    seq: i64,
    day: Date,
    loaded_at: Instant,
}

#[derive(Default)]
pub struct ProductPages {
    entries: Mutex<HashMap<Slug, Arc<ProductPageData>>>,
}

impl ProductPages {
    /// Beyond this many products kept, the cache starts over (the page then costs what it
    /// did without it, for one load each).
    const MAX_ENTRIES: usize = 2_000;
    /// How stale a change that commits no event may show.
    pub const MAX_AGE: Duration = Duration::from_secs(60);

    /// The page data of `slug`, from memory when it was loaded with the outbox at least as
    /// far as `outbox_seq`: how far it had got when the request began, if known.
    pub async fn get(
        &self,
        store: &dyn Store,
        slug: &Slug,
        outbox_seq: Option<i64>,
    ) -> Result<Arc<ProductPageData>, AppError> {
        let seq = match outbox_seq {
            Some(seq) => seq,
            None => store.latest_event_seq().await?,
        };
        let day = now().date();
        let kept = self.entries.lock().expect("cache lock").get(slug).cloned();
        if let Some(data) =
            kept.filter(|d| d.seq >= seq && d.day == day && d.loaded_at.elapsed() < Self::MAX_AGE)
        {
            return Ok(data);
        }
        let data = Arc::new(load(store, slug, seq, day).await?);
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        // A slower load of an older state must not replace a newer one.
        let newer = entries.get(slug).is_some_and(|d| d.seq > seq);
        if !newer {
            entries.insert(slug.clone(), data.clone());
        }
        Ok(data)
    }
}

async fn load(
    store: &dyn Store,
    slug: &Slug,
    seq: i64,
    day: Date,
) -> Result<ProductPageData, AppError> {
    let product = store.product_by_slug(slug).await?;
    let assets = store.assets_of(&[product.id]).await?;
    let history = store.schema_history(product.id).await?;
    let environment = store.environment_by_slug(&product.environment).await?;
    let principals = store.list_principals(environment.id, None).await?;
    let weeks = stats::recent_weeks(day, TIMELINE_WEEKS);
    let spans = store
        .request_spans(product.id, weeks[0].midnight().assume_utc())
        .await?;
    let timeline = charts::access_timeline(
        "access-timeline",
        &stats::access_weeks(&spans, day, TIMELINE_WEEKS),
    );
    Ok(ProductPageData {
        description_html: markdown::render(&product.description),
        tables_html: ProductTables { assets: &assets }.render()?,
        history_html: SchemaHistory { history: &history }.render()?,
        timeline_html: timeline.render()?,
        product,
        assets,
        principals,
        seq,
        day,
        loaded_at: Instant::now(),
    })
}
