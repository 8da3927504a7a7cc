//! The catalog: search with live results (htmx swaps the same partial the full page is
//! built from) and a facet sidebar.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::charts::{self, Chart};
use super::{Chrome, RenderPage};
use crate::actions::search::{SearchParams, search};
use crate::app::AppState;
use crate::domain::{BusinessDomain, CatalogCounts, stats};
use crate::http::AppError;
use crate::http::auth::CurrentUser;
use crate::search::SearchPage;

/// The results partial: hits, totals, facets and the next-page link.
#[derive(Template)]
#[template(path = "partials/search_results.html")]
pub struct ResultsPartial {
    pub q: String,
    pub page: SearchPage,
    /// The query string of this search without the cursor, for facet and next links.
    pub base_query: String,
    pub selected: Vec<(String, String)>,
}

impl ResultsPartial {
    /// The link that toggles one facet value on or off.
    pub fn toggle_link(&self, field: &str, value: &str) -> String {
        let mut pairs: Vec<(String, String)> = vec![("q".into(), self.q.clone())];
        let is_on = self.selected.iter().any(|(f, v)| f == field && v == value);
        pairs.extend(
            self.selected
                .iter()
                .filter(|(f, v)| !(f == field && v == value))
                .cloned(),
        );
        if !is_on {
            pairs.push((field.to_owned(), value.to_owned()));
        }
        format!("/?{}", encode(&pairs))
    }

    pub fn next_link(&self) -> Option<String> {
        let cursor = self.page.next_cursor.as_ref()?;
        Some(format!(
            "/catalog/results?{}&cursor={}",
            self.base_query,
            encode_one(cursor)
        ))
    }

    pub fn total_label(&self) -> String {
        if self.page.total_capped {
            "10,000+".into()
        } else {
            self.page.total.to_string()
        }
    }
}

fn encode(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn encode_one(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Template)]
#[template(path = "pages/catalog.html")]
struct CatalogPage {
    chrome: Chrome,
    counts: CatalogCounts,
    domains: Vec<BusinessDomain>,
    results: ResultsPartial,
    /// The catalog at a glance, on the unfiltered landing view only.
    charts: Vec<Chart>,
}

/// Weeks shown by the requests chart.
const CHART_WEEKS: usize = 12;

async fn home_charts(app: &AppState) -> Result<Vec<Chart>, AppError> {
    let today = crate::store::now();
    let weeks = stats::recent_weeks(today.date(), CHART_WEEKS);
    let since = weeks[0].midnight().assume_utc();
    let days = app.store.requests_per_day(since).await?;
    Ok(vec![
        charts::horizontal_bars(
            "products-per-domain",
            "Products per domain",
            app.store.products_per_domain().await?,
        ),
        charts::requests_per_week(
            "requests-per-week",
            &stats::per_week(&days, today.date(), CHART_WEEKS),
        ),
    ])
}

async fn results(
    app: &AppState,
    user: &CurrentUser,
    pairs: Vec<(String, String)>,
) -> Result<ResultsPartial, AppError> {
    let selected: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "domain" | "classification" | "tag" | "owner_team" | "environment" | "kind"
            )
        })
        .cloned()
        .collect();
    let params = SearchParams::from_pairs(pairs.clone())?;
    let q = params.q.clone();
    let page = search(app, &user.subject(), params).await?;
    let mut base: Vec<(String, String)> = vec![("q".into(), q.clone())];
    base.extend(selected.iter().cloned());
    Ok(ResultsPartial {
        q,
        page,
        base_query: encode(&base),
        selected,
    })
}

/// The catalog page for someone signed in (`GET /`).
pub async fn catalog(
    app: &AppState,
    user: &CurrentUser,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let results = results(app, user, pairs).await?;
    let charts = if results.q.is_empty() && results.selected.is_empty() {
        home_charts(app).await?
    } else {
        Vec::new()
    };
    CatalogPage {
        chrome: Chrome::new(app, Some(user), "Catalog").nav("catalog"),
        counts: app.store.catalog_counts().await?,
        domains: app.store.list_domains().await?,
        results,
        charts,
    }
    .into_page()
}

/// `GET /catalog/results`: the partial htmx swaps in as people type.
pub async fn catalog_results(
    State(app): State<AppState>,
    user: CurrentUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    results(&app, &user, pairs).await?.into_page()
}
