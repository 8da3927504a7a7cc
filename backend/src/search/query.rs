//! Ranked retrieval with search-after cursors, and the assembly of a result page.
//!
//! **Ranking.** BM25 over the conjunction of the planned terms (names are repeated in
//! `text`, and name prefixes weigh more in `prefix`), with one tier above: documents whose
//! normalised name equals the normalised query. Order is (tier desc, score desc, stable key
//! asc): a total order that does not depend on Tantivy doc ids.
//!
//! **Pagination.** The cursor is the sort position of the page's last hit. The next page
//! collects the top `limit + 1` among documents strictly after it, with block-max pruning
//! against the page's own threshold: no offset, no re-collection of earlier pages. Documents
//! ranking above the cursor are still scored when their block cannot be skipped, so deep
//! pages cost somewhat more than the first, but never more than one pass over the matches.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query};
use tantivy::{DocId, DocSet, Searcher};

use super::browse;
use super::cursor::Cursor;
use super::facets::{self, COUNT_LIMIT, Clause, FilterSpec};
use super::hits;
use super::plan::Plan;
use super::schema::Fields;
use super::text;
use super::visibility::{Ctx, SegmentCache, postings};
use super::{SearchPage, SearchQuery};

/// Most exact-name documents promoted to the top tier per segment. A name shared by more
/// documents than this is no longer a useful signal; the cap keeps the cost bounded.
const MAX_EXACT_NAME_DOCS: usize = 2_000;

/// A conjunction of clauses (everything for none).
pub(crate) fn conjunction(clauses: &[Clause]) -> Box<dyn Query> {
    match clauses {
        [] => Box::new(AllQuery),
        // A lone term query keeps Tantivy's single-term block-max path.
        [one] => one.query(),
        _ => Box::new(BooleanQuery::new(
            clauses.iter().map(|c| (Occur::Must, c.query())).collect(),
        )),
    }
}

/// A ranked candidate. `Ord`: `Less` is better (tier desc, score desc, key asc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    pub tier: u8,
    pub score: f32,
    pub key: u64,
    pub seg: u32,
    pub doc: DocId,
}

impl Cand {
    fn rank(&self, o: &Self) -> Ordering {
        o.tier
            .cmp(&self.tier)
            .then_with(|| o.score.total_cmp(&self.score))
            .then_with(|| self.key.cmp(&o.key))
    }
}

impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.rank(o) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank(o)
    }
}

/// The best `cap` candidates; the heap's top is the worst kept.
struct TopK {
    heap: BinaryHeap<Cand>,
    cap: usize,
}

impl TopK {
    fn push(&mut self, c: Cand) {
        if self.heap.len() < self.cap {
            self.heap.push(c);
        } else if self.heap.peek().is_some_and(|w| c < *w) {
            self.heap.pop();
            self.heap.push(c);
        }
    }

    /// Whether a full page keeps only candidates ranking above (`tier`, `score`) whatever
    /// their key: such a candidate need not even have its key read.
    fn beats(&self, tier: u8, score: f32) -> bool {
        self.heap.len() >= self.cap
            && self
                .heap
                .peek()
                .is_some_and(|w| w.tier > tier || (w.tier == tier && score < w.score))
    }

    /// The score a tier-0 document must exceed to enter. Slightly below the worst kept score
    /// so that ties (broken by key) and float rounding in block-max bounds are never pruned.
    fn threshold(&self) -> f32 {
        match self.heap.peek() {
            Some(w) if self.heap.len() >= self.cap => {
                if w.tier > 0 {
                    f32::MAX
                } else {
                    w.score - (w.score.abs() * 1e-5).max(1e-6)
                }
            }
            _ => f32::MIN,
        }
    }
}

/// The top `want` documents after `after` for a text query.
fn collect_ranked(
    ctx: &Ctx<'_>,
    plan: &Plan,
    query: &dyn Query,
    after: Option<Cand>,
    want: usize,
) -> anyhow::Result<Vec<Cand>> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(ctx.searcher))?;
    let mut top = TopK {
        heap: BinaryHeap::with_capacity(want + 1),
        cap: want,
    };
    let is_after = |c: &Cand| after.is_none_or(|a| a < *c);
    let segments = ctx.searcher.segment_readers();
    let mut exact: Vec<Vec<DocId>> = vec![Vec::new(); segments.len()];
    for (seg_ord, seg) in segments.iter().enumerate() {
        let Some(name) = &plan.exact_name else { break };
        let docs = postings(seg, ctx.fields.name_exact, name, MAX_EXACT_NAME_DOCS)?;
        if docs.is_empty() {
            continue;
        }
        let keys = seg.fast_fields().u64("key")?;
        let alive = seg.alive_bitset();
        let mut scorer = weight.scorer(seg, 1.0)?;
        for &doc in &docs {
            if alive.is_some_and(|a| a.is_deleted(doc)) || ctx.is_hidden(seg_ord, doc) {
                continue;
            }
            // Seek only forward: a previous seek may already have passed this document
            // (then it does not match the text).
            let at = if scorer.doc() < doc {
                scorer.seek(doc)
            } else {
                scorer.doc()
            };
            if at != doc {
                continue;
            }
            let score = scorer.score();
            if top.beats(1, score) {
                continue;
            }
            let c = Cand {
                tier: 1,
                score,
                key: keys.first(doc).unwrap_or(0),
                seg: seg_ord as u32,
                doc,
            };
            if is_after(&c) {
                top.push(c);
            }
        }
        exact[seg_ord] = docs;
    }
    for (seg_ord, seg) in segments.iter().enumerate() {
        let keys = seg.fast_fields().u64("key")?;
        let alive = seg.alive_bitset();
        let exact = &exact[seg_ord];
        weight.for_each_pruning(top.threshold(), seg, &mut |doc, score| {
            if top.beats(0, score)
                || alive.is_some_and(|a| a.is_deleted(doc))
                || ctx.is_hidden(seg_ord, doc)
                || exact.binary_search(&doc).is_ok()
            {
                return top.threshold();
            }
            let c = Cand {
                tier: 0,
                score,
                key: keys.first(doc).unwrap_or(0),
                seg: seg_ord as u32,
                doc,
            };
            if is_after(&c) {
                top.push(c);
            }
            top.threshold()
        })?;
    }
    Ok(top.heap.into_sorted_vec())
}

