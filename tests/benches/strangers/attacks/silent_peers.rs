//! Silent sockets on the peer-to-peer port: TCP connections that never
//! start a handshake, each holding one of the node's places for
//! handshakes under way until it times out (5 s); meanwhile a chartered
//! node dials in, and is admitted or not. Once from one address (the
//! issue's 64 sockets), once from many.

use std::time::{Duration, Instant};

use curbside_tests::TestNode;

use super::{Tally, Target, sockets};

pub(crate) const ONE_DESCRIPTION: &str = "64 connections to the peer-to-peer port from one \
    address that never start a handshake, reopened as the node closes them; meanwhile a chartered \
    node dials in";
pub(crate) const MANY_DESCRIPTION: &str = "320 connections to the peer-to-peer port that never \
    start a handshake, from 40 addresses (8 each, the per-address cap; together more than the \
    node's 256 places for handshakes), reopened as the node closes them; meanwhile a chartered \
    node dials in";

/// How often the chartered node dials again while it is not admitted, as
/// its operator (`POST /v1/admin/peers`) or a retrying node would.
const REDIAL: Duration = Duration::from_secs(2);
/// How long it goes on trying once the attack has stopped.
const AFTERWARDS: Duration = Duration::from_secs(30);

pub(crate) fn run(target: &Target, tally: &Tally, addresses: usize, per_address: usize) {
    std::thread::scope(|s| {
        s.spawn(|| sockets::hold_silent(target.p2p.1, addresses, per_address, tally));
        while !tally.engaged() && tally.pause(Duration::from_millis(50)) {}
        if tally.running() {
            join(target, tally);
        }
    });
}

/// Starts a chartered node (in this process) that dials the target, and
/// dials again every [`REDIAL`] until both have admitted each other;
/// notes how long that took, and how many dials, during the attack or
/// after it. The node then leaves: the physicians' replies ahead of their
/// parents are held only while the node has no peer to ask for the parent
/// (a peer that lacks it gets them refused, `unknown_event`, since main
/// 6b345bb), and this peer never has it.
fn join(target: &Target, tally: &Tally) {
    let started = Instant::now();
    let peer = TestNode::start_peer(target.net, std::slice::from_ref(&target.p2p.0), &[]);
    let admitted = || target.node.admitted_peers() >= 1 && peer.admitted_peers() >= 1;
    let mut dials = 1;
    let mut last_dial = Instant::now();
    let mut stopped: Option<Instant> = None;
    loop {
        if admitted() {
            let when = match stopped {
                None => "while the attack went on".to_string(),
                Some(at) => format!("{:.1} s after the attack stopped", at.elapsed().as_secs_f64()),
            };
            tally.note(format!(
                "a chartered node dialling in was admitted both ways {:.1} s after it started, \
                 {when}, on dial {dials} (one every {} s)",
                started.elapsed().as_secs_f64(),
                REDIAL.as_secs()
            ));
            break;
        }
        if stopped.is_none() && !tally.running() {
            stopped = Some(Instant::now());
        }
        if stopped.is_some_and(|at| at.elapsed() > AFTERWARDS) {
            tally.note(format!(
                "a chartered node dialling in was NOT admitted in {:.0} s ({dials} dials)",
                started.elapsed().as_secs_f64()
            ));
            break;
        }
        if last_dial.elapsed() >= REDIAL {
            peer.dial(&target.p2p.0);
            dials += 1;
            last_dial = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(peer);
}
