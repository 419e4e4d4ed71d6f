//! Opening the store: sled's directory, the layout version (refused,
//! migrated or written), the network, and the memory loaded from disk.

use std::path::Path;
use std::sync::{Mutex, RwLock};

use curbside_protocol::{
    AttestationRecord, CharterRecord, EventId, Genesis, NetworkId, PollRecord, PublicKey, Timestamp,
};

#[cfg(test)]
use super::Faults;
use super::keys::{self, Space};
use super::memory::{self, Filters, Recent, Trust};
use super::{
    Failure, SCHEMA_VERSION, Store, StoreConfig, StoreError, Writer, audit, decode, durable,
    hub_of_key, key_part, migrate, pending,
};

impl Store {
    /// Opens (or creates) the store in `dir` for the network `genesis`
    /// founds, with the default [`StoreConfig`].
    ///
    /// Refuses a store of another schema version or another network.
    pub fn open(dir: &Path, genesis: Genesis) -> Result<Self, StoreError> {
        Self::open_with(dir, genesis, StoreConfig::default())
    }

    /// [`Store::open`] with `config`.
    pub fn open_with(
        dir: &Path,
        genesis: Genesis,
        config: StoreConfig,
    ) -> Result<Self, StoreError> {
        let db = open_db(dir, config)?;
        let tree: sled::Tree = (*db).clone();
        let network = genesis.network_id();
        prepare(&db, &tree, &genesis)?;
        let files = durable::Files::open(dir).map_err(StoreError::Sync)?;
        let (trust, filters, next_commit) = load_memory(&tree)?;
        let logs = audit::AuditMemory::load(&tree)?;
        let pending = Mutex::new(pending::PendingBudget::load(&tree)?);
        let hidden = super::moderation::load_hidden(&tree)?;
        Ok(Self {
            logs,
            pending_budget: pending,
            dir: dir.to_path_buf(),
            db,
            tree,
            genesis,
            network,
            writer: Mutex::new(Writer {
                next_commit,
                roots: memory::Roots::new(memory::Roots::CAPACITY),
            }),
            trust: RwLock::new(trust),
            recent: RwLock::new(Recent::new(Recent::CAPACITY)),
            filters: RwLock::new(filters),
            unflushed: Mutex::new(Vec::new()),
            flushing: Mutex::new(()),
            files,
            failure: Failure::default(),
            taken_back: Mutex::new(Vec::new()),
            hidden: RwLock::new(hidden),
            marks_lock: Mutex::new(()),
            quiet: RwLock::new(()),
            #[cfg(test)]
            faults: Faults::default(),
        })
    }
}

/// Makes `tree` a store of this layout for `genesis`'s network: writes a
/// new one, migrates an older layout it can, and refuses another layout
/// or another network.
fn prepare(db: &sled::Db, tree: &sled::Tree, genesis: &Genesis) -> Result<(), StoreError> {
    let network = genesis.network_id();
    match tree.get(keys::schema())? {
        None => {
            // Layout 1 kept its schema in a tree of its own.
            if db.tree_names().iter().any(|name| name.as_ref() == b"meta") {
                let found = db
                    .open_tree("meta")?
                    .get(keys::LAYOUT_1_SCHEMA)?
                    .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
                    .map_or(0, u32::from_be_bytes);
                return Err(StoreError::Schema { found, expected: SCHEMA_VERSION });
            }
            if !tree.is_empty() {
                return Err(StoreError::Corrupt {
                    tree: "meta",
                    detail: "records but no schema version".into(),
                });
            }
            let mut batch = sled::Batch::default();
            batch.insert(keys::schema(), &SCHEMA_VERSION.to_be_bytes());
            batch.insert(keys::network(), network.as_bytes());
            for hub in &genesis.hubs {
                batch.insert(keys::hub(&hub.id), hub.title.as_bytes());
            }
            tree.apply_batch(batch)?;
            db.flush()?;
        }
        Some(v) => {
            let found = <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).unwrap_or(0);
            match found {
                SCHEMA_VERSION => {}
                3..SCHEMA_VERSION => {}
                _ => return Err(StoreError::Schema { found, expected: SCHEMA_VERSION }),
            }
            let stored = tree
                .get(keys::network())?
                .and_then(|b| <[u8; 32]>::try_from(b.as_ref()).ok())
                .map(NetworkId::from_bytes)
                .ok_or(StoreError::Corrupt { tree: "meta", detail: "no network id".into() })?;
            if stored != network {
                return Err(StoreError::WrongNetwork { stored, given: network });
            }
            // Each step brings the store one layout on, in a batch of its
            // own with its version (a crash between two leaves it at one).
            if found < SCHEMA_VERSION {
                if found <= 3 {
                    migrate::from_3(tree)?;
                }
                if found <= 4 {
                    migrate::from_4(tree)?;
                }
                if found <= 5 {
                    migrate::from_5(tree)?;
                }
                migrate::from_6(tree, &network)?;
                db.flush()?;
            }
        }
    }
    Ok(())
}