/// Runs `q` on `searcher` and assembles the page.
pub(crate) fn run(
    searcher: &Searcher,
    fields: &Fields,
    cache: &SegmentCache,
    q: &SearchQuery,
) -> anyhow::Result<SearchPage> {
    let limit = q.limit.clamp(1, 100);
    let terms = text::query_terms(&q.text);
    let spec = FilterSpec::new(&q.filters);
    let cursor = match &q.cursor {
        Some(c) => Some(Cursor::decode(c, &terms, &spec)?),
        None => None,
    };
    let ctx = Ctx::new(searcher, fields, &q.viewer, cache)?;
    let plan = Plan::resolve(searcher, fields, &terms, &q.text)?;
    let text_clauses = || -> Vec<Clause> { plan.terms.iter().cloned().map(Clause::Term).collect() };
    let browsing = plan.terms.is_empty();

    // Counts. Facet `f` is counted over the text and the *other* facets' filters.
    // * One filtered facet (the common case): scan the text matches once, counting `f`
    //   over all of them and everything else over those passing `f`'s filter. If that
    //   scan hits the cap, the passing subset may be incomplete: rescan with the filter.
    // * Otherwise: one scan with every filter, plus one per filtered facet without its own.
    let mut main_clauses = text_clauses();
    main_clauses.extend(spec.clauses(fields, None));
    let main_query = conjunction(&main_clauses);
    let mut count_mask = [true; 6];
    for i in spec.active() {
        count_mask[i] = false;
    }
    let active: Vec<usize> = spec.active().collect();
    let mut visited = Vec::new();
    let mut per_facet: [Option<facets::Counts>; 6] = Default::default();
    let mut main = None;
    if let [f] = active[..] {
        let mut only = [false; 6];
        only[f] = true;
        let split = facets::Split {
            facet: f,
            values: &spec.values[f],
            count: count_mask,
        };
        let (all, passed) = facets::scan(&ctx, &text_clauses(), only, Some(&split), |seg, doc| {
            if browsing {
                visited.push((seg, doc));
            }
        })?;
        if !all.capped {
            main = Some(passed);
        }
        per_facet[f] = Some(all);
    }
    let main = match main {
        Some(m) => m,
        None => {
            visited.clear();
            facets::scan(&ctx, &main_clauses, count_mask, None, |seg, doc| {
                if browsing {
                    visited.push((seg, doc));
                }
            })?
            .0
        }
    };
    let mut facet_list = Vec::with_capacity(6);
    for i in 0..6 {
        if count_mask[i] {
            facet_list.push(facets::facet(i, &main, &spec));
            continue;
        }
        let counts = match per_facet[i].take() {
            Some(c) => c,
            None => {
                let mut clauses = text_clauses();
                clauses.extend(spec.clauses(fields, Some(i)));
                let mut only = [false; 6];
                only[i] = true;
                facets::scan(&ctx, &clauses, only, None, |_, _| {})?.0
            }
        };
        facet_list.push(facets::facet(i, &counts, &spec));
    }

    // Hits: `limit + 1` tell whether there is a next page.
    let (picked, next_cursor) = if browsing {
        let after = match cursor {
            Some(Cursor::Browse(k)) => Some(k),
            None => None,
            Some(Cursor::Ranked(_)) => return Err(super::InvalidCursor.into()),
        };
        // Under the cap the scan saw every match: pick from those. Over it, walk the
        // name-ordered dictionary instead (the matches are then dense enough to be quick).
        let all_matches = (!main.capped).then_some(&visited[..]);
        let rows = browse::page(&ctx, &spec, all_matches, after.as_deref(), limit + 1)?;
        let next = (rows.len() > limit)
            .then(|| Cursor::Browse(rows[limit - 1].2.clone()).encode(&terms, &spec));
        let picked: Vec<(u32, DocId, f32)> = rows
            .into_iter()
            .take(limit)
            .map(|(s, d, _)| (s, d, 0.0))
            .collect();
        (picked, next)
    } else {
        let after = match cursor {
            Some(Cursor::Ranked(c)) => Some(c),
            None => None,
            Some(Cursor::Browse(_)) => return Err(super::InvalidCursor.into()),
        };
        let cands = collect_ranked(&ctx, &plan, &*main_query, after, limit + 1)?;
        let next =
            (cands.len() > limit).then(|| Cursor::Ranked(cands[limit - 1]).encode(&terms, &spec));
        let picked = cands
            .into_iter()
            .take(limit)
            .map(|c| (c.seg, c.doc, c.score))
            .collect();
        (picked, next)
    };
    let hits = hits::materialize(&ctx, &picked, &plan.matcher)?;
    Ok(SearchPage {
        hits,
        total: main.matched.min(COUNT_LIMIT),
        total_capped: main.capped,
        facets: facet_list,
        next_cursor,
    })
}
