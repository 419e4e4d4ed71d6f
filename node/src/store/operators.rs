//! The node's named operators and its admin log: local to this node,
//! never gossiped, kept in the store so that a backup of the store takes
//! them along and one sync makes an entry durable with everything else.
//!
//! - **Operators** are kept by the SHA-256 of their credential, never the
//!   credential itself: whoever reads the store (or a backup of it) learns
//!   names and times, not a secret that works. A credential is 256 random
//!   bits, so a plain hash is as strong as a slow one would be (there is
//!   no password to guess). A name is bound to one credential for good
//!   (`n ‖ name` is written once, by compare-and-swap): a revoked
//!   operator's name is not given again, so the log never shows two
//!   people under one name.
//! - **The admin log** is keyed by time then a number sled hands out
//!   (unique and increasing across restarts), so a page from a date is one
//!   range read. It grows with what operators do, never with what anyone
//!   else does: pruning it is left to the operator (it is small: a few
//!   hundred bytes an entry).

use curbside_protocol::Timestamp;
use serde::{Deserialize, Serialize};

use super::keys::{self, Space};
use super::{Store, StoreError, decode, encode};

/// Most operators (revoked ones included) a node keeps.
pub const MAX_OPERATORS: usize = 1000;

/// Most log entries one page read looks at, matching or not, so that a
/// filter that matches little still answers in bounded time (the page
/// then ends early, with a cursor to go on from).
pub const LOG_SCAN: usize = 10_000;

/// A named operator, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRecord {
    /// The name the log shows.
    pub name: String,
    /// When the credential was made.
    pub created_at: Timestamp,
    /// Which operator made it.
    pub created_by: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Which operator revoked it.
    pub revoked_by: Option<String>,
}

/// An operator as listed: the record, and when they last made an admin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOperator {
    /// The record.
    pub record: OperatorRecord,
    /// When they last made an admin call.
    pub last_used: Option<Timestamp>,
}

/// Why an operator was not added or revoked.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The name is taken (or was, by an operator since revoked).
    #[error("there is already an operator named {0} (names are never given twice, revoked or not)")]
    Exists(String),
    /// The node keeps as many operators as it may.
    #[error("this node keeps {0} operators, as many as it may")]
    Full(usize),
    /// No operator has that name.
    #[error("no operator is named {0}")]
    Unknown(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sled::Error> for OperatorError {
    fn from(e: sled::Error) -> Self {
        Self::Store(e.into())
    }
}

/// One admin call, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When the node answered it.
    pub at: Timestamp,
    /// The operator's name.
    pub operator: String,
    /// What was asked (`attest`, `revoke`, ...).
    pub action: String,
    /// What it was about: `(what, value)` pairs such as `("attestation",
    /// id)`, `("key", key)`, `("licence_commitment", digest)`; never a
    /// licence number or a credential.
    pub target: Vec<(String, String)>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's error code, if it was refused.
    pub code: Option<String>,
}

/// Which log entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// From this time on.
    pub since: Option<Timestamp>,
    /// Only this operator's.
    pub operator: Option<String>,
}

/// Where a page of the log ends: read on after it.
pub type LogCursor = [u8; 16];

/// A page of the admin log, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The entries.
    pub entries: Vec<LogEntry>,
    /// Where to read on from, if there may be more.
    pub next: Option<LogCursor>,
}

/// The node's named operators ([`Store::operators`]).
#[derive(Debug, Clone, Copy)]
pub struct Operators<'s> {
    store: &'s Store,
}

/// The node's admin log ([`Store::admin_log`]).
#[derive(Debug, Clone, Copy)]
pub struct AdminLog<'s> {
    store: &'s Store,
}

impl Store {
    /// The named operators.
    pub fn operators(&self) -> Operators<'_> {
        Operators { store: self }
    }

    /// The admin log.
    pub fn admin_log(&self) -> AdminLog<'_> {
        AdminLog { store: self }
    }
}

