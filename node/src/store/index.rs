//! An event's index entries: [`entries`] is the one function that says
//! what an event adds to the store beside its own record. A commit
//! (`write.rs`) writes what it returns; the integrity check (`check`)
//! derives what the indexes must hold from the stored events with the same
//! function, so the check recomputes with the very code that writes.
//!
//! Most entries are a key and a value that follow from the event alone
//! ([`Entry::Put`]). The rest depend on other events (a comment's thread
//! root, a voter's latest ballot, a target's earliest revocation, the first
//! title of a hub, the latest cosignature of a pair), so they are returned
//! as what the event contributes, and the writer (from what is stored) and
//! the check (from every event) each combine them.

use curbside_protocol::{
    AttestationRecord, Body, EventId, HubId, Kind, PublicKey, Timestamp, VerifiedEvent,
};

use super::audit::HeadRecord;
use super::encode;
use super::keys::{self, Space};

/// The option of a ballot that counts for nothing: a retracted vote's
/// (written by the commit, expected by the check). Polls have at most 8
/// options, so no vote can name it.
pub(super) const WITHDRAWN: u8 = u8::MAX;

/// One thing an event adds to the indexes.
#[derive(Debug)]
pub(super) enum Entry<'e> {
    /// `key` → `value` under `space`: a feed entry (a copy of the record),
    /// a poll, an attestation or charter record, a revocation's own entry,
    /// a tree head.
    Put { space: Space, key: Vec<u8>, value: Vec<u8> },
    /// A tree head to be checked (under `head_queue`, the head's key):
    /// taken off once the witness has checked it, so the check does not
    /// expect it.
    Queue(Vec<u8>),
    /// A post, case or poll: a thread starts from it.
    Starts,
    /// A comment on `parent`: packed into the record of its thread's root,
    /// which only the stored parents can tell.
    Comment { parent: EventId },
    /// A poll of `options` options: its tally starts empty.
    Poll { options: usize },
    /// A vote for `option` of `poll`: the author's ballot (counted when the
    /// author votes as the `physician` attested there) and the poll's tally.
    Vote { poll: EventId, option: u8, physician: Option<&'e AttestationRecord> },
    /// A revocation of `target` from `effective_at`: `revocations` keeps
    /// the earliest of all of the target's.
    Revocation { target: EventId, effective_at: Timestamp },
    /// A hub: `key` → `title`, the first title stored kept.
    Hub { id: &'e HubId, key: Vec<u8>, title: &'e str },
    /// A cosignature of `head` by `cosigner`: the pair's entry names one of
    /// the pair's cosignatures.
    Cosignature { head: EventId, cosigner: PublicKey },
    /// The pending-set dependency the event satisfies: what waits on it is
    /// released.
    Satisfies(Vec<u8>),
    /// A retraction of `target` (whose parent it names as `parent`): the
    /// target is deleted and its tombstone written, if it applies.
    Retract { target: EventId, parent: Option<EventId> },
    /// An outcome, accept or poll answer of `target` (a case, a thread's
    /// root, a poll): `afterwords` names the latest of that kind there.
    Afterword { target: EventId, kind: Kind },
    /// An edit of `target` (whose parent it names as `parent`): the
    /// original's text is deleted as a retraction deletes it, its
    /// tombstone naming the edit in force; a superseded edit's text goes
    /// too (`write/retract.rs`).
    Edit { target: EventId, parent: Option<EventId> },
}

