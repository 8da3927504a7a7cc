//! `wharf-bench`: load and latency benchmarks for Wharf.
//!
//! `wharf-bench search` generates a synthetic catalog (Zipf-distributed data vocabulary),
//! builds a search index in a temporary directory and reports build time, index size, peak
//! memory, whole-page query latency (single thread), throughput (2 threads) and
//! edit→searchable latency. Everything is deterministic for a given `--seed`.
//!
//! `wharf-bench http` builds the same catalog's index and serves it through the real
//! router (with a temporary SQLite store) on loopback: search through
//! `/api/v1/products?q=`, and the product page against a minimal axum+sqlx+askama page.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;
use wharf::search::{CatalogIndex, ColumnDoc, Filters, ProductDoc, SearchQuery, TableDoc, Viewer};

#[path = "../bench/http.rs"]
mod http;

#[derive(Parser, Debug)]
#[command(name = "wharf-bench", about = "Benchmarks for the Wharf server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Catalog search: build an index of a synthetic catalog and time queries and edits.
    Search(SearchArgs),
    /// The same catalog through HTTP, and the product page against a minimal page.
    Http(SearchArgs),
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// Number of tables in the catalog.
    #[arg(long, default_value_t = 1_000_000)]
    tables: usize,
    /// Number of data products (tables are spread over them).
    #[arg(long, default_value_t = 50_000)]
    products: usize,
    /// Average number of columns per table.
    #[arg(long, default_value_t = 15)]
    columns: usize,
    /// Number of distinct queries in the mix.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Threads of the throughput test.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Samples of the edit→searchable test (0 skips it).
    #[arg(long, default_value_t = 10)]
    edits: u32,
    /// Print the slowest queries.
    #[arg(long)]
    verbose: bool,
    /// With `--dir`: reuse the index already there (same arguments) instead of rebuilding.
    #[arg(long, requires = "dir")]
    reuse: bool,
    /// Index directory (default: a fresh directory under the system temp dir, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Search(args) => search_bench(&args),
        Command::Http(args) => http_bench(&args),
    }
}

/// SplitMix64: tiny, fast, good enough for synthetic data.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn uuid(&mut self) -> Uuid {
        Uuid::from_u128((u128::from(self.next()) << 64) | u128::from(self.next()))
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Realistic data words, most frequent first (Zipf rank order).
const CORE: &str = "id date customer order amount name status type code created updated \
    product account user event value total price quantity revenue invoice payment transaction \
    region country store item discount channel campaign session category sku source system \
    daily monthly weekly snapshot fact dim agg summary detail line header balance ledger journal \
    budget forecast margin cost tax currency rate refund return shipment delivery warehouse \
    inventory supplier vendor employee department salary contract subscription plan churn score \
    segment cohort click impression visit page view search cart checkout address email phone \
    contact profile consent audit log error latency request response partner commission loyalty \
    reward coupon promotion offer ticket incident agent call chat survey feedback rating review \
    market competitor territory quota target pipeline stage opportunity lead won lost flag active \
    valid deleted batch job model feature prediction label training experiment variant device \
    sensor reading metric kpi report history archive raw staging brand catalog claim policy \
    premium risk fraud alert exchange gross net unit weight volume hour minute timestamp year \
    quarter week start end first last count avg min max sum ratio percent share growth";

const TYPES: &[&str] = &[
    "bigint",
    "string",
    "string",
    "timestamp",
    "date",
    "decimal(18,2)",
    "int",
    "boolean",
    "double",
    "array<string>",
    "map<string,string>",
    "struct<id:bigint,name:string>",
];
const DOMAINS: &[&str] = &[
    "Sales",
    "Marketing",
    "Finance",
    "Operations",
    "Supply Chain",
    "HR",
    "Customer Service",
    "Product",
    "Risk",
    "Engineering",
    "Legal",
    "Data Science",
];
const CLASSES: &[&str] = &[
    "internal",
    "internal",
    "internal",
    "public",
    "confidential",
    "restricted",
];
const ENVS: &[&str] = &[
    "Production",
    "Production",
    "Production",
    "Production",
    "Staging",
    "Sandbox",
];

