//! Per-segment facet table: every document's facet values, in memory.
//!
//! A page counts facets over up to 10,000 matches, often twice (with and without a
//! filtered facet). Reading Tantivy's fast-field columns costs several virtual calls and
//! cache misses per document, which made counting the largest part of a search.
//!
//! All facet values come from the product (only `kind` differs between a product and its
//! tables), so documents share few distinct *combinations* of values. Each segment is
//! decoded once into the combinations plus one combination id per document (4 bytes a
//! document: 4 MB per million), and counting a match is one array read plus one increment
//! per combination; the combinations are expanded into per-value counts once per scan.
//! (A run-length encoding of the ids was a fraction of the size, but finding a match's run
//! was the largest single cost of counting.)

use std::collections::HashMap;

use tantivy::{DocId, SegmentReader};

use super::schema::{COMBO_FACETS, COMBO_FIELD, COMBO_SEP, TAG_FACET, TAG_FIELD};

/// The facet values of one combination, as value ids, borrowed from the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Combo<'a> {
    /// Value id of each facet in `COMBO_FACETS` (`u32::MAX`: none).
    pub single: &'a [u32],
    /// Tag value ids.
    pub tags: &'a [u32],
}

/// Decoded facet values of one segment.
#[derive(Debug, Default)]
pub(crate) struct FacetTable {
    /// Per facet (in `FACET_FIELDS` order): the distinct values, by value id.
    pub values: [Vec<String>; 6],
    /// The distinct combinations, each a record `[5 single value ids, tag count, tags…]`
    /// (one contiguous record: reading a combination is one cache miss, not three).
    records: Vec<u32>,
    /// Record offset (in `records`) of each document's combination.
    doc_record: Vec<u32>,
}

impl FacetTable {
    /// Decodes the facet columns of `seg`.
    pub(crate) fn build(seg: &SegmentReader) -> anyhow::Result<Self> {
        let mut t = FacetTable::default();
        let combo_col = seg.fast_fields().str(COMBO_FIELD)?;
        let tag_col = seg.fast_fields().str(TAG_FIELD)?;
        // Column ordinal → value ids, for the single-valued part.
        let mut single_of_ord: Vec<[u32; 5]> = Vec::new();
        if let Some(col) = &combo_col {
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
                single_of_ord.push(row);
            }
        }
        if let Some(col) = &tag_col {
            let mut stream = col.dictionary().stream()?;
            while let Some((bytes, _)) = stream.next() {
                t.values[TAG_FACET].push(String::from_utf8_lossy(bytes).into_owned());
            }
        }
        let mut combo_ids: HashMap<(u64, Vec<u32>), u32> = HashMap::new();
        let mut tags = Vec::new();
        let mut last: Option<(u64, Vec<u32>, u32)> = None;
        for doc in 0..seg.max_doc() {
            let ord = combo_col
                .as_ref()
                .and_then(|c| c.ords().first(doc))
                .unwrap_or(u64::MAX);
            tags.clear();
            if let Some(c) = &tag_col {
                tags.extend(c.ords().values_for_doc(doc).map(|o| o as u32));
            }
            // Neighbours usually share their combination: skip the map (and its key clone).
            let same = last.as_ref().filter(|(o, t, _)| *o == ord && *t == tags);
            let id = match same
                .map(|l| l.2)
                .or_else(|| combo_ids.get(&(ord, tags.clone())).copied())
            {
                Some(id) => id,
                None => {
                    let id = t.records.len() as u32;
                    let single = usize::try_from(ord)
                        .ok()
                        .and_then(|o| single_of_ord.get(o))
                        .copied()
                        .unwrap_or([u32::MAX; 5]);
                    t.records.extend_from_slice(&single);
                    t.records.push(tags.len() as u32);
                    t.records.extend_from_slice(&tags);
                    combo_ids.insert((ord, tags.clone()), id);
                    id
                }
            };
            t.doc_record.push(id);
            if last.as_ref().is_none_or(|l| l.2 != id) {
                last = Some((ord, tags.clone(), id));
            }
        }
        Ok(t)
    }

    /// The combination (record offset) of `doc`.
    #[inline]
    pub(crate) fn record(&self, doc: DocId) -> Option<u32> {
        self.doc_record.get(doc as usize).copied()
    }

    /// The combination of `doc`.
    pub(crate) fn combo_at(&self, doc: DocId) -> Option<Combo<'_>> {
        self.combo(self.record(doc)?)
    }

    /// The combination stored at record offset `record`.
    #[inline]
    pub(crate) fn combo(&self, record: u32) -> Option<Combo<'_>> {
        let r = self.records.get(record as usize..)?;
        let n = *r.get(5)? as usize;
        Some(Combo {
            single: r.get(..5)?,
            tags: r.get(6..6 + n)?,
        })
    }
}

