//! Rules versions: which validation rules are in force at a given time.
//!
//! Validation is a consensus rule: two nodes must never disagree about
//! whether a stored event is valid. So a stricter rule (a stricter content
//! guard, a new kind of event) cannot simply ship in a new build: it applies
//! from a point every node agrees on, and what was accepted before it stays
//! valid history.
//!
//! That point is a *rules version* in force from a time:
//!
//! - the genesis names the version a network starts at ([`Genesis::rules`]:
//!   1 for every genesis of format 1, the newest for a network founded
//!   with `curbside network new` by a build that knows format 2);
//! - a root raises it with a signed [`RulesChange`] event, `Rules {
//!   version, effective_at }`, which takes effect at `effective_at` (never
//!   before the event was signed).
//!
//! The version in force at a time `t` is the highest of the genesis's and of
//! every rules change known with `effective_at <= t` ([`rules_at`]). Taking
//! the maximum makes the answer independent of the order in which the
//! changes arrived, and it never goes down: a change to an older version
//! is valid but changes nothing.
//!
//! Validation judges an event by the rules in force at its `created_at`.
//!
//! ```
//! use curbside_protocol::rules::{RuleSet, RulesChange, rules_at};
//! use curbside_protocol::{Genesis, SecretKey, Timestamp};
//!
//! let root = SecretKey::from_seed(&[1; 32]).public();
//! let genesis = Genesis::new("Example", vec![root], Timestamp::from_millis(0));
//! let change = RulesChange { version: 2, effective_at: Timestamp::from_millis(1_000) };
//! assert_eq!(rules_at(&genesis, [change], Timestamp::from_millis(999)), RuleSet::V1);
//! assert_eq!(rules_at(&genesis, [change], Timestamp::from_millis(1_000)), RuleSet::V2);
//! ```

use serde::{Deserialize, Serialize};

use crate::{Genesis, Timestamp};

/// The first rules version: every network founded with a format-1 genesis
/// starts at it.
pub const FIRST: u16 = 1;

/// The newest rules version this build knows and enforces.
pub const LATEST: u16 = 4;

/// A root's statement that rules `version` is in force from `effective_at`:
/// the body of a `Rules` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RulesChange {
    /// The rules version (`2..=LATEST` for this build).
    pub version: u16,
    /// From when; not earlier than the event's own `created_at`.
    pub effective_at: Timestamp,
}

/// The rules in force at some time: what validation switches on.
///
/// Later versions only add to earlier ones, so code asks "does this rule
/// apply?" with a method rather than comparing numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleSet {
    version: u16,
}

impl RuleSet {
    /// Rules 1: the rules every network started with (guard v1).
    pub const V1: RuleSet = RuleSet { version: 1 };
    /// Rules 2: the content guard covers HIPAA Safe Harbor (guard v2,
    /// issue 15), and format characters are refused in clinical text.
    pub const V2: RuleSet = RuleSet { version: 2 };
    /// Rules 3: outcomes of cases, accepted answers and poll answers
    /// (issue 16), refused as `kind_not_in_force` before.
    pub const V3: RuleSet = RuleSet { version: 3 };
    /// Rules 4: authors edit their own posts, cases and comments, and a
    /// physician's `@handle` is a mention rather than an identifier
    /// (issue 16).
    pub const V4: RuleSet = RuleSet { version: 4 };
    /// The newest rules this build knows.
    pub const LATEST: RuleSet = RuleSet { version: LATEST };

    /// The rule set of `version`, if this build knows it.
    pub const fn of(version: u16) -> Option<RuleSet> {
        if version >= FIRST && version <= LATEST { Some(RuleSet { version }) } else { None }
    }

    /// The version number.
    pub const fn version(self) -> u16 {
        self.version
    }

    /// Which content guard applies: 1 (`deid::first_identifier`) or 2
    /// (`deid::v2`, which refuses everything 1 refuses and more).
    pub const fn guard(self) -> u16 {
        if self.version >= 2 { 2 } else { 1 }
    }

    /// Whether an `@handle` that names a physician is a mention rather
    /// than a social-media handle (rules 4): see
    /// [`crate::deid::v2::first_refusal_beside_mentions`].
    pub const fn mentions(self) -> bool {
        self.version >= 4
    }
}

impl std::fmt::Display for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rules {}", self.version)
    }
}

/// The rules in force at `at`: the highest version of the genesis and of the
/// `changes` that have taken effect by then. A change naming a version this
/// build does not know is ignored here (validation refuses such an event).
pub fn rules_at(
    genesis: &Genesis,
    changes: impl IntoIterator<Item = RulesChange>,
    at: Timestamp,
) -> RuleSet {
    let start = genesis.rules.clamp(FIRST, LATEST);
    let version = changes
        .into_iter()
        .filter(|c| c.effective_at <= at && c.version <= LATEST)
        .map(|c| c.version)
        .fold(start, u16::max);
    RuleSet { version }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn genesis() -> Genesis {
        Genesis::new(
            "Rules test",
            vec![SecretKey::from_seed(&[1; 32]).public()],
            Timestamp::from_millis(0),
        )
    }

    fn change(version: u16, at: u64) -> RulesChange {
        RulesChange { version, effective_at: Timestamp::from_millis(at) }
    }

    #[test]
    fn a_format_1_genesis_starts_at_rules_1() {
        assert_eq!(rules_at(&genesis(), [], Timestamp::from_millis(u64::MAX)), RuleSet::V1);
    }

    #[test]
    fn a_current_genesis_starts_at_the_newest_rules() {
        let root = SecretKey::from_seed(&[1; 32]).public();
        let g = Genesis::current("Rules test", vec![root], Timestamp::from_millis(0));
        assert_eq!(rules_at(&g, [], Timestamp::from_millis(0)), RuleSet::LATEST);
    }

    #[test]
    fn a_change_applies_from_its_effective_time_only() {
        let changes = [change(2, 100)];
        assert_eq!(rules_at(&genesis(), changes, Timestamp::from_millis(99)), RuleSet::V1);
        assert_eq!(rules_at(&genesis(), changes, Timestamp::from_millis(100)), RuleSet::V2);
    }

    #[test]
    fn order_does_not_matter_and_rules_never_go_down() {
        let a = [change(2, 100), change(1, 200)];
        let b = [change(1, 200), change(2, 100)];
        for t in [50, 100, 150, 250] {
            let t = Timestamp::from_millis(t);
            assert_eq!(rules_at(&genesis(), a, t), rules_at(&genesis(), b, t));
        }
        assert_eq!(rules_at(&genesis(), a, Timestamp::from_millis(250)), RuleSet::V2);
    }

    #[test]
    fn unknown_versions_are_ignored() {
        assert_eq!(rules_at(&genesis(), [change(99, 0)], Timestamp::from_millis(1)), RuleSet::V1);
        assert_eq!(RuleSet::of(99), None);
        assert_eq!(RuleSet::of(0), None);
        assert_eq!(RuleSet::of(2), Some(RuleSet::V2));
        assert_eq!(RuleSet::of(3), Some(RuleSet::V3));
        assert_eq!(RuleSet::of(4), Some(RuleSet::V4));
        assert_eq!(RuleSet::of(5), None);
    }
}