/// What `event`, stored as `record` (its `events` record, which a feed
/// entry copies), adds to the indexes.
pub(super) fn entries<'e>(event: &'e VerifiedEvent, record: &[u8]) -> Vec<Entry<'e>> {
    let id = event.id();
    let at = event.created_at();
    let mut out = Vec::with_capacity(3);
    out.push(Entry::Satisfies(keys::dep::event(&id)));
    if let Some(hub) = event.body().hub() {
        out.push(Entry::Put {
            space: Space::Feed,
            key: keys::feed(hub, at, &id),
            value: record.to_vec(),
        });
        out.push(Entry::Starts);
    }
    if let Some(kind) = moderation_kind(event.body()) {
        out.push(Entry::Put {
            space: Space::Moderation,
            key: keys::moderation(at, &id),
            value: vec![kind],
        });
    }
    match event.body() {
        Body::Comment(c) => out.push(Entry::Comment { parent: c.parent }),
        Body::Poll(p) => {
            if let Some(record) = event.poll_record() {
                out.push(Entry::Put {
                    space: Space::Polls,
                    key: keys::poll(&id),
                    value: encode(&record),
                });
            }
            out.push(Entry::Poll { options: p.options.len() });
        }
        Body::Vote(v) => {
            let physician = match event.authority() {
                curbside_protocol::Authority::Physician(record) => Some(record),
                _ => None,
            };
            out.push(Entry::Vote { poll: v.poll, option: v.option, physician });
        }
        Body::Attestation(a) => {
            if let Some((subject, record)) = event.attestation_record() {
                out.push(Entry::Put {
                    space: Space::Attestations,
                    key: keys::attestation(&subject, &id),
                    value: encode(&record),
                });
            }
            out.push(Entry::Satisfies(keys::dep::attestation(&a.subject)));
            // Events mentioning `@handle` wait for any attestation giving it.
            out.push(Entry::Satisfies(keys::dep::handle(&a.handle)));
        }
        Body::Charter(c) => {
            if let Some((node, record)) = event.charter_record() {
                out.push(Entry::Put {
                    space: Space::Charters,
                    key: keys::charter(&node, &id),
                    value: encode(&record),
                });
            }
            out.push(Entry::Satisfies(keys::dep::charter(&c.node)));
        }
        Body::Revocation(r) => {
            out.push(Entry::Put {
                space: Space::RevokedBy,
                key: keys::revoked_by(&r.target, &id),
                value: Vec::new(),
            });
            out.push(Entry::Revocation { target: r.target, effective_at: r.effective_at });
        }
        Body::Hub(h) => {
            out.push(Entry::Hub { id: &h.id, key: keys::hub(&h.id), title: &h.title });
            out.push(Entry::Satisfies(keys::dep::hub(&h.id)));
        }
        Body::TreeHead(h) => {
            let record = HeadRecord { size: h.size, root: h.root };
            out.push(Entry::Put {
                space: Space::Heads,
                key: keys::head(event.author(), at, &id),
                value: encode(&record),
            });
            out.push(Entry::Queue(keys::queued_head(event.author(), at, &id)));
        }
        Body::Cosignature(c) => {
            out.push(Entry::Cosignature { head: c.head, cosigner: *event.author() });
        }
        Body::Rules(r) => {
            out.push(Entry::Put { space: Space::Rules, key: keys::rules(&id), value: encode(r) });
        }
        Body::Retraction(r) => out.push(Entry::Retract { target: r.target, parent: r.parent }),
        Body::Outcome(_) | Body::Accept(_) | Body::PollAnswer(_) => {
            if let Some(target) = event.body().afterword_target() {
                out.push(Entry::Afterword { target, kind: event.kind() });
            }
        }
        Body::Takedown(t) => out.push(Entry::Retract { target: t.target, parent: t.parent }),
        Body::Appointment(_) => {
            if let Some((moderator, record)) = event.appointment_record() {
                out.push(Entry::Put {
                    space: Space::Appointments,
                    key: keys::appointment(&moderator, &id),
                    value: encode(&record),
                });
            }
        }
        Body::Edit(e) => out.push(Entry::Edit { target: e.target, parent: e.content.parent() }),
        Body::Post(_) | Body::Case(_) => {}
    }
    for (space, key, value) in super::authored::entries(event.signed()) {
        out.push(Entry::Put { space, key, value });
    }
    out
}

/// An index entry: its space, key and value.
pub(super) use super::authored::IndexEntry;

/// The `authored` and `mentions` entries the edit in force `edit` writes
/// for its original ([`super::authored::edit_entries`]).
pub(super) fn edit_entries(edit: &VerifiedEvent) -> Vec<IndexEntry> {
    super::authored::edit_entries(edit.signed())
}

/// Where the feed shows a post or case that `edit` (an edit) replaced: at
/// the original's place (its hub, time and id), holding the id of the edit
/// in force rather than a copy of a record, which the feed reads in the
/// original's stead (`Events::feed`). The edit is stored beside it, so
/// the feed holds no second copy of any text.
pub(super) fn edited_feed_key(edit: &VerifiedEvent) -> Option<Vec<u8>> {
    let Body::Edit(e) = edit.body() else { return None };
    Some(keys::feed(e.content.hub()?, e.target_created_at, &e.target))
}

/// The kind byte an event has in the moderation record, if it belongs
/// there: appointments, takedowns, and revocations (which end an
/// appointment when their target is one; the reader tells, since only the
/// stored target can).
pub(super) fn moderation_kind(body: &Body) -> Option<u8> {
    match body {
        Body::Appointment(_) | Body::Takedown(_) | Body::Revocation(_) => Some(body.kind() as u8),
        _ => None,
    }
}
