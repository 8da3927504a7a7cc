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
//! strings once per segment. Facet `f` is counted over the text and the filters of the
//! *other* facets, so a selected value does not hide its siblings. With one filtered facet
//! a single scan of the text matches counts both sets ([`Split`]); otherwise (or when that
//! scan hits the cap) there is one scan with every filter (total, unfiltered facets) plus
//! one per filtered facet.

use std::collections::HashMap;

use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Scorer, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Term};

use super::conjunction::TermConjunction;
use super::facet_table::FacetTable;
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

/// A second count taken during a scan: the matches that also pass the filter of one facet.
pub(crate) struct Split<'s> {
    pub facet: usize,
    /// Accepted values (OR).
    pub values: &'s [String],
    /// Facets to count over the passing matches.
    pub count: [bool; 6],
}

/// Counts of one set of matches within a segment, before expansion.
#[derive(Default)]
struct Tally {
    /// (combination record, matches): consecutive matches mostly share a combination, so
    /// this stays short and nothing proportional to the segment is allocated.
    combos: Vec<(u32, u32)>,
}

impl Tally {
    #[inline]
    fn add(&mut self, record: u32) {
        match self.combos.last_mut() {
            Some((last, n)) if *last == record => *n += 1,
            _ => self.combos.push((record, 1)),
        }
    }

    /// Adds the per-value counts of the facets in `count` to `out`.
    fn expand(&self, table: &FacetTable, count: [bool; 6], out: &mut Counts) {
        let mut seg_counts: [Vec<u32>; 6] = std::array::from_fn(|i| {
            if count[i] {
                vec![0; table.values[i].len()]
            } else {
                Vec::new()
            }
        });
        for &(c, n) in &self.combos {
            let Some(combo) = table.combo(c) else {
                continue;
            };
            for (k, &id) in combo.single.iter().enumerate() {
                if let Some(c) = seg_counts[COMBO_FACETS[k]].get_mut(id as usize) {
                    *c += n;
                }
            }
            for &id in combo.tags {
                if let Some(c) = seg_counts[TAG_FACET].get_mut(id as usize) {
                    *c += n;
                }
            }
        }
        for (i, counts) in seg_counts.iter().enumerate() {
            for (id, &c) in counts.iter().enumerate() {
                if let Some(value) = table.values[i].get(id).filter(|v| c > 0 && !v.is_empty()) {
                    *out.values[i].entry(value.clone()).or_default() += u64::from(c);
                }
            }
        }
    }
}

/// Scans the visible matches of `clauses` (up to [`COUNT_LIMIT`]), counting the values of
/// the facets flagged in `count`. With a `split`, also counts (for `split.count`) the
/// matches passing the split filter, and only those are passed to `visit`; otherwise every
/// match is. The split counts are complete only if the scan is not capped.
pub(crate) fn scan(
    ctx: &Ctx<'_>,
    clauses: &[Clause],
    count: [bool; 6],
    split: Option<&Split<'_>>,
    mut visit: impl FnMut(u32, DocId),
) -> anyhow::Result<(Counts, Counts)> {
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
    let mut passed = Counts::default();
    let mut buf = [0 as DocId; COLLECT_BLOCK_BUFFER_LEN];
    let mut batch: Vec<DocId> = Vec::with_capacity(128);
    for (seg_ord, seg) in ctx.searcher.segment_readers().iter().enumerate() {
        let mut matches = match (&terms, &weight) {
            (Some(terms), _) => TermConjunction::new(seg, terms, ctx.cache)?
                .map_or(Matches::Nothing, Matches::Terms),
            (None, Some(w)) => Matches::Scorer(w.scorer(seg, 1.0)?),
            (None, None) => Matches::Nothing,
        };
        let table = ctx.cache.facet_table(seg)?;
        let accepted: Vec<u32> = split.map_or_else(Vec::new, |sp| {
            table.values[sp.facet]
                .iter()
                .enumerate()
                .filter(|(_, v)| sp.values.contains(v))
                .map(|(id, _)| id as u32)
                .collect()
        });
        let need_record = split.is_some() || count.iter().any(|&c| c);
        let (mut all, mut pass) = (Tally::default(), Tally::default());
        // The split test depends only on the combination: remember the last answer.
        let mut last: Option<(u32, bool)> = None;
        let alive = seg.alive_bitset();
        'batches: loop {
            let more = matches.next_batch(&mut batch, &mut buf);
            for &doc in &batch {
                if alive.is_some_and(|a| a.is_deleted(doc)) || ctx.is_hidden(seg_ord, doc) {
                    continue;
                }
                if out.matched == COUNT_LIMIT {
                    out.capped = true;
                    break 'batches;
                }
                out.matched += 1;
                let record = if need_record { table.record(doc) } else { None };
                if let Some(r) = record {
                    all.add(r);
                }
                let passes = match (split, record) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(sp), Some(r)) => match last {
                        Some((lr, p)) if lr == r => p,
                        _ => {
                            let p = table
                                .combo(r)
                                .is_some_and(|c| c.has_any(sp.facet, &accepted));
                            last = Some((r, p));
                            p
                        }
                    },
                };
                if passes {
                    if split.is_some() {
                        passed.matched += 1;
                        if let Some(r) = record {
                            pass.add(r);
                        }
                    }
                    visit(seg_ord as u32, doc);
                }
            }
            if !more {
                break;
            }
        }
        all.expand(&table, count, &mut out);
        if let Some(sp) = split {
            pass.expand(&table, sp.count, &mut passed);
        }
        if out.capped {
            break;
        }
    }
    passed.capped = out.capped;
    Ok((out, passed))
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
