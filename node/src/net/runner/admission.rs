//! Who is a peer, as effects: the charter look-up on connection, the
//! mutual `Admitted` handshake that meshes a peer only once both sides
//! admit each other, refusals and bans, and the periodic re-check of every
//! peer's charter. What to do is decided in `policy.rs`; the charters are
//! read on the [`Offload`] pool.

use super::*;

impl Runner {
    /// A peer as the admission rules see it.
    pub(super) fn standing(&self, peer_id: &PeerId) -> Option<Standing> {
        let peer = self.peers.get(peer_id)?;
        Some(Standing {
            id: *peer_id,
            key: peer.key,
            state: peer.state,
            since: peer.since,
            told: peer.told,
            score: self.swarm.behaviour().gossipsub.peer_score(peer_id),
        })
    }

    fn limits(&self) -> policy::Limits {
        policy::Limits {
            timeout: self.config.admission_timeout,
            max_unadmitted: self.config.max_unadmitted,
            graylist: GRAYLIST_THRESHOLD,
        }
    }

    /// Does what the admission rules decided.
    pub(super) fn act(&mut self, action: Option<Action>) {
        match action {
            None => {}
            Some(Action::Admit(peer)) => self.admit(peer),
            Some(Action::AskCredentials(peer)) => self.ask_credentials(peer),
            Some(Action::AskAgain(peer)) => self.credentials_unanswered(peer),
            Some(Action::TellAdmitted(peer)) => self.tell_admitted(peer),
            Some(Action::Review(peer, key)) => self.review(vec![(peer, key)]),
            Some(Action::Disconnect(peer)) => {
                tracing::debug!(%peer, "too many peers without a charter; disconnected");
                self.peers.remove(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Some(Action::Refuse { peer, code, reason }) => self.refuse(peer, code, reason),
        }
    }

    /// Reads the charters of `keys` again, off the swarm task.
    fn review(&self, keys: Vec<(PeerId, PublicKey)>) {
        if keys.is_empty() {
            return;
        }
        let offload = self.parts.offload.clone();
        self.offload(async move { offload.admissions(keys).await }, Completion::Reviewed);
    }

    /// A new peer: not meshed until both sides have admitted each other
    /// (see [`State`]), and not served until its key is looked up.
    pub(super) fn on_new_peer(&mut self, peer_id: PeerId, addr: Multiaddr) {
        let Some(key) = key_of(&peer_id) else {
            self.refuse(
                peer_id,
                Code::NotEd25519,
                "a node's PeerId must be its ed25519 key".into(),
            );
            return;
        };
        let now = Instant::now();
        let per_second = self.config.requests_per_second;
        self.peers.insert(
            peer_id,
            Peer {
                key: Some(key),
                state: State::Looking,
                since: now,
                admits_us: false,
                told: Told::No,
                addresses: HashSet::from([addr]),
                listen: Vec::new(),
                requests: Bucket::new(
                    f64::from(per_second),
                    f64::from(per_second.saturating_mul(4)),
                    now,
                ),
                gossip: GossipRate::new(
                    self.config.gossip_per_second,
                    self.config.gossip_burst,
                    now,
                ),
                offences: Offences::default(),
                syncing: None,
                last_sync: None,
                synced: None,
            },
        );
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, UNVERIFIED_SCORE);
        let offload = self.parts.offload.clone();
        self.offload(async move { offload.admission(peer_id, key).await }, move |verdict| {
            Completion::LookedUp { peer: peer_id, verdict }
        });
    }

    /// A new peer's key was looked up.
    pub(super) fn on_looked_up(&mut self, peer_id: PeerId, verdict: Admission) {
        let Some(peer) = self.standing(&peer_id) else { return };
        let unadmitted =
            self.peers.values().filter(|p| matches!(p.state, State::Checking { .. })).count();
        self.act(policy::looked_up(&peer, verdict, unadmitted, self.limits()));
    }

    pub(super) fn ask_credentials(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        if !matches!(peer.state, State::Looking | State::Checking { .. }) {
            return;
        }
        peer.state = State::Checking { asked: true };
        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, Request::Credentials);
        self.awaiting.insert(id, Awaiting::Credentials(peer_id));
        tracing::debug!(peer = %peer_id, "asking a new peer for its charter");
    }

    /// The peer's charter is in force here: serve it, tell it so, and mesh
    /// it once it admits this node too.
    pub(super) fn admit(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        if peer.state.chartered() {
            return;
        }
        peer.state = State::Welcoming;
        let admits_us = peer.admits_us;
        // Its charter is seen: kademlia answers it from now on.
        self.swarm.behaviour_mut().kad.open(peer_id);
        self.tell_admitted(peer_id);
        if admits_us {
            self.mesh(peer_id);
        }
    }

