//! Block-at-a-time intersection of posting lists, for counting.
//!
//! Counting must visit every match (up to the cap), so no block-max pruning helps there.
//! Tantivy's generic intersection seeks one document at a time through boxed scorers;
//! here the rarest list leads, one decoded block (128 docs) at a time, and the other lists
//! are merged against that block's sorted array. With two long lists and few common
//! documents (typical of "word + prefix" queries) this is several times faster.

use tantivy::postings::BlockSegmentPostings;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, SegmentReader, TERMINATED, Term};

/// The documents of one segment containing every term, in increasing order.
pub(crate) struct TermConjunction {
    /// Posting lists, rarest first.
    lists: Vec<BlockSegmentPostings>,
    /// Without terms: every document below this.
    max_doc: DocId,
    /// Next document id to look at.
    next: DocId,
}

impl TermConjunction {
    /// `None` when some term is absent from the segment (no match at all).
    pub(crate) fn new(seg: &SegmentReader, terms: &[Term]) -> anyhow::Result<Option<Self>> {
        let mut lists = Vec::with_capacity(terms.len());
        for term in terms {
            let inv = seg.inverted_index(term.field())?;
            match inv.read_block_postings(term, IndexRecordOption::Basic)? {
                Some(p) if p.doc_freq() > 0 => lists.push(p),
                _ => return Ok(None),
            }
        }
        lists.sort_by_key(BlockSegmentPostings::doc_freq);
        Ok(Some(TermConjunction {
            lists,
            max_doc: seg.max_doc(),
            next: 0,
        }))
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
        for other in others {
            retain_present(out, other);
            if out.is_empty() {
                break;
            }
        }
        true
    }
}

/// Keeps the documents of `docs` (sorted) that `list` contains. Moves `list` forward.
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
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    #[test]
    fn intersects_like_a_naive_filter() {
        let mut b = Schema::builder();
        let f = b.add_text_field("f", STRING);
        let index = Index::create_in_ram(b.build());
        let mut w: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, 20_000_000).unwrap();
        let n = 5_000u32;
        for i in 0..n {
            let mut d = TantivyDocument::default();
            for (m, name) in [(2, "two"), (3, "three"), (7, "seven"), (1000, "rare")] {
                if i % m == 0 {
                    d.add_text(f, name);
                }
            }
            d.add_text(f, "all");
            w.add_document(d).unwrap();
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let seg = searcher.segment_reader(0);
        let t = |s: &str| Term::from_field_text(f, s);
        let run = |terms: &[Term]| {
            let mut c = TermConjunction::new(seg, terms).unwrap().unwrap();
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
        assert_eq!(run(&[]), expect(&[1]));
        assert!(TermConjunction::new(seg, &[t("nope")]).unwrap().is_none());
    }
}
