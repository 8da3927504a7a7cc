//! The Tantivy schema and the mapping from [`ProductDoc`] to index documents.
//!
//! One index document per product and one per table. Everything a query can ask for is an
//! indexed *term*, so that every query is a pure conjunction of term queries, which Tantivy
//! evaluates with block-max pruning:
//!
//! * `text`: all searchable words (whole and compound parts); names repeated for boost.
//! * `prefix`: edge n-grams of every `text` token, so a prefix is one term, not an expansion
//!   over the dictionary. Name prefixes are repeated (term frequency) to rank name hits first.
//! * `filt`: facet filter values (`domain:Sales`) and draft-visibility markers.
//! * `name_exact`: the normalised name, to put exact name matches first.
//! * `sortkey`: normalised name + stable key, for browsing (empty text) in name order.
//!
//! Fast fields hold the facet values (for counting) and a stable 64-bit key used to break
//! score ties, so cursors do not depend on Tantivy doc ids (which change on merges).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use uuid::Uuid;

use super::payload::Payload;
use super::text::{self, LINES_TOKENIZER, MAX_PREFIX_CHARS, MIN_PREFIX_CHARS};
use super::{HitKind, ProductDoc, TableDoc};

/// Bumped whenever the schema or the tokenization changes: an index written with another
/// version is discarded on open (and `indexed_seq` restarts at 0, asking for a rebuild).
pub(crate) const SCHEMA_VERSION: u32 = 3;

/// Names of the facets, in the order of [`super::Facet`] output.
pub(crate) const FACET_FIELDS: [&str; 6] = [
    "domain",
    "classification",
    "tag",
    "owner_team",
    "environment",
    "kind",
];

/// Index of the tag facet in [`FACET_FIELDS`]: the only multi-valued one, with its own
/// fast-field column [`TAG_FIELD`].
pub(crate) const TAG_FACET: usize = 2;
/// Fast field of the tags.
pub(crate) const TAG_FIELD: &str = "tag";

/// Fast field holding the single-valued facets of a document joined by [`COMBO_SEP`], in
/// [`COMBO_FACETS`] order. Distinct combinations are few (they repeat across a product's
/// tables and across products), so one column and one decoded table per segment serve all
/// five facets (see `facet_table`).
pub(crate) const COMBO_FIELD: &str = "facet_combo";
/// Separator of the values in [`COMBO_FIELD`].
pub(crate) const COMBO_SEP: &str = "\u{1f}";
/// Facet indexes (in [`FACET_FIELDS`]) stored in [`COMBO_FIELD`], in order.
pub(crate) const COMBO_FACETS: [usize; 5] = [0, 1, 3, 4, 5];

/// Term prefixes in the `filt` field, index-aligned with [`FACET_FIELDS`].
pub(crate) const FILTER_PREFIXES: [&str; 6] =
    ["domain:", "class:", "tag:", "team:", "env:", "kind:"];

/// `filt` term carried by drafts.
pub(crate) const DRAFT_TERM: &str = "draft";
/// `filt` term prefix of a draft's owner team (who may see it).
pub(crate) const VIS_TEAM: &str = "vteam:";
/// `filt` term prefix of a draft's stewards (who may see it).
pub(crate) const VIS_USER: &str = "vuser:";

/// Bytes of the name kept in a sort key; longer names sort by their beginning.
const SORT_NAME_BYTES: usize = 96;

/// Handles of every field of the schema.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub pid: Field,
    pub text: Field,
    pub prefix: Field,
    pub filt: Field,
    pub name_exact: Field,
    pub sortkey: Field,
    pub key: Field,
    pub tag: Field,
    /// The single-valued facets in one value (see [`COMBO_FIELD`]).
    pub combo: Field,
    pub payload: Field,
}

