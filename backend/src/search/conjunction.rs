//! Block-at-a-time intersection of posting lists, for counting.
//!
//! Counting must visit every match (up to the cap), so no block-max pruning helps there.
//! Tantivy's generic intersection seeks one document at a time through boxed scorers;
//! here the rarest list leads, one decoded block (128 docs) at a time, and the other lists
//! are merged against that block's sorted array. With two long lists and few common
//! documents (typical of "word + prefix" queries) this is several times faster.
//!
//! A list holding a large share of the segment (a short prefix, a facet filter) would still
//! be decoded almost whole to follow the leader; such lists are tested against a bitset
//! instead, built once per segment and term and kept in the [`SegmentCache`].

use std::sync::Arc;

use lru::LruCache;
use tantivy::index::SegmentId;
use tantivy::postings::BlockSegmentPostings;
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, SegmentReader, TERMINATED, Term};

use super::visibility::SegmentCache;

/// A list following the leader is tested as a bitset when it holds at least
/// `1 / DENSE_SHARE` of the segment's documents...
const DENSE_SHARE: u64 = 32;
/// ...and the segment is big enough for merging to cost more than building the bitset once.
const DENSE_MIN_SEGMENT: u32 = 16_384;

/// Memory for bitsets of long posting lists: each takes `max_doc / 8` bytes (125 KB per
/// million documents), so about a thousand lists of a million-document segment.
const DENSE_LIST_BYTES: usize = 128 << 20;

/// Bitsets of long posting lists, least recently used dropped first beyond a byte budget.
/// (Dropping them all at once would rebuild them over and over once the queries' long
/// lists outnumber what fits: that cost more than the bitsets saved.)
pub(crate) struct DenseLists {
    bitsets: LruCache<(SegmentId, Term), Arc<BitSet>>,
    bytes: usize,
    budget: usize,
}

impl Default for DenseLists {
    fn default() -> Self {
        Self {
            bitsets: LruCache::unbounded(),
            bytes: 0,
            budget: DENSE_LIST_BYTES,
        }
    }
}

impl DenseLists {
    /// The bitset kept for `key` (now the most recently used).
    pub(crate) fn get(&mut self, key: &(SegmentId, Term)) -> Option<Arc<BitSet>> {
        self.bitsets.get(key).cloned()
    }

    pub(crate) fn insert(&mut self, key: (SegmentId, Term), bits: Arc<BitSet>) {
        self.bytes += bitset_bytes(&bits);
        if let Some(old) = self.bitsets.put(key, bits) {
            self.bytes -= bitset_bytes(&old);
        }
        while self.bytes > self.budget {
            let Some((_, evicted)) = self.bitsets.pop_lru() else {
                break;
            };
            self.bytes -= bitset_bytes(&evicted);
        }
    }

    pub(crate) fn retain_segments(&mut self, live: &[SegmentId]) {
        let gone: Vec<(SegmentId, Term)> = self
            .bitsets
            .iter()
            .filter(|((id, _), _)| !live.contains(id))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            if let Some(bits) = self.bitsets.pop(&key) {
                self.bytes -= bitset_bytes(&bits);
            }
        }
    }
}

fn bitset_bytes(bits: &BitSet) -> usize {
    bits.max_value() as usize / 8 + 8
}

/// The documents of one segment containing every term, in increasing order.
pub(crate) struct TermConjunction {
    /// Posting lists merged block by block, rarest first.
    lists: Vec<BlockSegmentPostings>,
    /// The long lists (other than the leader), as bitsets.
    dense: Vec<Arc<BitSet>>,
    /// Without terms: every document below this.
    max_doc: DocId,
    /// Next document id to look at.
    next: DocId,
}

impl TermConjunction {
    /// `None` when some term is absent from the segment (no match at all).
    pub(crate) fn new(
        seg: &SegmentReader,
        terms: &[Term],
        cache: &SegmentCache,
    ) -> anyhow::Result<Option<Self>> {
        let mut lists = Vec::with_capacity(terms.len());
        for term in terms {
            let inv = seg.inverted_index(term.field())?;
            match inv.read_block_postings(term, IndexRecordOption::Basic)? {
                Some(p) if p.doc_freq() > 0 => lists.push((p, term)),
                _ => return Ok(None),
            }
        }
        lists.sort_by_key(|(p, _)| p.doc_freq());
        let max_doc = seg.max_doc();
        let is_dense = |p: &BlockSegmentPostings| {
            max_doc >= DENSE_MIN_SEGMENT
                && u64::from(p.doc_freq()) * DENSE_SHARE >= u64::from(max_doc)
        };
        let mut conjunction = TermConjunction {
            lists: Vec::with_capacity(lists.len()),
            dense: Vec::new(),
            max_doc,
            next: 0,
        };
        for (i, (postings, term)) in lists.into_iter().enumerate() {
            if i > 0 && is_dense(&postings) {
                conjunction.dense.push(cache.dense_list(seg, term)?);
            } else {
                conjunction.lists.push(postings);
            }
        }
        Ok(Some(conjunction))
    }

