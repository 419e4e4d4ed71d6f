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

    pub(super) fn sync_round(&mut self) {
        let admitted: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.state == State::Admitted)
            .map(|(id, _)| *id)
            .collect();
        for peer in admitted {
            self.queue_sync(peer, false);
        }
    }

    /// One sync at a time: what the first peer sends, the next need not.
    pub(super) fn next_sync(&mut self) {
        if self.sync_running.is_some() {
            return;
        }
        while let Some(peer) = self.sync_queue.pop_front() {
            if !self.peers.get(&peer).is_some_and(|p| p.state == State::Admitted) {
                continue;
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
        self.next_sync();
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
