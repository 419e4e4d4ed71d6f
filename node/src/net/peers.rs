//! Who may be a peer: the charter check that admits a node's key, and the
//! per-peer accounting (request rate, invalid events) that cuts one off.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use curbside_protocol::{NotAccepted, PublicKey, Timestamp, TrustView, charters_in_force};
use libp2p::PeerId;

use crate::codes::Code;
use crate::ratelimit::Buckets;
use crate::store::{Holder, Store, StoreView};
use crate::wire::ReceivedEvent;

/// The ed25519 key behind a PeerId, when it is one (a PeerId of an ed25519
/// key embeds the key itself; the noise handshake proved the peer holds it).
pub(crate) fn key_of(peer: &PeerId) -> Option<PublicKey> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None; // hashed keys are never ed25519
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let bytes = key.try_into_ed25519().ok()?.to_bytes();
    Some(PublicKey::from_bytes(bytes))
}

/// Who holds what `peer` sends, as the store records receipts: the peer's
/// node key, when its PeerId is one.
pub(crate) fn holder_of(peer: &PeerId) -> Holder {
    key_of(peer).map_or(Holder::Unrecorded, Holder::Peer)
}

/// The PeerId of a node key.
#[cfg(test)]
pub(crate) fn peer_id_of(key: &PublicKey) -> Option<PeerId> {
    let ed = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(ed).to_peer_id())
}

/// What the store says about a peer's key now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A charter is in force.
    Chartered,
    /// No charter naming the key is known here yet: ask the peer for it.
    Unknown,
    /// Refused, with the reason (its rejection code and message).
    Refused { code: Code, message: String },
}

/// Checks `key` against the charters in `store` at `now`.
pub(crate) fn admission(store: &Store, key: &PublicKey, now: Timestamp) -> Admission {
    let view = StoreView::new(store);
    let verdict = charters_in_force(&view, key, now);
    if let Some(e) = view.take_error() {
        return Admission::Refused { code: Code::Internal, message: format!("store: {e}") };
    }
    match verdict {
        Ok(_) => Admission::Chartered,
        Err(NotAccepted::Missing(_)) => Admission::Unknown,
        Err(NotAccepted::Invalid(r)) => {
            Admission::Refused { code: Code::of(&r), message: r.to_string() }
        }
        Err(NotAccepted::Duplicate(_)) => Admission::Unknown,
    }
}

/// The charter events naming `key`, in wire form: what a node shows a new
/// peer to be admitted.
pub(crate) fn credentials(store: &Store, key: &PublicKey) -> Vec<Vec<u8>> {
    let view = StoreView::new(store);
    view.charters(key)
        .iter()
        .filter_map(|c| store.events().get(&c.id).ok().flatten())
        .map(|e| e.signed().to_bytes())
        .collect()
}

/// Most events one [`trust_for`] answer holds: a key has a handful of
/// charters or attestations, each revoked at most a few times.
pub(crate) const MAX_TRUST_FOR: usize = 64;

/// The trust events about `key`, in wire form: the charters naming it and
/// the attestations of it, each followed by its revocations (at most
/// [`MAX_TRUST_FOR`]). What a peer asks for when an event of `key`'s waits
/// for its charter or attestation.
pub(crate) fn trust_for(store: &Store, key: &PublicKey, now: Timestamp) -> Vec<ReceivedEvent> {
    let view = StoreView::new(store);
    let mut ids: Vec<_> = view.charters(key).iter().map(|c| c.id).collect();
    match store.events().attestation_status(key, now) {
        Ok(status) => ids.extend(status.attestations.iter().map(|held| held.record.id)),
        Err(e) => tracing::error!(error = %e, "reading attestations for a peer"),
    }
    let mut events = Vec::new();
    for id in ids {
        let revocations = store.events().revocations_of(&id).unwrap_or_default();
        for id in std::iter::once(id).chain(revocations) {
            match store.events().get_received(&id) {
                Ok(Some((wire, received_at))) => events.push(ReceivedEvent { wire, received_at }),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "reading trust events for a peer"),
            }
        }
        if events.len() >= MAX_TRUST_FOR {
            events.truncate(MAX_TRUST_FOR);
            break;
        }
    }
    events
}

/// How a peer's gossip stands against its rate limit: a token bucket
/// (messages a second, with bursts) and a penalty for the messages over it
/// that decays by [`FLOOD_PENALTY_DECAY`] a second, so a peer that went
/// over once is forgiven while one that keeps flooding reaches
/// [`FLOOD_BLOCK`].
#[derive(Debug, Clone)]
pub(crate) struct GossipRate {
    bucket: crate::ratelimit::Bucket,
    penalty: f64,
    last: Instant,
}

/// The share of a flooding penalty left after a second (as gossipsub's
/// invalid-delivery counter).
pub(crate) const FLOOD_PENALTY_DECAY: f64 = 0.9;

/// The penalty at which a peer is blocked (`gossip_rate_limited`): the
/// publish threshold's size, reached by a burst of 50 messages over the
/// limit, or by a flood that stays more than about 5 a second over it.
pub(crate) const FLOOD_BLOCK: f64 = 50.0;

