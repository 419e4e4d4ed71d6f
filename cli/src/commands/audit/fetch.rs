//! Reading a node's audit record over its API (`docs/API.md`, "Audit
//! logs"), and checking one verifier's log while it arrives: this thread
//! fetches pages of leaves while worker threads parse and check the pages
//! already fetched (`protocol::audit` is pure, so any thread can check any
//! run of heads or leaves); the runs are put together in order at the end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::mpsc;

use base64::Engine as _;
use curbside_protocol::audit::{
    Auditor, HeadBatch, LeafBatch, Options, ShownHead, ShownLeaf, ShownLog,
};
use curbside_protocol::{EventId, Genesis, NetworkId, PublicKey, SignedEvent};
use serde::Deserialize;

use super::list::Entry;
use crate::client::{Client, ClientError};

/// Leaves asked for per page (the API's largest page).
const PAGE: u64 = 1000;
/// Heads checked per run.
const HEAD_RUN: usize = 512;

/// The wire form of an event, decoded; `None` when absent or not an event.
fn decode(text: Option<&str>) -> Option<SignedEvent> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text?.as_bytes()).ok()?;
    SignedEvent::decode(&bytes).ok()
}

fn bad_answer(client: &Client, path: &str, detail: impl Into<String>) -> ClientError {
    ClientError::BadAnswer {
        url: client.url().to_owned(),
        path: path.to_owned(),
        detail: detail.into(),
    }
}

#[derive(Deserialize)]
struct GenesisAnswer {
    network: NetworkId,
    genesis: Genesis,
}

/// `GET /v1/genesis`: the node's genesis, checked to hash to the network
/// id it names.
pub(super) fn genesis(client: &Client) -> Result<Genesis, ClientError> {
    let path = "/v1/genesis";
    let answer: GenesisAnswer = client.get(path, None)?;
    answer.genesis.check().map_err(|e| bad_answer(client, path, e.to_string()))?;
    if answer.genesis.network_id() != answer.network {
        return Err(bad_answer(client, path, "the genesis does not hash to the network id given"));
    }
    Ok(answer.genesis)
}

#[derive(Deserialize)]
struct ChartersAnswer {
    charters: Vec<CharterJson>,
}

#[derive(Deserialize)]
struct CharterJson {
    event: Option<String>,
    #[serde(default)]
    revocations: Vec<Option<String>>,
}

/// `GET /v1/audit/charters`: every charter and charter revocation the
/// node holds (validated by the auditor, not trusted).
pub(super) fn charters(client: &Client) -> Result<Vec<SignedEvent>, ClientError> {
    let answer: ChartersAnswer = client.get("/v1/audit/charters", None)?;
    let mut events = Vec::new();
    for charter in answer.charters {
        events.extend(decode(charter.event.as_deref()));
        events.extend(charter.revocations.iter().filter_map(|r| decode(r.as_deref())));
    }
    Ok(events)
}

#[derive(Deserialize)]
struct LogsAnswer {
    logs: Vec<LogListing>,
}

/// One verifier's log in `GET /v1/audit/logs`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct LogListing {
    pub(super) verifier: PublicKey,
}

/// `GET /v1/audit/logs`: the verifiers whose logs the node holds.
pub(super) fn logs(client: &Client) -> Result<Vec<LogListing>, ClientError> {
    Ok(client.get::<LogsAnswer>("/v1/audit/logs", None)?.logs)
}

#[derive(Deserialize)]
struct HeadsAnswer {
    size: u64,
    heads: Vec<HeadJson>,
}

#[derive(Deserialize)]
struct HeadJson {
    event: Option<String>,
    #[serde(default)]
    cosignatures: Vec<CosignatureJson>,
}

#[derive(Deserialize)]
struct CosignatureJson {
    event: Option<String>,
}

#[derive(Deserialize)]
struct LeavesPage<'a> {
    #[serde(borrow)]
    leaves: Vec<LeafJson<'a>>,
}

/// A leaf, its event borrowed from the page's text (base64url has no
/// escapes), so that only its bytes are allocated.
#[derive(Deserialize)]
struct LeafJson<'a> {
    index: u64,
    id: EventId,
    #[serde(borrow)]
    event: Option<&'a str>,
}

