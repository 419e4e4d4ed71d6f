//! The check of every verifier's audit log as the disk holds it: its
//! leaves run from 0 without a gap and hash to the root of its checked
//! head, which the verifier signed (a held head, or this node's own latest
//! head, kept in `own_entries` until it is published); every held head
//! already checked agrees with the leaves unless the log is known to be
//! forked; this node's own entries are its leaves.

use std::collections::{BTreeMap, BTreeSet};

use curbside_protocol::merkle::MerkleLog;
use curbside_protocol::{Body, Digest, EventId, PublicKey, SignedEvent};

use super::{CheckReport, LogCheck};
use crate::store::audit::{HeadRecord, LogState, leaf_hash};
use crate::store::keys::{self, Space};
use crate::store::{Store, StoreError, decode};

/// This node's own log as `own_entries` holds it.
#[derive(Default)]
struct OwnLog {
    /// Its key: the author of its latest own head.
    key: Option<PublicKey>,
    /// That head's (id, size, root).
    head: Option<(EventId, u64, Digest)>,
    /// Each entry's (index, id).
    entries: Vec<(u64, EventId)>,
}

impl Store {
    /// For [`Store::check`]: every verifier's log (see the module
    /// documentation).
    pub(super) fn check_logs(&self, report: &mut CheckReport) -> Result<(), StoreError> {
        let mut states = self.log_states(report)?;
        let mut leaves = self.log_leaves_held(report)?;
        let own = self.own_records(report)?;
        let verifiers: BTreeSet<PublicKey> = states.keys().chain(leaves.keys()).copied().collect();
        for verifier in verifiers {
            let state = states.remove(&verifier).unwrap_or_default();
            let leaves = leaves.remove(&verifier).unwrap_or_default();
            let check = self.check_log(verifier, &state, &leaves, &own, report)?;
            report.logs.push(check);
        }
        if own.key.is_none() && !own.entries.is_empty() {
            report.problem("own_entry_unlogged", "own log entries but no own head");
        }
        Ok(())
    }

    /// One verifier's log: its `state` and `leaves` as the disk holds them.
    fn check_log(
        &self,
        verifier: PublicKey,
        state: &LogState,
        leaves: &[EventId],
        own: &OwnLog,
        report: &mut CheckReport,
    ) -> Result<LogCheck, StoreError> {
        let is_own = own.key == Some(verifier);
        let tree = MerkleLog::from_leaves(leaves.iter().map(leaf_hash));
        let mut check = LogCheck {
            verifier,
            leaves: tree.len(),
            head_size: state.latest.map(|h| h.size),
            forked: state.forked_at.is_some(),
            own: is_own,
            heads_checked: 0,
        };
        match state.latest {
            None if !leaves.is_empty() => report.problem(
                "log_without_head",
                format!("{} leaves of {verifier} but no checked head", leaves.len()),
            ),
            None => {}
            Some(head) => {
                if head.size != tree.len() || tree.root_at(head.size) != Some(*head.root.as_bytes())
                {
                    report.problem(
                        "log_root_mismatch",
                        format!(
                            "the {} leaves of {verifier} do not hash to its checked head {} (size {})",
                            tree.len(),
                            head.id,
                            head.size
                        ),
                    );
                }
                let held = self
                    .tree
                    .get(keys::head(&verifier, head.created_at, &head.id))?
                    .map(|b| decode::<HeadRecord>(Space::Heads, &b))
                    .transpose()?;
                let signed = match held {
                    Some(r) => r == HeadRecord { size: head.size, root: head.root },
                    None => is_own && own.head == Some((head.id, head.size, head.root)),
                };
                if !signed {
                    report.problem(
                        "log_head_unsigned",
                        format!("the checked head {} of {verifier} is no head it signed", head.id),
                    );
                }
            }
        }
        if !check.forked {
            check.heads_checked = self.check_held_heads(&verifier, &tree, report)?;
        }
        if is_own {
            for (index, id) in &own.entries {
                if leaves.get(*index as usize) != Some(id) {
                    report.problem(
                        "own_entry_unlogged",
                        format!("own log entry {index} ({id}) is not leaf {index}"),
                    );
                }
            }
        }
        Ok(check)
    }

