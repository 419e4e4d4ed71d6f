//! Sync: how a node that was offline, or is new, catches up.
//!
//! The pure part, range-based set reconciliation over `(created_at, id)`
//! pairs, is [`curbside_protocol::recon`]. [`index`] keeps each scope's set
//! in memory, current with the store; the driver carries a session over a
//! [`Transport`] (the network implements it, so sync never imports `net`),
//! then fetches what is missing by id and stores it through ingest.
//! Traffic grows with the difference between two nodes, not with their
//! history.

mod driver;
pub mod index;
pub mod round;

pub use driver::{SyncProgress, SyncReport};
pub(crate) use driver::{Transport, run};
pub use index::SyncIndex;
pub use round::{PeerSyncState, RoundPeer, SyncRound};
