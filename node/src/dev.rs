//! The one-node development federation that `curbside node run` starts when
//! given no data directory: a genesis and root key of its own, one node
//! chartered to verify jurisdiction `DEV`, all under `<home>/dev/`, so a
//! newcomer can attest themselves and post at once.
//!
//! ```text
//! <home>/dev/genesis.json   the development network
//! <home>/dev/root.seed      its root key (mode 0600; a development network only)
//! <home>/dev/node/          the node's data directory (admin.token inside)
//! ```

use std::path::{Path, PathBuf};

use curbside_protocol::{Body, Charter, Event, Genesis, Jurisdiction, SecretKey, Timestamp};

use crate::datadir::{DataDir, DataDirError, write_private};
use crate::ingest::{Incoming, IngestConfig, Outcome, ingest};
use crate::store::{Store, StoreError};

/// The jurisdiction the development node verifies in.
pub const DEV_JURISDICTION: &str = "DEV";

/// Why the development federation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The charter was refused (a bug).
    #[error("the development charter was refused: {0}")]
    Charter(String),
}

/// The development node's data directory under `home`, made (genesis,
/// root, node, charter) the first time.
pub fn ensure(home: &Path, now: Timestamp) -> Result<PathBuf, DevError> {
    let dev = home.join("dev");
    let data = dev.join("node");
    if data.join("node.key").exists() {
        return Ok(data);
    }
    crate::datadir::create_dir_durably(&dev)?;
    let root = SecretKey::generate();
    write_private(&dev.join("root.seed"), hex::encode(root.to_seed().as_slice()).as_bytes())?;
    let genesis = Genesis::current("Curbside development network", vec![root.public()], now);
    crate::datadir::write_genesis(&dev.join("genesis.json"), &genesis)?;
    let dir = DataDir::init(&data, &genesis)?;
    // A development node runs alone unless `--listen` or `--bootstrap` say otherwise.
    let toml = data.join("node.toml");
    let alone =
        crate::config::DEFAULT_NODE_TOML.replace(crate::config::DEFAULT_LISTEN_LINE, "listen = []");
    crate::datadir::write_durably(&toml, alone.as_bytes())?;
    let charter = Event::new(
        genesis.network_id(),
        root.public(),
        now,
        Body::Charter(Charter {
            node: dir.key().public(),
            institution: "Development node".into(),
            verify: vec![
                Jurisdiction::new(DEV_JURISDICTION)
                    .map_err(|e| DevError::Charter(e.to_string()))?,
            ],
            valid_until: now.plus_days(3650),
        }),
    )
    .sign(&root)
    .ok_or_else(|| DevError::Charter("signing key mismatch".into()))?;
    let store = Store::open(&dir.store_dir(), genesis)?;
    let ingested =
        ingest(&store, &IngestConfig::default(), vec![Incoming::live(charter, now)], now)?;
    match ingested.outcomes.first() {
        Some(Outcome::Stored { .. }) => Ok(data),
        other => Err(DevError::Charter(format!("{other:?}"))),
    }
}
