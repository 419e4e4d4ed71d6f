//! Gossip in (metered, then judged by ingest under a bounded [`JoinSet`]
//! and reported to gossipsub) and out (what ingest announces, on the topic
//! it was given when it was stored).

use super::*;

impl Runner {
    pub(super) fn on_gossip(&mut self, source: PeerId, message: MessageId, data: &[u8]) {
        // Metered before anything is decoded or verified: a flood costs
        // this node a map lookup a message, not a signature check.
        let Some(peer) = self.peers.get_mut(&source) else {
            // Refused a moment ago; its last messages are not judged.
            self.report(&message, &source, MessageAcceptance::Ignore);
            return;
        };
        if !peer.state.chartered() {
            // Gossipsub takes messages from any connected peer; this node
            // takes none from a peer whose charter it has not seen. Sync
            // brings whatever was in them once it is admitted.
            self.report(&message, &source, MessageAcceptance::Ignore);
            return;
        }
        if let Some(penalty) = peer.gossip.over(Instant::now()) {
            // Not forwarded and not held against the message: the same
            // event may come from an honest peer, or by sync.
            self.report(&message, &source, MessageAcceptance::Ignore);
            self.gossip_flood(source, penalty);
            return;
        }
        let event = match SignedEvent::decode(data) {
            Ok(event) => event,
            Err(rejection) => {
                self.report(&message, &source, MessageAcceptance::Reject);
                self.offence(source, Code::of(&rejection), rejection.to_string());
                return;
            }
        };
        if self.validating.len() >= MAX_VALIDATING {
            // Ingest is this far behind: the message is not queued without
            // bound. Not held against the sender, and not forwarded; the
            // event comes again from another neighbour, or by sync.
            self.report(&message, &source, MessageAcceptance::Ignore);
            self.parts.metrics.record_gossip_ignored_busy();
            return;
        }
        let author = (!event.kind().is_trust()).then(|| *event.author());
        let holder = holder_of(&source);
        let ingester = self.parts.ingester.clone();
        let arrived = Instant::now();
        self.validating.spawn(async move {
            let outcome = ingester
                .judge_gossip(holder, vec![event])
                .await
                .map_err(|e| e.to_string())
                .and_then(|mut o| o.pop().ok_or_else(|| "no outcome".to_string()));
            Judged { message, source, author, arrived, outcome }
        });
    }

    /// A peer gossiped over its rate: its application score goes down by
    /// its flooding penalty, and past [`FLOOD_BLOCK`] it is cut off.
    pub(super) fn gossip_flood(&mut self, peer_id: PeerId, penalty: f64) {
        let (rate, burst) = (self.config.gossip_per_second, self.config.gossip_burst);
        if penalty >= FLOOD_BLOCK {
            self.refuse(
                peer_id,
                Code::GossipRateLimited,
                format!(
                    "gossiped far over {rate} messages a second (bursts of {burst}): \
                     flooding penalty {penalty:.0}"
                ),
            );
            return;
        }
        tracing::debug!(peer = %peer_id, penalty, "gossip over the per-peer rate dropped");
        self.set_flood_score(peer_id, penalty);
    }

    /// The application score of a peer with flooding penalty `penalty`.
    pub(super) fn set_flood_score(&mut self, peer_id: PeerId, penalty: f64) {
        let Some(peer) = self.peers.get(&peer_id) else { return };
        let base = if peer.state == State::Admitted { 0.0 } else { UNVERIFIED_SCORE };
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, base - penalty);
    }

    pub(super) fn on_judged(
        &mut self,
        Judged { message, source, author, arrived, outcome }: Judged,
    ) {
        self.parts.metrics.record_gossip_judged(arrived.elapsed());
        let acceptance = match outcome {
            Ok(Outcome::Stored { id }) => {
                if forwards(&mut self.forwarded, author.as_ref(), Instant::now()) {
                    MessageAcceptance::Accept
                } else {
                    tracing::debug!(event = %id, author = ?author, "stored, not forwarded: the physician is over the gossip rate");
                    MessageAcceptance::Ignore
                }
            }
            Ok(Outcome::Duplicate { .. }) => MessageAcceptance::Ignore,
            Ok(Outcome::Pending { id, dependency }) => {
                // Something it needs is missing here: ask the peer that
                // sent it, which has it.
                tracing::debug!(event = %id, waiting_for = %dependency, peer = %source, "gossiped event waits; fetching");
                self.fetch(source, dependency);
                MessageAcceptance::Ignore
            }
            Ok(Outcome::Rejected { refusal, .. }) if !refusal.blames_sender() => {
                MessageAcceptance::Ignore
            }
            Err(_) => MessageAcceptance::Ignore,
            Ok(Outcome::Rejected { id, refusal }) => {
                self.report(&message, &source, MessageAcceptance::Reject);
                self.offence(source, refusal.code(), format!("gossiped {id}: {refusal}"));
                return;
            }
        };
        self.report(&message, &source, acceptance);
    }

    pub(super) fn report(
        &mut self,
        message: &MessageId,
        source: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message, source, acceptance);
    }

    /// Gossips an event ingest stored, on the topic it was given.
    pub(super) fn publish(&mut self, Announcement { event, topic }: Announcement) {
        if let Body::Hub(hub) = event.body() {
            // A new hub: its events come on its own topic.
            self.subscribe_to(self.topics.hub(hub.id.as_str()));
        }
        let topic = match topic {
            Some(Topic::Trust) => self.topics.trust(),
            Some(Topic::Hub(hub)) => self.topics.hub(hub.as_str()),
            None => {
                tracing::debug!(event = %event.id(), "no topic for event; sync will carry it");
                return;
            }
        };
        match self.swarm.behaviour_mut().gossipsub.publish(topic.clone(), event.to_bytes()) {
            Ok(_) => tracing::debug!(event = %event.id(), %topic, "gossiped"),
            Err(e) => tracing::debug!(event = %event.id(), %topic, error = %e, "not gossiped"),
        }
    }
}