    pub(super) fn tell_admitted(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.told = Told::Asking;
        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, Request::Admitted);
        self.awaiting.insert(id, Awaiting::Admitted(peer_id));
    }

    /// The peer said it admits this node.
    pub(super) fn admitted_by(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.admits_us = true;
        if peer.state == State::Welcoming {
            self.mesh(peer_id);
        }
    }

    /// Both sides admit each other: the peer joins the mesh and is synced.
    pub(super) fn mesh(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.state = State::Admitted;
        let key = peer.key.map(|k| k.short()).unwrap_or_default();
        let listen = peer.listen.clone();
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, 0.0);
        for addr in listen {
            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
        }
        tracing::info!(peer = %peer_id, node_key = %key, "chartered peer admitted");
        self.queue_sync(peer_id, true);
        // Short of peers: ask the new one at once for others (kademlia
        // dials those it learns of) rather than at the next walk. A peer
        // with no room for this node closes the connection within seconds
        // (`max_peers`), and the node must have found others by then.
        if self.admitted() < self.config.target_peers {
            let me = *self.swarm.local_peer_id();
            self.swarm.behaviour_mut().kad.get_closest_peers(me);
        }
    }

    pub(super) fn refuse(&mut self, peer_id: PeerId, code: Code, reason: String) {
        let ban = if matches!(code, Code::NotChartered | Code::NotAdmitted) {
            UNCHARTERED_BLOCK
        } else {
            self.config.ban_for
        };
        tracing::warn!(peer = %peer_id, %code, %reason, ban_secs = ban.as_secs(), "peer refused and blocked");
        self.blocked.insert(peer_id, Blocked { until: Instant::now() + ban, code, reason });
        let behaviour = self.swarm.behaviour_mut();
        behaviour.blocked.block_peer(peer_id);
        behaviour.kad.remove_peer(&peer_id);
        self.peers.remove(&peer_id);
        self.sync_queue.retain(|p| p != &peer_id);
        let _ = self.swarm.disconnect_peer_id(peer_id);
    }

    pub(super) fn offence(&mut self, peer_id: PeerId, code: Code, reason: String) {
        let limit = self.config.max_offences_per_minute;
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let count = peer.offences.record(Instant::now(), OFFENCE_WINDOW);
        tracing::debug!(peer = %peer_id, %code, %reason, count, "peer offence");
        if count >= limit {
            self.refuse(
                peer_id,
                code,
                format!("{count} offences within a minute (the last: {code}: {reason})"),
            );
        }
    }

    pub(super) fn on_admission(&mut self, peer_id: PeerId, response: Response) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.told = Told::Yes;
        match response {
            Response::Admission { admitted: true } => self.admitted_by(peer_id),
            // Not yet: it tells this node when it has seen its charter.
            Response::Admission { admitted: false } => {}
            other => {
                tracing::debug!(peer = %peer_id, response = ?other, "a peer answered `Admitted` with something else")
            }
        }
    }

    pub(super) fn credentials_unanswered(&mut self, peer_id: PeerId) {
        if let Some(Peer { state: State::Checking { asked }, .. }) = self.peers.get_mut(&peer_id) {
            *asked = false;
        }
    }

    pub(super) fn on_credentials(&mut self, peer: PeerId, response: Response) {
        let Response::Credentials { events } = response else {
            self.refuse(
                peer,
                Code::NotChartered,
                "answered the charter request with something else".into(),
            );
            return;
        };
        let mut decoded = Vec::new();
        for bytes in events.iter().take(16) {
            match SignedEvent::decode(bytes) {
                Ok(event) if matches!(event.body(), Body::Charter(_)) => decoded.push(event),
                _ => {
                    self.refuse(
                        peer,
                        Code::NotChartered,
                        "showed something that is not a charter".into(),
                    );
                    return;
                }
            }
        }
        let ingester = self.parts.ingester.clone();
        let offload = self.parts.offload.clone();
        let Some(key) = key_of(&peer) else { return };
        let checked = async move {
            if let Err(e) = ingester.submit_live(Source::Sync, holder_of(&peer), decoded).await {
                tracing::warn!(error = %e, "ingesting a peer's charter");
            }
            offload.admission(peer, key).await
        };
        self.offload(checked, move |verdict| Completion::Checked { peer, verdict });
    }

    /// Unblocks peers whose ban is over; drops peers whose charter lapsed
    /// or was revoked, and new peers that never showed one; dials again
    /// the start-up peers that are not connected.
    pub(super) fn check(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> =
            self.blocked.iter().filter(|(_, b)| b.until <= now).map(|(p, _)| *p).collect();
        for peer in expired {
            self.blocked.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        let forgiven: Vec<(PeerId, f64)> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| p.gossip.last_penalty() > 0.0)
            .map(|(id, p)| (*id, p.gossip.penalty(now)))
            .collect();
        for (peer, penalty) in forgiven {
            self.set_flood_score(peer, penalty);
        }
        let peers: Vec<Standing> = self.peers.keys().filter_map(|id| self.standing(id)).collect();
        let mut review = Vec::new();
        for action in policy::check(now, self.limits(), peers) {
            match action {
                Action::Review(peer, key) => review.push((peer, key)),
                action => self.act(Some(action)),
            }
        }
        self.review(review);
        self.bound_peers();
        self.redial(now);
    }

    /// The admitted peers as the connection bound and sync rounds see them.
    pub(super) fn connected(&self) -> Vec<policy::Connected> {
        let meshed: HashSet<&PeerId> = self.swarm.behaviour().gossipsub.all_mesh_peers().collect();
        self.peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted)
            .map(|(id, p)| policy::Connected {
                id: *id,
                since: p.since,
                meshed: meshed.contains(id),
                synced: p.synced,
            })
            .collect()
    }

    /// Closes connections past `max_peers` (see [`policy::excess`]).
    fn bound_peers(&mut self) {
        for peer in policy::excess(self.connected(), self.config.max_peers) {
            tracing::debug!(%peer, max = self.config.max_peers, "more peers than kept; disconnected");
            self.parts.metrics.record_peer_pruned();
            self.peers.remove(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }
}