/// Zipf sampling over ranks `0..n`: P(rank r) ∝ 1 / (r + 1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / (r as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative
            .partition_point(|c| *c < x)
            .min(self.cumulative.len() - 1)
    }
}

/// The synthetic vocabulary: core words plus generated rare words, Zipf-weighted; and, as
/// in real catalogs, column and table names reused from Zipf-weighted pools of compounds.
struct Vocab {
    words: Vec<String>,
    zipf: Zipf,
    column_names: Vec<String>,
    column_zipf: Zipf,
    table_names: Vec<String>,
    table_zipf: Zipf,
    tags: Vec<String>,
    teams: Vec<String>,
    databases: Vec<String>,
}

impl Vocab {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5eed);
        let mut words: Vec<String> = CORE.split_whitespace().map(str::to_owned).collect();
        let syllables = [
            "ka", "lo", "mi", "ra", "ten", "vo", "zu", "bel", "dor", "fin", "gar", "hex", "jun",
            "lex", "mor", "nyx", "pal", "quo", "rin", "sol", "tor", "ul", "vex", "wyn",
        ];
        while words.len() < 20_000 {
            let n = rng.range(2, 4);
            let w: String = (0..n).map(|_| *rng.pick(&syllables)).collect();
            words.push(w);
        }
        let zipf = Zipf::new(words.len(), 1.05);
        let tags = (0..40)
            .map(|i| format!("{}-{i}", words[i * 3 % 150]))
            .collect();
        let teams = (0..60)
            .map(|i| format!("team-{}", words[(i * 7) % 200]))
            .collect();
        let databases = (0..200)
            .map(|i| {
                format!(
                    "{}_{}",
                    words[i % 120],
                    ["dw", "lake", "mart", "raw"][i % 4]
                )
            })
            .collect();
        let mut vocab = Vocab {
            words,
            zipf,
            column_names: Vec::new(),
            column_zipf: Zipf::new(1, 1.0),
            table_names: Vec::new(),
            table_zipf: Zipf::new(1, 1.0),
            tags,
            teams,
            databases,
        };
        vocab.column_names = (0..20_000)
            .map(|_| {
                let n = rng.range(1, 3);
                vocab.words(&mut rng, n, "_")
            })
            .collect();
        vocab.column_zipf = Zipf::new(vocab.column_names.len(), 0.9);
        vocab.table_names = (0..200_000)
            .map(|_| {
                let n = rng.range(1, 3);
                vocab.words(&mut rng, n, "_")
            })
            .collect();
        vocab.table_zipf = Zipf::new(vocab.table_names.len(), 0.5);
        vocab
    }

    fn word(&self, rng: &mut Rng) -> &str {
        &self.words[self.zipf.sample(rng)]
    }

    fn column_name(&self, rng: &mut Rng) -> String {
        self.column_names[self.column_zipf.sample(rng)].clone()
    }

    fn table_name(&self, rng: &mut Rng) -> String {
        self.table_names[self.table_zipf.sample(rng)].clone()
    }

    fn words(&self, rng: &mut Rng, n: usize, sep: &str) -> String {
        (0..n).map(|_| self.word(rng)).collect::<Vec<_>>().join(sep)
    }
}

/// Deterministic catalog: product `i` depends only on the seed and `i`.
struct Catalog {
    vocab: Vocab,
    seed: u64,
    tables_per_product: Vec<usize>,
    columns: usize,
    users: Vec<Uuid>,
}

impl Catalog {
    fn new(args: &SearchArgs) -> Self {
        let vocab = Vocab::new(args.seed);
        let mut rng = Rng::new(args.seed);
        // Uneven table counts that add up exactly to `tables`.
        let weights: Vec<f64> = (0..args.products)
            .map(|_| 0.2 + (rng.next() % 1000) as f64 / 500.0)
            .collect();
        let sum: f64 = weights.iter().sum();
        let mut tables_per_product: Vec<usize> = weights
            .iter()
            .map(|w| (w / sum * args.tables as f64) as usize)
            .collect();
        let mut missing = args.tables.saturating_sub(tables_per_product.iter().sum());
        let mut i = 0;
        while missing > 0 && args.products > 0 {
            tables_per_product[i % args.products] += 1;
            missing -= 1;
            i += 1;
        }
        let users = (0..5_000).map(|_| rng.uuid()).collect();
        Catalog {
            vocab,
            seed: args.seed,
            tables_per_product,
            columns: args.columns.max(1),
            users,
        }
    }

