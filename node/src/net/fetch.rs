//! Filling what a gossiped event waits for, from the peer that sent it.
//!
//! A comment can arrive before its parent, a post before its author's
//! attestation. Rather than wait for the next reconciliation, the node asks
//! the sender for exactly what is missing (an event by id, or the trust
//! events about a key) and follows the chain a few hops: the parent's own
//! parent, the attestation's verifier's charter. What this cannot fill
//! (a hub, an audit-log entry, a chain longer than [`MAX_HOPS`], or a peer
//! that lacks it) is left to a sync with that peer.

use std::collections::HashSet;

use curbside_protocol::{Dependency, SignedEvent};

use super::Command;
use crate::ingest::{Incoming, Ingester, Outcome, Source};
use crate::sync::Transport;
use crate::wire::{Request, Response};

/// Most requests one fill makes.
pub(crate) const MAX_HOPS: usize = 8;

/// What filling one dependency did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Filled {
    /// Events stored.
    pub(crate) stored: usize,
    /// Events the peer sent that are invalid whoever relays them.
    pub(crate) invalid: usize,
    /// What is still missing, if the chain could not be filled here.
    pub(crate) unresolved: Option<Dependency>,
}

/// The request that fills `dependency`, if one does.
pub(crate) fn request_for(dependency: &Dependency) -> Option<Request> {
    match dependency {
        Dependency::Event(id) => Some(Request::FetchReceived { ids: vec![*id] }),
        Dependency::Attestation(key) | Dependency::Charter(key) => {
            Some(Request::TrustForReceived { key: *key })
        }
        // A hub, and an attestation giving a mentioned handle, come with
        // the trust set's sync; a log entry with the verifier's next tree
        // head.
        Dependency::Hub(_) | Dependency::LogEntry { .. } | Dependency::Handle(_) => None,
    }
}

/// Asks `peer` for `first`, ingests what comes back, and goes on with
/// whatever that in turn waits for.
pub(crate) async fn fill(
    peer: &impl Transport,
    ingester: &Ingester,
    first: Dependency,
) -> Result<Filled, String> {
    let mut filled = Filled::default();
    let mut wanted = vec![first];
    let mut asked = HashSet::new();
    for _ in 0..MAX_HOPS {
        let Some(dependency) = wanted.pop() else { return Ok(filled) };
        if !asked.insert(dependency.clone()) {
            continue;
        }
        let Some(request) = request_for(&dependency) else {
            filled.unresolved = Some(dependency);
            return Ok(filled);
        };
        let events = match peer.request(request).await? {
            Response::Received { events } => events,
            Response::Refused { code, message } => return Err(format!("{code}: {message}")),
            _ => return Err("the peer answered a fetch with something else".into()),
        };
        let mut decoded = Vec::with_capacity(events.len());
        for received in events {
            match SignedEvent::decode(&received.wire) {
                // History: judged at the time the peer vouches it first
                // received the event, however old it is.
                Ok(event) => decoded
                    .push(Incoming::received(event, received.received_at).from(peer.holder())),
                Err(_) => filled.invalid += 1,
            }
        }
        if decoded.is_empty() {
            filled.unresolved = Some(dependency);
            return Ok(filled);
        }
        let outcomes =
            ingester.submit_received(Source::Sync, decoded).await.map_err(|e| e.to_string())?;
        for outcome in outcomes {
            match outcome {
                Outcome::Stored { .. } => filled.stored += 1,
                Outcome::Pending { dependency, .. } if !asked.contains(&dependency) => {
                    wanted.push(dependency);
                }
                Outcome::Rejected { refusal, .. } if refusal.blames_sender() => filled.invalid += 1,
                _ => {}
            }
        }
    }
    filled.unresolved = wanted.pop();
    Ok(filled)
}

/// What asking the admitted peers for a dependency found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// A peer had it: it is stored here now (and what waited for it with it).
    Filled,
    /// Every peer asked answered, and none has it (or there are none to ask
    /// and no network: nobody has it).
    NobodyHas,
    /// Some peer could not be asked or did not answer in time.
    NoAnswer,
}

/// A runner task's line to one peer (a sync's, a fill's): its requests go
/// through the runner as [`Command::Request`]s.
pub(crate) struct PeerTransport {
    peer: libp2p::PeerId,
    commands: tokio::sync::mpsc::Sender<Command>,
}

impl PeerTransport {
    pub(crate) fn new(peer: libp2p::PeerId, commands: tokio::sync::mpsc::Sender<Command>) -> Self {
        Self { peer, commands }
    }
}

impl Transport for PeerTransport {
    fn holder(&self) -> crate::store::Holder {
        super::peers::holder_of(&self.peer)
    }

    async fn request(&self, request: Request) -> Result<Response, String> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.commands
            .send(Command::Request { peer: self.peer, request, reply })
            .await
            .map_err(|_| "the network is stopping".to_string())?;
        rx.await.map_err(|_| "the network is stopping".to_string())?
    }
}

/// Most peers asked for one dependency of an event submitted to this node.
const PEERS_ASKED: usize = 3;
/// How long each may take.
const ASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// A request to an admitted peer through the network handle.
struct HandleTransport<'n> {
    net: &'n super::NetHandle,
    peer: super::PeerRef,
}

impl Transport for HandleTransport<'_> {
    fn holder(&self) -> crate::store::Holder {
        crate::store::Holder::Peer(self.peer.key)
    }

    async fn request(&self, request: Request) -> Result<Response, String> {
        self.net.request(&self.peer, request).await
    }
}

/// Asks up to a few admitted peers for `dependency` (what an event
/// submitted to this node's API waits for: a comment's parent, a vote's
/// poll), and ingests what the first that has it sends.
pub(crate) async fn ask_peers(
    net: Option<&super::NetHandle>,
    ingester: &Ingester,
    dependency: &Dependency,
) -> Asked {
    let Some(net) = net else { return Asked::NobodyHas };
    if request_for(dependency).is_none() {
        return Asked::NoAnswer;
    }
    let peers = net.peers().await;
    if peers.is_empty() {
        return Asked::NoAnswer;
    }
    let mut all_answered = true;
    for peer in peers.into_iter().take(PEERS_ASKED) {
        let transport = HandleTransport { net, peer };
        match tokio::time::timeout(ASK_TIMEOUT, fill(&transport, ingester, dependency.clone()))
            .await
        {
            Ok(Ok(filled)) if filled.stored > 0 || filled.unresolved.is_none() => {
                return Asked::Filled;
            }
            // It answered, without it.
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => all_answered = false,
        }
    }
    if all_answered { Asked::NobodyHas } else { Asked::NoAnswer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::{EventId, SecretKey};

    #[test]
    fn each_kind_of_dependency_has_its_request_or_is_left_to_sync() {
        let id = EventId::from_bytes([3; 32]);
        let key = SecretKey::from_seed(&[4; 32]).public();
        assert!(matches!(
            request_for(&Dependency::Event(id)),
            Some(Request::FetchReceived { ids }) if ids == vec![id]
        ));
        for dependency in [Dependency::Attestation(key), Dependency::Charter(key)] {
            assert!(matches!(
                request_for(&dependency),
                Some(Request::TrustForReceived { key: k }) if k == key
            ));
        }
        let log = Dependency::LogEntry { verifier: key, attestation: id };
        assert!(request_for(&log).is_none());
    }
}
