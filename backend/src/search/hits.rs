//! Turning the page's documents into [`Hit`]s: stored payload, highlight, matched columns.
//!
//! Highlighting re-tokenizes the stored text with the indexing tokenizer and marks the words
//! (or compound parts) equal to a resolved query term, or starting with the prefix term. All
//! user text is HTML-escaped; only our `<mark>` tags are markup.

use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, TantivyDocument};

use super::payload::Payload;
use super::text;
use super::visibility::Ctx;
use super::{Hit, HitKind};

/// Highlight length budget, in characters of source text.
const SNIPPET_CHARS: usize = 180;
/// Context kept before the first match when the snippet does not start at the beginning.
const LEAD_CHARS: usize = 50;

/// What query terms look like after resolution (typos corrected), for highlighting.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    pub exact: Vec<String>,
    pub prefix: Option<String>,
}

impl Matcher {
    /// Whether a word or part (original case) matches a term. ASCII words, the vast
    /// majority, are compared case-insensitively in place, without allocating.
    fn matches(&self, token: &str) -> bool {
        if token.is_ascii() {
            self.exact
                .iter()
                .any(|e| e.len() == token.len() && token.eq_ignore_ascii_case(e))
                || self.prefix.as_deref().is_some_and(|p| {
                    token.len() >= p.len()
                        && token.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
                })
        } else {
            let lower = token.to_lowercase();
            self.exact.contains(&lower)
                || self.prefix.as_deref().is_some_and(|p| lower.starts_with(p))
        }
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_none()
    }

    /// Whether `s` may hold a match. A matching word or part contains its term, so ASCII
    /// text containing no term (ignoring case) has none; most of a hit's columns are such
    /// text, and this spares splitting them into words.
    fn may_match(&self, s: &str) -> bool {
        if !s.is_ascii() {
            return true;
        }
        let text = s.as_bytes();
        let contains = |term: &str| {
            let term = term.as_bytes();
            term.is_empty()
                || (text.len() >= term.len()
                    && text
                        .windows(term.len())
                        .any(|w| w.eq_ignore_ascii_case(term)))
        };
        self.exact.iter().any(|e| contains(e)) || self.prefix.as_deref().is_some_and(contains)
    }

    /// Byte ranges of `s` to mark, ascending and disjoint.
    fn spans(&self, s: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.is_empty() || !self.may_match(s) {
            return out;
        }
        text::for_each_word(s, |w, start| {
            // Prefer marking the parts that match ("<mark>customer</mark>_id" for
            // "customer"), else the whole word ("customer_id" for "customer_id").
            let before = out.len();
            for (a, b) in text::parts(w) {
                if self.matches(&w[a..b]) {
                    out.push((start + a, start + b));
                }
            }
            if out.len() == before && self.matches(w) {
                out.push((start, start + w.len()));
            }
        });
        out
    }
}

/// Escapes `s[from..to]` with the `spans` inside it marked.
fn render(s: &str, from: usize, to: usize, spans: &[(usize, usize)], out: &mut String) {
    let mut pos = from;
    for &(a, b) in spans {
        let (a, b) = (a.max(from), b.min(to));
        if a >= b || a < pos {
            continue;
        }
        text::push_escaped(out, &s[pos..a]);
        out.push_str("<mark>");
        text::push_escaped(out, &s[a..b]);
        out.push_str("</mark>");
        pos = b;
    }
    if pos < to {
        text::push_escaped(out, &s[pos..to]);
    }
}

/// Byte index `n` characters after (or, negative, before) `at`, clamped to `s`.
fn char_offset(s: &str, at: usize, n: isize) -> usize {
    if n >= 0 {
        s[at..]
            .char_indices()
            .nth(n as usize)
            .map_or(s.len(), |(i, _)| at + i)
    } else {
        s[..at]
            .char_indices()
            .rev()
            .nth(n.unsigned_abs() - 1)
            .map_or(0, |(i, _)| i)
    }
}

/// A window of `s` around its first span, escaped and marked, with ellipses where cut.
fn snippet(s: &str, spans: &[(usize, usize)]) -> String {
    let first = spans.first().map_or(0, |sp| sp.0);
    let mut start = if char_offset(s, 0, LEAD_CHARS as isize) >= first {
        0
    } else {
        char_offset(s, first, -(LEAD_CHARS as isize))
    };
    // Start on a word boundary when we cut.
    if start > 0
        && let Some(sp) = s[start..first].find(char::is_whitespace)
    {
        start += sp + 1;
    }
    let end = char_offset(s, start, SNIPPET_CHARS as isize);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    render(s, start, end, spans, &mut out);
    if end < s.len() {
        out.push('…');
    }
    out
}

