//! Physicians' read sessions and the challenges that open them, in memory
//! (a restart signs everyone out), bounded by what callers have earned.
//!
//! - **Challenges are not stored.** A challenge is `nonce ‖ expires_at ‖
//!   tag`, the tag an HMAC under a secret drawn at start over the key it was
//!   issued to, the nonce and the expiry. Anyone may ask for one, for any
//!   key, as often as they like: it costs the node one MAC and no memory,
//!   so a flood of challenge requests cannot push a physician's challenge
//!   out of a table between their asking and their answering.
//! - **A challenge opens at most one session.** Challenges that opened one
//!   are remembered until they expire. Only a signature by an attested key
//!   gets that far, so only physicians spend that memory, and each at most
//!   `per_key` entries: a key may open at most `per_key` sessions within a
//!   challenge's lifetime (2 minutes), and more are refused `rate_limited`.
//! - **At most `per_key` live sessions a key.** Opening one more ends that
//!   key's oldest: a physician whose devices forgot their tokens is never
//!   locked out, and one key's sessions are bounded.
//! - **Expiry through an index.** Sessions and remembered challenges are
//!   also kept ordered by expiry, so pruning pops expired entries from the
//!   front; opening, checking and ending a session are O(log n), never a
//!   walk of every session.

use std::collections::{BTreeSet, HashMap};

use curbside_protocol::{PublicKey, Timestamp};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// How long a challenge may be answered, in milliseconds.
pub(crate) const CHALLENGE_MS: u64 = 120_000;

/// Live sessions (and sessions opened within a challenge's lifetime) one
/// key may have unless configured otherwise.
pub const DEFAULT_SESSIONS_PER_KEY: usize = 16;

/// Domain separation of the challenge tag.
const TAG_DOMAIN: &[u8] = b"curbside/session-challenge-tag/v1";

/// Why a session was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The challenge already opened a session.
    Used,
    /// The key opened `per_key` sessions within a challenge's lifetime.
    TooMany,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    key: PublicKey,
    expires: Timestamp,
}

/// Challenges and sessions.
pub(crate) struct Sessions {
    /// The MAC key of challenges; drawn at start, never leaves memory.
    secret: zeroize::Zeroizing<[u8; 32]>,
    per_key: usize,
    sessions: HashMap<String, Session>,
    /// Every session, by (expiry, token).
    session_expiry: BTreeSet<(Timestamp, String)>,
    /// Each key's sessions, by (expiry, token): the first is its oldest.
    by_key: HashMap<PublicKey, BTreeSet<(Timestamp, String)>>,
    /// Challenges that opened a session, with their key, until they expire.
    redeemed: HashMap<[u8; 32], PublicKey>,
    /// The same, by (expiry, challenge).
    redeemed_expiry: BTreeSet<(Timestamp, [u8; 32])>,
    /// How many of `redeemed` each key has.
    redeemed_by_key: HashMap<PublicKey, usize>,
}