    fn product(&self, i: usize) -> ProductDoc {
        let v = &self.vocab;
        let mut rng = Rng::new(self.seed.wrapping_mul(0x1000_0000_01b3) ^ (i as u64 + 1));
        let name_words = rng.range(1, 3);
        let name: String = (0..name_words)
            .map(|_| capitalize(v.word(&mut rng)))
            .collect::<Vec<_>>()
            .join(" ");
        let id = rng.uuid();
        let tables = (0..self.tables_per_product[i])
            .map(|_| {
                let n_cols = rng.range(self.columns / 2, self.columns * 3 / 2).max(1);
                TableDoc {
                    id: rng.uuid(),
                    database: rng.pick(&v.databases).clone(),
                    name: v.table_name(&mut rng),
                    description: {
                        let n = rng.range(4, 14);
                        v.words(&mut rng, n, " ")
                    },
                    columns: (0..n_cols)
                        .map(|_| ColumnDoc {
                            name: v.column_name(&mut rng),
                            data_type: (*rng.pick(TYPES)).to_owned(),
                            description: if rng.chance(0.5) {
                                let n = rng.range(3, 8);
                                v.words(&mut rng, n, " ")
                            } else {
                                String::new()
                            },
                        })
                        .collect(),
                }
            })
            .collect();
        let n_tags = rng.range(0, 3);
        ProductDoc {
            id,
            slug: format!("{}-{i}", name.to_lowercase().replace(' ', "-")),
            description: {
                let n = rng.range(10, 30);
                v.words(&mut rng, n, " ")
            },
            domain: (*rng.pick(DOMAINS)).to_owned(),
            classification: (*rng.pick(CLASSES)).to_owned(),
            tags: (0..n_tags).map(|_| rng.pick(&v.tags).clone()).collect(),
            owner_team: rng.pick(&v.teams).clone(),
            environment: (*rng.pick(ENVS)).to_owned(),
            is_draft: rng.chance(0.03),
            stewards: (0..rng.range(1, 2))
                .map(|_| *rng.pick(&self.users))
                .collect(),
            tables,
            name,
        }
    }
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// The query mix: terms taken from real documents (so most queries have results), 1–3
/// terms, half with a truncated last term, a third with a facet filter, ~10% with a typo.
fn make_queries(cat: &Catalog, n: usize, seed: u64) -> Vec<SearchQuery> {
    let mut rng = Rng::new(seed ^ 0x9e1);
    let products = cat.tables_per_product.len();
    (0..n)
        .map(|_| {
            let p = cat.product(rng.below(products));
            let mut pool: Vec<String> = Vec::new();
            let mut add = |s: &str| {
                pool.extend(
                    s.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .filter(|w| !w.is_empty())
                        .map(str::to_lowercase),
                )
            };
            add(&p.name);
            if let Some(t) = (!p.tables.is_empty()).then(|| &p.tables[rng.below(p.tables.len())]) {
                add(&t.name);
                for c in t.columns.iter().take(4) {
                    add(&c.name);
                }
            }
            add(&p.description);
            let n_terms = [1, 1, 2, 2, 3][rng.below(5)];
            let mut terms: Vec<String> = (0..n_terms).map(|_| rng.pick(&pool).clone()).collect();
            if rng.chance(0.1)
                && let Some(t) = terms.iter_mut().find(|t| t.len() >= 5)
            {
                let i = rng.range(1, t.len() - 2);
                let mut b = t.clone().into_bytes();
                b.swap(i, i + 1);
                *t = String::from_utf8(b).unwrap_or_default();
            }
            if rng.chance(0.5)
                && let Some(last) = terms.last_mut()
            {
                let keep = rng.range(2, last.len().max(2)).min(last.len());
                last.truncate(keep);
            }
            let mut filters = Filters::default();
            if rng.chance(1.0 / 3.0) {
                match rng.below(5) {
                    0 => filters.domain = vec![p.domain.clone()],
                    1 => filters.classification = vec![p.classification.clone()],
                    2 => filters.environment = vec![p.environment.clone()],
                    3 => filters.kind = vec![["product", "table"][rng.below(2)].to_owned()],
                    _ => filters.owner_team = vec![p.owner_team.clone()],
                }
            }
            SearchQuery {
                text: terms.join(" "),
                filters,
                viewer: Viewer {
                    user: *rng.pick(&cat.users),
                    teams: vec![rng.pick(&cat.vocab.teams).clone()],
                    is_admin: rng.chance(0.1),
                },
                limit: 20,
                cursor: None,
            }
        })
        .collect()
}

fn proc_status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l[key.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "n/a".into())
}

