//! A sync round an operator asked for (`POST /v1/admin/sync`, `curbside
//! node sync`): one sync with each peer admitted when it was asked, and
//! how far it has come.
//!
//! The network task syncs with its peers every few minutes on its own;
//! an operator who brought a node back, or suspects it is behind, wants it
//! now and wants to watch it finish. The record is small and bounded: the
//! round running (at most one: asking again joins it) and the last one
//! finished, one entry a peer (peers are bounded by the connection
//! limits). No content: peer ids and counts, as `GET /v1/network` shows
//! already.

use curbside_protocol::Timestamp;
use serde::Serialize;

use super::{SyncProgress, SyncReport};

/// Where one peer's sync in a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerSyncState {
    /// Waiting its turn (one sync runs at a time).
    Queued,
    /// Reconciling or fetching now.
    Syncing,
    /// Finished.
    Done,
    /// Failed (the peer went away, or a request failed); `error` says why.
    Failed,
}

/// One peer's part of a round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundPeer<P> {
    /// The peer (its PeerId as text when shown).
    pub peer_id: P,
    /// Where its sync stands.
    pub state: PeerSyncState,
    /// Events it had that this node lacked, found so far.
    pub needed: usize,
    /// Events fetched from it so far.
    pub fetched: usize,
    /// Events stored new (known when its sync is done).
    pub stored: usize,
    /// Why it failed.
    pub error: Option<String>,
}

/// A sync round an operator asked for.
#[derive(Debug, Clone, Serialize)]
pub struct SyncRound<P> {
    /// Counts the rounds asked for since the node started, from 1.
    pub id: u64,
    /// When it was asked for.
    pub started_at: Timestamp,
    /// When the last peer's sync ended; `None` while it runs.
    pub finished_at: Option<Timestamp>,
    /// Events found missing here, over all peers, so far.
    pub needed: usize,
    /// Events fetched, over all peers, so far.
    pub fetched: usize,
    /// Events stored new, over the peers done.
    pub stored: usize,
    /// Peers whose sync has ended (done or failed).
    pub peers_finished: usize,
    /// One entry a peer admitted when it was asked for.
    pub peers: Vec<RoundPeer<P>>,
}

impl<P: PartialEq + Clone> SyncRound<P> {
    /// A round over `peers`, all queued.
    pub fn new(id: u64, started_at: Timestamp, peers: impl IntoIterator<Item = P>) -> Self {
        let peers = peers
            .into_iter()
            .map(|peer_id| RoundPeer {
                peer_id,
                state: PeerSyncState::Queued,
                needed: 0,
                fetched: 0,
                stored: 0,
                error: None,
            })
            .collect();
        let mut round = Self {
            id,
            started_at,
            finished_at: None,
            needed: 0,
            fetched: 0,
            stored: 0,
            peers_finished: 0,
            peers,
        };
        round.total();
        round
    }

    fn entry(&mut self, peer: &P) -> Option<&mut RoundPeer<P>> {
        self.peers.iter_mut().find(|p| p.peer_id == *peer)
    }

    /// The state of `peer`'s part, if it has one.
    pub fn state_of(&self, peer: &P) -> Option<PeerSyncState> {
        self.peers.iter().find(|p| p.peer_id == *peer).map(|p| p.state)
    }

    /// A sync with `peer` started: it counts for the round if the peer was
    /// waiting its turn (a sync already running when the round was asked
    /// for may have missed what the operator wants, so it does not).
    pub fn started(&mut self, peer: &P) {
        if let Some(p) = self.entry(peer)
            && p.state == PeerSyncState::Queued
        {
            p.state = PeerSyncState::Syncing;
        }
    }

    /// `peer`'s sync made progress.
    pub fn progress(&mut self, peer: &P, progress: &SyncProgress) {
        if let Some(p) = self.entry(peer)
            && p.state == PeerSyncState::Syncing
        {
            p.needed = progress.needed;
            p.fetched = progress.fetched;
        }
        self.total();
    }

    /// `peer`'s sync ended; only one the round started counts.
    pub fn ended(&mut self, peer: &P, result: &Result<SyncReport, String>) {
        if let Some(p) = self.entry(peer)
            && p.state == PeerSyncState::Syncing
        {
            match result {
                Ok(report) => {
                    p.state = PeerSyncState::Done;
                    p.needed = report.needed;
                    p.fetched = report.fetched;
                    p.stored = report.stored;
                }
                Err(e) => {
                    p.state = PeerSyncState::Failed;
                    p.error = Some(e.clone());
                }
            }
        }
        self.total();
    }

