//! The genesis of a network: its name, root keys, hubs and parameters.
//!
//! The network id is `SHA-256(canonical(genesis))`. Every node of a network
//! holds the same genesis file; an event names its network by that id.

use serde::{Deserialize, Serialize};

use crate::{HubId, NetworkId, PublicKey, Timestamp, ids::sha256};

/// The newest genesis format version this crate writes ([`Genesis::current`])
/// and reads. Format 1 ([`Genesis::new`]) has no rules version (its
/// networks start at rules 1); format 2 appends one ([`Genesis::rules`]).
/// Format-1 bytes, and so every existing network id, are unchanged.
pub const GENESIS_VERSION: u8 = 2;

/// The specialty hubs every network starts with unless its genesis says otherwise.
pub const DEFAULT_HUBS: [(&str, &str); 11] = [
    ("general", "General medicine"),
    ("cardiology", "Cardiology"),
    ("oncology", "Oncology"),
    ("diabetes", "Diabetes"),
    ("obesity", "Obesity"),
    ("infectious-diseases", "Infectious diseases"),
    ("multiple-sclerosis", "Multiple sclerosis"),
    ("dermatology", "Dermatology"),
    ("pain-medicine", "Pain medicine"),
    ("depression", "Depression"),
    ("bipolar-disorder", "Bipolar disorder"),
];

/// A specialty hub: a topic of its own on the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubDef {
    /// The hub's slug, used in commands and topics.
    pub id: HubId,
    /// Its name for people.
    pub title: String,
}

/// Numbers every node of a network must agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Largest signed event, in bytes of its canonical encoding.
    pub max_event_bytes: u32,
    /// How far in the future an event's `created_at` may be, in milliseconds.
    pub max_clock_skew_ms: u64,
    /// Smallest number of voters a poll breakdown cell may show (k-anonymity).
    pub min_cell_size: u32,
    /// Longest a poll may stay open, in milliseconds.
    pub max_poll_duration_ms: u64,
    /// How long a verifier has to put an attestation in its audit log, in
    /// milliseconds. Until then the attestation counts on its own; after
    /// it, only if a tree head of its verifier covers it.
    pub log_merge_window_ms: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            max_event_bytes: 32 * 1024,
            max_clock_skew_ms: 5 * 60 * 1000,
            min_cell_size: 5,
            max_poll_duration_ms: 90 * Timestamp::DAY,
            log_merge_window_ms: 5 * 60 * 1000,
        }
    }
}

/// The founding document of a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Format version ([`GENESIS_VERSION`]).
    pub version: u8,
    /// The network's name, for people ("Curbside UK").
    pub name: String,
    /// When the network was founded.
    pub created_at: Timestamp,
    /// Keys that may charter nodes, add hubs and revoke anything.
    pub roots: Vec<PublicKey>,
    /// The hubs that exist from the start.
    pub hubs: Vec<HubDef>,
    /// Shared limits.
    pub params: Params,
    /// The rules version the network starts at ([`crate::rules`]). Always
    /// 1 in format 1, which does not encode it; encoded after `params` in
    /// format 2.
    #[serde(default = "first_rules", skip_serializing_if = "is_first_rules")]
    pub rules: u16,
}

fn first_rules() -> u16 {
    crate::rules::FIRST
}

fn is_first_rules(rules: &u16) -> bool {
    *rules == crate::rules::FIRST
}

/// The fields of every format, in encoding order: what postcard decodes
/// before it looks at the version.
#[derive(Deserialize)]
struct Format1 {
    version: u8,
    name: String,
    created_at: Timestamp,
    roots: Vec<PublicKey>,
    hubs: Vec<HubDef>,
    params: Params,
}

