//! The node's store, on sled. All sled code lives in this module.
//!
//! ```text
//! events        id → StoredEvent { summary, authority, wire bytes }
//! timeline      created_at ‖ id → kind                 (sync, in time order)
//! feed          hub ‖ 0 ‖ created_at ‖ id → ()         (posts, cases, polls)
//! replies       parent ‖ created_at ‖ id → ()
//! ballots       poll ‖ voter → Ballot                   (each voter's current ballot)
//! tallies       poll → Counts                           (running counts)
//! attestations  subject ‖ id → AttestationRecord
//! charters      node ‖ id → CharterRecord
//! revocations   target → effective_at                   (earliest)
//! hubs          hub → title                             (genesis hubs and Hub events)
//! polls         poll → PollRecord
//! pending       id → PendingRecord                      (waiting for a dependency)
//! pending_deps  dependency ‖ id → ()
//! openings      attestation id → LicenceOpening          (this node's own attestations; private)
//! heads         verifier ‖ created_at ‖ id → HeadRecord  (tree heads; see `audit.rs`)
//! head_queue    verifier ‖ created_at ‖ id → ()          (tree heads not yet checked)
//! cosignatures  head ‖ cosigner → cosignature id
//! revoked_by    target ‖ revocation id → ()           (the revocation events themselves)
//! meta          schema, network, counters
//! ```
//!
//! Verifiers' audit logs (the leaves, checked heads, proof of forks) are in
//! trees of their own, written by the audit module: see [`audit`].
//!
//! Invariants: an event and all its index entries are written in one sled
//! transaction; writing an event twice changes nothing; only one writer at a
//! time (a lock), so index updates computed from reads before the
//! transaction cannot race. Durability is separate: [`Store::flush`] makes
//! everything committed so far durable, so many commits can share one fsync.

pub mod audit;
mod keys;
mod peers;
mod pending;
mod reads;
mod view;
mod write;

use std::path::Path;
use std::sync::Mutex;

use curbside_protocol::{Authority, EventSummary, Genesis, HubId, NetworkId};
use serde::{Deserialize, Serialize};

pub use pending::{Held, PendingEvent};
pub use reads::{AttestationStatus, StoreCounts, ThreadEntry};
pub use view::StoreView;

/// The on-disk layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption error.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// The directory holds a store of another layout version.
    #[error("the store is schema version {found}; this build reads version {expected}")]
    Schema {
        /// The version on disk.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The directory holds another network's store.
    #[error("the store belongs to network {stored}, but the genesis given is network {given}")]
    WrongNetwork {
        /// The network on disk.
        stored: NetworkId,
        /// The network of the genesis given.
        given: NetworkId,
    },
    /// A bug: an invariant of the node did not hold.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A record does not decode: the store is damaged.
    #[error("damaged record in {tree}: {detail}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// What failed.
        detail: String,
    },
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// The trees, by index into [`Store::trees`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum T {
    Events,
    Timeline,
    Feed,
    Replies,
    Ballots,
    Tallies,
    Attestations,
    Charters,
    Revocations,
    Hubs,
    Polls,
    Pending,
    PendingDeps,
    Openings,
    Heads,
    HeadQueue,
    Cosigs,
    RevokedBy,
    Meta,
}

impl T {
    const ALL: [T; 19] = [
        T::Events,
        T::Timeline,
        T::Feed,
        T::Replies,
        T::Ballots,
        T::Tallies,
        T::Attestations,
        T::Charters,
        T::Revocations,
        T::Hubs,
        T::Polls,
        T::Pending,
        T::PendingDeps,
        T::Openings,
        T::Heads,
        T::HeadQueue,
        T::Cosigs,
        T::RevokedBy,
        T::Meta,
    ];

