//! Facet filters (as query terms) and facet counts.
//!
//! A filter value is the `filt` term `"<facet>:<value>"`, so filtering is one more term in
//! the conjunction rather than a post-filter: the intersection then skips through the
//! rarest list and block-max pruning still applies. (Two or more values of one facet form
//! an OR sub-query, which Tantivy evaluates without block-max pruning: correct, a bit slower.)
//!
//! Counts come from a scan of the matching documents that stops after [`COUNT_LIMIT`]
//! matches; each scanned document's facet values are read from the segment's in-memory
//! [`FacetTable`](super::facet_table::FacetTable) as small integers and only turned into
//! strings once per segment. Facet `f` is counted
//! over the text and the filters of the *other* facets, so a selected value does not hide
//! its siblings: one scan with every filter (total, and the unfiltered facets), plus one
//! scan per filtered facet.

use std::collections::HashMap;

use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Scorer, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Term};

use super::conjunction::TermConjunction;
use super::query::conjunction;
use super::schema::{COMBO_FACETS, FACET_FIELDS, FILTER_PREFIXES, Fields, TAG_FACET};
use super::visibility::Ctx;
use super::{Facet, FacetValue, Filters};

/// Matches counted at most (totals and facet counts are exact up to this).
pub(crate) const COUNT_LIMIT: u64 = 10_000;
/// Values returned per facet (most frequent first); selected values are always included.
const MAX_FACET_VALUES: usize = 50;

/// The request's filters, per facet in [`FACET_FIELDS`] order, deduplicated.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterSpec {
    pub values: [Vec<String>; 6],
}

impl FilterSpec {
    pub(crate) fn new(f: &Filters) -> Self {
        let lists = [
            &f.domain,
            &f.classification,
            &f.tag,
            &f.owner_team,
            &f.environment,
            &f.kind,
        ];
        FilterSpec {
            values: lists.map(|l| {
                let mut v: Vec<String> = l
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.replace(['\n', '\r'], " "))
                    .collect();
                v.sort();
                v.dedup();
                v
            }),
        }
    }

    /// Facets with at least one selected value.
    pub(crate) fn active(&self) -> impl Iterator<Item = usize> + '_ {
        (0..6).filter(|&i| !self.values[i].is_empty())
    }

    /// The query clause of facet `i`, if it restricts anything.
    fn clause(&self, fields: &Fields, i: usize) -> Option<Clause> {
        let values = &self.values[i];
        // Every document is a product or a table: both kinds selected filter nothing, and
        // an OR of the two largest lists would only slow the query down.
        if i == 5 && values.iter().any(|v| v == "product") && values.iter().any(|v| v == "table") {
            return None;
        }
        let term =
            |v: &str| Term::from_field_text(fields.filt, &format!("{}{v}", FILTER_PREFIXES[i]));
        match values.as_slice() {
            [] => None,
            [one] => Some(Clause::Term(term(one))),
            many => Some(Clause::Query(Box::new(BooleanQuery::new(
                many.iter()
                    .map(|v| (Occur::Should, Clause::Term(term(v)).query()))
                    .collect(),
            )))),
        }
    }

    /// Clauses of every filtered facet except `except`.
    pub(crate) fn clauses(&self, fields: &Fields, except: Option<usize>) -> Vec<Clause> {
        (0..6)
            .filter(|&i| Some(i) != except)
            .filter_map(|i| self.clause(fields, i))
            .collect()
    }
}

/// One required clause of a query: a term, or (rarely) anything else.
pub(crate) enum Clause {
    Term(Term),
    Query(Box<dyn Query>),
}

impl Clause {
    /// The clause as a scoring Tantivy query (frequencies read, for block-max pruning).
    pub(crate) fn query(&self) -> Box<dyn Query> {
        match self {
            Clause::Term(t) => Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)),
            Clause::Query(q) => q.box_clone(),
        }
    }
}

/// Where a scan gets a segment's matches from.
enum Matches {
    /// Pure term conjunction: our block-at-a-time intersection.
    Terms(TermConjunction),
    /// Anything else: Tantivy's scorer.
    Scorer(Box<dyn Scorer>),
    Nothing,
}

impl Matches {
    /// Replaces `out` with the next matches; `false` once exhausted.
    fn next_batch(
        &mut self,
        out: &mut Vec<DocId>,
        buf: &mut [DocId; COLLECT_BLOCK_BUFFER_LEN],
    ) -> bool {
        match self {
            Matches::Terms(c) => c.next_batch(out),
            Matches::Scorer(s) => {
                let n = s.fill_buffer(buf);
                out.clear();
                out.extend_from_slice(&buf[..n]);
                n == buf.len()
            }
            Matches::Nothing => {
                out.clear();
                false
            }
        }
    }
}

