//! Browsing (empty text): every visible document matching the filters, in name order.
//!
//! The order is the `sortkey` term (normalised name, then the stable key), which Tantivy
//! keeps sorted in each segment's term dictionary and as ordinals in a fast-field column.
//! Two strategies, both O(page) rather than O(matches) in the common case:
//!
//! * at most 10,000 matches (the counting scan saw them all): compare their per-segment
//!   sort-key ordinals and keep the first `want` after the cursor;
//! * more matches: walk each segment's sort-key dictionary from the cursor and keep the
//!   first `want` documents that pass the filters. Matches are then at least 10,000 of the
//!   index, so few dictionary entries are skipped.
//!
//! Each segment yields its first `want` rows; merging them by sort key gives the page.

use tantivy::columnar::StrColumn;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, SegmentReader, TERMINATED};

use super::facets::FilterSpec;
use super::visibility::Ctx;

/// A browse row: segment, doc, sort key.
pub(crate) type Row = (u32, DocId, Vec<u8>);

/// The first `want` rows after `after` (a sort key). `all_matches` are the visible matches in
/// (segment, doc) order when they are all known.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    spec: &FilterSpec,
    all_matches: Option<&[(u32, DocId)]>,
    after: Option<&[u8]>,
    want: usize,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (seg_ord, seg) in ctx.searcher.segment_readers().iter().enumerate() {
        match all_matches {
            Some(all) => {
                let docs = all
                    .iter()
                    .filter(|(s, _)| *s as usize == seg_ord)
                    .map(|(_, d)| *d);
                rows.extend(from_matches(seg, seg_ord as u32, docs, after, want)?);
            }
            None => rows.extend(from_dictionary(ctx, spec, seg, seg_ord, after, want)?),
        }
    }
    rows.sort_by(|a, b| a.2.cmp(&b.2));
    rows.truncate(want);
    Ok(rows)
}

fn sortkey_column(seg: &SegmentReader) -> anyhow::Result<Option<StrColumn>> {
    Ok(seg.fast_fields().str("sortkey")?)
}

fn from_matches(
    seg: &SegmentReader,
    seg_ord: u32,
    docs: impl Iterator<Item = DocId>,
    after: Option<&[u8]>,
    want: usize,
) -> anyhow::Result<Vec<Row>> {
    let Some(col) = sortkey_column(seg)? else {
        return Ok(Vec::new());
    };
    // Ordinals follow byte order: the first ordinal past the cursor bounds the page.
    let first_ord = match after {
        None => 0,
        Some(a) => {
            let mut s = col.dictionary().range().gt(a).into_stream()?;
            if s.advance() { s.term_ord() } else { u64::MAX }
        }
    };
    let mut found: Vec<(u64, DocId)> = docs
        .filter_map(|d| col.ords().first(d).map(|o| (o, d)))
        .filter(|(o, _)| *o >= first_ord)
        .collect();
    if found.len() > want {
        found.select_nth_unstable(want);
        found.truncate(want);
    }
    let mut out = Vec::with_capacity(found.len());
    for (ord, doc) in found {
        let mut key = Vec::new();
        if col.ord_to_bytes(ord, &mut key)? {
            out.push((seg_ord, doc, key));
        }
    }
    Ok(out)
}

/// Accepted value ids (in the segment's facet table) of one filtered facet.
struct FacetCheck {
    facet: usize,
    accepted: Vec<u32>,
}

fn from_dictionary(
    ctx: &Ctx<'_>,
    spec: &FilterSpec,
    seg: &SegmentReader,
    seg_ord: usize,
    after: Option<&[u8]>,
    want: usize,
) -> anyhow::Result<Vec<Row>> {
    let table = ctx.cache.facet_table(seg)?;
    let mut checks = Vec::new();
    for i in spec.active() {
        let accepted: Vec<u32> = table.values[i]
            .iter()
            .enumerate()
            .filter(|(_, v)| spec.values[i].contains(v))
            .map(|(id, _)| id as u32)
            .collect();
        if accepted.is_empty() {
            return Ok(Vec::new());
        }
        checks.push(FacetCheck { facet: i, accepted });
    }
    let passes = |doc: DocId| {
        table
            .combo_at(doc)
            .is_some_and(|combo| checks.iter().all(|c| combo.has_any(c.facet, &c.accepted)))
    };
    let inv = seg.inverted_index(ctx.fields.sortkey)?;
    let mut stream = match after {
        Some(a) => inv.terms().range().gt(a).into_stream()?,
        None => inv.terms().range().into_stream()?,
    };
    let alive = seg.alive_bitset();
    let mut out = Vec::new();
    while out.len() < want && stream.advance() {
        let mut postings =
            inv.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !alive.is_some_and(|a| a.is_deleted(doc))
                && !ctx.is_hidden(seg_ord, doc)
                && passes(doc)
            {
                out.push((seg_ord as u32, doc, stream.key().to_vec()));
            }
            doc = postings.advance();
        }
    }
    Ok(out)
}
