//! For regulators: `audit verify` (every verifier's log, as every named
//! node shows it, checked by `protocol::audit`) and `audit open` (a
//! licence opening against an attestation's commitment).

mod fetch;
pub(super) mod licences;
pub(super) mod list;
mod print;
mod register;
mod state;

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::audit::{
    Auditor, Finding, FindingCode, FindingEvidence, LogReport, Options, VerifierReport,
};
use curbside_protocol::{
    Attestation, Body, Digest, EventId, Genesis, LicenceOpening, NetworkId, PublicKey, SignedEvent,
    Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, parse_event_id};
use crate::args::{AuditOpenArgs, AuditVerifyArgs};
use crate::client::{Client, ClientError, normalize_url};
use crate::error::Refusal;
use crate::output::kv;
use state::State;

/// Logs at least this long get a progress bar (on a terminal).
const PROGRESS_FROM: u64 = 5_000;

/// A node the audit reads.
struct Node {
    client: Client,
    /// The verifiers whose logs it lists.
    logs: Vec<fetch::LogListing>,
}

/// Where the genesis came from.
#[derive(Debug, Clone, Serialize)]
struct GenesisSource {
    /// `file`, `saved` (pinned under --home on an earlier run) or `node`.
    source: &'static str,
    /// The file or the node.
    from: String,
    /// Whether it was pinned by this run.
    pinned_now: bool,
}

fn unreachable(url: &str, e: &ClientError) -> Finding {
    Finding::new(
        FindingCode::NodeUnreachable,
        format!("{url} could not be audited: {e}"),
        FindingEvidence { node: Some(url.to_owned()), ..FindingEvidence::default() },
    )
}

/// The nodes named: `--node` after `audit verify` or `audit list` (any
/// number), else the global one.
fn node_urls(ctx: &Ctx, nodes: &[String]) -> anyhow::Result<Vec<String>> {
    let named = if nodes.is_empty() { vec![ctx.node_url(None)] } else { nodes.to_vec() };
    let mut urls = Vec::new();
    for url in named {
        let url = normalize_url(&url)?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    Ok(urls)
}

/// The nodes that answered, each with its genesis.
type Answered = Vec<(Client, Genesis)>;

/// Each node's genesis (which network is it?), and a `node_unreachable`
/// finding for each node that does not answer.
fn reach(urls: &[String]) -> anyhow::Result<(Answered, Vec<Finding>)> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut answered: Answered = Vec::new();
    for url in urls {
        let client = Client::new(url)?;
        match fetch::genesis(&client) {
            Ok(genesis) => answered.push((client, genesis)),
            Err(e) => findings.push(unreachable(url, &e)),
        }
    }
    Ok((answered, findings))
}

/// The genesis to audit against, and where it came from: `--genesis`,
/// else the one pinned under `--home`, else (on first use) the first
/// node's that answers.
fn choose_genesis(
    file: Option<&PathBuf>,
    state: Option<&State>,
    first_node: Option<(&str, &Genesis)>,
) -> anyhow::Result<Option<(Genesis, GenesisSource)>> {
    if let Some(path) = file {
        let genesis = curbside_node::datadir::read_genesis(path)
            .with_context(|| format!("reading the genesis {}", path.display()))?;
        if let Some(state) = state
            && state.network != genesis.network_id()
        {
            bail!(
                "{} is the genesis of network {}, but this --home audits network {} (pinned \
                 from {}): use another --home for another network",
                path.display(),
                genesis.network_id(),
                state.network,
                state.genesis_from
            );
        }
        let source = GenesisSource {
            source: "file",
            from: path.display().to_string(),
            pinned_now: state.is_none(),
        };
        return Ok(Some((genesis, source)));
    }
    if let Some(state) = state {
        let source =
            GenesisSource { source: "saved", from: state.genesis_from.clone(), pinned_now: false };
        return Ok(Some((state.genesis.clone(), source)));
    }
    Ok(first_node.map(|(url, genesis)| {
        (genesis.clone(), GenesisSource { source: "node", from: url.to_owned(), pinned_now: true })
    }))
}