    /// Every held head of `verifier` already checked (no longer queued)
    /// and no larger than its log agrees with the leaves: how many there
    /// were.
    fn check_held_heads(
        &self,
        verifier: &PublicKey,
        tree: &MerkleLog,
        report: &mut CheckReport,
    ) -> Result<u64, StoreError> {
        let mut checked = 0;
        for (at, id, record) in self.audit().heads_of(verifier)? {
            let queued = self.tree.contains_key(keys::queued_head(verifier, at, &id))?;
            if queued || record.size > tree.len() {
                continue;
            }
            checked += 1;
            if tree.root_at(record.size) != Some(*record.root.as_bytes()) {
                report.problem(
                    "log_head_inconsistent",
                    format!(
                        "head {id} of {verifier} (size {}) disagrees with its leaves",
                        record.size
                    ),
                );
            }
        }
        Ok(checked)
    }

    /// Every verifier's `log_state` record that decodes.
    fn log_states(
        &self,
        report: &mut CheckReport,
    ) -> Result<BTreeMap<PublicKey, LogState>, StoreError> {
        let mut states = BTreeMap::new();
        for item in self.tree.scan_prefix(Space::LogState.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            let Some(verifier) = key.get(1..).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
                report.problem("bad_key", "log_state key is not a key");
                continue;
            };
            match decode(Space::LogState, &value) {
                Ok(state) => {
                    states.insert(PublicKey::from_bytes(verifier), state);
                }
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        Ok(states)
    }

    /// Every verifier's leaves, in the order they are keyed, each gap
    /// reported.
    fn log_leaves_held(
        &self,
        report: &mut CheckReport,
    ) -> Result<BTreeMap<PublicKey, Vec<EventId>>, StoreError> {
        let mut leaves: BTreeMap<PublicKey, Vec<EventId>> = BTreeMap::new();
        for item in self.tree.scan_prefix(Space::LogLeaves.all()) {
            let (key, value) = item?;
            report.index_entries += 1;
            let parsed = key.get(1..33).and_then(|v| <[u8; 32]>::try_from(v).ok()).zip(
                key.get(33..41).and_then(|i| <[u8; 8]>::try_from(i).ok()).map(u64::from_be_bytes),
            );
            let (Some((verifier, index)), Ok(id)) = (parsed, <[u8; 32]>::try_from(value.as_ref()))
            else {
                report.problem("bad_record", "a log_leaves entry is cut short");
                continue;
            };
            let verifier = PublicKey::from_bytes(verifier);
            let log = leaves.entry(verifier).or_default();
            if index != log.len() as u64 {
                report.problem(
                    "log_leaves_gap",
                    format!("leaf {index} of {verifier} follows {} leaves", log.len()),
                );
            }
            log.push(EventId::from_bytes(id));
        }
        Ok(leaves)
    }

    /// This node's own log records. Counts those not yet stored as events
    /// in `report.unpublished_own`.
    fn own_records(&self, report: &mut CheckReport) -> Result<OwnLog, StoreError> {
        let mut own = OwnLog::default();
        for item in self.tree.scan_prefix(Space::OwnEntries.all()) {
            let (key, wire) = item?;
            report.index_entries += 1;
            let event = match SignedEvent::decode(&wire) {
                Ok(e) if e.verify_signature().is_ok() => e,
                _ => {
                    report.problem("bad_record", "an own_entries record is not a signed event");
                    continue;
                }
            };
            if !self.events().contains(&event.id())? {
                report.unpublished_own += 1;
            }
            let name = key.get(1..).unwrap_or_default();
            if name == keys::OWN_HEAD {
                match event.body() {
                    Body::TreeHead(h) => {
                        own.key = Some(*event.author());
                        own.head = Some((event.id(), h.size, h.root));
                    }
                    _ => report.problem("bad_record", "the own head is not a tree head"),
                }
            } else if let Ok(index) = <[u8; 8]>::try_from(name) {
                own.entries.push((u64::from_be_bytes(index), event.id()));
            } else {
                report.problem("bad_key", "an own_entries key is neither an index nor the head");
            }
        }
        Ok(own)
    }
}