/// Opens sled in `dir`, waiting a moment for its lock.
///
/// sled finishes its last writes on I/O threads of its own, which hold the
/// directory's lock for a few milliseconds after the `Db` is dropped, so a
/// store closed and opened again in one process can find it still taken.
/// Another process holding it for longer is refused as [`StoreError::Busy`].
pub(super) fn open_db(dir: &Path, config: StoreConfig) -> Result<sled::Db, StoreError> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(config.cache_bytes)
            .open();
        match opened {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= PATIENCE {
                    return Err(StoreError::Busy(dir.display().to_string()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

/// Reads the trust records and filters from the disk, and the number of the
/// next commit.
pub(super) fn load_memory(tree: &sled::Tree) -> Result<(Trust, Filters, u64), StoreError> {
    let mut trust = Trust::default();
    for item in tree.scan_prefix(Space::Charters.all()) {
        let (key, value) = item?;
        let node = key_part(Space::Charters, &key, 1)?;
        let record: CharterRecord = decode(Space::Charters, &value)?;
        trust.charters.entry(PublicKey::from_bytes(node)).or_default().push(record);
    }
    for item in tree.scan_prefix(Space::Attestations.all()) {
        let (key, value) = item?;
        let subject = key_part(Space::Attestations, &key, 1)?;
        let record: AttestationRecord = decode(Space::Attestations, &value)?;
        trust.add_attestation(PublicKey::from_bytes(subject), record);
    }
    for item in tree.scan_prefix(Space::Revocations.all()) {
        let (key, value) = item?;
        let target = key_part(Space::Revocations, &key, 1)?;
        let at = <[u8; 8]>::try_from(value.as_ref()).map_err(|_| StoreError::Corrupt {
            tree: "revocations",
            detail: "not a time".into(),
        })?;
        trust
            .revocations
            .insert(EventId::from_bytes(target), Timestamp::from_millis(u64::from_be_bytes(at)));
    }
    for item in tree.scan_prefix(Space::Hubs.all()) {
        let (key, _) = item?;
        trust.hubs.insert(hub_of_key(&key)?);
    }
    for item in tree.scan_prefix(Space::Rules.all()) {
        let (_, value) = item?;
        trust.rules.push(decode(Space::Rules, &value)?);
    }
    for item in tree.scan_prefix(Space::Polls.all()) {
        let (key, value) = item?;
        let poll = key_part(Space::Polls, &key, 1)?;
        let record: PollRecord = decode(Space::Polls, &value)?;
        trust.polls.insert(EventId::from_bytes(poll), record);
    }

    for item in tree.scan_prefix(Space::Appointments.all()) {
        let (key, value) = item?;
        let moderator = key_part(Space::Appointments, &key, 1)?;
        let record: curbside_protocol::AppointmentRecord = decode(Space::Appointments, &value)?;
        trust.appointments.entry(PublicKey::from_bytes(moderator)).or_default().push(record);
    }
    let mut filters = Filters::default();
    for item in tree.scan_prefix(Space::Tombstones.all()) {
        let (key, value) = item?;
        let id = EventId::from_bytes(key_part(Space::Tombstones, &key, 1)?);
        let stored: super::StoredTombstone = decode(Space::Tombstones, &value)?;
        filters.ids.insert(keys::id_prefix(&id));
        trust.tombstones.insert(id, stored.tombstone);
    }
    let mut next_commit = 0;
    for item in tree.scan_prefix(Space::Timeline.all()) {
        let (key, value) = item?;
        let commit = key
            .get(1..9)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or(StoreError::Corrupt { tree: "timeline", detail: "short key".into() })?;
        next_commit = next_commit.max(commit + 1);
        for entry in value.chunks(keys::TIMELINE_ENTRY) {
            let (_, id) = keys::unpack_timed(entry)
                .ok_or(StoreError::Corrupt { tree: "timeline", detail: "short entry".into() })?;
            filters.ids.insert(keys::id_prefix(&id));
        }
    }
    for item in tree.scan_prefix(Space::Ballots.all()) {
        let (key, _) = item?;
        let poll = key_part(Space::Ballots, &key, 1)?;
        let voter = key_part(Space::Ballots, &key, 33)?;
        filters.ballots.insert(memory::ballot_prefix(
            &EventId::from_bytes(poll),
            &PublicKey::from_bytes(voter),
        ));
    }
    Ok((trust, filters, next_commit))
}