    /// Replaces `out` with the next matches (at most one leader block's worth, possibly
    /// none). Returns `false` once exhausted.
    pub(crate) fn next_batch(&mut self, out: &mut Vec<DocId>) -> bool {
        out.clear();
        if self.next == TERMINATED {
            return false;
        }
        let Some((leader, others)) = self.lists.split_first_mut() else {
            // No terms: every document.
            let end = self.max_doc.min(self.next.saturating_add(128));
            out.extend(self.next..end);
            self.next = if end >= self.max_doc { TERMINATED } else { end };
            return !out.is_empty() || self.next != TERMINATED;
        };
        let start = leader.seek(self.next);
        let docs = leader.docs();
        if start >= docs.len() || docs[start] == TERMINATED {
            self.next = TERMINATED;
            return false;
        }
        out.extend(
            docs[start..]
                .iter()
                .copied()
                .take_while(|&d| d != TERMINATED),
        );
        let last = out[out.len() - 1];
        self.next = last.saturating_add(1);
        // Bit tests first: they are cheap and leave fewer documents to merge.
        for bits in &self.dense {
            out.retain(|&d| bits.contains(d));
        }
        for other in others {
            if out.is_empty() {
                break;
            }
            retain_present(out, other);
        }
        true
    }
}

/// Keeps the documents of `docs` (sorted, not empty) that `list` contains. Moves `list`
/// forward.
fn retain_present(docs: &mut Vec<DocId>, list: &mut BlockSegmentPostings) {
    let mut kept = 0;
    let mut j = list.seek(docs[0]);
    for i in 0..docs.len() {
        let d = docs[i];
        let mut block = list.docs();
        // Merge within the decoded block; past its end, let the skip list jump.
        while j < block.len() && block[j] < d {
            j += 1;
        }
        if j >= block.len() {
            j = list.seek(d);
            block = list.docs();
            if j >= block.len() {
                break;
            }
        }
        if block[j] == TERMINATED {
            break;
        }
        if block[j] == d {
            docs[kept] = d;
            kept += 1;
        }
    }
    docs.truncate(kept);
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Field, STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// Big enough for the long lists to be tested as bitsets, with short ones merged.
    #[test]
    fn intersects_like_a_naive_filter() {
        let mut b = Schema::builder();
        let f = b.add_text_field("f", STRING);
        let index = Index::create_in_ram(b.build());
        let mut w: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, 20_000_000).unwrap();
        let n = 40_000u32;
        assert!(n >= DENSE_MIN_SEGMENT);
        for i in 0..n {
            let mut d = TantivyDocument::default();
            let lists = [
                (2, "two"),
                (3, "three"),
                (7, "seven"),
                (100, "sparse"),
                (1000, "rare"),
            ];
            for (m, name) in lists {
                if i % m == 0 {
                    d.add_text(f, name);
                }
            }
            if i % 2 == 1 {
                d.add_text(f, "odd");
            }
            d.add_text(f, "all");
            w.add_document(d).unwrap();
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let seg = searcher.segment_reader(0);
        let cache = SegmentCache::default();
        let t = |s: &str| Term::from_field_text(f, s);
        let run = |terms: &[Term]| {
            let mut c = TermConjunction::new(seg, terms, &cache).unwrap().unwrap();
            let (mut all, mut batch) = (Vec::new(), Vec::new());
            while c.next_batch(&mut batch) {
                all.extend_from_slice(&batch);
            }
            all
        };
        let expect = |ms: &[u32]| {
            (0..n)
                .filter(|i| ms.iter().all(|m| i % m == 0))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&[t("two"), t("three")]), expect(&[2, 3]));
        assert_eq!(run(&[t("seven"), t("two"), t("three")]), expect(&[2, 3, 7]));
        assert_eq!(run(&[t("rare"), t("all")]), expect(&[1000]));
        assert_eq!(run(&[t("rare"), t("sparse")]), expect(&[1000]));
        assert_eq!(run(&[t("sparse"), t("seven")]), expect(&[100, 7]));
        assert_eq!(
            run(&[t("two"), t("sparse"), t("three")]),
            expect(&[2, 3, 100])
        );
        assert_eq!(run(&[]), expect(&[1]));
        assert!(
            TermConjunction::new(seg, &[t("nope")], &cache)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn dense_lists_stay_within_budget_dropping_the_least_recently_used() {
        let segment = SegmentId::generate_random();
        let key = |n: u32| {
            (
                segment,
                Term::from_field_u64(Field::from_field_id(0), u64::from(n)),
            )
        };
        let bits = || Arc::new(BitSet::with_max_value(8_000));
        let each = bitset_bytes(&bits());
        let mut lists = DenseLists {
            budget: 3 * each,
            ..DenseLists::default()
        };
        for n in 0..3 {
            lists.insert(key(n), bits());
        }
        assert!(
            lists.bitsets.get(&key(0)).is_some(),
            "used: now the most recent"
        );
        lists.insert(key(3), bits());
        assert_eq!(lists.bytes, 3 * each);
        assert!(lists.bitsets.contains(&key(0)) && !lists.bitsets.contains(&key(1)));
        lists.retain_segments(&[]);
        assert_eq!((lists.bitsets.len(), lists.bytes), (0, 0));
    }
}
