//! Sync: how two nodes find out which events one has and the other lacks.
//!
//! [`recon`] is the pure part: range-based set reconciliation over
//! `(created_at, id)` pairs, with serde messages and no I/O. The transport
//! that carries its messages between peers and the code that feeds it from
//! the store live elsewhere.

pub mod recon;