/// Why a genesis is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Not a format this build understands.
    #[error(
        "genesis version {0} is not supported (this build reads versions 1 to {GENESIS_VERSION})"
    )]
    Version(u8),
    /// A rules version this build does not know, or one in a format-1 genesis.
    #[error("rules version {0} is not one this build knows for this genesis format")]
    Rules(u16),
    /// The name is empty or longer than 100 bytes.
    #[error("the network name must be 1 to 100 bytes")]
    Name,
    /// No root keys, or the same key twice.
    #[error("a genesis needs at least one root key and no key twice")]
    Roots,
    /// Two hubs share an id.
    #[error("hub {0} is listed twice")]
    DuplicateHub(HubId),
    /// A parameter is out of its sane range.
    #[error("parameter {name} = {value} is out of range ({range})")]
    Param {
        /// Which parameter.
        name: &'static str,
        /// Its value.
        value: u64,
        /// The allowed range, for people.
        range: &'static str,
    },
    /// The bytes do not decode, or decode to something that re-encodes differently.
    #[error("the genesis bytes are not a canonical encoding: {0}")]
    Encoding(String),
}

impl Genesis {
    /// A new genesis of the newest format, starting at the newest rules
    /// this build knows ([`crate::rules::LATEST`]): what `curbside network
    /// new` founds.
    pub fn current(name: impl Into<String>, roots: Vec<PublicKey>, created_at: Timestamp) -> Self {
        let mut genesis = Self::new(name, roots, created_at);
        genesis.version = GENESIS_VERSION;
        genesis.rules = crate::rules::LATEST;
        genesis
    }

    /// A new format-1 genesis with the default hubs and parameters: its
    /// network starts at rules 1, and a root raises them with a `Rules`
    /// event. (Tests and test vectors use it, so their ids stay put.)
    pub fn new(name: impl Into<String>, roots: Vec<PublicKey>, created_at: Timestamp) -> Self {
        let hubs = DEFAULT_HUBS
            .iter()
            .filter_map(|(id, title)| {
                Some(HubDef { id: HubId::new(*id).ok()?, title: (*title).to_string() })
            })
            .collect();
        Self {
            version: 1,
            name: name.into(),
            created_at,
            roots,
            hubs,
            params: Params::default(),
            rules: crate::rules::FIRST,
        }
    }

