//! # curbside-node
//!
//! A Curbside node: the sled store, the one ingest path, the libp2p swarm,
//! sync, the verifiers' audit log and the HTTP API.
//!
//! Only this crate knows sled and libp2p; it decides nothing about validity
//! itself — every event passes through [`curbside_protocol::validate`].
//!
//! This crate is being built issue by issue: today it holds the
//! configuration defaults that the command line already reports. The store,
//! ingest and API arrive next (see `docs/ARCHITECTURE.md`).

#![warn(missing_docs)]

pub mod ingest;
pub mod store;

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