fn marked(s: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::new();
    render(s, 0, s.len(), spans, &mut out);
    out
}

/// Builds the hits of `picked` = (segment, doc, score), in order.
pub(crate) fn materialize(
    ctx: &Ctx<'_>,
    picked: &[(u32, DocId, f32)],
    m: &Matcher,
) -> anyhow::Result<Vec<Hit>> {
    let mut out = Vec::with_capacity(picked.len());
    for &(seg, doc, score) in picked {
        let stored: TantivyDocument = ctx.searcher.doc(DocAddress::new(seg, doc))?;
        let bytes = stored
            .get_first(ctx.fields.payload)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| anyhow::anyhow!("search document without payload"))?;
        out.push(hit(&Payload::decode(bytes)?, score, m));
    }
    Ok(out)
}

fn hit(p: &Payload<'_>, score: f32, m: &Matcher) -> Hit {
    let kind = p.kind();
    let name = if kind == HitKind::Table {
        p.table
    } else {
        p.product_name
    };
    let mut matched_columns = Vec::new();
    let mut column_marks = Vec::new();
    if !m.is_empty() {
        for &(name, data_type, description) in &p.columns {
            let spans = m.spans(name);
            if !spans.is_empty()
                || !m.spans(data_type).is_empty()
                || !m.spans(description).is_empty()
            {
                matched_columns.push(name.to_owned());
                if !spans.is_empty() {
                    column_marks.push(marked(name, &spans));
                }
            }
        }
    }
    let desc_spans = m.spans(p.description);
    let name_spans = m.spans(name);
    let highlight = if !desc_spans.is_empty() {
        snippet(p.description, &desc_spans)
    } else if !name_spans.is_empty() {
        marked(name, &name_spans)
    } else if !column_marks.is_empty() {
        column_marks.join(", ")
    } else {
        snippet(p.description, &[])
    };
    Hit {
        kind,
        product_id: p.product_id,
        product_slug: p.product_slug.to_owned(),
        product_name: p.product_name.to_owned(),
        table: (kind == HitKind::Table).then(|| format!("{}.{}", p.database, p.table)),
        asset_id: p.table_id,
        matched_columns,
        highlight,
        domain: p.domain.to_owned(),
        classification: p.classification.to_owned(),
        owner_team: p.owner_team.to_owned(),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(exact: &[&str], prefix: Option<&str>) -> Matcher {
        Matcher {
            exact: exact.iter().map(|s| s.to_string()).collect(),
            prefix: prefix.map(str::to_owned),
        }
    }

    #[test]
    fn marks_whole_words_parts_and_prefixes_and_escapes() {
        let matcher = m(&["orders"], Some("cust"));
        let s = "<b>Orders</b> & customer_id per Customers";
        let got = marked(s, &matcher.spans(s));
        assert_eq!(
            got,
            "&lt;b&gt;<mark>Orders</mark>&lt;/b&gt; &amp; <mark>customer</mark>_id per <mark>Customers</mark>"
        );
        let part = m(&["id"], None);
        assert_eq!(
            marked("customer_id", &part.spans("customer_id")),
            "customer_<mark>id</mark>"
        );
    }

    #[test]
    fn text_without_any_term_is_skipped_and_nothing_else() {
        let matcher = m(&["orders"], Some("cust"));
        for s in ["order_id", "amount in cents", "CUS_TOMER", ""] {
            assert!(!matcher.may_match(s), "{s}");
            assert!(matcher.spans(s).is_empty(), "{s}");
        }
        for s in ["ORDERS", "xcustomer", "reorders", "Kundennummer é cust"] {
            assert!(matcher.may_match(s), "{s}");
        }
        assert!(!matcher.spans("CustomerId").is_empty());
        assert!(m(&[], Some("")).may_match("anything"));
    }

    #[test]
    fn snippets_cut_around_the_first_match() {
        let long = format!("{} needle {}", "word ".repeat(60), "tail ".repeat(60));
        let matcher = m(&["needle"], None);
        let s = snippet(&long, &matcher.spans(&long));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>needle</mark>"));
        assert!(s.chars().count() < SNIPPET_CHARS + 20);
        assert_eq!(snippet("short é", &[]), "short é");
    }
}