/// Just the indexes of a page's leaves, without decoding the rest.
#[derive(Deserialize)]
struct PageIndexes {
    leaves: Vec<IndexOnly>,
}

/// Unknown fields are skipped without being kept.
#[derive(Deserialize)]
struct IndexOnly {
    index: u64,
}

enum Job {
    Heads(usize, Vec<ShownHead>),
    Leaves(usize, String),
}

/// A page of leaves checked, and what its leaves say (when collected);
/// or why the page could not be read.
type CheckedPage = Result<(LeafBatch, Vec<Entry>), String>;

enum Done {
    Heads(usize, HeadBatch),
    Leaves(usize, CheckedPage),
}

/// How a log is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    /// Threads that check pages.
    pub(super) workers: usize,
    /// Whether to keep what each attestation and revocation says
    /// (`audit list`), from the very leaves that are checked.
    pub(super) collect: bool,
}

/// A verifier's log as one node showed it, judged; with `collect`, what
/// its leaves say, in log order.
pub(super) struct Read {
    pub(super) report: curbside_protocol::audit::LogReport,
    pub(super) entries: Vec<Entry>,
}

/// Fetches `verifier`'s log from the node and checks it on `reading.workers`
/// threads; `progress` is told how many leaves each checked page held.
pub(super) fn log(
    client: &Client,
    auditor: &Auditor,
    verifier: &PublicKey,
    options: &Options,
    reading: Reading,
    progress: &(dyn Fn(u64) + Sync),
    on_size: &mut dyn FnMut(u64),
) -> Result<Read, ClientError> {
    let Reading { workers, collect } = reading;
    let (heads, largest, size) = shown_heads(client, verifier)?;
    // Leaves up to the largest head the node holds leaves for: beyond
    // the heads nothing is signed, beyond its size it has nothing.
    let target = largest.min(size);
    on_size(target);

    let leaves_path = format!("/v1/audit/logs/{verifier}/leaves");
    let (jobs, job_rx) = mpsc::sync_channel::<Job>(workers.max(1) * 2);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done) = mpsc::channel::<Done>();
    let (head_runs, leaf_runs, fetched) = std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            scope.spawn(move || work(auditor, verifier, collect, job_rx, done_tx, progress));
        }
        drop(done_tx);

        let mut head_jobs = 0;
        let mut rest = heads;
        while !rest.is_empty() {
            let run: Vec<ShownHead> = rest.drain(..rest.len().min(HEAD_RUN)).collect();
            if jobs.send(Job::Heads(head_jobs, run)).is_err() {
                break;
            }
            head_jobs += 1;
        }
        let fetched = fetch_pages(client, &leaves_path, target, &jobs);
        drop(jobs);

        let mut head_runs: Vec<(usize, HeadBatch)> = Vec::new();
        let mut leaf_runs: Vec<(usize, CheckedPage)> = Vec::new();
        for result in done {
            match result {
                Done::Heads(seq, batch) => head_runs.push((seq, batch)),
                Done::Leaves(seq, batch) => leaf_runs.push((seq, batch)),
            }
        }
        (head_runs, leaf_runs, fetched)
    });
    fetched?;
    let mut head_runs = head_runs;
    head_runs.sort_by_key(|(seq, _)| *seq);
    let mut leaf_runs = leaf_runs;
    leaf_runs.sort_by_key(|(seq, _)| *seq);
    let mut leaves = Vec::with_capacity(leaf_runs.len());
    let mut entries = Vec::new();
    for (_, run) in leaf_runs {
        let (batch, said) = run.map_err(|detail| bad_answer(client, &leaves_path, detail))?;
        leaves.push(batch);
        entries.extend(said);
    }
    let shown = ShownLog {
        node: client.url().to_owned(),
        verifier: *verifier,
        size,
        heads: head_runs.into_iter().map(|(_, run)| run).collect(),
        leaves,
    };
    Ok(Read { report: auditor.check_log(shown, options), entries })
}

