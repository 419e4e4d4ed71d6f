//! The attacks of issue 13, each run by strangers with no credentials
//! (but for the session flood, whose opener is an attested physician)
//! until told to stop, each counting what it sent and what it got.

mod client;
mod cpu;
mod drain;
mod pending;
mod sessions;
mod silent_peers;
mod sockets;
mod tally;

use std::net::SocketAddr;

use curbside_protocol::{PublicKey, SecretKey, SignedEvent};
use curbside_tests::Network;

use client::{Client, Submission, flood};
pub(crate) use tally::{Summary, Tally};

/// What an attack may use: the node's addresses, and what any stranger
/// could know (the physicians' keys and events, which the network
/// gossips). The rogue physician's key is the session flood's alone.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) net: &'a Network,
    pub(crate) api: SocketAddr,
    /// The node's peer-to-peer address, with `/p2p/`, and its socket.
    pub(crate) p2p: (String, SocketAddr),
    pub(crate) physicians: Vec<PublicKey>,
    /// Events the physicians have had stored.
    pub(crate) stored: Vec<SignedEvent>,
    pub(crate) rogue: &'a SecretKey,
    /// The node's API through the tests' client (to see a peer admitted).
    pub(crate) node: &'a curbside_tests::Api,
}

/// The attacks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attack {
    Pending,
    Drain,
    Cpu,
    IdleSockets,
    Slowloris,
    SilentPeers,
    SilentPeersMany,
    Sessions,
}

impl Attack {
    pub(crate) const ALL: [Attack; 8] = [
        Attack::Pending,
        Attack::Drain,
        Attack::Cpu,
        Attack::IdleSockets,
        Attack::Slowloris,
        Attack::SilentPeers,
        Attack::SilentPeersMany,
        Attack::Sessions,
    ];

    /// Its name in `CURBSIDE_BENCH_ONLY`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Attack::Pending => "pending",
            Attack::Drain => "drain",
            Attack::Cpu => "cpu",
            Attack::IdleSockets => "idle",
            Attack::Slowloris => "slowloris",
            Attack::SilentPeers => "libp2p",
            Attack::SilentPeersMany => "libp2p-many",
            Attack::Sessions => "sessions",
        }
    }

    /// Its name in the table.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Attack::Pending => "pending flood",
            Attack::Drain => "rate-limit drain",
            Attack::Cpu => "CPU flood",
            Attack::IdleSockets => "idle sockets",
            Attack::Slowloris => "slowloris",
            Attack::SilentPeers => "libp2p silent",
            Attack::SilentPeersMany => "libp2p silent 40",
            Attack::Sessions => "session flood",
        }
    }

    /// What it does, in one line.
    pub(crate) fn describe(self) -> String {
        match self {
            Attack::Pending => pending::DESCRIPTION.into(),
            Attack::Drain => drain::DESCRIPTION.into(),
            Attack::Cpu => cpu::DESCRIPTION.into(),
            Attack::IdleSockets => sockets::IDLE_DESCRIPTION.into(),
            Attack::Slowloris => sockets::SLOW_DESCRIPTION.into(),
            Attack::SilentPeers => silent_peers::ONE_DESCRIPTION.into(),
            Attack::SilentPeersMany => silent_peers::MANY_DESCRIPTION.into(),
            Attack::Sessions => sessions::DESCRIPTION.into(),
        }
    }

    /// Attacks `target` until `tally` is stopped; calls `tally.engage()`
    /// once at full strength.
    pub(crate) fn run(self, target: &Target, tally: &Tally) {
        match self {
            Attack::Pending => pending::run(target, tally),
            Attack::Drain => drain::run(target, tally),
            Attack::Cpu => cpu::run(target, tally),
            Attack::IdleSockets => sockets::idle(target, tally),
            Attack::Slowloris => sockets::slowloris(target, tally),
            Attack::SilentPeers => silent_peers::run(target, tally, 1, 64),
            Attack::SilentPeersMany => silent_peers::run(target, tally, 40, 8),
            Attack::Sessions => sessions::run(target, tally),
        }
    }
}

/// The `n`th stranger's address: 127.1.0.1, 127.1.0.2, … (all loopback on
/// Linux; none is the node's proxy, 127.0.0.1).
pub(crate) fn stranger(n: usize) -> String {
    let n = n + 1;
    format!("127.1.{}.{}", n / 256, n % 256)
}
