//! What nodes say to each other over request-response (`/curbside/sync/1`).
//! Gossip carries bare events (their wire bytes) and needs no types here.
//! Public so that tests can speak the protocol as a (hostile) peer would.
//!
//! The bottom of the node: these types import nothing from the rest of
//! the crate, so the network that carries them (`net`) and the parts that
//! speak through it (`sync`, `verifier`) all depend on them and never on each
//! other for their vocabulary.

use curbside_protocol::recon;

use crate::codes::Code;
use curbside_protocol::{
    Digest, EventId, Kind, NetworkId, PublicKey, SecretKey, Signature, Timestamp,
};
use serde::{Deserialize, Serialize};

/// Which set of events a reconciliation covers.
///
/// Trust events (charters, attestations, revocations, tree heads, hubs)
/// are reconciled first, so a node catching up knows every author and
/// verifier before the content they signed arrives. Content (posts, cases,
/// comments, polls, votes) is one set: comments and votes name a parent
/// rather than a hub, and every node stores every hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Charters, attestations, revocations, tree heads, hubs.
    Trust,
    /// Posts, cases, comments, polls, votes.
    Content,
}

impl Scope {
    /// Both scopes, in the order sync visits them.
    pub const ALL: [Scope; 2] = [Scope::Trust, Scope::Content];

    /// The scope of an event of `kind`.
    pub fn of(kind: Kind) -> Scope {
        Self::of_byte(kind as u8)
    }

    /// The scope of the kind whose byte (`Kind as u8`) is `kind`.
    pub fn of_byte(kind: u8) -> Scope {
        match Kind::ALL.get(usize::from(kind)) {
            Some(k) if k.is_trust() => Scope::Trust,
            _ => Scope::Content,
        }
    }

    /// A name for logs and status.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Trust => "trust",
            Scope::Content => "content",
        }
    }
}

/// Most ids one fetch may name.
pub const MAX_FETCH_IDS: usize = 1024;

/// Most audit-log leaves one request may ask for.
pub const MAX_LOG_LEAVES: u64 = 1024;

/// A request from one node to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// "Show me your charters": the first thing asked of a peer whose
    /// charter this node does not know yet.
    Credentials,
    /// One round of set reconciliation over `scope`.
    Reconcile {
        /// Which set.
        scope: Scope,
        /// The initiator's message.
        message: recon::Message,
    },
    /// The events with these ids, in wire form (at most [`MAX_FETCH_IDS`]).
    Fetch {
        /// What is wanted.
        ids: Vec<EventId>,
    },
    /// The latest tree head of `verifier`'s audit log the responder has
    /// checked, and how many leaves it holds.
    LogHead {
        /// Whose log.
        verifier: PublicKey,
    },
    /// Leaves `start..end` of `verifier`'s log (at most [`MAX_LOG_LEAVES`]),
    /// with their events if `with_events`.
    LogLeaves {
        /// Whose log.
        verifier: PublicKey,
        /// First leaf.
        start: u64,
        /// One past the last.
        end: u64,
        /// Whether to send the leaf events too.
        with_events: bool,
    },
    /// The consistency proof from size `old` to size `new` of `verifier`'s log.
    LogConsistency {
        /// Whose log.
        verifier: PublicKey,
        /// The smaller size.
        old: u64,
        /// The larger size.
        new: u64,
    },
    /// The inclusion proof of `leaf` in the first `size` leaves of
    /// `verifier`'s log.
    LogInclusion {
        /// Whose log.
        verifier: PublicKey,
        /// The leaf (an attestation or revocation id).
        leaf: EventId,
        /// The tree size the proof is for.
        size: u64,
    },
    /// "I have checked your charter and admit you; do you admit me?" Sent
    /// once a node admits a peer. Neither side meshes the other or starts
    /// syncing until both have said so, so that neither grafts or asks a
    /// peer that has not seen its charter yet (which would refuse, and
    /// gossipsub would keep the pair apart for its prune backoff).
    Admitted,
    /// The trust events about `key` the responder holds: the charters
    /// naming it (as a node) and the attestations of it (as a physician),
    /// with the revocations of each. Asked for when an event waits for its
    /// author's attestation or a node's charter.
    TrustFor {
        /// The node or physician key.
        key: PublicKey,
    },
    /// [`Request::Fetch`], answered with [`Response::Received`]: each event
    /// with when the responder first received it. What a node of this
    /// version asks, because it judges history at that time.
    FetchReceived {
        /// What is wanted (at most [`MAX_FETCH_IDS`]).
        ids: Vec<EventId>,
    },
    /// [`Request::TrustFor`], answered with [`Response::Received`].
    TrustForReceived {
        /// The node or physician key.
        key: PublicKey,
    },
    /// "This running instance of my node key is `claim`": answered with
    /// [`Response::Instances`], the other instances of the same key the
    /// responder is connected to now. A node of an earlier version cannot
    /// decode it and fails the request; the asker treats that as no answer.
    Instance {
        /// The asker's signed claim.
        claim: InstanceClaim,
    },
}