/// The heads the node shows of `verifier`'s log (those with their event),
/// the largest size they sign, and how many leaves the node says it holds.
fn shown_heads(
    client: &Client,
    verifier: &PublicKey,
) -> Result<(Vec<ShownHead>, u64, u64), ClientError> {
    let heads_path = format!("/v1/audit/logs/{verifier}/heads");
    let text = client.get_text(&heads_path)?;
    let answer: HeadsAnswer =
        serde_json::from_str(&text).map_err(|e| bad_answer(client, &heads_path, e.to_string()))?;
    drop(text);
    let mut heads = Vec::with_capacity(answer.heads.len());
    let mut largest = 0;
    for head in answer.heads {
        // A head without its event is no signed statement: nothing to judge.
        let Some(event) = decode(head.event.as_deref()) else { continue };
        if let curbside_protocol::Body::TreeHead(h) = event.body() {
            largest = largest.max(h.size);
        }
        let cosignatures =
            head.cosignatures.iter().filter_map(|c| decode(c.event.as_deref())).collect();
        heads.push(ShownHead { event, cosignatures });
    }
    Ok((heads, largest, answer.size))
}

/// One checking thread: takes jobs until the sender is gone (or nobody
/// collects the results any more).
fn work(
    auditor: &Auditor,
    verifier: &PublicKey,
    collect: bool,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: mpsc::Sender<Done>,
    progress: &(dyn Fn(u64) + Sync),
) {
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = job else { break };
        let result = match job {
            Job::Heads(seq, heads) => Done::Heads(seq, auditor.check_heads(verifier, heads)),
            Job::Leaves(seq, text) => {
                Done::Leaves(seq, check_page(auditor, verifier, collect, &text, progress))
            }
        };
        if done.send(result).is_err() {
            break;
        }
    }
}

/// Fetches leaves `0..target` page by page, handing each page to the
/// workers; stops early if the node has fewer.
fn fetch_pages(
    client: &Client,
    path: &str,
    target: u64,
    jobs: &mpsc::SyncSender<Job>,
) -> Result<(), ClientError> {
    let mut start = 0;
    let mut seq = 0;
    while start < target {
        let end = target.min(start + PAGE);
        let text = client.get_text(&format!("{path}?start={start}&end={end}"))?;
        // Only the indexes here: the workers decode the rest.
        let page: PageIndexes =
            serde_json::from_str(&text).map_err(|e| bad_answer(client, path, e.to_string()))?;
        let Some(last) = page.leaves.last().map(|l| l.index) else { break };
        let n = page.leaves.len() as u64;
        if jobs.send(Job::Leaves(seq, text)).is_err() {
            break;
        }
        seq += 1;
        // Go on after the last index shown (a node that skips one must
        // not be shown it again on the next page), and always forward.
        start = last.saturating_add(1).max(start + n);
    }
    Ok(())
}

/// Parses one page of leaves and checks them; with `collect`, also what
/// each leaf's event says.
fn check_page(
    auditor: &Auditor,
    verifier: &PublicKey,
    collect: bool,
    text: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> CheckedPage {
    let page: LeavesPage = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let n = page.leaves.len() as u64;
    let leaves: Vec<ShownLeaf> = page
        .leaves
        .into_iter()
        .map(|l| ShownLeaf { index: l.index, id: l.id, event: decode(l.event) })
        .collect();
    let entries = if collect {
        leaves.iter().filter_map(|l| Entry::of(l.index, l.event.as_ref()?)).collect()
    } else {
        Vec::new()
    };
    let batch = auditor.check_leaves(verifier, leaves);
    progress(n);
    Ok((batch, entries))
}

/// The charters of several nodes, each once.
pub(super) fn union(events: impl IntoIterator<Item = SignedEvent>) -> Vec<SignedEvent> {
    let mut seen: HashMap<EventId, SignedEvent> = HashMap::new();
    for e in events {
        seen.entry(e.id()).or_insert(e);
    }
    let mut all: Vec<SignedEvent> = seen.into_values().collect();
    all.sort_by_key(|e| (e.created_at(), e.id()));
    all
}
