//! Catalog search: one search box over data products and their tables, backed by Tantivy.
//!
//! [`CatalogIndex`] owns an index directory. The catalog feeds it with [`CatalogIndex::apply`]
//! (incremental, from the outbox) or [`CatalogIndex::rebuild`] (everything), and the UI/API
//! asks it with [`CatalogIndex::search`], which returns a whole result page: hits, totals,
//! facet counts and the cursor of the next page.
//!
//! How a query runs (see the submodules for details):
//! * text → words ([`text`]) → required terms ([`plan`]): leading words exact, the last as
//!   a prefix (one edge-n-gram term); a word unknown to the index is replaced by its
//!   closest spelling;
//! * single-valued facet filters are more terms of the same conjunction, so Tantivy's
//!   block-max WAND can skip blocks that cannot reach the top page ([`query`]);
//! * drafts the viewer may not see are removed from every count and hit ([`visibility`]);
//! * totals and facets are counted over at most 10,000 matches, with a block-at-a-time
//!   intersection ([`facets`], [`conjunction`]);
//! * empty text browses in name order ([`browse`]);
//! * the page's hits get names, highlights and matched columns ([`hits`], [`payload`]);
//! * pages chain through opaque search-after cursors ([`cursor`]).
//!
//! Concurrency: searches run in parallel on immutable snapshots; `apply` and `rebuild`
//! serialize on the index writer and block on disk I/O (fsync): call them from a blocking
//! context (`spawn_blocking`), ideally from a single outbox consumer.

mod browse;
mod conjunction;
mod cursor;
mod facet_table;
mod facets;
mod hits;
mod payload;
mod plan;
mod query;
mod schema;
#[cfg(test)]
mod tests;
mod text;
mod types;
mod visibility;

pub use types::*;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::{Context, anyhow};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::FuzzyTermQuery;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};
use uuid::Uuid;

use schema::{Fields, SCHEMA_VERSION};

/// Total memory the index writer may buffer before it writes a segment, split among its
/// threads. Larger means fewer, bigger segments during a rebuild (fewer merges, faster
/// queries); it is only used while documents are being added.
const WRITER_MEMORY_BYTES: usize = 400 << 20;
/// Upper bound on indexing threads (each gets `WRITER_MEMORY_BYTES / threads`).
const MAX_WRITER_THREADS: usize = 4;
/// Documents per batch while rebuilding. The writer queues documents, so batching only
/// bounds how many products we hold in memory before handing them over.
const REBUILD_BATCH: usize = 1_000;

/// The catalog search index. `Send + Sync`: share it with an `Arc`.
///
/// Searches run concurrently on a snapshot; writes (`apply`, `rebuild`) are serialized by
/// an internal lock and become visible atomically when they return.
pub struct CatalogIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    seq: AtomicI64,
    segment_cache: visibility::SegmentCache,
}

impl std::fmt::Debug for CatalogIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogIndex")
            .field("indexed_seq", &self.indexed_seq())
            .finish_non_exhaustive()
    }
}

/// The commit payload: how far the index got, and with which schema.
#[derive(serde::Serialize, serde::Deserialize)]
struct CommitPayload {
    seq: i64,
    schema: u32,
}