/// CPU time (user + system) used so far by this thread (`thread`) or process, from
/// `/proc` (clock ticks of 10 ms: only meaningful over many queries). Lets the report
/// separate the engine's cost from waiting for a CPU on a shared machine.
fn cpu_time(thread: bool) -> Option<Duration> {
    let path = if thread {
        "/proc/thread-self/stat"
    } else {
        "/proc/self/stat"
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn search_bench(args: &SearchArgs) -> anyhow::Result<()> {
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos();
            (
                std::env::temp_dir().join(format!("wharf-bench-{}-{nanos}", std::process::id())),
                true,
            )
        }
    };
    let result = run_search_bench(args, &dir);
    if temporary {
        std::fs::remove_dir_all(&dir).ok();
    }
    result
}

fn run_search_bench(args: &SearchArgs, dir: &Path) -> anyhow::Result<()> {
    println!(
        "catalog: {} products, {} tables, ~{} columns/table, seed {}",
        args.products, args.tables, args.columns, args.seed
    );
    let cat = Catalog::new(args);
    let index = CatalogIndex::open(dir).context("opening index")?;

    if args.reuse && index.indexed_seq() > 0 {
        println!(
            "index build:        skipped (--reuse), {} segment(s)",
            index.segment_count()
        );
    } else {
        let started = Instant::now();
        index.rebuild((0..args.products).map(|i| cat.product(i)), 1)?;
        let build = started.elapsed();
        println!(
            "index build:        {:.1} s (generation + indexing + merge to {} segment(s))",
            build.as_secs_f64(),
            index.segment_count()
        );
    }
    println!(
        "index size on disk: {:.0} MiB",
        dir_size(dir) as f64 / (1 << 20) as f64
    );
    println!(
        "memory after build: VmHWM {}, VmRSS {}, RssAnon {}, RssFile {}",
        proc_status("VmHWM:"),
        proc_status("VmRSS:"),
        proc_status("RssAnon:"),
        proc_status("RssFile:")
    );

    // Serving memory is measured from here: reset the peak-RSS mark (Linux `clear_refs` 5).
    let reset_peak = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let queries = make_queries(&cat, args.queries, args.seed);
    // Warm-up pass (page cache, lazily opened structures), then the timed pass.
    let mut total_hits = 0usize;
    for q in &queries {
        total_hits += index.search(q)?.hits.len();
    }
    let mut lat = Vec::with_capacity(queries.len());
    let mut empty = 0;
    let cpu_before = cpu_time(true);
    for q in &queries {
        let t = Instant::now();
        let page = index.search(q)?;
        lat.push(t.elapsed());
        empty += usize::from(page.hits.is_empty());
    }
    let cpu_single = cpu_time(true)
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    let wall_single: Duration = lat.iter().sum();
    lat.sort();
    println!(
        "queries: {} (avg {:.1} hits/page, {} with no hit)",
        queries.len(),
        total_hits as f64 / queries.len() as f64,
        empty
    );
    println!(
        "latency, whole page, 1 thread: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.95)),
        ms(percentile(&lat, 0.99)),
        ms(lat[lat.len() - 1])
    );
    if args.verbose {
        let mut timed: Vec<(Duration, &SearchQuery)> = Vec::new();
        for q in &queries {
            let t = Instant::now();
            index.search(q)?;
            timed.push((t.elapsed(), q));
        }
        timed.sort_by_key(|b| std::cmp::Reverse(b.0));
        for (d, q) in timed.iter().take(15) {
            println!(
                "  slow: {:.2} ms {:?} filters={:?} admin={}",
                ms(*d),
                q.text,
                q.filters,
                q.viewer.is_admin
            );
        }
    }

    if let Some(cpu) = cpu_single {
        println!(
            "  mean per page: {:.2} ms wall, {:.2} ms CPU (the gap is time spent waiting for a core)",
            ms(wall_single) / queries.len() as f64,
            ms(cpu) / queries.len() as f64
        );
    }

    let passes = 3;
    let cpu_before = cpu_time(false);
    let t = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..args.threads)
            .map(|thread| {
                let (index, queries) = (&index, &queries);
                s.spawn(move || -> anyhow::Result<()> {
                    for pass in 0..passes {
                        for k in 0..queries.len() {
                            let q = &queries[(k * 7 + thread * 500 + pass * 131) % queries.len()];
                            index.search(q)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("benchmark thread panicked"))??;
        }
        Ok(())
    })?;
    let pages = (args.threads * passes * queries.len()) as f64;
    let wall = t.elapsed();
    println!(
        "throughput, {} threads: {:.0} pages/s",
        args.threads,
        pages / wall.as_secs_f64()
    );
    if let Some(cpu) = cpu_time(false)
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b))
    {
        println!(
            "  process CPU during the test: {:.2} of {} cores busy ({:.2} ms CPU per page)",
            cpu.as_secs_f64() / wall.as_secs_f64(),
            args.threads,
            ms(cpu) / pages
        );
    }

    let mut edits = Vec::new();
    let mut rng = Rng::new(args.seed ^ 0xed17);
    for n in 0..args.edits {
        let mut p = cat.product(rng.below(args.products));
        let token = format!("zqedit{n}");
        p.name = format!("{} {token}", p.name);
        p.is_draft = false;
        let viewer = Viewer {
            user: Uuid::nil(),
            teams: vec![],
            is_admin: false,
        };
        let q = SearchQuery {
            text: token,
            filters: Filters::default(),
            viewer,
            limit: 20,
            cursor: None,
        };
        let t = Instant::now();
        index.apply(std::slice::from_ref(&p), &[], 2 + i64::from(n))?;
        while index.search(&q)?.total == 0 {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(30),
                "edit never became searchable"
            );
        }
        edits.push(t.elapsed());
    }
    edits.sort();
    if let Some(max) = edits.last() {
        println!(
            "edit -> searchable (apply one product + commit + reload + search): p50 {:.1} ms, max {:.1} ms ({} samples)",
            ms(percentile(&edits, 0.5)),
            ms(*max),
            edits.len()
        );
    }
    println!(
        "peak RSS while serving ({}): VmHWM {}; now VmRSS {} (RssAnon {}, RssFile {})",
        if reset_peak {
            "since the end of the build"
        } else {
            "whole run: could not reset the mark"
        },
        proc_status("VmHWM:"),
        proc_status("VmRSS:"),
        proc_status("RssAnon:"),
        proc_status("RssFile:")
    );
    Ok(())
}