/// `curbside audit verify`: reads every node's genesis, charters and the
/// logs it lists, judges each verifier's log across the nodes, saves the
/// heads accepted, and reports.
pub(crate) fn verify(ctx: &Ctx, args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let now = curbside_node::now();
    let only = args.verifier.as_deref().map(VerifierArg::parse).transpose()?;
    let urls = node_urls(ctx, &args.nodes)?;
    let state_path = state::path(&ctx.home);
    let mut saved = State::load(&state_path)?;

    // Every node: its genesis first (which network is it?).
    let (answered, mut findings) = reach(&urls)?;
    let first = answered.first().map(|(c, g)| (c.url(), g));
    let Some((genesis, source)) = choose_genesis(args.genesis.as_ref(), saved.as_ref(), first)?
    else {
        return finish_unreachable(ctx, &findings);
    };
    if saved.is_none() {
        let from = format!("{} {}", source.source, source.from);
        saved = Some(State::new(genesis.clone(), from, now));
    }

    let (nodes, trust) = read_nodes(answered, genesis.network_id(), &mut findings);
    let auditor = Auditor::new(genesis.clone(), fetch::union(trust), now);
    findings.extend(auditor.findings().iter().cloned());
    reachable_quorum(args.quorum, &auditor)?;

    let listed: BTreeSet<PublicKey> =
        nodes.iter().flat_map(|n| n.logs.iter().map(|l| l.verifier)).collect();
    let verifiers: BTreeSet<PublicKey> = match only {
        Some(arg) => BTreeSet::from([arg.resolve(&listed, &auditor.chartered())?]),
        None => listed,
    };
    let show_progress = !ctx.out.json && std::io::stderr().is_terminal();
    let reports: Vec<VerifierReport> = verifiers
        .iter()
        .map(|verifier| {
            let previous = saved.as_ref().and_then(|s| s.previous(verifier));
            let options = Options { previous, quorum: None };
            let NodeLogs { logs, findings: failed, .. } =
                audit_verifier(&auditor, &nodes, verifier, &options, show_progress, false);
            let mut report = auditor.combine(verifier, logs, args.quorum);
            report.findings.extend(failed);
            report
        })
        .collect();

    let mut accepted: Vec<PublicKey> = Vec::new();
    if let Some(state) = saved.as_mut() {
        accepted = remember_accepted(state, &reports, now);
        state.save(&state_path)?;
    }
    let run = AuditRun { urls, nodes, genesis, source, reports, findings, state_path, accepted };
    emit(ctx, args, &run)
}

/// `--verifier`, if given: a whole key, or the first hex digits of one
/// (at least 8: the audit table shows 16), resolved once the nodes have
/// said which verifiers there are.
enum VerifierArg {
    Key(PublicKey),
    Prefix(String),
}