/// Builds the schema; the returned [`Fields`] index into it.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let lines = |record: IndexRecordOption, norms: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(LINES_TOKENIZER)
                .set_index_option(record)
                .set_fieldnorms(norms),
        )
    };
    let pid = b.add_text_field("pid", STRING);
    // Frequencies everywhere a query clause may land: block-max pruning over an intersection
    // only engages when every term scorer reads frequencies.
    let text = b.add_text_field("text", lines(IndexRecordOption::WithFreqs, true));
    let prefix = b.add_text_field("prefix", lines(IndexRecordOption::WithFreqs, true));
    let filt = b.add_text_field("filt", lines(IndexRecordOption::WithFreqs, false));
    let name_exact = b.add_text_field("name_exact", STRING);
    let sortkey = b.add_text_field("sortkey", STRING | FAST);
    let key = b.add_u64_field("key", FAST);
    let facet_opts = TextOptions::default().set_fast("raw");
    let tag = b.add_text_field(TAG_FIELD, facet_opts.clone());
    let combo = b.add_text_field(COMBO_FIELD, facet_opts);
    let payload = b.add_bytes_field("payload", STORED);
    let fields = Fields {
        pid,
        text,
        prefix,
        filt,
        name_exact,
        sortkey,
        key,
        tag,
        combo,
        payload,
    };
    (b.build(), fields)
}

/// The 64-bit tie-break key of a product or table: both halves of its id folded together.
pub(crate) fn stable_key(id: Uuid) -> u64 {
    let v = id.as_u128();
    (v as u64) ^ ((v >> 64) as u64)
}

/// The `pid` term value of a product (delete-by-product).
pub(crate) fn pid_value(id: Uuid) -> String {
    id.simple().to_string()
}

/// The sort key for browsing: lower-cased name, then a 0x01 separator (sorts before every
/// printable character, so "abc" comes before "abc def"), then the stable key in hex.
pub(crate) fn sort_key(name: &str, key: u64) -> String {
    let lower = name.trim().to_lowercase().replace(['\u{0}', '\u{1}'], " ");
    let mut cut = lower.len().min(SORT_NAME_BYTES);
    while !lower.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\u{1}{key:016x}", &lower[..cut])
}

/// Replaces line breaks, which separate tokens in our pre-tokenized fields.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A small fast hasher for the per-document prefix set (keys are short, trusted strings).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(buf))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// Accumulates the `text` and `prefix` values of one index document.
#[derive(Default)]
struct TextBuilder {
    text: String,
    /// Atoms added to `text` (first occurrence per `add`) with their prefix weight.
    atoms: Vec<(usize, usize, u8)>,
}

impl TextBuilder {
    /// Adds the words of `s`, `repeat` times to the text (BM25 boost) and with prefix weight
    /// `weight` (1..=3: how many times each of its prefixes is emitted).
    fn add(&mut self, s: &str, repeat: usize, weight: u8) {
        let start = self.text.len();
        let atoms = &mut self.atoms;
        text::push_index_tokens(s, &mut self.text, |a, b, atom| {
            if atom {
                atoms.push((a, b, weight));
            }
        });
        let end = self.text.len();
        for _ in 1..repeat {
            self.text.extend_from_within(start..end);
        }
    }

    /// The `prefix` field value: every distinct prefix of every atom, repeated by weight.
    fn prefixes(&self) -> String {
        let mut seen: HashMap<&str, u8, BuildHasherDefault<FxHasher>> =
            HashMap::with_capacity_and_hasher(self.atoms.len() * 4, Default::default());
        for &(a, b, w) in &self.atoms {
            let tok = &self.text[a..b];
            for (n, (i, c)) in tok.char_indices().enumerate() {
                if n + 1 < MIN_PREFIX_CHARS {
                    continue;
                }
                if n >= MAX_PREFIX_CHARS {
                    break;
                }
                let p = &tok[..i + c.len_utf8()];
                let e = seen.entry(p).or_insert(0);
                *e = (*e).max(w);
            }
        }
        let mut out = String::with_capacity(seen.len() * 8);
        for (p, w) in seen {
            for _ in 0..w {
                out.push_str(p);
                out.push('\n');
            }
        }
        out
    }
}

/// Facet values and visibility shared by a product and its tables.
struct Common<'a> {
    p: &'a ProductDoc,
    filt: String,
}

impl<'a> Common<'a> {
    fn new(p: &'a ProductDoc) -> Self {
        let mut filt = String::new();
        let mut push = |prefix: &str, v: &str| {
            filt.push_str(prefix);
            filt.push_str(&one_line(v));
            filt.push('\n');
        };
        push(FILTER_PREFIXES[0], &p.domain);
        push(FILTER_PREFIXES[1], &p.classification);
        for t in &p.tags {
            push(FILTER_PREFIXES[2], t);
        }
        push(FILTER_PREFIXES[3], &p.owner_team);
        push(FILTER_PREFIXES[4], &p.environment);
        if p.is_draft {
            push(DRAFT_TERM, "");
            push(VIS_TEAM, &p.owner_team);
            for s in &p.stewards {
                push(VIS_USER, &pid_value(*s));
            }
        }
        Common { p, filt }
    }

