//! Start-up and discovery (dialling, the kademlia walk, subscriptions,
//! saving peers' addresses) and the swarm's events.

use super::*;

impl Runner {
    pub(super) fn dial_known(&mut self) {
        let mut addrs = self.config.bootstrap.clone();
        for (peer, peer_addrs) in std::mem::take(&mut self.parts.saved) {
            for addr in peer_addrs {
                if let Ok(peer_id) = peer.parse::<PeerId>() {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr.clone());
                }
                addrs.push(addr);
            }
        }
        self.redials = Redials::new(&addrs, Instant::now(), self.config.walk_every);
        for addr in addrs {
            if let Some(Protocol::P2p(peer)) = addr.iter().last() {
                self.swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
            }
            self.dial(addr);
        }
    }

    /// Dials again the start-up addresses that are due (see [`Redials`]).
    pub(super) fn redial(&mut self, now: Instant) {
        let alone = self.peers.is_empty();
        // With its target of peers a node redials nobody: a start-up peer
        // that closed the connection for want of room (`max_peers`) is not
        // dialled again and again.
        let enough = self.admitted() >= self.config.target_peers;
        let (swarm, blocked) = (&self.swarm, &self.blocked);
        let due = self.redials.due(now, alone, |peer| {
            enough || swarm.is_connected(peer) || blocked.contains_key(peer)
        });
        for addr in due {
            tracing::debug!(%addr, "dialling a start-up peer again");
            self.dial(addr);
        }
    }

    /// How many peers are admitted both ways.
    pub(super) fn admitted(&self) -> usize {
        self.peers.values().filter(|p| p.state == State::Admitted).count()
    }

    pub(super) fn dial(&mut self, addr: Multiaddr) {
        if let Err(e) = self.swarm.dial(addr.clone()) {
            tracing::debug!(%addr, error = %e, "dial failed");
        }
    }

    /// Every `walk_every`: subscribes to hubs that arrived by sync (read
    /// off the task), looks for new peers, and saves the admitted peers'
    /// addresses if they changed.
    pub(super) fn walk(&mut self) {
        let offload = self.parts.offload.clone();
        self.offload(async move { offload.hubs().await }, Completion::Hubs);
        // Looking for peers only while short of them: a walk connects to
        // every peer it asks (closed again past `max_peers`).
        let admitted = self.admitted();
        if admitted > 0 && admitted < self.config.target_peers {
            self.swarm.behaviour_mut().kad.get_closest_peers(PeerId::random());
        }
        if let Some(known) = self.peers_to_save() {
            let offload = self.parts.offload.clone();
            tokio::spawn(async move { offload.save_peers(known).await });
        }
    }

    /// The admitted peers' addresses, if there are any and they are not
    /// what was saved last.
    pub(super) fn peers_to_save(&mut self) -> Option<Vec<(String, Vec<Multiaddr>)>> {
        let mut known: Vec<(String, Vec<Multiaddr>)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted && !p.listen.is_empty())
            .map(|(id, p)| {
                let addrs = p.listen.iter().map(|a| with_peer(a.clone(), *id)).collect();
                (id.to_string(), addrs)
            })
            .collect();
        known.sort();
        if known.is_empty() || known == self.saved {
            return None;
        }
        self.saved.clone_from(&known);
        Some(known)
    }

    /// Subscribes to the trust topic and `hubs`' topics, once each.
    pub(super) fn subscribe(&mut self, hubs: Vec<HubId>) {
        let mut wanted = vec![self.topics.trust()];
        wanted.extend(hubs.iter().map(|h| self.topics.hub(h.as_str())));
        for topic in wanted {
            self.subscribe_to(topic);
        }
    }

    pub(super) fn subscribe_to(&mut self, topic: IdentTopic) {
        if self.subscribed.insert(topic.to_string())
            && let Err(e) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic)
        {
            tracing::warn!(%topic, error = %e, "cannot subscribe");
        }
    }

    pub(super) fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(address = %with_peer(address.clone(), *self.swarm.local_peer_id()), "listening for peers");
                self.listening.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listening.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                let addr = endpoint.get_remote_address().clone();
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.addresses.insert(addr);
                } else if num_established.get() == 1 {
                    self.on_new_peer(peer_id, addr);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                if let Some(held) = self.instances.get_mut(&peer_id) {
                    held.retain(|(c, _)| *c != connection_id);
                    if held.is_empty() || num_established == 0 {
                        self.instances.remove(&peer_id);
                    }
                }
                if num_established > 0 {
                    return;
                }
                if self.peers.remove(&peer_id).is_some() {
                    tracing::info!(peer = %peer_id, "peer disconnected");
                }
                self.sync_queue.retain(|p| p != &peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "could not connect");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, &message.data),
            BehaviourEvent::Gossipsub(gossipsub::Event::SlowPeer { peer_id, failed_messages }) => {
                let n = failed_messages.priority + failed_messages.non_priority;
                tracing::debug!(peer = %peer_id, n, "gossip not sent: the peer's queue was full or slow");
                self.parts.metrics.record_gossip_not_sent(n);
            }
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.listen = info.listen_addrs.clone();
                    if peer.state == State::Admitted {
                        for addr in info.listen_addrs {
                            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                        }
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. })
                if !self.swarm.is_connected(&peer)
                    && !self.blocked.contains_key(&peer)
                    && self.peers.len() < self.config.target_peers =>
            {
                let _ = self.swarm.dial(peer);
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) && !self.blocked.contains_key(&peer) {
                        self.dial(with_peer(addr, peer));
                    }
                }
            }
            _ => {}
        }
    }
}