/// Outcome of a counting scan.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Matches seen, at most [`COUNT_LIMIT`].
    pub matched: u64,
    /// There are more than [`COUNT_LIMIT`] matches (the scan stopped).
    pub capped: bool,
    /// Per facet (those asked for): value → count.
    pub values: [HashMap<String, u64>; 6],
}

/// Scans the visible matches of `query` (up to [`COUNT_LIMIT`]), counting the values of the
/// facets flagged in `count` and passing each match to `visit`.
pub(crate) fn scan(
    ctx: &Ctx<'_>,
    clauses: &[Clause],
    count: [bool; 6],
    mut visit: impl FnMut(u32, DocId),
) -> anyhow::Result<Counts> {
    let terms: Option<Vec<Term>> = clauses
        .iter()
        .map(|c| match c {
            Clause::Term(t) => Some(t.clone()),
            Clause::Query(_) => None,
        })
        .collect();
    let weight = match terms {
        Some(_) => None,
        None => {
            Some(conjunction(clauses).weight(EnableScoring::disabled_from_searcher(ctx.searcher))?)
        }
    };
    let mut out = Counts::default();
    let mut buf = [0 as DocId; COLLECT_BLOCK_BUFFER_LEN];
    let mut batch: Vec<DocId> = Vec::with_capacity(128);
    let mut docs: Vec<DocId> = Vec::with_capacity(128);
    for (seg_ord, seg) in ctx.searcher.segment_readers().iter().enumerate() {
        let mut matches = match (&terms, &weight) {
            (Some(terms), _) => {
                TermConjunction::new(seg, terms)?.map_or(Matches::Nothing, Matches::Terms)
            }
            (None, Some(w)) => Matches::Scorer(w.scorer(seg, 1.0)?),
            (None, None) => Matches::Nothing,
        };
        let table = ctx.cache.facet_table(seg)?;
        let mut seg_counts: [Vec<u32>; 6] = std::array::from_fn(|i| {
            if count[i] {
                vec![0; table.values[i].len()]
            } else {
                Vec::new()
            }
        });
        let combo_mask: [bool; 5] = std::array::from_fn(|k| count[COMBO_FACETS[k]]);
        let count_combo = combo_mask.iter().any(|&b| b);
        let alive = seg.alive_bitset();
        loop {
            let more = matches.next_batch(&mut batch, &mut buf);
            docs.clear();
            for &doc in &batch {
                if alive.is_some_and(|a| a.is_deleted(doc)) || ctx.is_hidden(seg_ord, doc) {
                    continue;
                }
                if out.matched == COUNT_LIMIT {
                    out.capped = true;
                    break;
                }
                out.matched += 1;
                docs.push(doc);
            }
            for &doc in &docs {
                if count_combo && let Some(row) = table.combo(doc) {
                    for (k, &id) in row.iter().enumerate() {
                        if combo_mask[k] {
                            bump(&mut seg_counts[COMBO_FACETS[k]], id);
                        }
                    }
                }
                if count[TAG_FACET] {
                    for &id in table.tags(doc) {
                        bump(&mut seg_counts[TAG_FACET], id);
                    }
                }
            }
            for &doc in &docs {
                visit(seg_ord as u32, doc);
            }
            if out.capped || !more {
                break;
            }
        }
        for (i, counts) in seg_counts.iter().enumerate() {
            for (id, &c) in counts.iter().enumerate() {
                if let Some(value) = table.values[i].get(id).filter(|v| c > 0 && !v.is_empty()) {
                    *out.values[i].entry(value.clone()).or_default() += u64::from(c);
                }
            }
        }
        if out.capped {
            break;
        }
    }
    Ok(out)
}

#[inline]
fn bump(counts: &mut [u32], id: u32) {
    if let Some(c) = counts.get_mut(id as usize) {
        *c += 1;
    }
}

/// Turns the counts of facet `i` into its output: most frequent values first (ties by
/// value), at most [`MAX_FACET_VALUES`], plus every selected value.
pub(crate) fn facet(i: usize, counts: &Counts, spec: &FilterSpec) -> Facet {
    let selected = &spec.values[i];
    let mut values: Vec<(&String, u64)> = counts.values[i].iter().map(|(v, c)| (v, *c)).collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<FacetValue> = values
        .iter()
        .take(MAX_FACET_VALUES)
        .map(|(v, c)| FacetValue {
            value: (*v).clone(),
            count: *c,
            capped: counts.capped,
            selected: selected.contains(v),
        })
        .collect();
    for s in selected {
        if !out.iter().any(|v| &v.value == s) {
            out.push(FacetValue {
                value: s.clone(),
                count: counts.values[i].get(s).copied().unwrap_or(0),
                capped: counts.capped,
                selected: true,
            });
        }
    }
    Facet {
        field: FACET_FIELDS[i],
        values: out,
    }
}
