//! Catalog search as the caller sees the catalog: text and facet filters over products
//! and tables.

use serde::Deserialize;

use super::{ActionError, ActionResult};
use crate::app::App;
use crate::domain::Invalid;
use crate::domain::policy::Subject;
use crate::search::{Filters, SearchPage, SearchQuery, Viewer};

/// Catalog search: text and facet filters. Repeat a filter for OR (`domain=a&domain=b`);
/// different filters are AND-ed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to look for in names, descriptions, tags, tables and columns (prefix
    /// matching and typo tolerance); empty lists everything by name.
    #[serde(default)]
    #[param(max_length = 500)]
    pub q: String,
    /// Domain names, as the `domain` facet shows them.
    #[serde(default)]
    pub domain: Vec<String>,
    #[serde(default)]
    pub classification: Vec<String>,
    #[serde(default)]
    pub tag: Vec<String>,
    #[serde(default)]
    pub owner_team: Vec<String>,
    /// Environment names, as the `environment` facet shows them.
    #[serde(default)]
    pub environment: Vec<String>,
    /// `product` or `table`.
    #[serde(default)]
    pub kind: Vec<String>,
    /// The previous page's `next_cursor`, for the same text and filters.
    pub cursor: Option<String>,
    /// Hits per page (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

impl SearchParams {
    /// Repeated query keys (`domain=a&domain=b`) as the search parameters.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> ActionResult<Self> {
        let mut params = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "q" => params.q = value,
                "domain" => params.domain.push(value),
                "classification" => params.classification.push(value),
                "tag" => params.tag.push(value),
                "owner_team" => params.owner_team.push(value),
                "environment" => params.environment.push(value),
                "kind" => params.kind.push(value),
                "cursor" => params.cursor = Some(value).filter(|c| !c.is_empty()),
                "limit" => {
                    params.limit = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|n| (1..=100).contains(n))
                            .ok_or_else(|| {
                                ActionError::InvalidParameter(Invalid::new(
                                    "limit",
                                    "a number from 1 to 100",
                                ))
                            })?,
                    )
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

/// Run a catalog search as the caller sees the catalog.
pub async fn search(
    app: &App,
    caller: &Subject<'_>,
    params: SearchParams,
) -> ActionResult<SearchPage> {
    if params.q.chars().count() > 500 {
        return Err(ActionError::InvalidParameter(Invalid::new(
            "q",
            "at most 500 characters",
        )));
    }
    let query = SearchQuery {
        text: params.q,
        filters: Filters {
            domain: params.domain,
            classification: params.classification,
            tag: params.tag,
            owner_team: params.owner_team,
            environment: params.environment,
            kind: params.kind,
        },
        viewer: Viewer {
            user: caller.user.0,
            teams: caller.teams.iter().map(|t| t.to_string()).collect(),
            is_admin: caller.is_admin,
        },
        limit: params.limit.unwrap_or(20).clamp(1, 100),
        cursor: params.cursor,
    };
    let index = app.index.clone();
    run_blocking(move || index.search(&query))
        .await?
        .map_err(|e| match e.downcast_ref::<crate::search::InvalidCursor>() {
            Some(_) => ActionError::BadRequest("the cursor is not valid for this search".into()),
            None => ActionError::Internal(e),
        })
}

/// Runs `work` (CPU-bound for up to a few milliseconds, like a search) without stalling
/// the runtime's other tasks. On the multi-threaded runtime that serves requests it stays
/// on this thread, whose other tasks move to another worker: handing it to the blocking
/// pool instead costs each search two more thread wake-ups (4% of search requests/s on
/// two cores). Elsewhere (tests' single-threaded runtime) it goes to the blocking pool.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ActionResult<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        Ok(tokio::task::block_in_place(work))
    } else {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ActionError::Internal(e.into()))
    }
}
