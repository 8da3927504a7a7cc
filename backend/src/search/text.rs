//! Tokenization shared by indexing, querying and highlighting.
//!
//! One tokenizer rules everything so that what the index holds and what a query asks for
//! always agree. A *word* is a maximal run of alphanumeric characters and underscores. A word
//! is indexed whole (lower-cased, outer underscores trimmed) and, when it is a compound
//! (`snake_case` or `camelCase`), also as its parts: `customer_id` yields `customer_id`,
//! `customer` and `id`, so "customer" finds the column and so does "customer_id".
//!
//! Tokens reach Tantivy as one string per field with a token per line (see [`LinesTokenizer`]):
//! building them here once per document is much cheaper than handing Tantivy a
//! `PreTokenizedString` with one heap allocation per token.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Longest word we index or query, in bytes. Longer runs are hashes, base64 blobs and the
/// like: nobody types them, and they would only bloat the dictionaries.
pub(crate) const MAX_WORD_BYTES: usize = 64;

/// Longest prefix (in characters) indexed in the edge-ngram field. A last query term longer
/// than this is matched on its first `MAX_PREFIX_CHARS` characters.
///
/// Only *atoms* (simple words and compound parts) get prefixes: compounds are what
/// multiplies the n-grams (`customer_order_amount` would add a dozen unique ones), and a
/// partly typed compound is matched as its parts instead (see `query`).
pub(crate) const MAX_PREFIX_CHARS: usize = 16;

/// Shortest indexed prefix. One-letter prefixes would put a posting for nearly every
/// document under each letter for no useful query: a one-letter last term is matched as a
/// whole word instead ("v" finds "v 2", not everything starting with v).
pub(crate) const MIN_PREFIX_CHARS: usize = 2;

/// Most terms a query may have; the rest of the text is ignored (a page of pasted text is
/// not a search, and every term costs a posting-list walk).
pub(crate) const MAX_QUERY_TERMS: usize = 12;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `text` into words. Calls `f` for every word not longer than [`MAX_WORD_BYTES`].
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(&str, usize)) {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                emit_trimmed(text, s, i, &mut f);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        emit_trimmed(text, s, text.len(), &mut f);
    }
}

fn emit_trimmed(text: &str, start: usize, end: usize, f: &mut impl FnMut(&str, usize)) {
    let raw = &text[start..end];
    let trimmed_front = raw.trim_start_matches('_');
    let offset = start + (raw.len() - trimmed_front.len());
    let word = trimmed_front.trim_end_matches('_');
    if !word.is_empty() && word.len() <= MAX_WORD_BYTES {
        f(word, offset);
    }
}

/// Byte ranges (relative to `word`) of the parts of a compound word: split at underscores and
/// at lower→upper case changes (`customerId`). Returns an empty vector for a simple word.
pub(crate) fn parts(word: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut part_start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in word.char_indices() {
        if c == '_' {
            if i > part_start {
                out.push((part_start, i));
            }
            part_start = i + 1;
        } else if c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase()) {
            if i > part_start {
                out.push((part_start, i));
            }
            part_start = i;
        }
        prev = Some(c);
    }
    if out.is_empty() {
        return out;
    }
    if word.len() > part_start {
        out.push((part_start, word.len()));
    }
    if out.len() < 2 { Vec::new() } else { out }
}

/// Appends the index tokens of `text` (each whole word and each compound part, lower-cased)
/// to `out`, one per line, and reports each token's byte range in `out` to `seen` with
/// whether it is an *atom* (a simple word or a compound's part, not a compound's whole).
pub(crate) fn push_index_tokens(
    text: &str,
    out: &mut String,
    mut seen: impl FnMut(usize, usize, bool),
) {
    for_each_word(text, |w, _| {
        let parts = parts(w);
        let start = out.len();
        push_lower(out, w);
        out.push('\n');
        seen(start, out.len() - 1, parts.is_empty());
        for (s, e) in parts {
            let start = out.len();
            push_lower(out, &w[s..e]);
            out.push('\n');
            seen(start, out.len() - 1, true);
        }
    });
}

fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// The name-equality key: all atoms (compound parts, or whole simple words) lower-cased and
/// joined by one space, so "Customer Orders", "customer_orders" and "customerOrders" agree.
pub(crate) fn normalize_name(text: &str) -> String {
    let mut out = String::new();
    for_each_word(text, |w, _| {
        let ps = parts(w);
        if ps.is_empty() {
            push_atom(&mut out, w);
        } else {
            for (s, e) in ps {
                push_atom(&mut out, &w[s..e]);
            }
        }
    });
    out
}

fn push_atom(out: &mut String, atom: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    push_lower(out, atom);
}

