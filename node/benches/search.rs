//! Full-text search at scale (`crate::search`): a store of N posts, cases,
//! comments and polls with clinical text, built twice through the ingest
//! path (`ingest::ingest`, batches of 256, one commit and fsync each):
//! once without a search index and once with the node's indexer told of
//! each batch as the node's observer tells it (its own thread, commits
//! about once a second); then the index's size against the store's, and
//! the time of searches of one to three words (the API's work: the index
//! query, each hit checked against the store, snippets).
//!
//! ```text
//! cargo bench -p curbside-node --bench search
//! CURBSIDE_BENCH_EVENTS=100000 cargo bench -p curbside-node --bench search
//! ```
//!
//! `CURBSIDE_BENCH_EVENTS` (default 1,000,000) is N; `CURBSIDE_BENCH_QUERIES`
//! (default 2,000) the searches timed. Text is drawn from a vocabulary of
//! clinical words, codes and abbreviations with a skewed (Zipf-like)
//! frequency, so that common words match a large share of the events (the
//! slow queries) and rare ones few. Progress goes to stderr, results to
//! stdout.
//!
//! Besides the wall-clock rates, it reports the CPU time each build took
//! per event (the process's, from `getrusage`) and, on Linux, the indexing
//! threads' share of it by thread (from `/proc/self/task`): figures that a
//! machine busy with other work disturbs far less than the rates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "shared/audit_log.rs"]
mod audit_log;

use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_node::ingest::{Incoming, IngestConfig, ingest};
use curbside_node::search::query::{Filters, SearchQuery};
use curbside_node::search::{Indexer, SearchIndex};
use curbside_node::store::Store;
use curbside_protocol::testkit::{Federation, SplitMix64, key};
use curbside_protocol::{
    AgeBand, Body, Case, Comment, Event, EventId, HubId, Poll, Post, SecretKey, Sex, SignedEvent,
    Tag, Timestamp, TrustView as _,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 256;
const AUTHORS: usize = 200;

/// Clinical words, most common first (drawn with a Zipf-like skew).
const WORDS: &[&str] = &[
    "patient",
    "pain",
    "history",
    "normal",
    "chest",
    "acute",
    "blood",
    "pressure",
    "left",
    "right",
    "chronic",
    "treatment",
    "started",
    "days",
    "weeks",
    "elevated",
    "ECG",
    "troponin",
    "renal",
    "function",
    "CKD",
    "MI",
    "AF",
    "heart",
    "failure",
    "dyspnoea",
    "fever",
    "cough",
    "abdominal",
    "nausea",
    "vomiting",
    "headache",
    "syncope",
    "palpitations",
    "oedema",
    "rash",
    "post-op",
    "anticoagulation",
    "warfarin",
    "apixaban",
    "metformin",
    "insulin",
    "HbA1c",
    "eGFR",
    "creatinine",
    "potassium",
    "sodium",
    "hyponatraemia",
    "hypokalaemia",
    "magnesium",
    "thiazide",
    "statin",
    "aspirin",
    "clopidogrel",
    "stent",
    "angiogram",
    "echocardiogram",
    "hypertrophy",
    "septal",
    "murmur",
    "stenosis",
    "regurgitation",
    "I21.4",
    "I48.0",
    "E11.9",
    "N18.3",
    "BRCA1",
    "BRCA2",
    "EGFR",
    "ALK",
    "PD-L1",
    "biopsy",
    "carcinoma",
    "metastatic",
    "chemotherapy",
    "immunotherapy",
    "radiotherapy",
    "lymphoma",
    "leukaemia",
    "anaemia",
    "ferritin",
    "B12",
    "folate",
    "thyroid",
    "TSH",
    "T4",
    "cortisol",
    "ACTH",
    "prolactin",
    "pituitary",
    "adrenal",
    "lupus",
    "vasculitis",
    "ANCA",
    "ANA",
    "CRP",
    "ESR",
    "sepsis",
    "lactate",
    "antibiotics",
    "meropenem",
    "vancomycin",
    "MRSA",
    "C.difficile",
    "pneumonia",
    "COPD",
    "asthma",
    "spirometry",
    "PE",
    "DVT",
    "D-dimer",
    "CTPA",
    "haemoptysis",
    "seizure",
    "stroke",
    "TIA",
    "MRI",
    "CT",
    "lumbar",
    "puncture",
    "meningitis",
    "encephalitis",
    "dementia",
    "delirium",
    "depression",
    "anxiety",
    "psychosis",
    "lithium",
    "SSRI",
    "paediatric",
    "neonatal",
    "jaundice",
    "bilirubin",
    "hepatitis",
    "cirrhosis",
    "ascites",
    "varices",
    "endoscopy",
    "colonoscopy",
    "Crohn",
    "colitis",
    "coeliac",
    "pancreatitis",
    "amylase",
    "lipase",
    "gallstones",
    "cholecystitis",
    "appendicitis",
    "hernia",
    "fracture",
    "osteoporosis",
    "DEXA",
    "gout",
    "urate",
    "arthritis",
    "psoriasis",
    "eczema",
    "melanoma",
    "dermatoscopy",
    "pregnancy",
    "pre-eclampsia",
    "gestational",
    "postpartum",
    "contraception",
];

/// A word, skewed towards the start of [`WORDS`].
fn word(rng: &mut SplitMix64) -> &'static str {
    // The square of a uniform draw leans towards 0: a Zipf-like skew.
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    WORDS[((u * u) * WORDS.len() as f64) as usize % WORDS.len()]
}

