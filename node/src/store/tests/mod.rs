//! The store, through the ingest path, against a testkit federation.

use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{Body, Cell, Genesis, SignedEvent, Timestamp, TrustView as _};

use super::*;
use crate::ingest::{Incoming, IngestConfig, Outcome};
use crate::store::{Holder, PendingLimits};

/// The ingest path's outcomes, which is all these tests look at.
fn ingest(
    store: &Store,
    config: &IngestConfig,
    events: Vec<Incoming>,
    now: Timestamp,
) -> Result<Vec<Outcome>, StoreError> {
    crate::ingest::ingest(store, config, events, now).map(|ingested| ingested.outcomes)
}

mod afterwords;
mod check;
mod durability;
mod edits;
mod events;
mod export;
mod layout;
mod mentions;
mod moderation;
mod pending;
mod personal;
mod retraction;
mod threads;

struct Node {
    _dir: tempfile::TempDir,
    store: Store,
}

fn node(fed: &Federation) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
    Node { _dir: dir, store }
}

fn put(node: &Node, fed: &Federation, events: &[SignedEvent]) -> Vec<Outcome> {
    ingest(&node.store, &IngestConfig::default(), on_time(events), fed.now()).unwrap()
}

/// The federation's events, each received when it was made: its history.
fn on_time(events: &[SignedEvent]) -> Vec<Incoming> {
    events.iter().cloned().map(Incoming::when_made).collect()
}

/// Everything the federation's own view has accepted, in order: charters and attestations.
fn trust_events(fed: &mut Federation, doctors: &[&str]) -> Vec<SignedEvent> {
    let mut out = Vec::new();
    for name in doctors {
        let key = key(name);
        let att = fed.attestation(&key, name, &["cardiology"], "GB");
        fed.accept(&att);
        out.push(att);
    }
    out
}

/// The verifier's revocation of `physician`'s first attestation, effective
/// at the federation's next tick, accepted into its trust view (not yet
/// into the store).
fn revocation_of(
    n: &Node,
    fed: &mut Federation,
    physician: &curbside_protocol::SecretKey,
    reason: &str,
) -> SignedEvent {
    let status = n.store.events().attestation_status(&physician.public(), fed.now()).unwrap();
    let verifier = fed.verifier().clone();
    let at = fed.tick();
    let revocation = fed.sign_at(
        &verifier,
        at,
        Body::Revocation(curbside_protocol::Revocation {
            target: status.attestations[0].record.id,
            reason: reason.into(),
            effective_at: at,
        }),
    );
    fed.accept(&revocation);
    revocation
}

fn setup() -> (Federation, Node, Vec<curbside_protocol::SecretKey>) {
    let mut fed = Federation::new();
    let n = node(&fed);
    // The verifier's charter is the first thing the federation accepted.
    let verifier = fed.verifier().public();
    let charter = fed.charter(&verifier, &["GB", "DEV"]);
    let names = ["dr-a", "dr-b", "dr-c", "dr-d", "dr-e", "dr-f"];
    let mut events = vec![charter.clone()];
    fed.accept(&charter);
    events.extend(trust_events(&mut fed, &names));
    let outcomes = put(&n, &fed, &events);
    assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    let keys = names.iter().map(|n| key(n)).collect();
    (fed, n, keys)
}

/// `events` sent by `holder`, each received when it was made.
fn from(holder: &Holder, events: &[SignedEvent]) -> Vec<Incoming> {
    on_time(events).into_iter().map(|i| i.from(holder.clone())).collect()
}

fn code(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Rejected { refusal, .. } => refusal.code().as_str(),
        Outcome::Pending { .. } => "pending",
        Outcome::Stored { .. } => "stored",
        Outcome::Duplicate { .. } => "duplicate",
    }
}

/// The trust records and id filter in memory equal a fresh load from disk.
fn assert_memory_is_disk(store: &Store) {
    let (memory, disk) = store.memory_and_disk().unwrap();
    assert_eq!(memory, disk, "memory and disk disagree");
}

fn verified(
    store: &Store,
    fed: &Federation,
    event: &SignedEvent,
) -> curbside_protocol::VerifiedEvent {
    let arrival = curbside_protocol::Arrival::live(fed.now());
    curbside_protocol::validate_owned(event.clone(), &StoreView::new(store), arrival).unwrap()
}

/// Rewrites every event record and feed entry as schema 6 wrote them
/// (with the summary, and the network id in the wire form).
pub(super) fn downgrade_to_layout_6(tree: &sled::Tree, network: &NetworkId) {
    for space in [Space::Events, Space::Feed] {
        for item in tree.scan_prefix(space.all()) {
            let (key, value) = item.unwrap();
            let (stored, received_at) = super::split_record(network, &value).unwrap();
            let mut record = encode(&stored);
            record.extend(encode(&received_at));
            tree.insert(key, record).unwrap();
        }
    }
    tree.insert(keys::schema(), &6u32.to_be_bytes()).unwrap();
}