    /// The canonical bytes (postcard): the format-1 fields, then (format
    /// 2 on) the rules version.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = crate::encoding::to_vec(&(
            self.version,
            &self.name,
            self.created_at,
            &self.roots,
            &self.hubs,
            &self.params,
        ));
        if self.version >= 2 {
            bytes.extend(crate::encoding::to_vec(&self.rules));
        }
        bytes
    }

    /// Decodes canonical bytes and checks the result with [`Genesis::check`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GenesisError> {
        let encoding = |e: postcard::Error| GenesisError::Encoding(e.to_string());
        let (head, rest) = postcard::take_from_bytes::<Format1>(bytes).map_err(encoding)?;
        let (rules, rest) = if head.version >= 2 {
            postcard::take_from_bytes::<u16>(rest).map_err(encoding)?
        } else {
            (crate::rules::FIRST, rest)
        };
        if !rest.is_empty() {
            return Err(GenesisError::Encoding(format!("{} trailing bytes", rest.len())));
        }
        let genesis = Genesis {
            version: head.version,
            name: head.name,
            created_at: head.created_at,
            roots: head.roots,
            hubs: head.hubs,
            params: head.params,
            rules,
        };
        if genesis.to_bytes() != bytes {
            return Err(GenesisError::Encoding("not the canonical encoding".into()));
        }
        genesis.check()?;
        Ok(genesis)
    }

    /// The network id: SHA-256 of the canonical bytes.
    pub fn network_id(&self) -> NetworkId {
        NetworkId::from_bytes(sha256(&[&self.to_bytes()]))
    }

    /// Whether `key` is one of the network's roots.
    pub fn is_root(&self, key: &PublicKey) -> bool {
        self.roots.contains(key)
    }

    /// Whether `hub` is one of the genesis hubs.
    pub fn has_hub(&self, hub: &HubId) -> bool {
        self.hubs.iter().any(|h| &h.id == hub)
    }

    /// Checks the genesis is usable: version, name, roots, hubs, parameters.
    pub fn check(&self) -> Result<(), GenesisError> {
        let rules_ok = match self.version {
            1 => self.rules == crate::rules::FIRST,
            2 => crate::rules::RuleSet::of(self.rules).is_some(),
            other => return Err(GenesisError::Version(other)),
        };
        if !rules_ok {
            return Err(GenesisError::Rules(self.rules));
        }
        if self.name.is_empty() || self.name.len() > 100 {
            return Err(GenesisError::Name);
        }
        let mut roots = self.roots.clone();
        roots.sort();
        roots.dedup();
        if roots.is_empty() || roots.len() != self.roots.len() {
            return Err(GenesisError::Roots);
        }
        let mut seen = std::collections::BTreeSet::new();
        for hub in &self.hubs {
            if !seen.insert(&hub.id) {
                return Err(GenesisError::DuplicateHub(hub.id.clone()));
            }
        }
        let p = &self.params;
        let checks: [(&'static str, u64, u64, u64, &'static str); 5] = [
            ("max_event_bytes", p.max_event_bytes.into(), 1024, 1 << 20, "1 KiB to 1 MiB"),
            ("max_clock_skew_ms", p.max_clock_skew_ms, 0, 3_600_000, "0 to one hour"),
            ("min_cell_size", p.min_cell_size.into(), 1, 1000, "1 to 1000"),
            (
                "max_poll_duration_ms",
                p.max_poll_duration_ms,
                60_000,
                3650 * Timestamp::DAY,
                "a minute to ten years",
            ),
            ("log_merge_window_ms", p.log_merge_window_ms, 0, Timestamp::DAY, "0 to one day"),
        ];
        for (name, value, lo, hi, range) in checks {
            if !(lo..=hi).contains(&value) {
                return Err(GenesisError::Param { name, value, range });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn genesis() -> Genesis {
        let root = SecretKey::from_seed(&[1; 32]).public();
        Genesis::new("Test", vec![root], Timestamp::from_millis(1))
    }

    #[test]
    fn network_id_is_stable_and_content_addressed() {
        let g = genesis();
        assert_eq!(g.network_id(), genesis().network_id());
        let mut other = genesis();
        other.name = "Other".into();
        assert_ne!(g.network_id(), other.network_id());
        assert_eq!(Genesis::from_bytes(&g.to_bytes()).unwrap(), g);
        assert_eq!(g.hubs.len(), 11);
        assert!(g.check().is_ok());
    }

    #[test]
    fn bad_geneses_are_refused() {
        let mut g = genesis();
        g.roots.clear();
        assert_eq!(g.check(), Err(GenesisError::Roots));
        let mut g = genesis();
        g.hubs.push(g.hubs[0].clone());
        assert!(matches!(g.check(), Err(GenesisError::DuplicateHub(_))));
        let mut g = genesis();
        g.params.min_cell_size = 0;
        assert!(matches!(g.check(), Err(GenesisError::Param { name: "min_cell_size", .. })));
        let mut g = genesis();
        g.version = 9;
        assert_eq!(g.check(), Err(GenesisError::Version(9)));
        let mut bytes = genesis().to_bytes();
        bytes.push(0);
        assert!(matches!(Genesis::from_bytes(&bytes), Err(GenesisError::Encoding(_))));
        let mut g = genesis();
        g.rules = 2;
        assert_eq!(g.check(), Err(GenesisError::Rules(2)));
    }

    #[test]
    fn format_1_bytes_are_unchanged_and_format_2_appends_the_rules() {
        let g = genesis();
        let format1 = crate::encoding::to_vec(&(
            g.version,
            &g.name,
            g.created_at,
            &g.roots,
            &g.hubs,
            &g.params,
        ));
        assert_eq!(g.to_bytes(), format1);
        let root = SecretKey::from_seed(&[1; 32]).public();
        let current = Genesis::current("Test", vec![root], Timestamp::from_millis(1));
        assert_eq!((current.version, current.rules), (2, crate::rules::LATEST));
        let bytes = current.to_bytes();
        assert_eq!(bytes.last(), Some(&(crate::rules::LATEST as u8)));
        assert_eq!(Genesis::from_bytes(&bytes).unwrap(), current);
        assert_ne!(current.network_id(), g.network_id());
        // JSON: format 1 files have no `rules` key, and read back as rules 1.
        let json = serde_json::to_string(&g).unwrap();
        assert!(!json.contains("rules"));
        assert_eq!(serde_json::from_str::<Genesis>(&json).unwrap(), g);
        let json = serde_json::to_string(&current).unwrap();
        assert_eq!(serde_json::from_str::<Genesis>(&json).unwrap(), current);
    }
}
