//! Admission decided as a pure function of the time and the peers'
//! standing: no swarm, no clock read, no store. The runner gathers what
//! it knows (a peer's state, when it connected, what the store said of its
//! charter), asks these functions what to do, and does it
//! (`admission.rs`). The timeout races that once went wrong are tested
//! here, in microseconds, with made-up instants.

use crate::codes::Code;
use std::time::{Duration, Instant};

use curbside_protocol::PublicKey;
use libp2p::PeerId;

use crate::net::peers::Admission;

/// Where a connected peer stands. Admission is mutual: a peer is meshed
/// and synced only once this node has seen its charter *and* it has said
/// it has seen this node's (`Request::Admitted`). Were either side to
/// graft or ask before the other had admitted it, it would be refused,
/// and a refused GRAFT keeps the pair out of each other's mesh for
/// gossipsub's prune backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Just connected: its key is being looked up among the charters held
    /// here (off the swarm task).
    Looking,
    /// Its charter is not known here yet; asked for it (`asked`: a request
    /// is out).
    Checking { asked: bool },
    /// Its charter is in force here, so its requests and gossip are served,
    /// but it has not said it admits this node: not meshed or synced yet.
    Welcoming,
    /// Both admit each other: takes part in the mesh and in sync.
    Admitted,
}

impl State {
    /// Whether this node has seen the peer's charter (and so serves it).
    pub(super) fn chartered(self) -> bool {
        matches!(self, State::Welcoming | State::Admitted)
    }
}

/// Whether a peer has been told that this node admits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Told {
    /// Not yet (or the telling failed: told again at the next check).
    No,
    /// A `Request::Admitted` is out.
    Asking,
    /// It answered.
    Yes,
}

/// A peer as the decisions see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Standing {
    pub(super) id: PeerId,
    pub(super) key: Option<PublicKey>,
    pub(super) state: State,
    /// When it connected.
    pub(super) since: Instant,
    pub(super) told: Told,
    /// Its gossipsub score, if gossipsub knows it.
    pub(super) score: Option<f64>,
}

/// What to do about a peer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Its charter is in force: serve it and tell it so.
    Admit(PeerId),
    /// Ask it for its charter.
    AskCredentials(PeerId),
    /// Its charter is still unknown after it showed one: ask again at the
    /// next check.
    AskAgain(PeerId),
    /// Tell it (again) that this node admits it.
    TellAdmitted(PeerId),
    /// Read the charters of its key again (off the swarm task).
    Review(PeerId, PublicKey),
    /// Close its connections without blocking it.
    Disconnect(PeerId),
    /// Block it for a while and close its connections.
    Refuse { peer: PeerId, code: Code, reason: String },
}

/// What the admission rules are given.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// How long a new peer has to show a charter.
    pub(super) timeout: Duration,
    /// Most connected peers whose charter is not known here.
    pub(super) max_unadmitted: usize,
    /// The gossipsub score under which a peer is cut off.
    pub(super) graylist: f64,
}

fn refuse(peer: PeerId, code: Code, reason: impl Into<String>) -> Action {
    Action::Refuse { peer, code, reason: reason.into() }
}

/// The periodic check at `now`: new peers that never showed a charter
/// time out, peers not yet asked are asked, peers that never admitted this
/// node back time out, graylisted peers are cut off, and every chartered
/// peer's charter is read again (answered by [`reviewed`]).
pub(super) fn check(
    now: Instant,
    limits: Limits,
    peers: impl IntoIterator<Item = Standing>,
) -> Vec<Action> {
    let waited = |peer: &Standing| now.saturating_duration_since(peer.since);
    // A peer that has not admitted this node is given twice as long: it
    // decides first (on its own timeout, by refusing this node if it never
    // saw a charter), so each side's verdict names the real cause rather
    // than the two timing out on each other.
    let mut actions = Vec::new();
    for peer in peers {
        let id = peer.id;
        let action = match (peer.state, peer.key) {
            (State::Looking | State::Checking { .. }, _) if waited(&peer) > limits.timeout => {
                refuse(id, Code::NotChartered, "showed no valid charter in time")
            }
            (State::Checking { asked: false }, _) => Action::AskCredentials(id),
            (State::Welcoming, _) if waited(&peer) > limits.timeout * 2 => refuse(
                id,
                Code::NotAdmitted,
                "did not admit this node in time (has it seen this node's charter?)",
            ),
            (State::Admitted, _) if peer.score.is_some_and(|s| s < limits.graylist) => {
                // Gossipsub already ignores it; cut it off altogether.
                refuse(
                    id,
                    Code::ScoreTooLow,
                    "gossip score under the graylist threshold (invalid events)",
                )
            }
            (State::Welcoming | State::Admitted, Some(key)) => Action::Review(id, key),
            _ => continue,
        };
        actions.push(action);
    }
    actions
}