impl Operators<'_> {
    /// Adds the operator `name` whose credential hashes to `hash`, made by
    /// `by` at `at`; durable when this returns.
    pub fn add(
        &self,
        name: &str,
        hash: &[u8; 32],
        by: &str,
        at: Timestamp,
    ) -> Result<(), OperatorError> {
        self.store.healthy()?;
        let held = self.store.tree.scan_prefix(keys::operators()).count();
        if held >= MAX_OPERATORS {
            return Err(OperatorError::Full(held));
        }
        // The name first, once: two operators added under one name at the
        // same moment cannot both have it.
        let claimed = self.store.tree.compare_and_swap(
            keys::operator_name(name),
            None as Option<&[u8]>,
            Some(&hash[..]),
        )?;
        if claimed.is_err() {
            return Err(OperatorError::Exists(name.to_owned()));
        }
        let record = OperatorRecord {
            name: name.to_owned(),
            created_at: at,
            created_by: by.to_owned(),
            revoked_at: None,
            revoked_by: None,
        };
        self.store.tree.insert(keys::operator(hash), encode(&record))?;
        self.store.flush()?;
        Ok(())
    }

    /// The operator whose credential hashes to `hash`, revoked or not.
    pub fn find(&self, hash: &[u8; 32]) -> Result<Option<OperatorRecord>, StoreError> {
        self.store.tree.get(keys::operator(hash))?.map(|v| decode(Space::Operators, &v)).transpose()
    }

    /// Every operator, by name.
    pub fn list(&self) -> Result<Vec<ListedOperator>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(keys::operators()) {
            let (key, value) = item?;
            let hash = super::key_part(Space::Operators, &key, 2)?;
            let record: OperatorRecord = decode(Space::Operators, &value)?;
            out.push(ListedOperator { record, last_used: self.last_used(&hash)? });
        }
        out.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        Ok(out)
    }

    /// When the operator whose credential hashes to `hash` last made an
    /// admin call.
    pub fn last_used(&self, hash: &[u8; 32]) -> Result<Option<Timestamp>, StoreError> {
        let Some(v) = self.store.tree.get(keys::operator_used(hash))? else { return Ok(None) };
        let ms = <[u8; 8]>::try_from(v.as_ref()).map_err(|_| StoreError::Corrupt {
            tree: Space::Operators.name(),
            detail: "last used is not a time".into(),
        })?;
        Ok(Some(Timestamp::from_millis(u64::from_be_bytes(ms))))
    }

    /// Revokes the operator `name` (by `by`, at `at`): their credential is
    /// refused from the moment this returns (it is durable by then). An
    /// operator revoked already keeps their first revocation.
    pub fn revoke(
        &self,
        name: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<OperatorRecord, OperatorError> {
        self.store.healthy()?;
        let hash = self
            .store
            .tree
            .get(keys::operator_name(name))?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok())
            .ok_or_else(|| OperatorError::Unknown(name.to_owned()))?;
        let mut record =
            self.find(&hash)?.ok_or_else(|| OperatorError::Unknown(name.to_owned()))?;
        if record.revoked_at.is_none() {
            record.revoked_at = Some(at);
            record.revoked_by = Some(by.to_owned());
            self.store.tree.insert(keys::operator(&hash), encode(&record))?;
            self.store.flush()?;
        }
        Ok(record)
    }
}