impl GossipRate {
    /// A full bucket and no penalty.
    pub(crate) fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        Self {
            bucket: crate::ratelimit::Bucket::new(
                f64::from(per_second),
                f64::from(burst.max(1)),
                now,
            ),
            penalty: 0.0,
            last: now,
        }
    }

    /// Counts one message: `None` within the limit, else the penalty with
    /// this message added.
    pub(crate) fn over(&mut self, now: Instant) -> Option<f64> {
        if self.bucket.take(now) {
            return None;
        }
        let penalty = self.penalty(now) + 1.0;
        self.penalty = penalty;
        Some(penalty)
    }

    /// The penalty as last counted (not decayed since).
    pub(crate) fn last_penalty(&self) -> f64 {
        self.penalty
    }

    /// The penalty now (decayed since it was last counted).
    pub(crate) fn penalty(&mut self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.penalty *= FLOOD_PENALTY_DECAY.powf(elapsed);
        if self.penalty < 0.01 {
            self.penalty = 0.0;
        }
        self.penalty
    }
}

/// Whether a valid event stored from gossip is forwarded: trust events
/// (`author` `None`) always; a physician's while their share of
/// `forwarded` lasts. Called only once the event is verified and stored,
/// so forgeries in a physician's name cannot use their share up.
pub(crate) fn forwards(
    forwarded: &mut Buckets<PublicKey>,
    author: Option<&PublicKey>,
    now: Instant,
) -> bool {
    author.is_none_or(|author| forwarded.take(author, now).is_ok())
}

/// Counts a peer's offences (invalid events, requests over the limit) in
/// a sliding window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Offences {
    times: VecDeque<Instant>,
}

impl Offences {
    /// Records one at `now` and returns how many fall within `window`.
    pub(crate) fn record(&mut self, now: Instant, window: Duration) -> usize {
        self.times.push_back(now);
        while self.times.front().is_some_and(|t| now.saturating_duration_since(*t) > window) {
            self.times.pop_front();
        }
        self.times.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::SecretKey;

    #[test]
    fn peer_ids_and_keys_convert_both_ways() {
        let key = SecretKey::from_seed(&[7; 32]).public();
        let peer = peer_id_of(&key).unwrap();
        assert_eq!(peer.to_string(), crate::datadir::peer_id(&key));
        assert_eq!(key_of(&peer), Some(key));
        assert_eq!(key_of(&PeerId::random()), None);
    }

    #[test]
    fn gossip_over_the_rate_is_penalised_and_the_penalty_decays() {
        let start = Instant::now();
        let mut g = GossipRate::new(10, 5, start);
        // The burst, then one message every 100 ms, is within the limit.
        assert!((0..5).all(|_| g.over(start).is_none()));
        for i in 1..=20 {
            assert_eq!(g.over(start + Duration::from_millis(100 * i)), None, "message {i}");
        }
        // Over it, each message adds one.
        let t = start + Duration::from_secs(2);
        assert_eq!(g.over(t), Some(1.0));
        assert_eq!(g.over(t), Some(2.0));
        // A peer that stops is forgiven: 10% less a second, then nothing.
        let p = g.penalty(t + Duration::from_secs(1));
        assert!((p - 1.8).abs() < 1e-9, "{p}");
        assert_eq!(g.penalty(t + Duration::from_secs(120)), 0.0);
        // A flood far over the limit reaches the block at once.
        let flood = t + Duration::from_secs(121);
        let penalties: Vec<f64> = (0..60).filter_map(|_| g.over(flood)).collect();
        assert_eq!(penalties.len(), 60 - 5, "the refilled burst is let through");
        assert!(penalties.iter().any(|p| *p >= FLOOD_BLOCK));
    }

    #[test]
    fn a_peer_a_few_messages_a_second_over_the_limit_is_throttled_not_blocked() {
        // 2 a second over a limit of 10 (12 a second for 10 minutes): the
        // penalty settles near 2 / ln(1 / 0.9), about 19, under the block.
        let start = Instant::now();
        let mut g = GossipRate::new(10, 10, start);
        let mut highest: f64 = 0.0;
        for i in 0..12 * 600 {
            if let Some(p) = g.over(start + Duration::from_micros(1_000_000 / 12 * i)) {
                highest = highest.max(p);
            }
        }
        assert!(highest > 10.0 && highest < FLOOD_BLOCK, "{highest}");
    }

    #[test]
    fn one_physicians_events_are_forwarded_within_their_share() {
        let start = Instant::now();
        let mut forwarded = Buckets::per_minute(60, 3);
        let (flooder, other) =
            (SecretKey::from_seed(&[1; 32]).public(), SecretKey::from_seed(&[2; 32]).public());
        assert!((0..3).all(|_| forwards(&mut forwarded, Some(&flooder), start)));
        assert!(!forwards(&mut forwarded, Some(&flooder), start), "over the burst");
        assert!(forwards(&mut forwarded, Some(&other), start), "another physician's share");
        assert!(forwards(&mut forwarded, None, start), "trust events are not limited");
        assert!(forwards(&mut forwarded, Some(&flooder), start + Duration::from_secs(1)));
    }

    #[test]
    fn offences_fall_out_of_the_window() {
        let start = Instant::now();
        let mut o = Offences::default();
        assert_eq!(o.record(start, Duration::from_secs(60)), 1);
        assert_eq!(o.record(start + Duration::from_secs(30), Duration::from_secs(60)), 2);
        assert_eq!(o.record(start + Duration::from_secs(80), Duration::from_secs(60)), 2);
        assert_eq!(o.record(start + Duration::from_secs(141), Duration::from_secs(60)), 1);
    }
}
