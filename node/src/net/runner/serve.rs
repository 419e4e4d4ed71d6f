//! Request-response: answering peers' requests (those that read the store
//! on the [`Offload`] pool, answered as a completion) and routing
//! responses to whoever asked.

use super::*;

impl Runner {
    pub(super) fn on_sync_event(&mut self, event: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                connection_id,
                message: Message::Request { request, channel, .. },
            } => {
                self.on_request(peer, connection_id, request, channel);
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                match self.awaiting.remove(&request_id) {
                    Some(Awaiting::Reply(reply)) => {
                        let _ = reply.send(Ok(response));
                    }
                    Some(Awaiting::Credentials(peer)) => self.on_credentials(peer, response),
                    Some(Awaiting::Admitted(peer)) => self.on_admission(peer, response),
                    None => {}
                }
            }
            Event::OutboundFailure { peer, request_id, error, .. } => {
                match self.awaiting.remove(&request_id) {
                    Some(Awaiting::Reply(reply)) => {
                        let _ = reply.send(Err(error.to_string()));
                    }
                    Some(Awaiting::Credentials(_)) => {
                        tracing::debug!(%peer, %error, "asking for a charter failed");
                        self.credentials_unanswered(peer);
                    }
                    Some(Awaiting::Admitted(_)) => {
                        tracing::debug!(%peer, %error, "telling a peer it is admitted failed");
                        if let Some(p) = self.peers.get_mut(&peer) {
                            p.told = Told::No;
                        }
                    }
                    None => {}
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    pub(super) fn on_request(
        &mut self,
        peer_id: PeerId,
        connection: ConnectionId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            self.respond(channel, Response::refused(Code::NotChartered, "not connected as a peer"));
            return;
        };
        if !peer.requests.take(Instant::now()) {
            self.respond(
                channel,
                Response::refused(Code::RateLimited, "too many requests; slow down"),
            );
            self.offence(peer_id, Code::RateLimited, "requests over the per-peer limit".into());
            return;
        }
        let chartered = peer.state.chartered();
        match request {
            Request::Admitted => {
                // Meshed (if it is chartered here) before the answer goes,
                // so that this node's GRAFT can only follow it.
                self.admitted_by(peer_id);
                self.respond(channel, Response::Admission { admitted: chartered });
            }
            Request::Credentials => self.serve(channel, request),
            _ if !chartered => {
                self.respond(
                    channel,
                    Response::refused(Code::NotChartered, "this node has not seen your charter"),
                );
            }
            Request::Fetch { ids } | Request::FetchReceived { ids }
                if ids.len() > MAX_FETCH_IDS =>
            {
                self.respond(
                    channel,
                    Response::refused(
                        Code::TooManyIds,
                        format!("{} ids asked for; at most {MAX_FETCH_IDS}", ids.len()),
                    ),
                );
                self.offence(peer_id, Code::TooManyIds, "oversized fetch".into());
            }
            Request::Instance { claim } => {
                let response = self.on_instance(peer_id, connection, claim);
                self.respond(channel, response);
            }
            request => self.serve(channel, request),
        }
    }

    /// Keeps the instance a connection of `peer_id` claims to be, and
    /// answers with the other instances of the same key connected now.
    fn on_instance(
        &mut self,
        peer_id: PeerId,
        connection: ConnectionId,
        claim: InstanceClaim,
    ) -> Response {
        let key = self.peers.get(&peer_id).and_then(|p| p.key);
        if key != Some(claim.node) || !claim.verifies(&self.network) {
            return Response::refused(
                Code::BadMessage,
                "an instance claim must be of the asker's own key, signed by it",
            );
        }
        let held = self.instances.entry(peer_id).or_default();
        held.retain(|(c, _)| *c != connection);
        // At most as many as connections a peer may hold, and a few more.
        if held.len() >= 4 {
            held.remove(0);
        }
        held.push((connection, claim));
        let others: Vec<InstanceClaim> =
            held.iter().filter(|(_, c)| c.instance != claim.instance).map(|(_, c)| *c).collect();
        if !others.is_empty() {
            tracing::warn!(
                peer = %peer_id,
                instances = others.len() + 1,
                "two running instances of one node key are connected here"
            );
        }
        Response::Instances { others }
    }

    /// Answers `request` from the store, off the swarm task.
    fn serve(&self, channel: ResponseChannel<Response>, request: Request) {
        let offload = self.parts.offload.clone();
        self.offload(async move { offload.serve(request).await }, |response| Completion::Respond {
            channel,
            response,
        });
    }

    pub(super) fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
            tracing::debug!("a peer left before its response was sent");
        }
    }
}