    /// `peer` cannot be synced with (it is no longer admitted).
    pub fn failed(&mut self, peer: &P, why: &str) {
        if let Some(p) = self.entry(peer)
            && matches!(p.state, PeerSyncState::Queued | PeerSyncState::Syncing)
        {
            p.state = PeerSyncState::Failed;
            p.error = Some(why.to_owned());
        }
        self.total();
    }

    /// Whether every peer's sync has ended.
    pub fn is_finished(&self) -> bool {
        self.peers_finished == self.peers.len()
    }

    /// The round as shown, its peers named by `name`.
    pub fn shown<Q>(&self, name: impl Fn(&P) -> Q) -> SyncRound<Q> {
        SyncRound {
            id: self.id,
            started_at: self.started_at,
            finished_at: self.finished_at,
            needed: self.needed,
            fetched: self.fetched,
            stored: self.stored,
            peers_finished: self.peers_finished,
            peers: self
                .peers
                .iter()
                .map(|p| RoundPeer {
                    peer_id: name(&p.peer_id),
                    state: p.state,
                    needed: p.needed,
                    fetched: p.fetched,
                    stored: p.stored,
                    error: p.error.clone(),
                })
                .collect(),
        }
    }

    fn total(&mut self) {
        self.needed = self.peers.iter().map(|p| p.needed).sum();
        self.fetched = self.peers.iter().map(|p| p.fetched).sum();
        self.stored = self.peers.iter().map(|p| p.stored).sum();
        self.peers_finished = self
            .peers
            .iter()
            .filter(|p| matches!(p.state, PeerSyncState::Done | PeerSyncState::Failed))
            .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(needed: usize, stored: usize) -> SyncReport {
        SyncReport { needed, fetched: needed, stored, ..SyncReport::default() }
    }

    #[test]
    fn a_round_finishes_when_every_peer_is_done_or_failed() {
        let mut round = SyncRound::new(1, Timestamp::from_millis(5), ["a", "b", "c"]);
        assert!(!round.is_finished());
        round.started(&"a");
        round.progress(&"a", &SyncProgress { scope: "content", needed: 10, fetched: 4 });
        assert_eq!((round.needed, round.fetched), (10, 4));
        round.ended(&"a", &Ok(report(10, 9)));
        round.failed(&"b", "the peer is not connected");
        assert_eq!(round.peers_finished, 2);
        round.started(&"c");
        round.ended(&"c", &Err("timed out".into()));
        assert!(round.is_finished());
        assert_eq!((round.needed, round.fetched, round.stored), (10, 10, 9));
        assert_eq!(round.state_of(&"b"), Some(PeerSyncState::Failed));
        assert_eq!(round.peers[2].error.as_deref(), Some("timed out"));
    }

    /// A sync that was running before the round was asked for may have
    /// missed what the operator wants: its end does not count.
    #[test]
    fn a_sync_the_round_did_not_start_does_not_count() {
        let mut round = SyncRound::new(1, Timestamp::from_millis(5), ["a"]);
        round.ended(&"a", &Ok(report(3, 3)));
        round.progress(&"a", &SyncProgress { scope: "trust", needed: 3, fetched: 3 });
        assert_eq!(round.state_of(&"a"), Some(PeerSyncState::Queued));
        assert_eq!((round.needed, round.stored, round.peers_finished), (0, 0, 0));
        round.started(&"a");
        round.ended(&"a", &Ok(report(3, 3)));
        assert!(round.is_finished());
        // Ended once: a later end changes nothing.
        round.ended(&"a", &Err("late".into()));
        assert_eq!(round.state_of(&"a"), Some(PeerSyncState::Done));
    }

    #[test]
    fn an_empty_round_is_finished_and_shown_with_names() {
        let round = SyncRound::<u8>::new(2, Timestamp::from_millis(1), []);
        assert!(round.is_finished());
        let shown = SyncRound::new(3, Timestamp::from_millis(1), [7u8]).shown(|p| format!("p{p}"));
        assert_eq!(shown.peers[0].peer_id, "p7");
        assert_eq!(serde_json::to_value(&shown).unwrap()["peers"][0]["state"], "queued");
    }
}
