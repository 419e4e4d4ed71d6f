//! Fixtures shared by the node's fuzz targets and their seed generator
//! (`examples/seeds.rs`), so the seeds fit the targets exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curbside_node::api::bodies::Route;
use curbside_protocol::recon::{Item, SyncSet};
use curbside_protocol::testkit::Federation;
use curbside_protocol::NetworkId;

/// The reconciliation set requests and replies are checked against: 300
/// items over a few seconds, ids from a fixed pattern.
pub fn sync_set() -> SyncSet {
    SyncSet::from_items((0..300u64).map(|i| {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
        id[31] = 1;
        Item::new(1_767_225_600_000 + i * 17, id)
    }))
}

/// The network the `api_json` target checks bodies for: the testkit
/// federation's, so its events and request strings are of this network.
pub fn network() -> NetworkId {
    Federation::new().network()
}

/// The `api_json` input layout: the first byte picks the route (modulo the
/// number of routes), the rest is the body.
pub fn split(data: &[u8]) -> Option<(Route, &[u8])> {
    let (&first, body) = data.split_first()?;
    Some((Route::ALL[usize::from(first) % Route::ALL.len()], body))
}

/// The first byte [`split`] reads as `route`.
pub fn route_byte(route: Route) -> u8 {
    Route::ALL.iter().position(|r| *r == route).unwrap() as u8
}