impl VerifierArg {
    fn parse(text: &str) -> anyhow::Result<VerifierArg> {
        let text = text.trim().to_ascii_lowercase();
        if let Ok(key) = text.parse() {
            return Ok(VerifierArg::Key(key));
        }
        if text.len() < 8 || text.len() > 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "--verifier {text:?} is not a node key: use the verifier's key, or its first \
                 8 hex characters or more (the audit table shows 16)"
            );
        }
        Ok(VerifierArg::Prefix(text))
    }

    /// The one verifier whose key starts with the prefix, among those the
    /// nodes list logs of and those chartered.
    fn resolve(
        self,
        listed: &BTreeSet<PublicKey>,
        chartered: &[PublicKey],
    ) -> anyhow::Result<PublicKey> {
        let prefix = match self {
            VerifierArg::Key(key) => return Ok(key),
            VerifierArg::Prefix(prefix) => prefix,
        };
        let known: BTreeSet<PublicKey> = listed.iter().chain(chartered).copied().collect();
        let matches: Vec<PublicKey> =
            known.into_iter().filter(|k| k.to_string().starts_with(&prefix)).collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => bail!(
                "no verifier's key starts with {prefix}: the nodes list logs of {}",
                if listed.is_empty() {
                    "no verifier".to_owned()
                } else {
                    listed.iter().map(PublicKey::short).collect::<Vec<_>>().join(", ")
                }
            ),
            several => bail!(
                "--verifier {prefix} could be any of {}: give more of the key",
                several.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Refuses a `--quorum` the network cannot give: a verifier's head is
/// cosigned by the network's other chartered nodes, so a network of `n`
/// chartered nodes gives a head at most `n - 1` cosigners, and a quorum
/// above that would report every healthy log `below_quorum`.
fn reachable_quorum(quorum: Option<usize>, auditor: &Auditor) -> anyhow::Result<()> {
    let Some(quorum) = quorum else { return Ok(()) };
    let nodes = auditor.chartered().len();
    let most = nodes.saturating_sub(1);
    if quorum > most {
        let suggestion = if most == 0 {
            "leave out --quorum".to_owned()
        } else {
            format!("use --quorum {most} or less")
        };
        bail!(
            "--quorum {quorum} cannot be reached: a verifier's head is cosigned by the network's \
             other chartered nodes, and the nodes read know {nodes} chartered node(s), so a head \
             can have at most {most} cosigner(s); {suggestion}"
        );
    }
    Ok(())
}

/// The charters every node of `network` holds and the logs it lists; a
/// node of another network, or one that fails to answer, is a finding.
fn read_nodes(
    answered: Vec<(Client, Genesis)>,
    network: NetworkId,
    findings: &mut Vec<Finding>,
) -> (Vec<Node>, Vec<SignedEvent>) {
    let mut nodes: Vec<Node> = Vec::new();
    let mut trust: Vec<SignedEvent> = Vec::new();
    for (client, theirs) in answered {
        let url = client.url().to_owned();
        if theirs.network_id() != network {
            findings.push(Finding::new(
                FindingCode::WrongNetwork,
                format!(
                    "{url} serves network {} ({:?}), not the network audited ({network})",
                    theirs.network_id(),
                    theirs.name
                ),
                FindingEvidence { node: Some(url), ..FindingEvidence::default() },
            ));
            continue;
        }
        match fetch::charters(&client).and_then(|c| Ok((c, fetch::logs(&client)?))) {
            Ok((charters, logs)) => {
                trust.extend(charters);
                nodes.push(Node { client, logs });
            }
            Err(e) => findings.push(unreachable(&url, &e)),
        }
    }
    (nodes, trust)
}

/// One verifier's log as each node showed it, judged node by node, and the
/// nodes that could not be read; when collected, what each node's leaves
/// say (by node URL).
struct NodeLogs {
    logs: Vec<LogReport>,
    findings: Vec<Finding>,
    entries: Vec<(String, Vec<list::Entry>)>,
}

/// Fetches and checks `verifier`'s log from every node (on as many threads
/// as there are cores), a progress bar per node on a terminal.
fn audit_verifier(
    auditor: &Auditor,
    nodes: &[Node],
    verifier: &PublicKey,
    options: &Options,
    show_progress: bool,
    collect: bool,
) -> NodeLogs {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let reading = fetch::Reading { workers, collect };
    let mut logs: Vec<LogReport> = Vec::new();
    let mut failed: Vec<Finding> = Vec::new();
    let mut entries = Vec::new();
    for node in nodes {
        let url = node.client.url();
        if !node.logs.iter().any(|l| l.verifier == *verifier) {
            // It holds nothing of this log: behind, not wrong.
            logs.push(auditor.audit_log(url, verifier, 0, vec![], vec![], options));
            continue;
        }
        let bar = progress::Bar::new(show_progress, verifier, url);
        let result = fetch::log(
            &node.client,
            auditor,
            verifier,
            options,
            reading,
            &|n| bar.inc(n),
            &mut |size| bar.start(size),
        );
        bar.finish();
        match result {
            Ok(read) => {
                logs.push(read.report);
                if collect {
                    entries.push((url.to_owned(), read.entries));
                }
            }
            Err(e) => failed.push(unreachable(url, &e)),
        }
    }
    NodeLogs { logs, findings: failed, entries }
}

/// Remembers the heads accepted: those of verifiers with no finding that
/// extend what was seen before. Returns whose.
fn remember_accepted(
    state: &mut State,
    reports: &[VerifierReport],
    now: Timestamp,
) -> Vec<PublicKey> {
    let mut accepted: Vec<PublicKey> = Vec::new();
    for report in reports {
        let Some(head) = report.latest else { continue };
        if !report.findings.is_empty()
            || state.previous(&report.verifier).is_some_and(|p| p.size > head.size)
        {
            continue;
        }
        let shown_by = report
            .nodes
            .iter()
            .filter(|n| n.latest.map(|l| l.id) == Some(head.id))
            .map(|n| n.node.clone())
            .collect();
        state.accept(&report.verifier, head, shown_by, now);
        accepted.push(report.verifier);
    }
    accepted
}

/// Everything one `curbside audit verify` found, to report.
struct AuditRun {
    urls: Vec<String>,
    /// The nodes read.
    nodes: Vec<Node>,
    genesis: Genesis,
    source: GenesisSource,
    reports: Vec<VerifierReport>,
    /// Findings about no one verifier's log.
    findings: Vec<Finding>,
    state_path: PathBuf,
    /// Verifiers whose latest head was saved.
    accepted: Vec<PublicKey>,
}

/// Prints `run` (as JSON, or as text) and exits 1 if anything was found.
fn emit(ctx: &Ctx, args: &AuditVerifyArgs, run: &AuditRun) -> anyhow::Result<ExitCode> {
    let AuditRun { urls, nodes, genesis, source, reports, findings, state_path, accepted } = run;
    let network = genesis.network_id();
    let total = findings.len() + reports.iter().map(|r| r.findings.len()).sum::<usize>();
    let node_list: Vec<serde_json::Value> = urls
        .iter()
        .map(|u| {
            let read = nodes.iter().any(|n| n.client.url() == u);
            json!({ "node": u, "read": read })
        })
        .collect();
    ctx.out.emit(
        &json!({
            "network": network,
            "network_name": genesis.name,
            "genesis": source,
            "nodes": node_list,
            "quorum": args.quorum,
            "verifiers": reports,
            "findings": findings,
            "finding_count": total,
            "state": { "path": state_path, "saved": accepted },
        }),
        || {
            print::text(&print::Run {
                network: &network,
                name: &genesis.name,
                source,
                nodes: urls.len(),
                read: nodes.len(),
                quorum: args.quorum,
                reports,
                findings,
                state_path,
                saved: accepted.len(),
                total,
            })
        },
    )?;
    Ok(if total == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// No node answered and no genesis is known: nothing to audit.
fn finish_unreachable(ctx: &Ctx, findings: &[Finding]) -> anyhow::Result<ExitCode> {
    ctx.out.emit(
        &json!({ "verifiers": [], "findings": findings, "finding_count": findings.len() }),
        || {
            let mut text = String::from("No node could be read, and no genesis is known yet:\n");
            for f in findings {
                text.push_str(&format!("  {}: {}\n", f.code, f.message));
            }
            text.push_str(
                "Name a node with --node URL (and the network's genesis with --genesis FILE).\n",
            );
            text
        },
    )?;
    Ok(ExitCode::from(1))
}

#[derive(Deserialize)]
struct TrustEvent {
    event: SignedEvent,
    /// Revocations of it, as the node holds them (each checked here).
    #[serde(default)]
    revocations: Vec<SignedEvent>,
}

/// An attestation as a node served it (`GET /v1/audit/events/ID`), its
/// id and signature checked, with its earliest revocation that counts.
pub(super) struct Served {
    pub(super) event: SignedEvent,
    pub(super) attestation: Attestation,
    /// When it was revoked and why: only a revocation signed by its issuer
    /// (or a root), naming it, counts — the node's word alone does not.
    pub(super) revoked: Option<(Timestamp, String)>,
}

/// Why an attestation could not be taken from a node.
#[derive(Debug)]
pub(super) enum NotServed {
    /// The node did not answer as asked (a 404 among them).
    Client(ClientError),
    /// It answered with something that is not that attestation.
    Invalid(String),
}

impl From<NotServed> for anyhow::Error {
    fn from(e: NotServed) -> Self {
        match e {
            NotServed::Client(e) => e.into(),
            NotServed::Invalid(message) => anyhow::anyhow!(message),
        }
    }
}

/// Fetches attestation `id` from `client` and checks it is that signed
/// attestation; `roots` (called only if it has revocations) names the
/// network's roots, whose revocations count too.
pub(super) fn served_attestation(
    client: &Client,
    id: EventId,
    roots: impl FnOnce() -> Vec<PublicKey>,
) -> Result<Served, NotServed> {
    let answer: TrustEvent =
        client.get(&format!("/v1/audit/events/{id}"), None).map_err(NotServed::Client)?;
    let event = answer.event;
    if event.id() != id {
        return Err(NotServed::Invalid(format!(
            "{} answered with another event ({}) than the one asked for ({id})",
            client.url(),
            event.id()
        )));
    }
    if event.verify_signature().is_err() {
        return Err(NotServed::Invalid(format!(
            "the event {id} {} served does not carry a valid signature",
            client.url()
        )));
    }
    let Body::Attestation(attestation) = event.body() else {
        return Err(NotServed::Invalid(format!("{id} is a {}, not an attestation", event.kind())));
    };
    let attestation = attestation.clone();
    let roots = if answer.revocations.is_empty() { Vec::new() } else { roots() };
    let revoked = answer
        .revocations
        .iter()
        .filter(|r| r.verify_signature().is_ok() && r.event().network == event.event().network)
        .filter(|r| r.author() == event.author() || roots.contains(r.author()))
        .filter_map(|r| match r.body() {
            Body::Revocation(v) if v.target == id => Some((v.effective_at, v.reason.clone())),
            _ => None,
        })
        .min_by_key(|(at, _)| *at);
    Ok(Served { event, attestation, revoked })
}

/// `curbside audit open ATTESTATION_ID --licence L --salt S`.
pub(crate) fn open(ctx: &Ctx, args: &AuditOpenArgs) -> anyhow::Result<ExitCode> {
    let id = parse_event_id(&args.attestation_id, "ATTESTATION_ID")?;
    let salt: Digest = args.salt.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "--salt {:?} is not a salt: use the 64 hex characters `curbside reveal` printed",
            args.salt
        )
    })?;
    let licence = args.licence.trim();
    if licence.is_empty() {
        bail!("--licence must not be empty");
    }
    let client = ctx.client(args.node.node.as_deref())?;
    let Served { event, attestation, revoked: first_revoked } =
        served_attestation(&client, id, || {
            fetch::genesis(&client).map(|g| g.roots).unwrap_or_default()
        })?;
    let attestation = &attestation;
    let opening = LicenceOpening {
        salt,
        jurisdiction: attestation.jurisdiction.clone(),
        licence: licence.to_owned(),
    };
    let opens = opening.opens(attestation);
    ctx.out.emit(
        &json!({
            "attestation": id,
            "issuer": event.author(),
            "handle": attestation.handle,
            "jurisdiction": attestation.jurisdiction,
            "commitment": attestation.licence_commitment,
            "valid_until": attestation.valid_until,
            "revoked": first_revoked.as_ref().map(|(at, reason)| json!({ "effective_at": at, "reason": reason })),
            "opens": opens,
        }),
        || {
            let standing = match &first_revoked {
                Some((at, reason)) => format!("REVOKED from {}: {reason}", crate::output::datetime(*at)),
                None => format!("not revoked; valid until {}", crate::output::datetime(attestation.valid_until)),
            };
            kv(&[
                ("attestation", id.to_string()),
                ("issuer", event.author().to_string()),
                ("handle", attestation.handle.to_string()),
                ("jurisdiction", attestation.jurisdiction.to_string()),
                ("standing", standing),
                ("commitment", attestation.licence_commitment.to_string()),
                (
                    "opening",
                    if opens {
                        format!(
                            "opens: licence {licence} in {} is the one attested",
                            attestation.jurisdiction
                        )
                    } else {
                        "does NOT open: another licence or salt".to_owned()
                    },
                ),
            ])
        },
    )?;
    if opens {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Refusal::Coded {
            code: "opening_mismatch".into(),
            message: format!(
                "licence {licence:?} with that salt does not open the commitment of attestation {id}"
            ),
        }
        .into())
    }
}

/// The progress bar of a long log: on a terminal only, never in `--json`.
mod progress {
    use curbside_protocol::PublicKey;
    use indicatif::{ProgressBar, ProgressStyle};

    pub(super) struct Bar {
        bar: Option<ProgressBar>,
    }

    impl Bar {
        pub(super) fn new(enabled: bool, verifier: &PublicKey, node: &str) -> Self {
            let bar = enabled.then(|| {
                let bar = ProgressBar::hidden();
                bar.set_message(format!("{} at {node}", verifier.short()));
                bar
            });
            Self { bar }
        }

        /// Shows the bar once the log's size is known, if it is long.
        pub(super) fn start(&self, leaves: u64) {
            let Some(bar) = &self.bar else { return };
            if leaves < super::PROGRESS_FROM {
                return;
            }
            bar.set_length(leaves);
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} leaves ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }

        pub(super) fn inc(&self, n: u64) {
            if let Some(bar) = &self.bar {
                bar.inc(n);
            }
        }

        pub(super) fn finish(&self) {
            if let Some(bar) = &self.bar {
                bar.finish_and_clear();
            }
        }
    }
}
