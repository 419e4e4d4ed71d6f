//! Sync: how a node that was offline, or is new, catches up.
//!
//! [`recon`] is the pure part: range-based set reconciliation over
//! `(created_at, id)` pairs, with serde messages and no I/O. [`index`]
//! keeps each scope's set in memory, current with the store; the driver
//! carries a session over the network (`net`), then fetches what is
//! missing by id and stores it through ingest. Traffic grows with the
//! difference between two nodes, not with their history.

mod driver;
pub mod index;
pub mod recon;

pub use driver::{SyncProgress, SyncReport};
pub(crate) use driver::{Transport, run};
pub use index::{Scope, SyncIndex};