/// What a running instance of a node key says of itself: a random id
/// chosen at start and when it started, signed by the node key so that a
/// peer can pass it on and no one can forge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceClaim {
    /// The node key.
    pub node: PublicKey,
    /// Chosen at random when the instance started.
    pub instance: u64,
    /// When the instance started (its own clock).
    pub started_at: Timestamp,
    /// The node key's signature of [`InstanceClaim::message`].
    pub signature: Signature,
}

/// The domain of an instance claim's signature (never an event id's).
pub const INSTANCE_DOMAIN: &[u8] = b"curbside/node-instance/v1";

impl InstanceClaim {
    /// The bytes signed: `SHA-256(INSTANCE_DOMAIN || network || node ||
    /// instance as u64 BE || started_at as u64 BE)`.
    pub fn message(
        network: &NetworkId,
        node: &PublicKey,
        instance: u64,
        started_at: Timestamp,
    ) -> [u8; 32] {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(INSTANCE_DOMAIN);
        h.update(network.as_bytes());
        h.update(node.as_bytes());
        h.update(instance.to_be_bytes());
        h.update(started_at.as_millis().to_be_bytes());
        h.finalize().into()
    }

    /// The claim of `key`'s instance `instance`, started at `started_at`.
    pub fn new(network: &NetworkId, key: &SecretKey, instance: u64, started_at: Timestamp) -> Self {
        let node = key.public();
        let signature = key.sign(&Self::message(network, &node, instance, started_at));
        Self { node, instance, started_at, signature }
    }

    /// Whether the node key signed this claim on `network`.
    pub fn verifies(&self, network: &NetworkId) -> bool {
        let message = Self::message(network, &self.node, self.instance, self.started_at);
        self.node.verify(&message, &self.signature).is_ok()
    }

    /// Whether this instance started before `other` (ties broken by id):
    /// of two instances of one key, the later one stops issuing.
    pub fn started_before(&self, other: &InstanceClaim) -> bool {
        (self.started_at, self.instance) < (other.started_at, other.instance)
    }
}

/// An event as history: its wire bytes, and when the node serving it
/// first received it (`None`: stored before receipts were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedEvent {
    /// Wire bytes.
    pub wire: Vec<u8>,
    /// When the responder first received it (or the peer that vouched for
    /// it to the responder).
    pub received_at: Option<Timestamp>,
}

/// A response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The charter events naming the responder's key.
    Credentials {
        /// Wire bytes of each charter event.
        events: Vec<Vec<u8>>,
    },
    /// The responder's reconciliation message; `None` when nothing differs.
    Reconcile {
        /// The reply.
        message: Option<recon::Message>,
    },
    /// The requested events the responder has (others are left out), in
    /// the order asked, up to the response size limit.
    Events {
        /// Wire bytes of each event.
        events: Vec<Vec<u8>>,
    },
    /// A verifier's latest checked tree head (`None` if none) and the
    /// leaves held.
    LogHead {
        /// Wire bytes of the head event.
        head: Option<Vec<u8>>,
        /// Leaves the responder holds.
        size: u64,
    },
    /// Leaves of a log from `start`, with their events when asked for
    /// (in the same order; an event the responder lacks is left empty).
    LogLeaves {
        /// Index of the first leaf.
        start: u64,
        /// The leaf ids.
        leaves: Vec<EventId>,
        /// Wire bytes of each leaf's event, or nothing.
        events: Vec<Vec<u8>>,
    },
    /// A Merkle proof: consistency, or inclusion of the leaf at `index`.
    LogProof {
        /// The leaf's index (inclusion proofs; 0 for consistency).
        index: u64,
        /// The proof's hashes.
        proof: Vec<Digest>,
    },
    /// The request was not served.
    Refused {
        /// Stable machine code (`not_chartered`, `rate_limited`, `too_many_ids`,
        /// `bad_message`, `log_unavailable`, `storage`).
        code: String,
        /// For people.
        message: String,
    },
    /// The answer to [`Request::Admitted`]: whether the responder admits
    /// the asker too (if not yet, it says so with its own `Admitted` once
    /// it has seen the asker's charter).
    Admission {
        /// Whether the responder admits the asker.
        admitted: bool,
    },
    /// The answer to [`Request::FetchReceived`] and
    /// [`Request::TrustForReceived`]: what [`Response::Events`] holds, each
    /// event with its receipt.
    Received {
        /// The events.
        events: Vec<ReceivedEvent>,
    },
    /// The answer to [`Request::Instance`]: the claims of other instances
    /// of the asker's key connected to the responder now (empty: none).
    Instances {
        /// Their claims, as they signed them.
        others: Vec<InstanceClaim>,
    },
}

