//! Connections that hold a node's descriptors without asking for anything
//! (idle sockets, on the API or the peer-to-peer port), or that ask too
//! slowly to finish (slowloris).

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use curbside_tests::measure::percentile;
use curbside_tests::stranger::connect_from;

use super::{Tally, Target, stranger};

pub(crate) const IDLE_DESCRIPTION: &str = "1,100 connections to the API that never send a byte, from \
    20 addresses (55 each, under the per-address cap of 64), reopened as the node closes them";
pub(crate) const SLOW_DESCRIPTION: &str = "600 connections to the API from 12 addresses (50 each), \
    half sending a request's headers and half its body, one byte every 2 s, reopened as the node \
    closes them";

/// How often closed sockets are noticed and reopened.
const TOP_UP: Duration = Duration::from_millis(100);

pub(crate) fn idle(target: &Target, tally: &Tally) {
    hold_silent(target.api, 20, 55, tally);
}

/// Keeps `per_address` connections to `to` that say nothing open from
/// each of `addresses` strangers' addresses, reopening those the node
/// closes, until stopped; engaged once all are open.
pub(crate) fn hold_silent(to: SocketAddr, addresses: usize, per_address: usize, tally: &Tally) {
    let mut held: Vec<Vec<TcpStream>> = (0..addresses).map(|_| Vec::new()).collect();
    while tally.running() {
        for (a, sockets) in held.iter_mut().enumerate() {
            sockets.retain(|s| still_open(s, tally));
            while sockets.len() < per_address {
                let Some(socket) = open(&stranger(a), to, tally) else { break };
                sockets.push(socket);
            }
        }
        if held.iter().all(|s| s.len() == per_address) {
            tally.engage();
        }
        tally.pause(TOP_UP);
    }
    let open: usize = held.iter().map(Vec::len).sum();
    tally.note(format!("{open} of {} open when the attack stopped", addresses * per_address));
}

/// A non-blocking connection to `to` from `from`, counted; `None` (counted
/// by the error) if it could not be made.
fn open(from: &str, to: SocketAddr, tally: &Tally) -> Option<TcpStream> {
    let socket = connect_from(from, to).and_then(|s| s.set_nonblocking(true).map(|()| s));
    match socket {
        Ok(socket) => {
            tally.connected();
            Some(socket)
        }
        Err(e) => {
            tally.answered(&format!("connect {:?}", e.kind()), 1);
            None
        }
    }
}

/// Whether the node has not closed `socket` yet. What it sent first (an
/// HTTP refusal) is counted by its status line.
fn still_open(mut socket: &TcpStream, tally: &Tally) -> bool {
    let mut buf = [0u8; 512];
    match socket.read(&mut buf) {
        Ok(0) => {
            tally.answered("closed by the node", 1);
            false
        }
        Ok(n) => {
            let text = String::from_utf8_lossy(&buf[..n]);
            if let Some(status) = text.strip_prefix("HTTP/1.1 ") {
                tally.answered(&format!("answered {}", &status[..status.len().min(3)]), 1);
            }
            true
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => true,
        Err(e) => {
            tally.answered(&format!("closed: {:?}", e.kind()), 1);
            false
        }
    }
}

/// A connection sending its request a byte at a time.
#[derive(Debug)]
struct Slow {
    socket: TcpStream,
    opened: Instant,
    next_byte: Instant,
}

const SLOW_ADDRESSES: usize = 12;
const SLOW_PER_ADDRESS: usize = 50;
const DRIP: Duration = Duration::from_secs(2);
const HEADERS: &str = "POST /v1/events HTTP/1.1\r\nHost: node\r\nX-Slow: ";
const BODY: &str = "POST /v1/events HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n\
    Content-Length: 1000000\r\n\r\n{\"events\": [\"";

pub(crate) fn slowloris(target: &Target, tally: &Tally) {
    let mut held: Vec<Vec<Slow>> = (0..SLOW_ADDRESSES).map(|_| Vec::new()).collect();
    let mut lifetimes: Vec<f64> = Vec::new();
    while tally.running() {
        for (a, conns) in held.iter_mut().enumerate() {
            conns.retain_mut(|c| {
                let open = still_open(&c.socket, tally) && drip(c);
                if !open {
                    lifetimes.push(c.opened.elapsed().as_secs_f64());
                }
                open
            });
            while conns.len() < SLOW_PER_ADDRESS {
                let first = if conns.len() % 2 == 0 { HEADERS } else { BODY };
                let Some(mut socket) = open(&stranger(a), target.api, tally) else { break };
                // A fresh socket's buffer takes a few hundred bytes at once.
                let _ = socket.write_all(first.as_bytes());
                let now = Instant::now();
                conns.push(Slow { socket, opened: now, next_byte: now + DRIP });
            }
        }
        if held.iter().all(|c| c.len() == SLOW_PER_ADDRESS) {
            tally.engage();
        }
        tally.pause(TOP_UP);
    }
    lifetimes.sort_by(f64::total_cmp);
    let p50 = percentile(&lifetimes, 50.0).unwrap_or(f64::NAN);
    let max = lifetimes.last().copied().unwrap_or(f64::NAN);
    tally.note(format!(
        "{} slow connections closed by the node, open p50 {p50:.1} s, max {max:.1} s",
        lifetimes.len()
    ));
}

/// Sends the next byte if one is due; whether the connection still takes them.
fn drip(c: &mut Slow) -> bool {
    if Instant::now() < c.next_byte {
        return true;
    }
    c.next_byte += DRIP;
    match c.socket.write(b"a") {
        // One byte: written whole or not at all.
        Ok(_written) => true,
        Err(e) => e.kind() == ErrorKind::WouldBlock,
    }
}
