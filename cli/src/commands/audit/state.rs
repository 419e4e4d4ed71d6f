//! What the auditor remembers between runs, in `<home>/audit/state.json`:
//! the network it audits (its genesis, pinned on first use) and the last
//! head it accepted of each verifier, so that the next run can check that
//! the log only grew. Written atomically (temporary file, fsync, rename),
//! mode 0600.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use curbside_protocol::audit::HeadRef;
use curbside_protocol::{Genesis, NetworkId, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use crate::home::{Home, write_private};

/// The format version this build writes.
const VERSION: u8 = 1;

/// The state file under `home`.
pub(super) fn path(home: &Home) -> PathBuf {
    home.dir().join("audit").join("state.json")
}

/// The auditor's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct State {
    /// [`VERSION`].
    pub(super) version: u8,
    /// The network audited: every node must serve this one.
    pub(super) network: NetworkId,
    /// Its genesis.
    pub(super) genesis: Genesis,
    /// Where the genesis came from when it was pinned (a file, or a node).
    pub(super) genesis_from: String,
    /// When it was pinned.
    pub(super) pinned_at: Timestamp,
    /// The last head accepted of each verifier, by key (hex).
    #[serde(default)]
    pub(super) verifiers: BTreeMap<String, Saved>,
}

/// The last head of a verifier this auditor accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Saved {
    /// The head.
    pub(super) head: HeadRef,
    /// The nodes that showed it.
    pub(super) nodes: Vec<String>,
    /// When this auditor accepted it.
    pub(super) saved_at: Timestamp,
}

impl State {
    /// A new state for the network `genesis` founds.
    pub(super) fn new(genesis: Genesis, from: String, now: Timestamp) -> Self {
        Self {
            version: VERSION,
            network: genesis.network_id(),
            genesis,
            genesis_from: from,
            pinned_at: now,
            verifiers: BTreeMap::new(),
        }
    }

    /// The state at `path`, if there is one.
    pub(super) fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let state: State = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not an audit state file: move it away to start afresh (the next run pins \
                 the network again)",
                path.display()
            )
        })?;
        if state.version != VERSION {
            bail!(
                "{} has format version {}; this build reads version {VERSION}",
                path.display(),
                state.version
            );
        }
        state.genesis.check().with_context(|| format!("the genesis in {}", path.display()))?;
        if state.genesis.network_id() != state.network {
            bail!(
                "{} is damaged: its genesis does not hash to its network id; move it away to \
                 start afresh",
                path.display()
            );
        }
        Ok(Some(state))
    }

    /// Writes the state to `path`, atomically.
    pub(super) fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        write_private(path, text.as_bytes())
    }

    /// The last head accepted of `verifier`.
    pub(super) fn previous(&self, verifier: &PublicKey) -> Option<HeadRef> {
        self.verifiers.get(&verifier.to_string()).map(|s| s.head)
    }

    /// Remembers `head` as the last accepted of `verifier`.
    pub(super) fn accept(
        &mut self,
        verifier: &PublicKey,
        head: HeadRef,
        nodes: Vec<String>,
        now: Timestamp,
    ) {
        self.verifiers.insert(verifier.to_string(), Saved { head, nodes, saved_at: now });
    }
}

#[cfg(test)]
mod tests {
    use curbside_protocol::{Digest, EventId};

    use super::*;

    #[test]
    fn a_state_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let path = path(&home);
        assert!(State::load(&path).unwrap().is_none());

        let root = curbside_protocol::SecretKey::from_seed(&[1; 32]).public();
        let genesis = Genesis::new("Audit test", vec![root], Timestamp::from_millis(5));
        let mut state = State::new(genesis, "file genesis.json".into(), Timestamp::from_millis(9));
        let head = HeadRef {
            id: EventId::from_bytes([1; 32]),
            size: 3,
            root: Digest::from_bytes([2; 32]),
            created_at: Timestamp::from_millis(7),
        };
        state.accept(&root, head, vec!["http://a".into()], Timestamp::from_millis(10));
        state.save(&path).unwrap();
        let back = State::load(&path).unwrap().unwrap();
        assert_eq!(back.network, state.network);
        assert_eq!(back.previous(&root), Some(head));

        let mut text = std::fs::read_to_string(&path).unwrap();
        text = text.replace("Audit test", "Audit tesT");
        std::fs::write(&path, text).unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(State::load(&path).is_err());
    }
}