impl Response {
    pub(crate) fn refused(code: Code, message: impl Into<String>) -> Self {
        Response::Refused { code: code.as_str().into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::Timestamp;

    const DOC: &str = include_str!("../../docs/PROTOCOL.md");

    fn published(name: &str) -> Option<String> {
        curbside_protocol::testkit::published(DOC, name)
    }

    /// The signed vector post (docs/PROTOCOL.md, Test vectors).
    fn vector_post() -> Vec<u8> {
        let v = curbside_protocol::testkit::vectors();
        let get = |n: &str| hex::decode(&v.iter().find(|(name, _)| *name == n).unwrap().1).unwrap();
        [get("post event bytes"), get("post signature")].concat()
    }

    /// Regression: cosignatures (a kind added after the hubs) were put in
    /// the content scope, so they were never gossiped on the trust topic.
    #[test]
    fn every_trust_kind_is_in_the_trust_scope() {
        for kind in Kind::ALL {
            let expected = if kind.is_trust() { Scope::Trust } else { Scope::Content };
            assert_eq!(Scope::of(kind), expected, "{kind}");
        }
    }

    /// An instance claim verifies on its network only, under its own key,
    /// and says which of two instances started first.
    #[test]
    fn an_instance_claim_is_signed_and_ordered() {
        let k = curbside_protocol::testkit::key("wire-instance");
        let net = NetworkId::from_bytes([1; 32]);
        let at = Timestamp::from_millis(1_767_225_600_000);
        let claim = InstanceClaim::new(&net, &k, 42, at);
        assert!(claim.verifies(&net));
        assert!(!claim.verifies(&NetworkId::from_bytes([2; 32])));
        let mut changed = claim;
        changed.instance = 43;
        assert!(!changed.verifies(&net));
        let other = curbside_protocol::testkit::key("wire-instance-other");
        assert!(!InstanceClaim { node: other.public(), ..claim }.verifies(&net));
        // Not an event signature: the domain differs.
        assert_ne!(InstanceClaim::message(&net, &k.public(), 42, at), [0; 32]);
        let later = InstanceClaim::new(&net, &k, 1, Timestamp::from_millis(at.as_millis() + 1));
        assert!(claim.started_before(&later) && !later.started_before(&claim));
        let tie = InstanceClaim::new(&net, &k, 41, at);
        assert!(tie.started_before(&claim));
        // It survives the wire.
        let bytes = postcard::to_stdvec(&Request::Instance { claim }).unwrap();
        let read: Request = curbside_protocol::encoding::from_canonical_bytes(&bytes).unwrap();
        assert!(matches!(read, Request::Instance { claim: c } if c == claim));
    }

    #[test]
    fn a_received_answer_is_the_vector_in_protocol_md() {
        let post = vector_post();
        // The post as history, received 250 ms after it was made.
        let received_at = Some(Timestamp::from_millis(1_767_225_660_250));
        let answer = Response::Received { events: vec![ReceivedEvent { wire: post, received_at }] };
        let bytes = postcard::to_stdvec(&answer).unwrap();
        assert_eq!(
            published("post received as history").as_deref(),
            Some(hex::encode(&bytes).as_str())
        );
        let read: Response = curbside_protocol::encoding::from_canonical_bytes(&bytes).unwrap();
        assert!(
            matches!(read, Response::Received { events } if events[0].received_at == received_at)
        );
    }
}
