//! Step 10: the root revokes St James's charter. Its operator, struck off,
//! runs a doctored node that signs one more attestation, and the tree head
//! over it, dated a moment before the revocation. The other nodes refuse
//! both — a node judges a signer's authority when it receives an event,
//! not only at the date the signer chose — and the regulator's `curbside
//! audit verify` names the attestation in St James's own log: no witness
//! saw a head covering it before the charter ended.
//!
//! The demo plays the doctored node by writing to St James's store while
//! the node is stopped, with the node's own key and store code: what an
//! operator who changed the software could do. Everything else goes
//! through the nodes' APIs and the real `curbside audit verify`.

use anyhow::{Context as _, ensure};
use curbside_node::codes::Code;
use curbside_node::datadir::DataDir;
use curbside_node::ingest::{Incoming, IngestConfig, ingest};
use curbside_node::store::Store;
use curbside_node::store::audit::{CheckedHead, OwnRecords};
use curbside_protocol::{
    Attestation, AttestationRequest, Body, Event, Handle, LicenceOpening, Revocation, SecretKey,
    SignedEvent, Timestamp, TreeHead,
};
use serde_json::Value;

use super::audit::{json_of, run};
use super::cast::{RELAY, ST_JAMES, ST_MARYS};
use super::federation::LIMIT;
use super::report::Log;
use super::{Demo, Interrupted};

/// The handle the struck-off hospital attests after the fact.
const LATE_HANDLE: &str = "dr-after-the-fact";

/// The nodes that keep their charters, to which the struck-off node
/// offers what it forged.
const OTHERS: [usize; 2] = [ST_MARYS, RELAY];

/// Step 10.
pub(crate) fn struck_off(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let ended = charter_withdrawn(demo, log)?;
    let (attestation, head) = backdated_forgery(demo, log, ended)?;
    others_refuse(demo, log, &attestation, &head)?;
    regulator_finds_it(demo, log, &attestation)
}

/// The root revokes St James's charter from now, and the other nodes drop
/// it as a peer. Answers when the charter ended, which the forgery is
/// dated just before.
fn charter_withdrawn(demo: &Demo, log: &mut Log) -> anyhow::Result<Timestamp> {
    log.say(
        "The medical council, as the network's root, withdraws St James's charter: a \
         revocation effective from now, gossiped to every node. St Mary's and the relay drop \
         St James's as a peer.",
    );
    let charter = *demo.charters.get(ST_JAMES).context("St James's was never chartered")?;
    let ended = curbside_node::now();
    // Dated when it takes effect: signed a millisecond later, it would be
    // a retroactive revocation, which every node refuses.
    let revocation = demo.sign_at(
        &demo.root,
        ended,
        Body::Revocation(Revocation {
            target: charter,
            reason: "charter withdrawn by the medical council".into(),
            effective_at: ended,
        }),
    )?;
    let outcome = demo.node(ST_MARYS)?.submit(&revocation)?;
    ensure!(outcome.status() == "stored", "St Mary's did not store the revocation: {outcome:?}");
    let james = demo.node(ST_JAMES)?.key.to_string();
    log.wait("St Mary's and the relay hold the revocation and dropped St James's", LIMIT, || {
        for site in OTHERS {
            let node = demo.node(site)?;
            ensure!(node.has(&revocation.id())?, "{} lacks the revocation", node.site.short);
            ensure!(
                !node.admitted()?.contains(&james),
                "{} still admits St James's",
                node.site.short
            );
        }
        Ok(())
    })?;
    Ok(ended)
}

/// The struck-off operator's doctored node attests a new key and signs a
/// head over it, both dated a millisecond before `ended`, when its charter
/// still held.
fn backdated_forgery(
    demo: &mut Demo,
    log: &mut Log,
    ended: Timestamp,
) -> anyhow::Result<(SignedEvent, SignedEvent)> {
    log.say(&format!(
        "St James's operator, struck off, runs a doctored node: it signs an attestation of a \
         new key ({LATE_HANDLE}), and a tree head of its log over it, both dated a \
         millisecond before the revocation, when its charter still held, and appends them to its own \
         audit log."
    ));
    let late_key = SecretKey::generate();
    let dated = Timestamp::from_millis(ended.as_millis().saturating_sub(1));
    forge(demo, &late_key, dated)
}

/// The nodes still chartered refuse both forged events as signed under a
/// revoked charter, though they are dated before it ended: authority is
/// judged on receipt too.
fn others_refuse(
    demo: &Demo,
    log: &mut Log,
    attestation: &SignedEvent,
    head: &SignedEvent,
) -> anyhow::Result<()> {
    log.say(
        "It offers both to the other nodes, whose clocks say the revocation has already taken \
         effect. Each judges a signer's authority when it receives an event as well as at the \
         date the signer wrote on it.",
    );
    let refused: anyhow::Result<String> = (|| {
        for site in OTHERS {
            let node = demo.node(site)?;
            for (what, event) in [("attestation", attestation), ("tree head", head)] {
                let outcome = node.submit(event)?;
                ensure!(
                    outcome.code().map(Code::as_str) == Some("charter_revoked"),
                    "{} answered the {what} with {outcome:?}",
                    node.site.short
                );
                ensure!(!node.has(&event.id())?, "{} stored the {what}", node.site.short);
            }
        }
        Ok(String::new())
    })();
    log.check(
        "St Mary's and the relay refuse the backdated attestation and head (charter_revoked)",
        refused.map_err(|e| e.to_string()),
    )
}