    const fn name(self) -> &'static str {
        match self {
            T::Events => "events",
            T::Timeline => "timeline",
            T::Feed => "feed",
            T::Replies => "replies",
            T::Ballots => "ballots",
            T::Tallies => "tallies",
            T::Attestations => "attestations",
            T::Charters => "charters",
            T::Revocations => "revocations",
            T::Hubs => "hubs",
            T::Polls => "polls",
            T::Pending => "pending",
            T::PendingDeps => "pending_deps",
            T::Openings => "openings",
            T::Heads => "heads",
            T::HeadQueue => "head_queue",
            T::Cosigs => "cosignatures",
            T::RevokedBy => "revoked_by",
            T::Meta => "meta",
        }
    }
}

/// What the `events` tree holds for each event. The summary comes first so
/// validation can read it without decoding the event.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEvent {
    summary: EventSummary,
    authority: Authority,
    wire: Vec<u8>,
}

const META_SCHEMA: &[u8] = b"schema";
const META_NETWORK: &[u8] = b"network";
const META_EVENTS: &[u8] = b"events";
const META_PENDING: &[u8] = b"pending";

/// A node's store.
#[derive(Debug)]
pub struct Store {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    genesis: Genesis,
    network: NetworkId,
    /// One writer at a time.
    writer: Mutex<()>,
    /// Every verifier's audit log, in memory.
    audit: audit::AuditMemory,
}

fn decode<V: serde::de::DeserializeOwned>(tree: T, bytes: &[u8]) -> Result<V, StoreError> {
    postcard::from_bytes(bytes)
        .map_err(|e| StoreError::Corrupt { tree: tree.name(), detail: e.to_string() })
}

fn encode<V: Serialize>(value: &V) -> Vec<u8> {
    curbside_protocol::encoding::to_vec(value)
}

fn u64_value(bytes: Option<sled::IVec>) -> u64 {
    bytes.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok()).map(u64::from_be_bytes).unwrap_or(0)
}

impl Store {
    /// Opens (or creates) the store in `dir` for the network `genesis` founds.
    ///
    /// Refuses a store of another schema version or another network.
    pub fn open(dir: &Path, genesis: Genesis) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).mode(sled::Mode::HighThroughput).open()?;
        let trees = T::ALL.iter().map(|t| db.open_tree(t.name())).collect::<Result<Vec<_>, _>>()?;
        let network = genesis.network_id();
        let audit = audit::AuditMemory::load(&db)?;
        let store = Self { db, trees, genesis, network, writer: Mutex::new(()), audit };
        let meta = store.tree(T::Meta);
        match meta.get(META_SCHEMA)? {
            None => {
                meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                meta.insert(META_NETWORK, network.as_bytes())?;
                for hub in &store.genesis.hubs {
                    store.tree(T::Hubs).insert(hub.id.as_str(), hub.title.as_bytes())?;
                }
                store.db.flush()?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema { found, expected: SCHEMA_VERSION });
                }
                let stored = meta
                    .get(META_NETWORK)?
                    .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
                    .map(NetworkId::from_bytes)
                    .ok_or(StoreError::Corrupt { tree: "meta", detail: "no network id".into() })?;
                if stored != network {
                    return Err(StoreError::WrongNetwork { stored, given: network });
                }
            }
        }
        Ok(store)
    }

    fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t as usize]
    }

    /// The network's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// Makes every commit so far durable (one fsync for all of them).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Keeps the licence opening of an attestation this node issued.
    /// Written before the attestation is published, and flushed with it.
    pub fn put_opening(
        &self,
        attestation: &curbside_protocol::EventId,
        opening: &curbside_protocol::LicenceOpening,
    ) -> Result<(), StoreError> {
        self.tree(T::Openings).insert(attestation.as_bytes(), encode(opening))?;
        Ok(())
    }

    /// The licence opening of an attestation this node issued.
    pub fn opening(
        &self,
        attestation: &curbside_protocol::EventId,
    ) -> Result<Option<curbside_protocol::LicenceOpening>, StoreError> {
        match self.tree(T::Openings).get(attestation.as_bytes())? {
            Some(bytes) => Ok(Some(decode(T::Openings, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Whether `hub` exists.
    pub fn hub_exists(&self, hub: &HubId) -> Result<bool, StoreError> {
        Ok(self.tree(T::Hubs).contains_key(hub.as_str())?)
    }
}

#[cfg(test)]
mod tests;
