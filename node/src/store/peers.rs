//! Peer addresses, kept so a restarted node finds its peers again without
//! a bootstrap address.

use libp2p::Multiaddr;

use super::keys::{self, Space};
use super::{Store, StoreError};

/// Most peers remembered.
const MAX_PEERS: usize = 256;

/// The peers this node remembers ([`Store::peers`]).
#[derive(Debug, Clone, Copy)]
pub struct Peers<'s> {
    store: &'s Store,
}

impl Store {
    /// The peer addresses kept across restarts.
    pub fn peers(&self) -> Peers<'_> {
        Peers { store: self }
    }
}

impl Peers<'_> {
    /// Remembers `peers` (PeerId text, addresses), replacing what was kept
    /// for each.
    pub fn save(&self, peers: &[(String, Vec<Multiaddr>)]) -> Result<(), StoreError> {
        self.store.healthy()?;
        let mut batch = sled::Batch::default();
        for (peer, addrs) in peers.iter().take(MAX_PEERS) {
            let text: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            batch.insert(keys::peer(peer), text.join("\n").as_bytes());
        }
        self.store.apply(batch)?;
        let kept = self.store.tree.scan_prefix(Space::Peers.all()).count();
        let mut batch = sled::Batch::default();
        for item in
            self.store.tree.scan_prefix(Space::Peers.all()).take(kept.saturating_sub(MAX_PEERS))
        {
            let (key, _) = item?;
            batch.remove(key);
        }
        self.store.apply(batch)?;
        Ok(())
    }

    /// The peers remembered by [`Peers::save`]; unreadable addresses
    /// are skipped.
    pub fn saved(&self) -> Result<Vec<(String, Vec<Multiaddr>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.store.tree.scan_prefix(Space::Peers.all()) {
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
}

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
        let outcomes =
            ingest(&store, &IngestConfig::default(), incoming, fed.now()).unwrap().outcomes;
        assert!(outcomes.iter().all(crate::ingest::Outcome::is_stored), "{outcomes:?}");
        let general = curbside_protocol::HubId::new("general").unwrap();
        for event in [&post, &comment, &reply] {
            assert_eq!(store.events().hub_of(&event.id()).unwrap(), Some(general.clone()));
        }
        assert_eq!(store.events().hub_of(&charter.id()).unwrap(), None, "a charter is in no hub");
        let unknown = curbside_protocol::EventId::from_bytes([9; 32]);
        assert_eq!(store.events().hub_of(&unknown).unwrap(), None, "not stored");
    }

    #[test]
    fn saved_peers_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let fed = Federation::new();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        {
            let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
            store.peers().save(&[("peer-a".into(), vec![addr.clone()])]).unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path(), fed.view().genesis().clone()).unwrap();
        assert_eq!(store.peers().saved().unwrap(), vec![("peer-a".to_string(), vec![addr])]);
    }
}