impl CatalogIndex {
    /// Open (creating if missing) the index in `dir`.
    ///
    /// An index written by another schema version is wiped (its files in `dir` are deleted)
    /// and reopened empty with `indexed_seq() == 0`: call [`CatalogIndex::rebuild`] then.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating index directory {}", dir.display()))?;
        let (schema, fields) = schema::build_schema();
        let mmap = MmapDirectory::open(dir).context("opening index directory")?;
        let index = if Index::exists(&mmap)? {
            let index = Index::open(mmap).context("opening search index")?;
            if index.schema() == schema && stored_payload(&index)?.is_some() {
                index
            } else {
                tracing::warn!(dir = %dir.display(), "search index has an old schema: recreating it");
                drop(index);
                wipe_index_files(dir)?;
                Index::create(MmapDirectory::open(dir)?, schema, index_settings())?
            }
        } else {
            Index::create(mmap, schema, index_settings())?
        };
        Self::from_index(index, fields)
    }

    /// An index in RAM (tests).
    pub fn in_memory() -> anyhow::Result<Self> {
        let (schema, fields) = schema::build_schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> anyhow::Result<Self> {
        index.tokenizers().register(
            text::LINES_TOKENIZER,
            TextAnalyzer::from(text::LinesTokenizer::default()),
        );
        let seq = stored_payload(&index)?.map_or(0, |p| p.seq);
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WRITER_THREADS);
        let writer = index
            .writer_with_num_threads(threads, WRITER_MEMORY_BYTES)
            .context("opening index writer (is another process using this index?)")?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        // Typo automata builders are built lazily by Tantivy on first use (tens of ms for
        // distance 2): pay that now rather than in the first user's search.
        for distance in [1, 2] {
            FuzzyTermQuery::new(Term::from_field_text(fields.text, "warmup"), distance, true)
                .automaton()?;
        }
        let index = CatalogIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            seq: AtomicI64::new(seq),
            segment_cache: visibility::SegmentCache::default(),
        };
        index.warm()?;
        Ok(index)
    }

    /// The outbox sequence number the index reflects: 0 for a new index. Stored durably
    /// with each commit (in the commit payload), so after a restart we know how far it got.
    pub fn indexed_seq(&self) -> i64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Replace everything about `upserts` (delete by product id, add the product doc and one
    /// doc per table), delete the `removed` product ids, commit with `seq`, and make the
    /// change searchable before returning (reload the reader).
    pub fn apply(&self, upserts: &[ProductDoc], removed: &[Uuid], seq: i64) -> anyhow::Result<()> {
        let docs: Vec<_> = upserts
            .iter()
            .map(|p| schema::product_docs(&self.fields, p))
            .collect();
        let mut writer = self.lock_writer()?;
        for (p, product_docs) in upserts.iter().zip(docs) {
            writer.delete_term(self.pid_term(p.id));
            for d in product_docs {
                writer.add_document(d)?;
            }
        }
        for id in removed {
            writer.delete_term(self.pid_term(*id));
        }
        self.commit(&mut writer, seq)
    }

    /// Delete everything and index `docs` (streamed, batched), then commit with `seq`.
    ///
    /// Searches keep seeing the old contents until the new ones are committed. The index is
    /// then merged into one segment (fastest to search), which is most of the time taken.
    pub fn rebuild(&self, docs: impl Iterator<Item = ProductDoc>, seq: i64) -> anyhow::Result<()> {
        let mut writer = self.lock_writer()?;
        // No background merges while bulk loading: we merge everything once at the end.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let result = self.rebuild_locked(&mut writer, docs, seq);
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        if result.is_err() {
            writer.rollback().ok();
        }
        result
    }

    fn rebuild_locked(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        docs: impl Iterator<Item = ProductDoc>,
        seq: i64,
    ) -> anyhow::Result<()> {
        writer.delete_all_documents()?;
        let mut batch = Vec::with_capacity(REBUILD_BATCH);
        let mut docs = docs.peekable();
        while docs.peek().is_some() {
            batch.clear();
            batch.extend(docs.by_ref().take(REBUILD_BATCH));
            for p in &batch {
                for d in schema::product_docs(&self.fields, p) {
                    writer.add_document(d)?;
                }
            }
        }
        self.commit(writer, seq)?;
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            writer.merge(&segments).wait()?;
            self.reader.reload()?;
        }
        writer.garbage_collect_files().wait()?;
        Ok(())
    }

    fn commit(&self, writer: &mut IndexWriter<TantivyDocument>, seq: i64) -> anyhow::Result<()> {
        let payload = serde_json::to_string(&CommitPayload {
            seq,
            schema: SCHEMA_VERSION,
        })?;
        let committed = (|| -> anyhow::Result<()> {
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            Ok(())
        })();
        if let Err(e) = committed {
            writer.rollback().ok();
            return Err(e);
        }
        self.reader.reload()?;
        self.seq.store(seq, Ordering::Release);
        self.warm()
    }

    /// Builds the per-segment caches of the current snapshot (see `visibility`).
    fn warm(&self) -> anyhow::Result<()> {
        self.segment_cache
            .warm(&self.reader.searcher(), &self.fields)
    }

    fn lock_writer(
        &self,
    ) -> anyhow::Result<std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>>> {
        self.writer
            .lock()
            .map_err(|_| anyhow!("search index writer lock poisoned by an earlier panic"))
    }

    fn pid_term(&self, id: Uuid) -> Term {
        Term::from_field_text(self.fields.pid, &schema::pid_value(id))
    }

    /// Run a search and build a whole result page.
    pub fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchPage> {
        let searcher = self.reader.searcher();
        query::run(&searcher, &self.fields, &self.segment_cache, query)
    }

    /// Number of segments in the current snapshot (for diagnostics/benchmarks).
    #[doc(hidden)]
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }
}

/// A result page reads ~20 payloads from random places in the document store, and each
/// read decompresses the whole block it sits in: small blocks make that 4x cheaper than
/// Tantivy's default (16 KiB) for a few percent more disk.
fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_blocksize: 4_096,
        ..IndexSettings::default()
    }
}

/// The payload of the last commit: `None` when the index is not one of ours at this schema
/// version (then it is recreated). A brand-new index has no commit yet: sequence 0.
fn stored_payload(index: &Index) -> anyhow::Result<Option<CommitPayload>> {
    let metas = index.load_metas()?;
    Ok(match metas.payload {
        Some(text) => serde_json::from_str::<CommitPayload>(&text)
            .ok()
            .filter(|p| p.schema == SCHEMA_VERSION),
        None if metas.segments.is_empty() => Some(CommitPayload {
            seq: 0,
            schema: SCHEMA_VERSION,
        }),
        None => None,
    })
}

/// Deletes the files of an outdated index (not subdirectories: the directory is ours, but
/// we never remove more than we must).
fn wipe_index_files(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok(())
}