/// Never prints the secret or the tokens.
impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("per_key", &self.per_key)
            .field("sessions", &self.sessions.len())
            .field("redeemed", &self.redeemed.len())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Empty, with a fresh secret; at most `per_key` sessions a key.
    pub(crate) fn new(per_key: usize) -> Self {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        #[allow(clippy::expect_used)]
        getrandom::fill(secret.as_mut_slice())
            .expect("the operating system's random number generator failed");
        Self {
            secret,
            per_key: per_key.max(1),
            sessions: HashMap::new(),
            session_expiry: BTreeSet::new(),
            by_key: HashMap::new(),
            redeemed: HashMap::new(),
            redeemed_expiry: BTreeSet::new(),
            redeemed_by_key: HashMap::new(),
        }
    }

    fn tag(&self, key: &PublicKey, nonce: &[u8], expires: &[u8]) -> [u8; 16] {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_slice())
            .expect("HMAC takes a key of any length");
        mac.update(TAG_DOMAIN);
        mac.update(key.as_bytes());
        mac.update(nonce);
        mac.update(expires);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }

    /// A new challenge for `key`, and when it expires. Stores nothing.
    pub(crate) fn challenge(&self, key: &PublicKey, now: Timestamp) -> ([u8; 32], Timestamp) {
        let expires = now.plus_millis(CHALLENGE_MS);
        let mut challenge = [0u8; 32];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut challenge[..8])
            .expect("the operating system's random number generator failed");
        challenge[8..16].copy_from_slice(&expires.as_millis().to_be_bytes());
        let tag = self.tag(key, &challenge[..8], &challenge[8..16]);
        challenge[16..].copy_from_slice(&tag);
        (challenge, expires)
    }

    /// Whether `challenge` was issued by this node to `key` and is live.
    /// Stores nothing: whether it was used already is for [`Self::open`].
    pub(crate) fn genuine(&self, key: &PublicKey, challenge: &[u8; 32], now: Timestamp) -> bool {
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&challenge[8..16]);
        let expires = Timestamp::from_millis(u64::from_be_bytes(expires));
        let tag = self.tag(key, &challenge[..8], &challenge[8..16]);
        expires > now && constant_time_eq(&tag, &challenge[16..])
    }

    /// Opens a session for `key` with a genuine `challenge` whose signature
    /// was checked: the token and when it expires. Ends the key's oldest
    /// session when it has `per_key` already.
    pub(crate) fn open(
        &mut self,
        key: PublicKey,
        challenge: &[u8; 32],
        now: Timestamp,
        ttl_ms: u64,
    ) -> Result<(String, Timestamp), OpenError> {
        self.prune(now);
        if self.redeemed.contains_key(challenge) {
            return Err(OpenError::Used);
        }
        let opened = self.redeemed_by_key.entry(key).or_default();
        if *opened >= self.per_key {
            return Err(OpenError::TooMany);
        }
        *opened += 1;
        let mut challenge_expiry = [0u8; 8];
        challenge_expiry.copy_from_slice(&challenge[8..16]);
        let challenge_expiry = Timestamp::from_millis(u64::from_be_bytes(challenge_expiry));
        self.redeemed.insert(*challenge, key);
        self.redeemed_expiry.insert((challenge_expiry, *challenge));

        let oldest = self
            .by_key
            .get(&key)
            .filter(|held| held.len() >= self.per_key)
            .and_then(|held| held.first().map(|(_, token)| token.clone()));
        if let Some(token) = oldest {
            self.end(&token);
        }
        let token = super::auth::random_token();
        let expires = now.plus_millis(ttl_ms);
        self.sessions.insert(token.clone(), Session { key, expires });
        self.session_expiry.insert((expires, token.clone()));
        self.by_key.entry(key).or_default().insert((expires, token.clone()));
        Ok((token, expires))
    }

    /// Ends a session.
    pub(crate) fn end(&mut self, token: &str) {
        let Some(session) = self.sessions.remove(token) else { return };
        let entry = (session.expires, token.to_owned());
        self.session_expiry.remove(&entry);
        if let Some(held) = self.by_key.get_mut(&session.key) {
            held.remove(&entry);
            if held.is_empty() {
                self.by_key.remove(&session.key);
            }
        }
    }

    /// The key of a live session.
    pub(crate) fn check(&self, token: &str, now: Timestamp) -> Option<PublicKey> {
        self.sessions.get(token).filter(|s| s.expires > now).map(|s| s.key)
    }

    /// Drops expired sessions and remembered challenges, oldest first.
    fn prune(&mut self, now: Timestamp) {
        while let Some((expires, token)) = self.session_expiry.first().cloned() {
            if expires > now {
                break;
            }
            self.end(&token);
        }
        while let Some((expires, challenge)) = self.redeemed_expiry.first().copied() {
            if expires > now {
                break;
            }
            self.redeemed_expiry.pop_first();
            if let Some(key) = self.redeemed.remove(&challenge)
                && let Some(n) = self.redeemed_by_key.get_mut(&key)
            {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.redeemed_by_key.remove(&key);
                }
            }
        }
    }

    /// Live sessions (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.len()
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use curbside_protocol::testkit::key;

    use super::*;

    const HOUR: u64 = 3_600_000;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + ms)
    }

    #[test]
    fn challenges_are_bound_to_their_key_and_time_and_open_one_session() {
        let sessions = Sessions::new(4);
        let (dr, other) = (key("dr-challenge").public(), key("other").public());
        let (challenge, expires) = sessions.challenge(&dr, at(0));
        assert_eq!(expires, at(CHALLENGE_MS));
        assert!(sessions.genuine(&dr, &challenge, at(CHALLENGE_MS - 1)));
        assert!(!sessions.genuine(&dr, &challenge, at(CHALLENGE_MS)), "expired");
        assert!(!sessions.genuine(&other, &challenge, at(0)), "issued to another key");
        for byte in 0..32 {
            let mut changed = challenge;
            changed[byte] ^= 1;
            assert!(!sessions.genuine(&dr, &changed, at(0)), "byte {byte} changed");
        }
        assert!(!Sessions::new(4).genuine(&dr, &challenge, at(0)), "another node's secret");

        let mut sessions = sessions;
        let (token, _) = sessions.open(dr, &challenge, at(1), HOUR).unwrap();
        assert_eq!(sessions.check(&token, at(2)), Some(dr));
        assert_eq!(sessions.open(dr, &challenge, at(2), HOUR), Err(OpenError::Used));
    }

    #[test]
    fn a_key_holds_at_most_its_cap_and_opening_more_ends_the_oldest() {
        let mut sessions = Sessions::new(3);
        let dr = key("dr-many").public();
        let mut tokens = Vec::new();
        for i in 0..3 {
            let (challenge, _) = sessions.challenge(&dr, at(i));
            tokens.push(sessions.open(dr, &challenge, at(i), HOUR).unwrap().0);
        }
        // A fourth within the challenges' lifetime is refused: opening is
        // bounded in rate as well as in what is held.
        let (challenge, _) = sessions.challenge(&dr, at(10));
        assert_eq!(sessions.open(dr, &challenge, at(10), HOUR), Err(OpenError::TooMany));
        // Once those challenges expired, a fourth opens and ends the oldest.
        let later = at(CHALLENGE_MS + 10);
        let (challenge, _) = sessions.challenge(&dr, later);
        let (newest, _) = sessions.open(dr, &challenge, later, HOUR).unwrap();
        assert_eq!(sessions.check(&tokens[0], later), None, "the oldest ended");
        for token in [&tokens[1], &tokens[2], &newest] {
            assert_eq!(sessions.check(token, later), Some(dr));
        }
        assert_eq!(sessions.len(), 3);
        // Other keys are not affected by this one's cap.
        let other = key("dr-other").public();
        let (challenge, _) = sessions.challenge(&other, later);
        assert!(sessions.open(other, &challenge, later, HOUR).is_ok());
    }

    #[test]
    fn expired_sessions_and_challenges_leave_memory() {
        let mut sessions = Sessions::new(2);
        for i in 0..50 {
            let dr = key(&format!("dr-expiring-{i}")).public();
            let (challenge, _) = sessions.challenge(&dr, at(0));
            sessions.open(dr, &challenge, at(0), 1_000).unwrap();
        }
        assert_eq!((sessions.len(), sessions.redeemed.len()), (50, 50));
        let dr = key("dr-late").public();
        let late = at(CHALLENGE_MS + 1);
        let (challenge, _) = sessions.challenge(&dr, late);
        sessions.open(dr, &challenge, late, 1_000).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!((sessions.session_expiry.len(), sessions.by_key.len()), (1, 1));
        assert_eq!((sessions.redeemed.len(), sessions.redeemed_by_key.len()), (1, 1));
    }
}