fn sentence(rng: &mut SplitMix64, words: usize) -> String {
    (0..words).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().map_or(default, |v| v.replace('_', "").parse().expect(name))
}

fn progress(start: Instant, what: &str) {
    eprintln!("[{:>7.1}s] {what}", start.elapsed().as_secs_f64());
}

/// The trust events, then N content events (unsigned), 1 ms apart.
fn corpus(
    fed: &mut Federation,
    n: usize,
) -> (Vec<SignedEvent>, Vec<(Event, usize)>, Vec<SecretKey>) {
    let verifier = fed.verifier().public();
    let charter = fed.charter(&verifier, &["GB"]);
    fed.accept(&charter);
    let mut trust = vec![charter];
    let specialties = ["cardiology", "oncology", "general-practice", "endocrinology"];
    let doctors: Vec<SecretKey> = (0..AUTHORS).map(|i| key(&format!("search-dr-{i}"))).collect();
    for (i, dr) in doctors.iter().enumerate() {
        let att = fed.attestation(dr, &format!("dr-{i}"), &[specialties[i % 4]], "GB");
        fed.accept(&att);
        trust.push(att);
    }
    let network = fed.network();
    let hubs: Vec<HubId> =
        curbside_protocol::DEFAULT_HUBS.iter().map(|(h, _)| HubId::new(*h).unwrap()).collect();
    let mut rng = SplitMix64(0x5ea7c4);
    let mut at = fed.tick().plus_millis(10);
    let mut roots: Vec<EventId> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let author = rng.below(AUTHORS);
        let hub = hubs[rng.below(hubs.len())].clone();
        let kind = rng.below(100);
        let body = if kind < 60 && !roots.is_empty() {
            let parent = roots[roots.len() - 1 - rng.below(roots.len().min(500))];
            Body::Comment(Comment {
                parent,
                body: {
                    let words = 15 + rng.below(40);
                    sentence(&mut rng, words)
                },
            })
        } else if kind < 80 {
            Body::Post(Post {
                hub,
                title: sentence(&mut rng, 6),
                body: {
                    let words = 30 + rng.below(60);
                    sentence(&mut rng, words)
                },
            })
        } else if kind < 97 {
            Body::Case(Case {
                hub,
                title: sentence(&mut rng, 6),
                age: AgeBand::ALL[rng.below(AgeBand::ALL.len())],
                sex: if rng.below(2) == 0 { Sex::Female } else { Sex::Male },
                presentation: sentence(&mut rng, 15),
                history: sentence(&mut rng, 20),
                findings: sentence(&mut rng, 30),
                question: sentence(&mut rng, 10),
                tags: vec![Tag::new(specialties[rng.below(4)]).unwrap()],
            })
        } else {
            Body::Poll(Poll {
                hub,
                question: sentence(&mut rng, 8),
                // Distinct, as the protocol requires, whatever the draw.
                options: vec![
                    format!("yes: {}", sentence(&mut rng, 3)),
                    format!("no: {}", sentence(&mut rng, 3)),
                ],
                closes_at: at.plus_days(30),
                eligible: vec![],
            })
        };
        let event = Event::new(network, doctors[author].public(), at, body);
        if !matches!(event.body, Body::Comment(_)) {
            roots.push(event.id());
        }
        at = at.plus_millis(1);
        out.push((event, author));
    }
    (trust, out, doctors)
}

