//! Cursor pagination for every list: `?limit=` (1–200, default 50) and `?cursor=`, the
//! position after the last item of the previous page. Lists keep a stable order (a unique
//! key per item), the body stays a JSON array, and the next page is announced in an RFC
//! 8288 `Link: <…>; rel="next"` header, absent on the last page.

use axum::Json;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::http::AppError;
use crate::http::error::FieldError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// A cursor longer than this was not made by Wharf.
const MAX_CURSOR_CHARS: usize = 1024;

/// `?cursor=…&limit=…`, accepted by every list.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Where the page starts: the `cursor` of the previous response's `Link: rel="next"`.
    /// Opaque; omit it for the first page.
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<u32>,
}

impl PageParams {
    pub fn limit(&self) -> Result<u32, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(_) => Err(bad("limit", format!("a number from 1 to {MAX_LIMIT}"))),
        }
    }

    /// The decoded position, if a cursor was sent.
    pub fn after(&self) -> Result<Option<String>, AppError> {
        let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(bad("cursor", "not a cursor from this list"));
        }
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(|| bad("cursor", "not a cursor from this list"))
    }
}

/// A query parameter that does not parse or is out of range: 400, naming it.
pub fn bad(field: &str, message: impl Into<String>) -> AppError {
    AppError::InvalidParameter(FieldError {
        field: field.into(),
        message: message.into(),
    })
}

/// Encode a position as a cursor.
pub fn cursor_for(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// One page of a list and the cursor of the next page, if there is one.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which way a list runs over its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    /// Newest first, for keys that grow with time.
    Descending,
}

/// Page through a list held in memory (lists that are small by nature: domains,
/// environments, a team's principals, a product's tables), ordered by a unique key.
pub fn paginate<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    order: Order,
    params: &PageParams,
) -> Result<Paged<T>, AppError> {
    let limit = params.limit()? as usize;
    let after = params.after()?;
    let mut keyed: Vec<(String, T)> = items.drain(..).map(|item| (key(&item), item)).collect();
    keyed.sort_by(|a, b| match order {
        Order::Ascending => a.0.cmp(&b.0),
        Order::Descending => b.0.cmp(&a.0),
    });
    let mut rest: Vec<(String, T)> = keyed
        .into_iter()
        .filter(|(k, _)| match (&after, order) {
            (None, _) => true,
            (Some(after), Order::Ascending) => k > after,
            (Some(after), Order::Descending) => k < after,
        })
        .take(limit + 1)
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = more
        .then(|| rest.last().map(|(k, _)| cursor_for(k)))
        .flatten();
    Ok(Paged {
        items: rest.into_iter().map(|(_, item)| item).collect(),
        next,
    })
}

impl<T: Serialize> Paged<T> {
    /// The items as a JSON array, with `Link: <uri?cursor=…>; rel="next"` when there is more.
    pub fn respond(self, uri: &Uri) -> Response {
        let mut response = Json(self.items).into_response();
        if let Some(next) = self.next
            && let Ok(link) =
                HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_url(uri, &next)))
        {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

/// The same request with `cursor` replaced: every other parameter (filters, limit) kept.
pub fn next_url(uri: &Uri, cursor: &str) -> String {
    let kept = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<Vec<_>>();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &kept {
        query.append_pair(k, v);
    }
    query.append_pair("cursor", cursor);
    format!("{}?{}", uri.path(), query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(items: &[u32], cursor: Option<String>, limit: u32) -> Paged<u32> {
        let params = PageParams {
            cursor,
            limit: Some(limit),
        };
        paginate(
            items.to_vec(),
            |n| format!("{n:04}"),
            Order::Ascending,
            &params,
        )
        .unwrap()
    }

    #[test]
    fn pages_cover_the_list_once_in_order() {
        let items = [5, 3, 9, 1, 7];
        let first = page(&items, None, 2);
        assert_eq!(first.items, vec![1, 3]);
        let second = page(&items, first.next.clone(), 2);
        assert_eq!(second.items, vec![5, 7]);
        let last = page(&items, second.next.clone(), 2);
        assert_eq!(last.items, vec![9]);
        assert_eq!(last.next, None);
        // An item added before the cursor does not shift the next page.
        let grown = page(&[5, 3, 9, 1, 7, 2], first.next, 2);
        assert_eq!(grown.items, vec![5, 7]);
    }

    #[test]
    fn bad_limits_and_cursors_are_400s() {
        for limit in [0, MAX_LIMIT + 1] {
            let params = PageParams {
                cursor: None,
                limit: Some(limit),
            };
            assert_eq!(params.limit().unwrap_err().problem().status, 400);
        }
        let params = PageParams {
            cursor: Some("***".into()),
            limit: None,
        };
        assert_eq!(
            params.after().unwrap_err().problem().errors[0].field,
            "cursor"
        );
    }

    #[test]
    fn the_next_link_keeps_the_filters() {
        let uri: Uri = "/api/v1/access-requests?scope=inbox&cursor=old&limit=2"
            .parse()
            .unwrap();
        assert_eq!(
            next_url(&uri, "abc"),
            "/api/v1/access-requests?scope=inbox&limit=2&cursor=abc"
        );
    }
}
