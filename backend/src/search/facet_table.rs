//! Per-segment facet table: every document's facet values as small integers, in memory.
//!
//! A page counts facets over up to 10,000 matches, often twice (with and without a
//! filtered facet). Reading Tantivy's fast-field columns costs a few virtual calls per
//! document and column, which made counting the largest part of a search. Segments are
//! immutable, so each segment's facets are decoded once into flat arrays (about 12 bytes
//! per document: 12 MB per million) and every count becomes plain array indexing.

use std::collections::HashMap;

use tantivy::{DocId, SegmentReader};

use super::schema::{COMBO_FACETS, COMBO_FIELD, COMBO_SEP, TAG_FACET, TAG_FIELD};

/// Decoded facet values of one segment.
#[derive(Debug, Default)]
pub(crate) struct FacetTable {
    /// Per facet (in `FACET_FIELDS` order): the distinct values, by value id.
    pub values: [Vec<String>; 6],
    /// Per document: its combination id.
    combo_of_doc: Vec<u32>,
    /// Per combination: the value id of each facet in `COMBO_FACETS`.
    combos: Vec<[u32; 5]>,
    /// Tags of document `d`: `tag_ids[tag_start[d]..tag_start[d + 1]]`.
    tag_start: Vec<u32>,
    tag_ids: Vec<u32>,
}

impl FacetTable {
    /// Decodes the facet columns of `seg`.
    pub(crate) fn build(seg: &SegmentReader) -> anyhow::Result<Self> {
        let max_doc = seg.max_doc();
        let mut t = FacetTable {
            combo_of_doc: vec![u32::MAX; max_doc as usize],
            tag_start: Vec::with_capacity(max_doc as usize + 1),
            ..FacetTable::default()
        };
        if let Some(col) = seg.fast_fields().str(COMBO_FIELD)? {
            let mut ids: [HashMap<String, u32>; 6] = Default::default();
            let mut stream = col.dictionary().stream()?;
            while let Some((bytes, _)) = stream.next() {
                let combo = String::from_utf8_lossy(bytes);
                let mut parts = combo.split(COMBO_SEP);
                let mut row = [u32::MAX; 5];
                for (k, &facet) in COMBO_FACETS.iter().enumerate() {
                    let v = parts.next().unwrap_or("");
                    let next = t.values[facet].len() as u32;
                    row[k] = *ids[facet].entry(v.to_owned()).or_insert_with(|| {
                        t.values[facet].push(v.to_owned());
                        next
                    });
                }
                t.combos.push(row);
            }
            for doc in 0..max_doc {
                if let Some(ord) = col.ords().first(doc) {
                    t.combo_of_doc[doc as usize] = u32::try_from(ord).unwrap_or(u32::MAX);
                }
            }
        }
        t.tag_start.push(0);
        if let Some(col) = seg.fast_fields().str(TAG_FIELD)? {
            let mut stream = col.dictionary().stream()?;
            while let Some((bytes, _)) = stream.next() {
                t.values[TAG_FACET].push(String::from_utf8_lossy(bytes).into_owned());
            }
            for doc in 0..max_doc {
                t.tag_ids
                    .extend(col.ords().values_for_doc(doc).map(|o| o as u32));
                t.tag_start.push(t.tag_ids.len() as u32);
            }
        } else {
            t.tag_start.resize(max_doc as usize + 1, 0);
        }
        Ok(t)
    }

    /// Value ids of the single-valued facets of `doc` (in `COMBO_FACETS` order).
    #[inline]
    pub(crate) fn combo(&self, doc: DocId) -> Option<&[u32; 5]> {
        let c = *self.combo_of_doc.get(doc as usize)?;
        self.combos.get(c as usize)
    }

    /// Tag value ids of `doc`.
    #[inline]
    pub(crate) fn tags(&self, doc: DocId) -> &[u32] {
        let d = doc as usize;
        match (self.tag_start.get(d), self.tag_start.get(d + 1)) {
            (Some(&a), Some(&b)) => self.tag_ids.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Value ids of facet `facet` for `doc`, appended to `out`.
    pub(crate) fn value_ids(&self, facet: usize, doc: DocId, out: &mut Vec<u32>) {
        if facet == TAG_FACET {
            out.extend_from_slice(self.tags(doc));
        } else if let (Some(k), Some(row)) = (
            COMBO_FACETS.iter().position(|&f| f == facet),
            self.combo(doc),
        ) {
            out.push(row[k]);
        }
    }
}
