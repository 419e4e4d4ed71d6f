//! Dialling the addresses a node starts with (its bootstrap peers and the
//! peers it saved at its last run) again while they are not connected.
//!
//! A bootstrap peer that is down, still starting or briefly unreachable
//! when this node starts must not leave it alone until some other node
//! happens to dial it: each address is dialled again after 1 s, then 2 s,
//! 4 s… up to a ceiling, and from 1 s again once its peer has been
//! connected for a while ([`STEADY`]) and is lost. A connection lost sooner
//! (a peer that closes it for want of room, `max_peers`) does not start the
//! waits over, so such a peer is not dialled again and again. Pure: the
//! runner asks which addresses are due.

use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// The first wait before an address is dialled again.
const FIRST: Duration = Duration::from_secs(1);

/// How long a connection must have lasted for its loss to start the waits
/// over from [`FIRST`].
pub(crate) const STEADY: Duration = Duration::from_secs(30);

struct Entry {
    addr: Multiaddr,
    /// The peer the address names (`/p2p/…`), if it names one.
    peer: Option<PeerId>,
    next: Instant,
    wait: Duration,
    /// Since when its peer has been seen settled (connected).
    settled_since: Option<Instant>,
}

/// The addresses to keep dialling, each with its own backoff.
pub(crate) struct Redials {
    entries: Vec<Entry>,
    ceiling: Duration,
}

impl Redials {
    /// `addrs`, dialled at start (by the caller), next due `FIRST` after
    /// `now`; backoff grows to at most `ceiling`.
    pub(crate) fn new(addrs: &[Multiaddr], now: Instant, ceiling: Duration) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        for addr in addrs {
            if entries.iter().any(|e| &e.addr == addr) {
                continue;
            }
            let peer = match addr.iter().last() {
                Some(Protocol::P2p(peer)) => Some(peer),
                _ => None,
            };
            entries.push(Entry {
                addr: addr.clone(),
                peer,
                next: now + FIRST,
                wait: FIRST,
                settled_since: None,
            });
        }
        Self { entries, ceiling: ceiling.max(FIRST) }
    }

    /// The addresses to dial at `now`. An address whose peer `settled`
    /// (connected, or blocked: nothing to dial for) is not due, and its
    /// backoff starts over once it has been settled for [`STEADY`]; one
    /// that names no peer is dialled only while this node has no peer at
    /// all (`alone`).
    pub(crate) fn due(
        &mut self,
        now: Instant,
        alone: bool,
        settled: impl Fn(&PeerId) -> bool,
    ) -> Vec<Multiaddr> {
        let mut due = Vec::new();
        for entry in &mut self.entries {
            let wanted = entry.peer.as_ref().map_or(alone, |peer| !settled(peer));
            if !wanted {
                let since = *entry.settled_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= STEADY {
                    entry.wait = FIRST;
                }
                // Once lost, dialled after the wait it has earned.
                entry.next = now + entry.wait;
                continue;
            }
            entry.settled_since = None;
            if entry.next <= now {
                due.push(entry.addr.clone());
                entry.wait = (entry.wait * 2).min(self.ceiling);
                entry.next = now + entry.wait;
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(peer: Option<PeerId>) -> Multiaddr {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/7421".parse().unwrap();
        match peer {
            Some(peer) => addr.with(Protocol::P2p(peer)),
            None => addr,
        }
    }

    /// The seconds after start at which an unreachable address is dialled
    /// again, checked every second for `until` seconds.
    fn schedule(redials: &mut Redials, start: Instant, until: u64) -> Vec<u64> {
        (0..=until)
            .filter(|s| !redials.due(start + Duration::from_secs(*s), true, |_| false).is_empty())
            .collect()
    }

    #[test]
    fn an_unreachable_peer_is_dialled_again_with_growing_waits_up_to_the_ceiling() {
        let start = Instant::now();
        let peer = PeerId::random();
        let mut redials = Redials::new(&[addr(Some(peer))], start, Duration::from_secs(8));
        assert_eq!(schedule(&mut redials, start, 40), vec![1, 3, 7, 15, 23, 31, 39]);
    }

    #[test]
    fn a_connected_peer_is_not_dialled_and_is_dialled_soon_after_it_is_lost() {
        let start = Instant::now();
        let peer = PeerId::random();
        let mut redials = Redials::new(&[addr(Some(peer))], start, Duration::from_secs(60));
        // Unreachable for a while: the waits grow.
        assert_eq!(schedule(&mut redials, start, 20), vec![1, 3, 7, 15]);
        // Connected for longer than STEADY, then lost: dialled again a
        // second later, not after the grown wait.
        let later = start + Duration::from_secs(21);
        assert!(redials.due(later, false, |p| p == &peer).is_empty(), "connected");
        let steady = later + STEADY;
        assert!(redials.due(steady, false, |p| p == &peer).is_empty(), "connected");
        let lost = steady + Duration::from_millis(500);
        assert!(redials.due(lost, true, |_| false).is_empty(), "a second to wait");
        assert_eq!(redials.due(steady + FIRST, true, |_| false), vec![addr(Some(peer))]);
    }

    #[test]
    fn a_peer_that_closes_each_connection_soon_is_dialled_ever_less_often() {
        // It admits this node, then closes the connection for want of room
        // two seconds later, every time.
        let start = Instant::now();
        let peer = PeerId::random();
        let mut redials = Redials::new(&[addr(Some(peer))], start, Duration::from_secs(60));
        let mut connected_until = None;
        let mut dials = Vec::new();
        for s in 0..=200 {
            let now = start + Duration::from_secs(s);
            let connected = connected_until.is_some_and(|until| now < until);
            let due = redials.due(now, !connected, |_| connected);
            if !due.is_empty() {
                dials.push(s);
                connected_until = Some(now + Duration::from_secs(2));
            }
        }
        // The waits keep doubling (3, 5, 9, 17, 33 s… up to the ceiling),
        // as if it were never reached.
        assert_eq!(dials, vec![1, 4, 9, 18, 35, 68, 129, 190]);
    }

    #[test]
    fn an_address_without_a_peer_is_dialled_only_while_the_node_is_alone() {
        let start = Instant::now();
        let mut redials = Redials::new(&[addr(None)], start, Duration::from_secs(60));
        let at = start + Duration::from_secs(5);
        assert!(redials.due(at, false, |_| false).is_empty(), "the node has peers");
        assert_eq!(redials.due(at + FIRST, true, |_| false), vec![addr(None)]);
    }

    #[test]
    fn the_same_address_given_twice_is_dialled_once() {
        let start = Instant::now();
        let peer = PeerId::random();
        let twice = [addr(Some(peer)), addr(Some(peer))];
        let mut redials = Redials::new(&twice, start, Duration::from_secs(60));
        assert_eq!(redials.due(start + FIRST, true, |_| false).len(), 1);
    }
}
