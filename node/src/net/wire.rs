//! What nodes say to each other over request-response (`/curbside/sync/1`).
//! Gossip carries bare events (their wire bytes) and needs no types here.
//! Public so that tests can speak the protocol as a (hostile) peer would.

use curbside_protocol::EventId;
use serde::{Deserialize, Serialize};

use crate::sync::Scope;
use crate::sync::recon;

/// Most ids one fetch may name.
pub const MAX_FETCH_IDS: usize = 1024;

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
    /// The request was not served.
    Refused {
        /// Stable machine code (`not_chartered`, `rate_limited`, `too_many_ids`, `bad_message`).
        code: String,
        /// For people.
        message: String,
    },
}

impl Response {
    pub(crate) fn refused(code: &str, message: impl Into<String>) -> Self {
        Response::Refused { code: code.into(), message: message.into() }
    }
}