impl AdminLog<'_> {
    /// Appends `entry`, and notes its time as `used`'s last use (the
    /// credential hash of a named operator); durable when this returns.
    pub fn append(&self, entry: &LogEntry, used: Option<&[u8; 32]>) -> Result<(), StoreError> {
        self.store.healthy()?;
        let n = self.store.db.generate_id()?;
        let mut batch = sled::Batch::default();
        batch.insert(keys::admin_log(entry.at, n), encode(entry));
        if let Some(hash) = used {
            batch.insert(keys::operator_used(hash), &entry.at.as_millis().to_be_bytes());
        }
        self.store.apply(batch)?;
        self.store.flush()
    }

    /// Up to `limit` entries matching `filter`, oldest first, after
    /// `after` (a page's `next`). At most [`LOG_SCAN`] entries are looked
    /// at: a page may end early, with `next` set, when few match.
    pub fn page(
        &self,
        filter: &LogFilter,
        after: Option<&LogCursor>,
        limit: usize,
    ) -> Result<LogPage, StoreError> {
        let since = keys::admin_log(filter.since.unwrap_or(Timestamp::from_millis(0)), 0);
        let start = match after {
            // Just past the cursor's key.
            Some(cursor) => {
                let mut key = Space::AdminLog.key(&[cursor]);
                key.push(0);
                key.max(since)
            }
            None => since,
        };
        let end = [Space::AdminLog as u8 + 1];
        let mut entries = Vec::new();
        let mut last: Option<LogCursor> = None;
        for (looked, item) in self.store.tree.range(start..end.to_vec()).enumerate() {
            if entries.len() >= limit || looked >= LOG_SCAN {
                return Ok(LogPage { entries, next: last });
            }
            let (key, value) = item?;
            last = key.get(1..17).and_then(|k| <LogCursor>::try_from(k).ok());
            let entry: LogEntry = decode(Space::AdminLog, &value)?;
            if filter.operator.as_ref().is_none_or(|name| *name == entry.operator) {
                entries.push(entry);
            }
        }
        Ok(LogPage { entries, next: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::TrustView as _;
    use curbside_protocol::testkit::Federation;

    fn store(dir: &std::path::Path) -> Store {
        Store::open(dir, Federation::new().view().genesis().clone()).unwrap()
    }

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + ms)
    }

    fn entry(ms: u64, operator: &str, action: &str) -> LogEntry {
        LogEntry {
            at: at(ms),
            operator: operator.into(),
            action: action.into(),
            target: vec![("attestation".into(), "ab".repeat(32))],
            status: 200,
            code: None,
        }
    }

    #[test]
    fn operators_are_found_by_hash_named_once_and_revoked_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (ada, bea) = ([1u8; 32], [2u8; 32]);
        store.operators().add("ada", &ada, "owner", at(0)).unwrap();
        store.operators().add("bea", &bea, "ada", at(1)).unwrap();
        assert!(matches!(
            store.operators().add("ada", &[3; 32], "owner", at(2)),
            Err(OperatorError::Exists(_))
        ));
        assert_eq!(store.operators().find(&ada).unwrap().unwrap().name, "ada");
        assert_eq!(store.operators().find(&[9; 32]).unwrap(), None);

        let revoked = store.operators().revoke("ada", "bea", at(5)).unwrap();
        assert_eq!((revoked.revoked_at, revoked.revoked_by.as_deref()), (Some(at(5)), Some("bea")));
        // A second revocation keeps the first's time and author.
        let again = store.operators().revoke("ada", "owner", at(9)).unwrap();
        assert_eq!(again.revoked_at, Some(at(5)));
        assert!(matches!(
            store.operators().revoke("cai", "owner", at(9)),
            Err(OperatorError::Unknown(_))
        ));
        // The name stays taken once revoked.
        assert!(matches!(
            store.operators().add("ada", &[4; 32], "owner", at(10)),
            Err(OperatorError::Exists(_))
        ));

        // Durable: a reopened store holds the same.
        drop(store);
        let store = self::store(dir.path());
        let listed = store.operators().list().unwrap();
        let names: Vec<_> = listed.iter().map(|o| o.record.name.as_str()).collect();
        assert_eq!(names, ["ada", "bea"]);
        assert_eq!(listed[0].record.revoked_at, Some(at(5)));
        assert_eq!(listed[1].record.revoked_at, None);
    }

    #[test]
    fn the_log_is_read_from_a_date_by_operator_in_pages_and_notes_last_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let ada = [1u8; 32];
        store.operators().add("ada", &ada, "owner", at(0)).unwrap();
        for i in 0..10u64 {
            let who = if i % 2 == 0 { "ada" } else { "owner" };
            let used = (who == "ada").then_some(&ada);
            store.admin_log().append(&entry(i * 10, who, "attest"), used).unwrap();
        }
        // Two at the same millisecond are both kept.
        store.admin_log().append(&entry(90, "owner", "revoke"), None).unwrap();

        let log = store.admin_log();
        let all = log.page(&LogFilter::default(), None, 100).unwrap();
        assert_eq!(all.entries.len(), 11);
        assert_eq!(all.next, None);
        assert!(all.entries.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");

        // Pages of 4 go through everything once.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = log.page(&LogFilter::default(), after.as_ref(), 4).unwrap();
            seen.extend(page.entries);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all.entries);

        let since = LogFilter { since: Some(at(50)), operator: None };
        assert_eq!(log.page(&since, None, 100).unwrap().entries.len(), 6);
        let ada_only = LogFilter { since: None, operator: Some("ada".into()) };
        let theirs = log.page(&ada_only, None, 100).unwrap().entries;
        assert_eq!(theirs.len(), 5);
        assert!(theirs.iter().all(|e| e.operator == "ada"));

        let listed = store.operators().list().unwrap();
        assert_eq!(listed[0].last_used, Some(at(80)), "ada's last call");
    }

    #[test]
    fn a_page_that_matches_little_stops_after_its_scan_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut batch = sled::Batch::default();
        for i in 0..(LOG_SCAN as u64 + 5) {
            batch.insert(keys::admin_log(at(i), i), encode(&entry(i, "owner", "sync")));
        }
        store.tree.apply_batch(batch).unwrap();
        store.admin_log().append(&entry(LOG_SCAN as u64 + 10, "ada", "attest"), None).unwrap();
        let ada = LogFilter { since: None, operator: Some("ada".into()) };
        let first = store.admin_log().page(&ada, None, 50).unwrap();
        assert!(first.entries.is_empty());
        let next = first.next.expect("the page ended early: a cursor to go on from");
        let second = store.admin_log().page(&ada, Some(&next), 50).unwrap();
        assert_eq!(second.entries.len(), 1);
        assert_eq!(second.next, None);
    }
}