/// A new peer's key was looked up: admit it, ask it for its charter (if
/// there is room for one more peer without a known charter: `unadmitted`
/// such peers are connected now), or refuse it.
pub(super) fn looked_up(
    peer: &Standing,
    verdict: Admission,
    unadmitted: usize,
    limits: Limits,
) -> Option<Action> {
    if peer.state != State::Looking {
        return None;
    }
    Some(match verdict {
        Admission::Chartered => Action::Admit(peer.id),
        Admission::Unknown if unadmitted >= limits.max_unadmitted => Action::Disconnect(peer.id),
        Admission::Unknown => Action::AskCredentials(peer.id),
        Admission::Refused { code, message } => refuse(peer.id, code, message),
    })
}

/// The charters a peer showed were ingested and its key looked up again.
pub(super) fn checked(peer: &Standing, verdict: Admission) -> Option<Action> {
    match verdict {
        Admission::Chartered if !peer.state.chartered() => Some(Action::Admit(peer.id)),
        Admission::Chartered => None,
        // Asked again at the next check, until the timeout.
        Admission::Unknown => Some(Action::AskAgain(peer.id)),
        Admission::Refused { code, message } => Some(refuse(peer.id, code, message)),
    }
}

/// A chartered peer's charter was read again (see [`check`]): a revoked or
/// lapsed one drops it, and a peer not yet told it is admitted is told.
pub(super) fn reviewed(peer: &Standing, verdict: Admission) -> Option<Action> {
    if !peer.state.chartered() {
        return None;
    }
    match verdict {
        Admission::Chartered if peer.told == Told::No => Some(Action::TellAdmitted(peer.id)),
        Admission::Chartered => None,
        Admission::Refused { code, message } => Some(refuse(peer.id, code, message)),
        Admission::Unknown => Some(refuse(peer.id, Code::NotChartered, "its charter is gone")),
    }
}

/// An admitted peer as the bound on connections sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Connected {
    pub(super) id: PeerId,
    /// When it connected.
    pub(super) since: Instant,
    /// Whether it is in this node's gossip mesh for some topic.
    pub(super) meshed: bool,
    /// When a sync with it last ended (`None`: never).
    pub(super) synced: Option<Instant>,
}

/// The admitted peers to disconnect so that at most `max` stay: those in
/// no gossip mesh first, the newest first among equals. Kademlia's
/// queries connect to every peer they ask, so without this bound every
/// node of a network ends up connected to every other, and each
/// connection's pings, announcements and syncs grow with the network
/// (docs/BENCHMARKS.md, issue 18). Keeping the oldest means a peer that
/// connects and reconnects cannot push out the peers a node has long had.
pub(super) fn excess(mut peers: Vec<Connected>, max: usize) -> Vec<PeerId> {
    if peers.len() <= max {
        return Vec::new();
    }
    // Kept first: meshed, then the longest connected.
    peers.sort_by_key(|p| (!p.meshed, p.since));
    peers.split_off(max).into_iter().map(|p| p.id).collect()
}

/// The admitted peers a periodic sync round reaches: at most `count`, the
/// longest unsynced first (never synced before any), so that every peer is
/// reached in turn while each round's cost stays the same however many
/// peers a node has. Gossip carries events; these rounds only repair what
/// it missed, and what one peer repairs spreads from it by the next rounds.
pub(super) fn sync_partners(mut peers: Vec<Connected>, count: usize) -> Vec<PeerId> {
    // `None` (never synced) sorts before any time.
    peers.sort_by_key(|p| (p.synced, p.since));
    peers.into_iter().take(count).map(|p| p.id).collect()
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
