//! Draft visibility: which documents of a snapshot the viewer may not see.
//!
//! Drafts carry the `filt` term `draft`, plus `vteam:<owner team>` and `vuser:<steward>`.
//! A draft is hidden unless one of the viewer's teams or the viewer's id is among those,
//! or the viewer is an admin. The check is a bit test (drafts are a few percent of the
//! index) followed, for drafts only, by a search in the viewer's short list of visible ones.
//! Hidden documents are dropped from hits, totals and facet counts alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Searcher, SegmentReader, TERMINATED, Term};

use super::Viewer;
use super::conjunction::DenseLists;
use super::facet_table::FacetTable;
use super::schema::{DRAFT_TERM, Fields, VIS_TEAM, VIS_USER, pid_value};

/// Per-segment data derived once and reused by every search: segments are immutable.
///
/// * the drafts, as a bitset: reading ~3% of a million postings for every query would cost
///   more than the rest of a typical search;
/// * the facet values of every document ([`FacetTable`]): counting through Tantivy's
///   columns was the largest part of a search;
/// * long posting lists as bitsets, for counting (see [`super::conjunction`]).
#[derive(Default)]
pub(crate) struct SegmentCache {
    drafts: Mutex<HashMap<SegmentId, Option<Arc<BitSet>>>>,
    facet_tables: Mutex<HashMap<SegmentId, Arc<FacetTable>>>,
    dense_lists: Mutex<DenseLists>,
}

/// Entries remembered at most per map, a safety net: `warm` (after every commit) already
/// drops the segments that are gone.
const CACHE_ENTRIES: usize = 1024;

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    if let Ok(mut m) = map.lock() {
        if m.len() >= CACHE_ENTRIES {
            m.clear();
        }
        m.insert(key, value);
    }
}

impl SegmentCache {
    fn drafts(&self, seg: &SegmentReader, fields: &Fields) -> anyhow::Result<Option<Arc<BitSet>>> {
        let id = seg.segment_id();
        if let Some(hit) = self.drafts.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(hit);
        }
        let docs = postings(seg, fields.filt, DRAFT_TERM, usize::MAX)?;
        let bits = (!docs.is_empty()).then(|| {
            let mut bits = BitSet::with_max_value(seg.max_doc());
            for d in docs {
                bits.insert(d);
            }
            Arc::new(bits)
        });
        remember(&self.drafts, id, bits.clone());
        Ok(bits)
    }

    /// The facet table of `seg`.
    pub(crate) fn facet_table(&self, seg: &SegmentReader) -> anyhow::Result<Arc<FacetTable>> {
        let id = seg.segment_id();
        if let Some(hit) = self
            .facet_tables
            .lock()
            .ok()
            .and_then(|m| m.get(&id).cloned())
        {
            return Ok(hit);
        }
        let table = Arc::new(FacetTable::build(seg)?);
        remember(&self.facet_tables, id, table.clone());
        Ok(table)
    }

    /// The documents of `seg` containing `term`, as a bitset.
    pub(crate) fn dense_list(
        &self,
        seg: &SegmentReader,
        term: &Term,
    ) -> anyhow::Result<Arc<BitSet>> {
        let key = (seg.segment_id(), term.clone());
        if let Some(hit) = self.dense_lists.lock().ok().and_then(|mut m| m.get(&key)) {
            return Ok(hit);
        }
        let mut bits = BitSet::with_max_value(seg.max_doc());
        let inv = seg.inverted_index(term.field())?;
        if let Some(mut p) = inv.read_postings(term, IndexRecordOption::Basic)? {
            let mut doc = p.doc();
            while doc != TERMINATED {
                bits.insert(doc);
                doc = p.advance();
            }
        }
        let bits = Arc::new(bits);
        if let Ok(mut m) = self.dense_lists.lock() {
            m.insert(key, bits.clone());
        }
        Ok(bits)
    }

    /// Fills the cache for every segment of `searcher`, so that the first searches after a
    /// commit do not pay for it.
    /// Also forgets segments that are gone (merged away).
    pub(crate) fn warm(&self, searcher: &Searcher, fields: &Fields) -> anyhow::Result<()> {
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        if let Ok(mut m) = self.drafts.lock() {
            m.retain(|id, _| live.contains(id));
        }
        if let Ok(mut m) = self.facet_tables.lock() {
            m.retain(|id, _| live.contains(id));
        }
        if let Ok(mut m) = self.dense_lists.lock() {
            m.retain_segments(&live);
        }
        for seg in searcher.segment_readers() {
            self.drafts(seg, fields)?;
            self.facet_table(seg)?;
        }
        Ok(())
    }
}

/// Draft visibility in one segment.
struct SegmentVisibility {
    /// Drafts; `None` when there are none (or the viewer is an admin).
    drafts: Option<Arc<BitSet>>,
    /// Sorted: drafts the viewer may see (own team's, stewarded).
    visible: Vec<DocId>,
}

/// What one search needs to know about the snapshot it runs on.
pub(crate) struct Ctx<'a> {
    pub searcher: &'a Searcher,
    pub fields: &'a Fields,
    pub cache: &'a SegmentCache,
    segments: Vec<SegmentVisibility>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        searcher: &'a Searcher,
        fields: &'a Fields,
        viewer: &Viewer,
        cache: &'a SegmentCache,
    ) -> anyhow::Result<Self> {
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        for seg in searcher.segment_readers() {
            let drafts = if viewer.is_admin {
                None
            } else {
                cache.drafts(seg, fields)?
            };
            let mut visible = Vec::new();
            if drafts.is_some() {
                visible = postings(
                    seg,
                    fields.filt,
                    &format!("{VIS_USER}{}", pid_value(viewer.user)),
                    usize::MAX,
                )?;
                for team in &viewer.teams {
                    visible.extend(postings(
                        seg,
                        fields.filt,
                        &format!("{VIS_TEAM}{team}"),
                        usize::MAX,
                    )?);
                }
                visible.sort_unstable();
            }
            segments.push(SegmentVisibility { drafts, visible });
        }
        Ok(Ctx {
            searcher,
            fields,
            cache,
            segments,
        })
    }

    /// Whether `doc` of segment `seg` is a draft hidden from the viewer.
    #[inline]
    pub(crate) fn is_hidden(&self, seg: usize, doc: DocId) -> bool {
        self.segments.get(seg).is_some_and(|s| {
            s.drafts.as_ref().is_some_and(|d| d.contains(doc))
                && s.visible.binary_search(&doc).is_err()
        })
    }
}

/// Doc ids of the postings of `value` in `field` of one segment, at most `max`.
pub(crate) fn postings(
    seg: &SegmentReader,
    field: Field,
    value: &str,
    max: usize,
) -> anyhow::Result<Vec<DocId>> {
    let inv = seg.inverted_index(field)?;
    let mut out = Vec::new();
    if let Some(mut p) = inv.read_postings(
        &Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    )? {
        let mut doc = p.doc();
        while doc != TERMINATED && out.len() < max {
            out.push(doc);
            doc = p.advance();
        }
    }
    Ok(out)
}