/// Signs on every core, in order.
fn sign_all(items: Vec<(Event, usize)>, doctors: &[SecretKey]) -> Vec<SignedEvent> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = items.len().div_ceil(threads).max(1);
    let chunks: Vec<Vec<(Event, usize)>> = {
        let mut rest = items;
        let mut chunks = Vec::new();
        while rest.len() > per {
            let tail = rest.split_off(per);
            chunks.push(rest);
            rest = tail;
        }
        chunks.push(rest);
        chunks
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    c.into_iter().map(|(e, a)| e.sign(&doctors[a]).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Ingests `events` in batches; with `indexer`, tells it of each batch as
/// the node's observer does. The time taken (with the indexer's last
/// commit).
fn build(
    store: &Store,
    events: &[SignedEvent],
    now: Timestamp,
    indexer: Option<&Indexer>,
) -> Duration {
    let started = Instant::now();
    for batch in events.chunks(BATCH) {
        let incoming = batch.iter().cloned().map(Incoming::when_made).collect();
        let done = ingest(store, &IngestConfig::default(), incoming, now).unwrap();
        if let Some(bad) = done.outcomes.iter().find(|o| !o.is_stored()) {
            panic!("an event was not stored: {bad:?}");
        }
        if let Some(indexer) = indexer {
            indexer.stored(done.stored, store.commits_made());
        }
    }
    if let Some(indexer) = indexer {
        indexer.commit_now();
    }
    started.elapsed()
}

/// The trust events, and the attestations logged.
fn trust_into(store: &Store, fed: &Federation, trust: &[SignedEvent], now: Timestamp) {
    build(store, trust, now, None);
    let attestations: Vec<SignedEvent> =
        trust.iter().filter(|e| matches!(e.body(), Body::Attestation(_))).cloned().collect();
    audit_log::log_entries(store, fed.verifier(), &attestations, now, |head| {
        build(store, std::slice::from_ref(head), now, None);
    });
}

/// CPU time (user and system) this process has used so far.
fn cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let t = |v: nix::sys::time::TimeVal| {
        Duration::new(v.tv_sec() as u64, 0) + Duration::from_micros(v.tv_usec() as u64)
    };
    t(u.user_time()) + t(u.system_time())
}

/// CPU time of the live threads whose name starts with each prefix (from
/// `/proc/self/task`, in the kernel's USER_HZ ticks, 100 a second on
/// Linux); empty where `/proc` is not there.
fn thread_cpu(prefixes: &[&str]) -> Vec<Duration> {
    let mut out = vec![Duration::ZERO; prefixes.len()];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let Some(i) = prefixes.iter().position(|p| comm.starts_with(p)) else { continue };
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The fields after the name (which may hold spaces) in parentheses:
        // utime and stime are the 12th and 13th of them.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = [11, 12].iter().filter_map(|&f| fields.get(f)?.parse::<u64>().ok()).sum();
        out[i] += Duration::from_millis(ticks * 10);
    }
    out
}

