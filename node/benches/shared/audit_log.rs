//! A verifier's audit log as a node holds it once it has checked the
//! verifier's tree head: shared by the node benchmarks (each includes this
//! file with `#[path]`), whose corpora need their attestations logged.

use curbside_node::store::Store;
use curbside_node::store::audit::CheckedHead;
use curbside_protocol::{Body, Event, EventId, SecretKey, SignedEvent, Timestamp, TreeHead};

/// Puts `entries` (attestations `verifier` issued, already stored) in
/// `verifier`'s audit log: its signed head, stored by `store_head` as the
/// benchmark stores events, and the leaves recorded. Without it, events
/// made more than the merge window after their author's attestation would
/// wait for the log.
pub(crate) fn log_entries(
    store: &Store,
    verifier: &SecretKey,
    entries: &[SignedEvent],
    now: Timestamp,
    store_head: impl FnOnce(&SignedEvent),
) {
    let me = verifier.public();
    let ids: Vec<EventId> = entries.iter().map(SignedEvent::id).collect();
    let start = store.audit().size(&me);
    let (size, root) = store.audit().extended_root(&me, &ids);
    let at = entries.iter().map(SignedEvent::created_at).max().unwrap_or(now);
    let head = Event::new(store.network(), me, at, Body::TreeHead(TreeHead { size, root }))
        .sign(verifier)
        .unwrap();
    store_head(&head);
    let checked = CheckedHead { id: head.id(), size, root, created_at: at };
    store.audit().append(&me, start, &ids, checked, at, None).unwrap();
    store.flush().unwrap();
}
