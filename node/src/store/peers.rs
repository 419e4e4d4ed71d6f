//! Peer addresses, kept so a restarted node finds its peers again without
//! a bootstrap address.

use libp2p::Multiaddr;

use super::keys::Space;
use super::{Store, StoreError};

/// Most peers remembered.
const MAX_PEERS: usize = 256;

impl Store {
    /// Remembers `peers` (PeerId text, addresses), replacing what was kept
    /// for each.
    pub fn save_peers(&self, peers: &[(String, Vec<Multiaddr>)]) -> Result<(), StoreError> {
        self.healthy()?;
        let mut batch = sled::Batch::default();
        for (peer, addrs) in peers.iter().take(MAX_PEERS) {
            let text: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            batch.insert(Space::Peers.key(&[peer.as_bytes()]), text.join("\n").as_bytes());
        }
        self.apply(batch)?;
        let kept = self.tree.scan_prefix(Space::Peers.all()).count();
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix(Space::Peers.all()).take(kept.saturating_sub(MAX_PEERS)) {
            let (key, _) = item?;
            batch.remove(key);
        }
        self.apply(batch)?;
        Ok(())
    }

    /// The peers remembered by [`Store::save_peers`]; unreadable addresses
    /// are skipped.
    pub fn saved_peers(&self) -> Result<Vec<(String, Vec<Multiaddr>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(Space::Peers.all()) {
            let (key, value) = item?;
            let key = key.get(1..).unwrap_or_default();
            let addrs = String::from_utf8_lossy(&value)
                .lines()
                .filter_map(|line| line.parse::<Multiaddr>().ok())
                .collect();
            out.push((String::from_utf8_lossy(key).into_owned(), addrs));
        }
        Ok(out)
    }

    /// The hub of the thread that event `id` is in (a post's, case's or
    /// poll's own; a comment's, its thread root's), if it is stored: the
    /// gossip topic of a reply to it or a vote on it. At most two reads,
    /// since each comment's record names its thread root.
    pub fn hub_of(
        &self,
        id: &curbside_protocol::EventId,
    ) -> Result<Option<curbside_protocol::HubId>, StoreError> {
        let Some((event, root)) = self.get_with_root(id)? else { return Ok(None) };
        if let Some(hub) = event.signed().body().hub() {
            return Ok(Some(hub.clone()));
        }
        if root == *id {
            return Ok(None);
        }
        Ok(self.get(&root)?.and_then(|r| r.signed().body().hub().cloned()))
    }

    /// The wire bytes of a stored event, as a peer fetching it wants them.
    pub fn get_wire(&self, id: &curbside_protocol::EventId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(id)?.map(|e| e.signed().to_bytes()))
    }

    /// The wire bytes of event `id` and when it was first received (`None`
    /// for an event stored before receipts were kept), if stored: what a
    /// peer is served as history. Read from the record alone.
    pub fn get_received(
        &self,
        id: &curbside_protocol::EventId,
    ) -> Result<Option<WireAndReceipt>, StoreError> {
        let Some(bytes) = self.tree.get(super::keys::Space::Events.key(&[id.as_bytes()]))? else {
            return Ok(None);
        };
        let (stored, received_at) = super::reads::record(&bytes)?;
        Ok(Some((stored.wire.to_vec(), received_at)))
    }
}

/// An event's wire bytes, and when it was first received (`None`: stored
/// before receipts were kept).
pub type WireAndReceipt = (Vec<u8>, Option<curbside_protocol::Timestamp>);

#[cfg(test)]
mod tests {
    use super::*;
    use curbside_protocol::TrustView;
    use curbside_protocol::testkit::Federation;

    /// A reply's gossip topic is its thread's hub, read through the
    /// thread root its parent's record names, however deep the reply.
    #[test]
    fn the_hub_of_a_thread_is_read_through_its_root() {
        use crate::ingest::{Incoming, IngestConfig, ingest};
        let dir = tempfile::tempdir().unwrap();
        let mut fed = Federation::new();
        let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
        let verifier = fed.verifier().public();
        let charter = fed.charter(&verifier, &["GB"]);
        fed.accept(&charter);
        let (a, b) =
            (curbside_protocol::testkit::key("dr-a"), curbside_protocol::testkit::key("dr-b"));
        let mut events = vec![charter.clone()];
        for (name, key) in [("dr-a", &a), ("dr-b", &b)] {
            let attestation = fed.attestation(key, name, &["cardiology"], "GB");
            fed.accept(&attestation);
            events.push(attestation);
        }
        let post = fed.post(&a, "Refractory hypertension");
        let comment = fed.comment(&b, &post, "Spironolactone next?");
        let reply = fed.comment(&a, &comment, "K is 5.1");
        events.extend([post.clone(), comment.clone(), reply.clone()]);
        let incoming = events.into_iter().map(Incoming::when_made).collect();
        let outcomes = ingest(&store, &IngestConfig::default(), incoming, fed.now()).unwrap();
        assert!(outcomes.iter().all(crate::ingest::Outcome::is_stored), "{outcomes:?}");
        let general = curbside_protocol::HubId::new("general").unwrap();
        for event in [&post, &comment, &reply] {
            assert_eq!(store.hub_of(&event.id()).unwrap(), Some(general.clone()));
        }
        assert_eq!(store.hub_of(&charter.id()).unwrap(), None, "a charter is in no hub");
        let unknown = curbside_protocol::EventId::from_bytes([9; 32]);
        assert_eq!(store.hub_of(&unknown).unwrap(), None, "not stored");
    }

    #[test]
    fn saved_peers_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let fed = Federation::new();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        {
            let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
            store.save_peers(&[("peer-a".into(), vec![addr.clone()])]).unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
        assert_eq!(store.saved_peers().unwrap(), vec![("peer-a".to_string(), vec![addr])]);
    }
}