/// A query's terms as typed: all lower-cased whole words, the last one to be matched as a
/// prefix too. Odd characters are separators, never errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryTerms {
    /// Terms that must match exactly (or after typo correction).
    pub exact: Vec<String>,
    /// The last term, matched as a prefix (search-as-you-type).
    pub prefix: Option<String>,
}

impl QueryTerms {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_none()
    }
}

/// Parses query text into terms. The last word keeps a trailing underscore ("customer_" is a
/// prefix of "customer_id"); duplicates are dropped; at most [`MAX_QUERY_TERMS`] are kept.
pub(crate) fn query_terms(text: &str) -> QueryTerms {
    let mut all: Vec<String> = Vec::new();
    let mut last_end = 0;
    for_each_word(text, |w, start| {
        if all.len() < MAX_QUERY_TERMS {
            all.push(w.to_lowercase());
            last_end = start + w.len();
        }
    });
    let Some(mut last) = all.pop() else {
        return QueryTerms::default();
    };
    // Keep a trailing underscore the user is typing right now (`for_each_word` trims it).
    let rest = &text[last_end..];
    if !rest.is_empty() && rest.chars().all(|c| c == '_') {
        last.push('_');
    }
    let mut exact: Vec<String> = Vec::with_capacity(all.len());
    for t in all {
        if !exact.contains(&t) && t != last {
            exact.push(t);
        }
    }
    QueryTerms {
        exact,
        prefix: Some(last),
    }
}

/// The first `n` characters of `s`.
pub(crate) fn char_prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transposition), used to rank
/// typo candidates the automaton found.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// Tantivy tokenizer for our pre-tokenized fields: every line of the value is one token.
///
/// Values are built by [`push_index_tokens`] (and the schema module), never by users, so no
/// further normalisation happens here.
#[derive(Clone, Debug, Default)]
pub(crate) struct LinesTokenizer {
    token: Token,
}

/// Name under which [`LinesTokenizer`] is registered on every index we open.
pub(crate) const LINES_TOKENIZER: &str = "wharf_lines";

/// Token stream of [`LinesTokenizer`].
pub(crate) struct LinesStream<'a> {
    text: &'a str,
    pos: usize,
    position: usize,
    token: &'a mut Token,
}

impl Tokenizer for LinesTokenizer {
    type TokenStream<'a> = LinesStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LinesStream<'a> {
        self.token.reset();
        LinesStream {
            text,
            pos: 0,
            position: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for LinesStream<'_> {
    fn advance(&mut self) -> bool {
        while self.pos < self.text.len() {
            let rest = &self.text[self.pos..];
            let len = rest.find('\n').unwrap_or(rest.len());
            let start = self.pos;
            self.pos += len + 1;
            if len == 0 {
                continue;
            }
            self.token.text.clear();
            self.token.text.push_str(&rest[..len]);
            self.token.offset_from = start;
            self.token.offset_to = start + len;
            self.token.position = self.position;
            self.token.position_length = 1;
            self.position += 1;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_tokens(text: &str) -> Vec<String> {
        let mut out = String::new();
        push_index_tokens(text, &mut out, |_, _, _| {});
        out.lines().map(str::to_owned).collect()
    }

    #[test]
    fn snake_and_camel_case_are_indexed_whole_and_split() {
        assert_eq!(
            index_tokens("Customer_ID, customerName!"),
            [
                "customer_id",
                "customer",
                "id",
                "customername",
                "customer",
                "name"
            ]
        );
        assert_eq!(index_tokens("__x__ a-b"), ["x", "a", "b"]);
        assert!(index_tokens("<script>&amp;").contains(&"script".to_owned()));
    }

    #[test]
    fn query_terms_keep_the_last_as_prefix() {
        let q = query_terms("  Orders  by CUST");
        assert_eq!(q.exact, ["orders", "by"]);
        assert_eq!(q.prefix.as_deref(), Some("cust"));
        assert_eq!(
            query_terms("customer_").prefix.as_deref(),
            Some("customer_")
        );
        assert!(query_terms(" \"*:()[]{}^~!-+ ").is_empty());
        assert_eq!(query_terms("a a b a").exact, ["b"]);
    }

    #[test]
    fn names_normalize_across_styles() {
        assert_eq!(normalize_name("customer_orders"), "customer orders");
        assert_eq!(normalize_name("Customer Orders"), "customer orders");
        assert_eq!(normalize_name("customerOrders"), "customer orders");
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("custmer", "customer"), 1);
        assert_eq!(edit_distance("cusotmer", "customer"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(char_prefix("héllo", 2), "hé");
    }

    #[test]
    fn lines_tokenizer_splits_lines() {
        let mut t = LinesTokenizer::default();
        let mut s = t.token_stream("a\n\nbc\n");
        let mut got = Vec::new();
        while s.advance() {
            got.push(s.token().text.clone());
        }
        assert_eq!(got, ["a", "bc"]);
    }
}