/// Threads that do the indexing: the indexer's own, Tantivy's indexing
/// thread, its merges, its document store's compressor.
const INDEXING_THREADS: [&str; 4] = ["curbside-search", "thrd-tantivy", "merge_thread", "docstore"];

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let start = Instant::now();
    let n = env_usize("CURBSIDE_BENCH_EVENTS", 1_000_000);
    let queries = env_usize("CURBSIDE_BENCH_QUERIES", 2_000);
    let mut fed = Federation::new();
    let (trust, content, doctors) = corpus(&mut fed, n);
    progress(start, &format!("signing {n} events"));
    let events = sign_all(content, &doctors);
    let now = events.last().map_or(fed.now(), |e| e.created_at()).plus_millis(1000);
    let dir =
        tempfile::tempdir_in(std::env::var("CURBSIDE_BENCH_DIR").unwrap_or(".".into())).unwrap();

    progress(start, "building the store without an index");
    let plain = Store::open(&dir.path().join("plain"), fed.view().genesis().clone()).unwrap();
    trust_into(&plain, &fed, &trust, now);
    let cpu_before = cpu();
    let without = build(&plain, &events, now, None);
    let cpu_without = cpu() - cpu_before;
    let plain_bytes = plain.counts().unwrap().bytes_on_disk;
    drop(plain);

    progress(start, "building the store with the index");
    let store =
        Arc::new(Store::open(&dir.path().join("indexed"), fed.view().genesis().clone()).unwrap());
    trust_into(&store, &fed, &trust, now);
    let search_dir = dir.path().join("search");
    let (index, _) = SearchIndex::open(&search_dir, &store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), store.clone()).unwrap();
    let threads_before = thread_cpu(&INDEXING_THREADS);
    let cpu_before = cpu();
    let with = build(&store, &events, now, Some(&indexer));
    let cpu_with = cpu() - cpu_before;
    // Before the indexer's thread ends (its time goes with it).
    let threads: Vec<Duration> = thread_cpu(&INDEXING_THREADS)
        .into_iter()
        .zip(threads_before.into_iter().chain(std::iter::repeat(Duration::ZERO)))
        .map(|(after, before)| after.saturating_sub(before))
        .collect();
    drop(indexer);
    thread.join();
    let store_bytes = store.counts().unwrap().bytes_on_disk;
    let index_bytes = index.bytes_on_disk();

    progress(start, &format!("{queries} searches"));
    let mut rng = SplitMix64(0xfeed);
    let mut times = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for _ in 0..queries {
        let words = 1 + rng.below(3);
        let text = (0..words).map(|_| WORDS[rng.below(WORDS.len())]).collect::<Vec<_>>().join(" ");
        let q = SearchQuery::new(&text, &Filters::default(), None, None).unwrap();
        let t = Instant::now();
        let page = index.search(&store, &q).unwrap();
        times.push(t.elapsed());
        hits += page.hits.len();
    }
    times.sort();
    progress(start, "done");

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "search benchmark: {n} events ({} documents), {queries} queries of 1-3 words",
        index.documents()
    );
    println!(
        "ingest without index: {:>9.0} events/s   with index: {:>9.0} events/s   ratio {:.0}%",
        rate(without),
        rate(with),
        100.0 * without.as_secs_f64() / with.as_secs_f64()
    );
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "cpu per event: without index {:.1} µs   with index {:.1} µs   (+{:.0}%)",
        per_event(cpu_without),
        per_event(cpu_with),
        100.0 * (cpu_with.as_secs_f64() / cpu_without.as_secs_f64() - 1.0)
    );
    if !threads.is_empty() {
        let parts: Vec<String> = INDEXING_THREADS
            .iter()
            .zip(&threads)
            .map(|(name, d)| format!("{name} {:.1}", per_event(*d)))
            .collect();
        println!(
            "indexing threads, cpu per event (µs): {} (total {:.1})",
            parts.join(", "),
            per_event(threads.iter().sum())
        );
    }
    println!(
        "store {:.1} MiB (without index {:.1} MiB), index {:.1} MiB: {:.0}% of the store",
        store_bytes as f64 / 1048576.0,
        plain_bytes as f64 / 1048576.0,
        index_bytes as f64 / 1048576.0,
        100.0 * index_bytes as f64 / store_bytes as f64
    );
    println!(
        "search: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({:.1} hits a page)",
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.9)),
        ms(quantile(&times, 0.99)),
        ms(*times.last().unwrap()),
        hits as f64 / queries as f64
    );
}
