//! Who is a peer: the charter check on connection, the mutual
//! `Admitted` handshake that meshes a peer only once both sides admit
//! each other, refusals and bans, and the periodic re-check of every
//! peer's charter.

use super::*;
use crate::store::Holder;

impl Runner {
    pub(super) fn on_new_peer(&mut self, peer_id: PeerId, addr: Multiaddr) {
        let Some(key) = key_of(&peer_id) else {
            self.refuse(
                peer_id,
                Code::NotEd25519,
                "a node's PeerId must be its ed25519 key".into(),
            );
            return;
        };
        let verdict = admission(&self.parts.store, &key, (self.parts.clock)());
        if matches!(verdict, Admission::Unknown) {
            let unadmitted =
                self.peers.values().filter(|p| matches!(p.state, State::Checking { .. })).count();
            if unadmitted >= self.config.max_unadmitted {
                tracing::debug!(peer = %peer_id, unadmitted, "too many peers without a charter; disconnected");
                let _ = self.swarm.disconnect_peer_id(peer_id);
                return;
            }
        }
        self.peers.insert(
            peer_id,
            Peer {
                key: Some(key),
                state: State::Checking { asked: false },
                since: Instant::now(),
                admits_us: false,
                told: Told::No,
                addresses: HashSet::from([addr]),
                listen: Vec::new(),
                requests: Bucket::new(
                    f64::from(self.config.requests_per_second),
                    f64::from(self.config.requests_per_second.saturating_mul(4)),
                    Instant::now(),
                ),
                gossip: GossipRate::new(
                    self.config.gossip_per_second,
                    self.config.gossip_burst,
                    Instant::now(),
                ),
                offences: Offences::default(),
                syncing: None,
                last_sync: None,
            },
        );
        // Not meshed until both sides have admitted each other (see `State`).
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, UNVERIFIED_SCORE);
        match verdict {
            Admission::Chartered => self.admit(peer_id),
            Admission::Unknown => self.ask_credentials(peer_id),
            Admission::Refused { code, message } => self.refuse(peer_id, code, message),
        }
    }

    pub(super) fn ask_credentials(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        let State::Checking { asked } = &mut peer.state else { return };
        *asked = true;
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
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let holder = key_of(&peer).map_or(Holder::Unrecorded, Holder::Peer);
            if let Err(e) = ingester.submit_live(Source::Sync, holder, decoded).await {
                tracing::warn!(error = %e, "ingesting a peer's charter");
            }
            let _ = commands.send(Command::Checked { peer }).await;
        });
    }

    /// Unblocks peers whose ban is over; drops peers whose charter lapsed
    /// or was revoked, and new peers that never showed one.
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
        let at = (self.parts.clock)();
        let mut refuse = Vec::new();
        let mut ask = Vec::new();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut tell = Vec::new();
        let waited = |peer: &Peer| now.saturating_duration_since(peer.since);
        let late = |peer: &Peer| waited(peer) > self.config.admission_timeout;
        // A peer that has not admitted this node is given twice as long:
        // it decides first (on its own timeout, by refusing this node if
        // it never saw a charter), so each side's verdict names the real
        // cause rather than the two timing out on each other.
        let very_late = |peer: &Peer| waited(peer) > self.config.admission_timeout * 2;
        for (id, peer) in &self.peers {
            match (peer.state, peer.key) {
                (State::Checking { .. }, _) if late(peer) => {
                    refuse.push((
                        *id,
                        Code::NotChartered,
                        "showed no valid charter in time".to_string(),
                    ));
                }
                (State::Checking { asked: false }, _) => ask.push(*id),
                (State::Welcoming, _) if very_late(peer) => {
                    refuse.push((
                        *id,
                        Code::NotAdmitted,
                        "did not admit this node in time (has it seen this node's charter?)"
                            .to_string(),
                    ));
                }
                (State::Admitted, _)
                    if gossipsub.peer_score(id).is_some_and(|s| s < GRAYLIST_THRESHOLD) =>
                {
                    // Gossipsub already ignores it; cut it off altogether.
                    refuse.push((
                        *id,
                        Code::ScoreTooLow,
                        "gossip score under the graylist threshold (invalid events)".to_string(),
                    ));
                }
                (State::Welcoming | State::Admitted, Some(key)) => {
                    match admission(&self.parts.store, &key, at) {
                        Admission::Chartered if peer.told == Told::No => tell.push(*id),
                        Admission::Chartered => {}
                        Admission::Refused { code, message } => refuse.push((*id, code, message)),
                        Admission::Unknown => {
                            refuse.push((*id, Code::NotChartered, "its charter is gone".into()))
                        }
                    }
                }
                _ => {}
            }
        }
        for (peer, code, reason) in refuse {
            self.refuse(peer, code, reason);
        }
        for peer in ask {
            self.ask_credentials(peer);
        }
        for peer in tell {
            self.tell_admitted(peer);
        }
    }
}
