//! # curbside-node
//!
//! A Curbside node: the sled store, the one ingest path, the libp2p swarm,
//! sync, the verifiers' audit log and the HTTP API.
//!
//! Only this crate knows sled and libp2p; it decides nothing about validity
//! itself — every event passes through [`curbside_protocol::validate`].
//!
//! A node is built from a checked [`config::NodeConfig`], its
//! [`datadir::DataDir`], a bound listener and a shutdown future
//! ([`NodeBuilder::run`]), so a test can start several in one process; the
//! binary acquires those resources and calls it. [`RunningNode`] owns the
//! order in which a node stops (the `lifecycle` module).
//!
//! The crate sets no global allocator: the program that embeds a node
//! chooses (the `curbside` binary chooses mimalloc).

#![warn(missing_docs)]

pub mod api;
pub mod backup;
pub mod codes;
pub mod config;
pub mod datadir;
pub mod dev;
pub mod ingest;
mod lifecycle;
pub mod metrics;
pub mod net;
pub mod outcome;
mod ratelimit;
pub mod search;
mod shutdown;
mod source;
pub mod store;
pub mod sync;
pub mod verifier;
pub mod wire;

pub use lifecycle::{NodeBuilder, NodeThread, RunningNode};

/// The port a node's HTTP API listens on by default (on 127.0.0.1).
pub const DEFAULT_API_PORT: u16 = 7420;

/// The default API address.
pub fn default_api_addr() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_api_binds_to_loopback_by_default() {
        assert!(super::default_api_addr().ip().is_loopback());
    }
}

/// The wall clock as a protocol timestamp. The protocol never reads a
/// clock; the node does, here.
pub fn now() -> curbside_protocol::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    curbside_protocol::Timestamp::from_millis(ms)
}

/// Why a node stopped with an error. Each message holds its cause's, and
/// none is also a `source`: an error chain printed whole (`{:#}`) would
/// say the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(store::StoreError),
    /// The network could not start.
    #[error("starting the network: {0}")]
    Net(net::NetError),
    /// The HTTP server failed.
    #[error("serving the API: {0}")]
    Serve(std::io::Error),
    /// A write or sync of the store failed, so the node stopped: restart it
    /// to reopen the store (nothing acknowledged was lost).
    #[error("the store failed ({0}); the node stopped: restart it to reopen the store")]
    StoreFailed(String),
    /// The node's task or thread panicked (a bug).
    #[error("the node's {0} panicked")]
    Panicked(&'static str),
    /// A step of stopping did not finish in time (a hung disk).
    #[error("stopping: {step}: {detail}")]
    Stalled {
        /// Which step.
        step: &'static str,
        /// What happened.
        detail: String,
    },
}

impl From<store::StoreError> for NodeError {
    fn from(e: store::StoreError) -> Self {
        NodeError::Store(e)
    }
}

impl From<net::NetError> for NodeError {
    fn from(e: net::NetError) -> Self {
        NodeError::Net(e)
    }
}

impl From<std::io::Error> for NodeError {
    fn from(e: std::io::Error) -> Self {
        NodeError::Serve(e)
    }
}