impl Combo<'_> {
    /// Whether this combination has, for facet `facet`, one of the value ids in `accepted`.
    pub(crate) fn has_any(&self, facet: usize, accepted: &[u32]) -> bool {
        if facet == TAG_FACET {
            self.tags.iter().any(|t| accepted.contains(t))
        } else {
            COMBO_FACETS
                .iter()
                .position(|&f| f == facet)
                .is_some_and(|k| accepted.contains(&self.single[k]))
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::Index;

    use super::*;
    use crate::search::schema::{build_schema, product_docs};
    use crate::search::text::{LINES_TOKENIZER, LinesTokenizer};
    use crate::search::{ProductDoc, TableDoc};

    #[test]
    fn combinations_agree_with_the_columns() {
        let (schema, fields) = build_schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(
            LINES_TOKENIZER,
            tantivy::tokenizer::TextAnalyzer::from(LinesTokenizer::default()),
        );
        let mut w = index.writer_with_num_threads(1, 50_000_000).unwrap();
        for i in 0..300u128 {
            let p = ProductDoc {
                id: uuid::Uuid::from_u128(i + 1),
                slug: format!("p{i}"),
                name: format!("p{i}"),
                description: String::new(),
                domain: format!("d{}", i % 7),
                classification: "internal".into(),
                tags: (0..(i % 3)).map(|t| format!("t{}", (i + t) % 5)).collect(),
                owner_team: format!("team{}", i % 4),
                environment: "Production".into(),
                is_draft: false,
                stewards: vec![],
                tables: (0..(i % 4) as usize)
                    .map(|t| TableDoc {
                        id: uuid::Uuid::from_u128(10_000 + i * 10 + t as u128),
                        database: "db".into(),
                        name: format!("t{t}"),
                        description: String::new(),
                        columns: vec![],
                    })
                    .collect(),
            };
            for d in product_docs(&fields, &p) {
                w.add_document(d).unwrap();
            }
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let seg = searcher.segment_reader(0);
        let table = FacetTable::build(seg).unwrap();
        let combo = seg.fast_fields().str(COMBO_FIELD).unwrap().unwrap();
        for doc in 0..seg.max_doc() {
            let c = table.combo(table.record(doc).unwrap()).unwrap();
            assert_eq!(Some(c.single), table.combo_at(doc).map(|c| c.single));
            let mut expected = String::new();
            combo
                .ord_to_str(combo.ords().first(doc).unwrap(), &mut expected)
                .unwrap();
            let got: Vec<&str> = COMBO_FACETS
                .iter()
                .zip(c.single)
                .map(|(&f, &id)| table.values[f][id as usize].as_str())
                .collect();
            assert_eq!(got.join(COMBO_SEP), expected);
            let tags: Vec<&str> = c
                .tags
                .iter()
                .map(|&t| table.values[TAG_FACET][t as usize].as_str())
                .collect();
            let col = seg.fast_fields().str(TAG_FIELD).unwrap().unwrap();
            let mut want = Vec::new();
            for o in col.ords().values_for_doc(doc) {
                let mut v = String::new();
                col.ord_to_str(o, &mut v).unwrap();
                want.push(v);
            }
            assert_eq!(tags, want);
        }
    }
}
