//! Query planning: the text's words become the required Tantivy terms.
//!
//! Leading words are exact `text` terms; the last word is a `prefix` (edge-n-gram) term. A
//! word absent from the dictionary (and of 5+ letters) is replaced by the closest dictionary
//! term within edit distance 1 (2 from 8 letters), found with Tantivy's Levenshtein
//! automaton; only the best candidate is kept so the query stays a pure term conjunction
//! (block-max pruning). A compound being typed ("customer_i") is matched by its parts,
//! because prefixes are indexed for atoms only.

use std::collections::HashMap;

use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

use super::hits::Matcher;
use super::schema::Fields;
use super::text::{self, MAX_PREFIX_CHARS, MIN_PREFIX_CHARS, QueryTerms};

/// The terms a query resolved to.
pub(crate) struct Plan {
    /// Required terms (`text` and `prefix` fields).
    pub terms: Vec<Term>,
    pub matcher: Matcher,
    /// Normalised query, compared with normalised names for the top tier.
    pub exact_name: Option<String>,
}

impl Plan {
    pub(crate) fn resolve(
        searcher: &Searcher,
        fields: &Fields,
        q: &QueryTerms,
        raw: &str,
    ) -> anyhow::Result<Self> {
        let mut plan = Plan {
            terms: Vec::new(),
            matcher: Matcher::default(),
            exact_name: None,
        };
        for t in &q.exact {
            plan.exact(searcher, fields, t)?;
        }
        if let Some(p) = &q.prefix {
            let norm = text::normalize_name(raw);
            plan.exact_name = (!norm.is_empty()).then_some(norm);
            if !p.contains('_') {
                plan.prefix(searcher, fields, p)?;
            } else if let Some(word) = correct(searcher, fields.text, p)? {
                // A complete compound (or a typo of one): match it whole.
                plan.push_exact(fields, word);
            } else {
                // A compound being typed ("customer_i"): prefixes are indexed for atoms only,
                // so match its complete parts exactly and the last part as a prefix.
                let mut parts: Vec<&str> = p.split('_').filter(|s| !s.is_empty()).collect();
                let last = if p.ends_with('_') { None } else { parts.pop() };
                for part in parts {
                    plan.exact(searcher, fields, part)?;
                }
                if let Some(last) = last {
                    plan.prefix(searcher, fields, last)?;
                }
            }
        }
        Ok(plan)
    }

    /// A term that must match exactly (after typo correction).
    fn exact(&mut self, searcher: &Searcher, fields: &Fields, word: &str) -> anyhow::Result<()> {
        let word = correct(searcher, fields.text, word)?.unwrap_or_else(|| word.to_owned());
        self.push_exact(fields, word);
        Ok(())
    }

    fn push_exact(&mut self, fields: &Fields, word: String) {
        self.terms.push(Term::from_field_text(fields.text, &word));
        self.matcher.exact.push(word);
    }

    /// A term that must match as a prefix (after typo correction).
    fn prefix(&mut self, searcher: &Searcher, fields: &Fields, word: &str) -> anyhow::Result<()> {
        if word.chars().count() < MIN_PREFIX_CHARS {
            return self.exact(searcher, fields, word);
        }
        let head = text::char_prefix(word, MAX_PREFIX_CHARS);
        let found = correct(searcher, fields.prefix, head)?;
        let term = found.as_deref().unwrap_or(head);
        self.terms.push(Term::from_field_text(fields.prefix, term));
        self.matcher.prefix = Some(match found {
            Some(f) if f != head => f,
            _ => word.to_owned(),
        });
        Ok(())
    }
}

/// `word` if the field's dictionary has it; else its closest spelling there (see module doc);
/// `None` if neither exists.
fn correct(searcher: &Searcher, field: Field, word: &str) -> anyhow::Result<Option<String>> {
    if searcher.doc_freq(&Term::from_field_text(field, word))? > 0 {
        return Ok(Some(word.to_owned()));
    }
    if word.chars().filter(|c| c.is_alphabetic()).count() < 5 {
        return Ok(None);
    }
    let distance = if word.chars().count() >= 8 { 2 } else { 1 };
    let dfa =
        FuzzyTermQuery::new(Term::from_field_text(field, word), distance, true).automaton()?;
    let mut candidates: HashMap<Vec<u8>, u64> = HashMap::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field)?;
        let mut stream = inv.terms().search(&dfa).into_stream()?;
        while stream.advance() && candidates.len() < 10_000 {
            *candidates.entry(stream.key().to_vec()).or_default() +=
                u64::from(stream.value().doc_freq);
        }
    }
    let best = candidates
        .into_iter()
        .filter_map(|(k, df)| {
            String::from_utf8(k)
                .ok()
                .map(|s| (text::edit_distance(word, &s), std::cmp::Reverse(df), s))
        })
        .min();
    Ok(best.map(|(_, _, s)| s))
}