/// The catalog's queries as the API's query strings.
fn query_string(query: &SearchQuery) -> String {
    let mut pairs = vec![("q".to_owned(), query.text.clone())];
    let f = &query.filters;
    for (key, values) in [
        ("domain", &f.domain),
        ("classification", &f.classification),
        ("tag", &f.tag),
        ("owner_team", &f.owner_team),
        ("environment", &f.environment),
        ("kind", &f.kind),
    ] {
        pairs.extend(values.iter().map(|v| (key.to_owned(), v.clone())));
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn http_bench(args: &SearchArgs) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("wharf-bench-http-{}", std::process::id()))
    });
    let cat = Catalog::new(args);
    let index = CatalogIndex::open(&dir).context("opening index")?;
    if !(args.reuse && index.indexed_seq() > 0) {
        let started = Instant::now();
        index.rebuild((0..args.products).map(|i| cat.product(i)), 1)?;
        println!(
            "index build: {:.1} s ({} tables)",
            started.elapsed().as_secs_f64(),
            args.tables
        );
    }
    let queries: Vec<String> = make_queries(&cat, args.queries, args.seed)
        .iter()
        .map(query_string)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let served = http::serve(std::sync::Arc::new(index)).await?;
        http::search(&served, &queries).await;
        http::product_page(&served).await
    });
    if args.dir.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    result
}
