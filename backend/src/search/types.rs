//! The public data types of catalog search: what goes in (documents, queries) and what
//! comes out (pages of hits with facets). Kept apart from the engine so callers can read
//! the contract in one place.

use uuid::Uuid;

/// A data product as the search index sees it.
#[derive(Debug, Clone)]
pub struct ProductDoc {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// Plain text (the caller strips Markdown).
    pub description: String,
    /// Facet value, e.g. "Sales".
    pub domain: String,
    /// `public` | `internal` | `confidential` | `restricted`.
    pub classification: String,
    pub tags: Vec<String>,
    pub owner_team: String,
    /// Facet value, e.g. "Sandbox".
    pub environment: String,
    /// Drafts are visible to owner team members, stewards and admins only.
    pub is_draft: bool,
    /// Steward user ids.
    pub stewards: Vec<Uuid>,
    pub tables: Vec<TableDoc>,
}

/// A table of a data product.
#[derive(Debug, Clone)]
pub struct TableDoc {
    pub id: Uuid,
    pub database: String,
    pub name: String,
    pub description: String,
    pub columns: Vec<ColumnDoc>,
}

/// A column of a table; its name, type and description are searchable as part of the table.
#[derive(Debug, Clone)]
pub struct ColumnDoc {
    pub name: String,
    pub data_type: String,
    pub description: String,
}

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HitKind {
    Product,
    Table,
}

/// Who is searching: decides which drafts are visible.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: Uuid,
    pub teams: Vec<String>,
    pub is_admin: bool,
}

/// Values within one facet are OR-ed; facets are AND-ed with each other and with the text.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub domain: Vec<String>,
    pub classification: Vec<String>,
    pub tag: Vec<String>,
    pub owner_team: Vec<String>,
    pub environment: Vec<String>,
    /// `"product"` | `"table"`.
    pub kind: Vec<String>,
}

/// One search request.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// What the user typed; any characters are fine (they separate words).
    pub text: String,
    pub filters: Filters,
    pub viewer: Viewer,
    /// Hits per page, clamped to 1..=100.
    pub limit: usize,
    /// `next_cursor` of the previous page, for the same text and filters.
    pub cursor: Option<String>,
}

/// A result page.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Number of matches, exact up to 10,000.
    pub total: u64,
    /// More than 10,000 matches ("10,000+").
    pub total_capped: bool,
    /// Fixed order: domain, classification, tag, owner_team, environment, kind.
    pub facets: Vec<Facet>,
    /// Opaque, URL-safe; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Counts of one facet's values.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Facet {
    pub field: &'static str,
    pub values: Vec<FacetValue>,
}

/// One facet value with the number of matches it would give.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
    /// The count is a lower bound: it was taken over the first 10,000 matches only.
    pub capped: bool,
    /// The value is in the request's filters.
    pub selected: bool,
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub kind: HitKind,
    pub product_id: Uuid,
    pub product_slug: String,
    pub product_name: String,
    /// `"database.table"` for table hits.
    pub table: Option<String>,
    /// The table id for table hits.
    pub asset_id: Option<Uuid>,
    /// For table hits: names of columns that matched the query terms.
    pub matched_columns: Vec<String>,
    /// HTML-safe: user text escaped, matched terms wrapped in `<mark>…</mark>`.
    pub highlight: String,
    pub domain: String,
    pub classification: String,
    pub owner_team: String,
    /// Relevance (higher is better); only comparable within one query. 0 when browsing.
    pub score: f32,
}

/// The cursor is malformed or belongs to another query (other text or filters): answer
/// 400 / restart paging. Returned by [`super::CatalogIndex::search`] inside the
/// `anyhow::Error`; find it with `downcast_ref::<InvalidCursor>()`.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor")]
pub struct InvalidCursor;
