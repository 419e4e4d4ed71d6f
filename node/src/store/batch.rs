//! The keys one write changes, gathered into one sled batch so that sled
//! applies them all or none ([`Store::apply`](super::Store)).

/// The keys one commit (or one change of the pending set) writes, as one
/// sled batch.
pub(super) struct Writes {
    batch: sled::Batch,
}

impl Writes {
    pub(super) fn new() -> Self {
        Self { batch: sled::Batch::default() }
    }

    pub(super) fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batch.insert(key.as_ref(), value.as_ref());
    }

    pub(super) fn del(&mut self, key: impl AsRef<[u8]>) {
        self.batch.remove(key.as_ref());
    }

    pub(super) fn into_batch(self) -> sled::Batch {
        self.batch
    }
}
