//! # curbside-protocol
//!
//! Everything the nodes, the command line and auditors of a Curbside network
//! must agree on: the wire types, their one canonical encoding, ids and
//! signatures, the rules that decide whether an event is valid, poll
//! tallying, the de-identification guard, RFC 6962 Merkle proofs and the
//! range-based set reconciliation nodes sync with ([`recon`]).
//!
//! **No I/O.** This crate knows nothing of tokio, libp2p, sled, HTTP or
//! terminals, and never reads a clock: callers pass `now` in, and when the
//! event was received (an [`Arrival`]). That keeps every decision pure,
//! deterministic and testable, and lets one function — [`validate`] —
//! decide at the API, at gossip and at sync alike.
//!
//! ```
//! use curbside_protocol::{testkit::Federation, validate, Arrival, NotAccepted, Rejection};
//!
//! let mut fed = Federation::new();            // a root and a chartered verifier
//! let dr = fed.physician("dr-ada");           // attested by the verifier
//! let post = fed.post(&dr, "Refractory hypokalaemia");
//! let now = Arrival::live(fed.now());         // received just now
//! let accepted = validate(&post, fed.view(), now).expect("valid");
//! assert_eq!(accepted.event().id(), post.id());
//!
//! // Change one byte of the signed bytes and the event no longer validates.
//! let mut bytes = post.to_bytes();
//! let last = bytes.len() - 1;
//! bytes[last] ^= 1;
//! let tampered = curbside_protocol::SignedEvent::decode(&bytes).unwrap();
//! assert_eq!(
//!     validate(&tampered, fed.view(), now).unwrap_err(),
//!     NotAccepted::Invalid(Rejection::BadSignature),
//! );
//! ```
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Validation hands the event back with the reason when it refuses it, and
// inside the verified type when it accepts: both variants carry the event,
// so boxing the error would not make the `Result` any smaller.
#![allow(clippy::result_large_err)]

pub mod audit;
mod batch;
mod bytes;
pub mod deid;
pub mod encoding;
mod event;
mod genesis;
mod ids;
mod keys;
pub mod limits;
pub mod mention;
pub mod merkle;
mod names;
pub mod recon;
pub mod registry;
mod request;
pub mod rules;
pub mod tally;
// Fixed-seed keys that panic: for tests, benchmarks, fuzzing and examples
// only (the `testkit` feature), never in a release build of the binary.
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod validate;

pub use batch::{BATCH_SIZE, verify_batch};
pub use bytes::ParseHexError;
pub use event::{
    Accept, AgeBand, Appointment, Attestation, Body, Case, Charter, Comment, Cosignature,
    EVENT_ID_DOMAIN, EVENT_VERSION, Edit, Event, Kind, MAX_DECODE_BYTES, Outcome, Poll, PollAnswer,
    Post, Retraction, Revision, Revocation, Sex, SignedEvent, Takedown, TakedownReason, TreeHead,
    Vote, afterword_supersedes, edit_supersedes,
};
pub use genesis::{DEFAULT_HUBS, GENESIS_VERSION, Genesis, GenesisError, HubDef, Params};
pub use ids::{Digest, EventId, NetworkId, Timestamp};
pub use keys::{PublicKey, SecretKey, Signature, SignatureError};
pub use names::{Handle, HubId, Jurisdiction, NameError, Specialty, Tag};
pub use request::{
    AttestationRequest, LicenceOpening, REQUEST_DOMAIN, REQUEST_PREFIX, RequestError,
    licence_commitment, verify_possession,
};
pub use tally::{Ballot, Cell, Counts, Tally};
pub use validate::{
    Accepted, AppointmentRecord, Arrival, AttestationRecord, Authority, CharterRecord, Dependency,
    EventSummary, GossipVerdict, LogEntry, MemoryTrust, NotAccepted, PollRecord, Rejection,
    RejectionCode, SignatureVerified, ThreadLink, Tombstone, TreeHeadRecord, TrustView,
    VerifiedEvent, attestation_standing, charters_in_force, validate, validate_bytes,
    validate_owned,
};