    fn doc(&self, fields: &Fields, kind: HitKind, key: u64) -> TantivyDocument {
        let p = self.p;
        let mut d = TantivyDocument::default();
        d.add_text(fields.pid, pid_value(p.id));
        let kind_name = match kind {
            HitKind::Product => "product",
            HitKind::Table => "table",
        };
        d.add_text(
            fields.filt,
            format!("{}{}{kind_name}\n", self.filt, FILTER_PREFIXES[5]),
        );
        d.add_u64(fields.key, key);
        for t in &p.tags {
            d.add_text(fields.tag, t);
        }
        let combo: Vec<String> = [
            &p.domain,
            &p.classification,
            &p.owner_team,
            &p.environment,
            kind_name,
        ]
        .map(|v| v.replace(COMBO_SEP, " "))
        .into();
        d.add_text(fields.combo, combo.join(COMBO_SEP));
        d
    }
}

/// Index documents of a product: the product itself, then one per table.
pub(crate) fn product_docs(fields: &Fields, p: &ProductDoc) -> Vec<TantivyDocument> {
    let common = Common::new(p);
    let mut out = Vec::with_capacity(1 + p.tables.len());

    let key = stable_key(p.id);
    let mut d = common.doc(fields, HitKind::Product, key);
    let mut tb = TextBuilder::default();
    tb.add(&p.name, 3, 3);
    for t in &p.tags {
        tb.add(t, 2, 1);
    }
    tb.add(&p.description, 1, 1);
    tb.add(&p.domain, 1, 1);
    tb.add(&p.owner_team, 1, 1);
    for t in &p.tables {
        tb.add(&t.database, 1, 1);
        tb.add(&t.name, 1, 1);
    }
    d.add_text(fields.prefix, tb.prefixes());
    d.add_text(fields.text, tb.text);
    for n in [&p.name, &p.slug] {
        let norm = text::normalize_name(n);
        if !norm.is_empty() {
            d.add_text(fields.name_exact, norm);
        }
    }
    d.add_text(fields.sortkey, sort_key(&p.name, key));
    let payload = Payload {
        product_id: p.id,
        table_id: None,
        product_slug: &p.slug,
        product_name: &p.name,
        database: "",
        table: "",
        description: &p.description,
        domain: &p.domain,
        classification: &p.classification,
        owner_team: &p.owner_team,
        columns: Vec::new(),
    };
    d.add_bytes(fields.payload, &payload.encode());
    out.push(d);

    for t in &p.tables {
        out.push(table_doc(fields, &common, t));
    }
    out
}

fn table_doc(fields: &Fields, common: &Common<'_>, t: &TableDoc) -> TantivyDocument {
    let p = common.p;
    let key = stable_key(t.id);
    let mut d = common.doc(fields, HitKind::Table, key);
    let mut tb = TextBuilder::default();
    tb.add(&t.name, 3, 3);
    tb.add(&t.database, 1, 1);
    tb.add(&p.name, 1, 1);
    tb.add(&t.description, 1, 1);
    for tag in &p.tags {
        tb.add(tag, 1, 1);
    }
    tb.add(&p.domain, 1, 1);
    for c in &t.columns {
        tb.add(&c.name, 1, 1);
        tb.add(&c.data_type, 1, 1);
        tb.add(&c.description, 1, 1);
    }
    d.add_text(fields.prefix, tb.prefixes());
    d.add_text(fields.text, tb.text);
    for n in [t.name.clone(), format!("{}.{}", t.database, t.name)] {
        let norm = text::normalize_name(&n);
        if !norm.is_empty() {
            d.add_text(fields.name_exact, norm);
        }
    }
    d.add_text(fields.sortkey, sort_key(&t.name, key));
    let payload = Payload {
        product_id: p.id,
        table_id: Some(t.id),
        product_slug: &p.slug,
        product_name: &p.name,
        database: &t.database,
        table: &t.name,
        description: &t.description,
        domain: &p.domain,
        classification: &p.classification,
        owner_team: &p.owner_team,
        columns: t
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.data_type.as_str(),
                    c.description.as_str(),
                )
            })
            .collect(),
    };
    d.add_bytes(fields.payload, &payload.encode());
    d
}