/// The regulator's real `curbside audit verify` finds the forged
/// attestation in St James's own log, because no witness cosigned a head
/// over it while the charter held, and fails.
fn regulator_finds_it(demo: &Demo, log: &mut Log, attestation: &SignedEvent) -> anyhow::Result<()> {
    log.say(
        "The regulator audits again. St James's own node shows its log with the new leaf, and \
         the tree head over it checks: only the witnesses give it away. Every earlier head of \
         St James's was cosigned by St Mary's or the relay within seconds; none saw this one \
         before the charter ended.",
    );
    let home = demo.dir().join("regulator");
    let genesis = demo.dir().join("genesis.json");
    let mut args: Vec<String> = vec!["--json".into(), "audit".into(), "verify".into()];
    for node in &demo.nodes {
        args.extend(["--node".into(), node.url()]);
    }
    args.extend(["--genesis".into(), genesis.display().to_string()]);
    let output = run(&home, &args)?;
    let report = json_of(&output)?;
    let finding = unwitnessed(&report, attestation)
        .with_context(|| format!("no unwitnessed_leaf finding names the attestation: {report}"))?;
    ensure!(!output.status.success(), "curbside audit verify succeeded despite the finding");
    log.fact("struck_off_finding", &finding);
    log.show(&format!(
        "$ curbside audit verify --node … --genesis genesis.json\n  {}: {}",
        finding["code"].as_str().unwrap_or_default(),
        finding["message"].as_str().unwrap_or_default()
    ));
    log.check(
        "`curbside audit verify` names the backdated attestation in St James's log \
         (unwitnessed_leaf) and exits non-zero",
        Ok(attestation.id().short()),
    )
}

/// The doctored node at work: with St James's stopped, signs the
/// attestation and the head over it (both dated `dated`), appends them to
/// its own log and stores them, then starts it again.
fn forge(
    demo: &mut Demo,
    subject: &SecretKey,
    dated: Timestamp,
) -> anyhow::Result<(SignedEvent, SignedEvent)> {
    let interrupt = demo.interrupt.clone();
    interrupt.check()?;
    let network = demo.genesis.network_id();
    let node = demo.nodes.get_mut(ST_JAMES).context("no St James's")?;
    node.stop()?;
    let dir = DataDir::open(node.data())?;
    let key = dir.key().clone();
    let me = key.public();
    let store =
        Store::open(&dir.store_dir(), dir.genesis().clone()).context("opening St James's store")?;

    let request = AttestationRequest::new(network, subject, Handle::new(LATE_HANDLE)?, dated);
    let opening = LicenceOpening::new("IE".parse()?, "IMC-999999");
    let attestation = Event::new(
        network,
        me,
        dated,
        Body::Attestation(Attestation {
            subject: subject.public(),
            handle: request.handle,
            specialties: vec!["cardiology".parse()?],
            jurisdiction: opening.jurisdiction.clone(),
            licence_commitment: opening.commitment(),
            valid_until: dated.plus_days(365),
            requested_at: dated,
            possession: request.signature,
        }),
    )
    .sign(&key)
    .context("signing the attestation")?;
    let start = store.audit().size(&me);
    let (size, root) = store.audit().extended_root(&me, &[attestation.id()]);
    let head = Event::new(network, me, dated, Body::TreeHead(TreeHead { size, root }))
        .sign(&key)
        .context("signing the head")?;
    let checked = CheckedHead { id: head.id(), size, root, created_at: dated };
    let (entry, wire) = (attestation.to_bytes(), head.to_bytes());
    let own = OwnRecords { entries: std::slice::from_ref(&entry), head: &wire };
    store.audit().append(&me, start, &[attestation.id()], checked, dated, Some(own))?;
    // Its own node vouches that it received them when it says it made them.
    let events = vec![Incoming::when_made(attestation.clone()), Incoming::when_made(head.clone())];
    let outcomes = ingest(&store, &IngestConfig::default(), events, curbside_node::now())?.outcomes;
    ensure!(
        outcomes.iter().all(|o| o.is_stored()),
        "St James's own store refused its forgery: {outcomes:?}"
    );
    drop(store);
    if interrupt.check().is_err() {
        return Err(Interrupted.into());
    }
    demo.nodes.get_mut(ST_JAMES).context("no St James's")?.start(&interrupt)?;
    Ok((attestation, head))
}

/// The `unwitnessed_leaf` finding naming `attestation` in an audit report.
fn unwitnessed(report: &Value, attestation: &SignedEvent) -> Option<Value> {
    let id = attestation.id().to_string();
    report["verifiers"].as_array()?.iter().find_map(|v| {
        v["findings"].as_array()?.iter().find_map(|f| {
            (f["code"] == "unwitnessed_leaf" && f["evidence"]["leaf"].as_str() == Some(&id))
                .then(|| f.clone())
        })
    })
}
