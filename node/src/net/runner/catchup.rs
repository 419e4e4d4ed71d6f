//! Catching up: one sync at a time with admitted peers, and filling a
//! gossiped event's missing dependency from its sender.

use super::*;

impl Runner {
    pub(super) fn queue_sync(&mut self, peer: PeerId, front: bool) {
        if self.sync_running.as_ref().is_some_and(|(p, _)| *p == peer) {
            self.sync_again |= front;
            return;
        }
        if self.sync_queue.contains(&peer) {
            return;
        }
        if front {
            self.sync_queue.push_front(peer);
        } else {
            self.sync_queue.push_back(peer);
        }
        self.next_sync();
    }

    /// Every `sync_every`: the `sync_peers` admitted peers synced longest
    /// ago (see [`policy::sync_partners`]).
    pub(super) fn sync_round(&mut self) {
        for peer in policy::sync_partners(self.connected(), self.config.sync_peers) {
            self.queue_sync(peer, false);
        }
    }

    /// A round of syncs an operator asked for: every admitted peer, at the
    /// front of the queue; joined if one runs already.
    pub(super) fn sync_now(&mut self) -> Result<(SyncRound<String>, bool), String> {
        if let Some(round) = &self.round {
            return Ok((round.shown(ToString::to_string), true));
        }
        let admitted: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted)
            .map(|(id, _)| *id)
            .collect();
        if admitted.is_empty() {
            return Err("no admitted peer to sync with: see `curbside node status`".into());
        }
        self.rounds_asked += 1;
        let round = SyncRound::new(self.rounds_asked, crate::now(), admitted.iter().copied());
        let shown = round.shown(ToString::to_string);
        tracing::info!(round = round.id, peers = admitted.len(), "sync round asked for");
        self.round = Some(round);
        for peer in admitted {
            self.queue_sync(peer, true);
        }
        Ok((shown, false))
    }

    /// The asked-for round, moved to the last one when every peer's sync
    /// has ended; a peer still waiting its turn but no longer queued (its
    /// earlier sync, running when the round was asked for, failed) queued
    /// again.
    fn settle_round(&mut self) {
        let Some(round) = &mut self.round else { return };
        for p in &round.peers {
            let running = self.sync_running.as_ref().is_some_and(|(r, _)| *r == p.peer_id);
            if p.state == crate::sync::PeerSyncState::Queued
                && !running
                && !self.sync_queue.contains(&p.peer_id)
            {
                self.sync_queue.push_front(p.peer_id);
            }
        }
        if round.is_finished() {
            round.finished_at = Some(crate::now());
            tracing::info!(
                round = round.id,
                stored = round.stored,
                fetched = round.fetched,
                "sync round finished"
            );
            self.last_round = self.round.take();
        }
    }

    /// One sync at a time: what the first peer sends, the next need not.
    pub(super) fn next_sync(&mut self) {
        if self.sync_running.is_some() {
            return;
        }
        while let Some(peer) = self.sync_queue.pop_front() {
            if !self.peers.get(&peer).is_some_and(|p| p.state == State::Admitted) {
                if let Some(round) = &mut self.round {
                    round.failed(&peer, "the peer is no longer connected and admitted");
                }
                continue;
            }
            if let Some(round) = &mut self.round {
                round.started(&peer);
            }
            let transport = PeerTransport::new(peer, self.commands.clone());
            let index = self.parts.index.clone();
            let ingester = self.parts.ingester.clone();
            let done = self.done.clone();
            let task = tokio::spawn(async move {
                let progress = {
                    let done = done.clone();
                    move |progress: SyncProgress| {
                        let _ = done.try_send(Completion::SyncProgress { peer, progress });
                    }
                };
                let result = crate::sync::run(&transport, &index, &ingester, progress).await;
                let _ = done.send(Completion::SyncDone { peer, result }).await;
            });
            self.sync_running = Some((peer, task));
            return;
        }
    }

    pub(super) fn on_sync_done(&mut self, peer_id: PeerId, result: Result<SyncReport, String>) {
        if self.sync_running.as_ref().is_some_and(|(p, _)| *p == peer_id) {
            self.sync_running = None;
        }
        if std::mem::take(&mut self.sync_again) && result.is_ok() {
            self.sync_queue.push_front(peer_id);
        }
        if let Some(round) = &mut self.round {
            round.ended(&peer_id, &result);
        }
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            peer.synced = Some(Instant::now());
        }
        let ok_at = result.as_ref().ok().map(|_| crate::now().as_millis() / 1000);
        self.parts.metrics.record_sync(ok_at);
        match result {
            Ok(report) => {
                if report.fetched > 0 {
                    tracing::info!(
                        peer = %peer_id,
                        fetched = report.fetched,
                        stored = report.stored,
                        bytes = report.bytes_reconciling,
                        ms = report.millis,
                        "sync finished"
                    );
                }
                if report.invalid > 0 {
                    self.offence(
                        peer_id,
                        Code::InvalidEvent,
                        format!("{} invalid events in sync", report.invalid),
                    );
                }
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.syncing = None;
                    peer.last_sync = Some(report);
                }
            }
            Err(e) => {
                tracing::info!(peer = %peer_id, error = %e, "sync failed");
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.syncing = None;
                }
            }
        }
        self.settle_round();
        self.next_sync();
        // The last peer may have been found gone as the queue was walked.
        self.settle_round();
    }

    /// Fills `dependency` from `peer`, which gossiped an event that waits
    /// for it; a sync with `peer` if that cannot be done.
    pub(super) fn fetch(&mut self, peer: PeerId, dependency: Dependency) {
        if self.filling.contains(&dependency) {
            return;
        }
        if self.filling.len() >= MAX_FILLS || fetch::request_for(&dependency).is_none() {
            self.queue_sync(peer, true);
            return;
        }
        self.filling.insert(dependency.clone());
        let transport = PeerTransport::new(peer, self.commands.clone());
        let ingester = self.parts.ingester.clone();
        let filling = dependency.clone();
        let fill = async move { fetch::fill(&transport, &ingester, filling).await };
        self.offload(fill, move |result| {
            Completion::Filled(Box::new(FillDone { peer, dependency, result }))
        });
    }

    pub(super) fn on_filled(&mut self, FillDone { peer, dependency, result }: FillDone) {
        self.filling.remove(&dependency);
        match result {
            Ok(filled) => {
                tracing::debug!(%peer, %dependency, stored = filled.stored, "filled from a peer");
                if filled.invalid > 0 {
                    let reason = format!("{} invalid events sent for {dependency}", filled.invalid);
                    self.offence(peer, Code::InvalidEvent, reason);
                }
                if let Some(missing) = filled.unresolved {
                    tracing::debug!(%peer, %missing, "not filled by the peer; syncing");
                    self.queue_sync(peer, true);
                }
            }
            Err(e) => {
                tracing::debug!(%peer, %dependency, error = %e, "filling failed; syncing");
                self.queue_sync(peer, true);
            }
        }
    }
}
