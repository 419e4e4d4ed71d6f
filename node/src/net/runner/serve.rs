//! Request-response: answering peers' requests (off the swarm task where
//! they read the store) and routing responses to whoever asked.

use super::*;

impl Runner {
    pub(super) fn on_sync_event(&mut self, event: request_response::Event<Request, Response>) {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                self.on_request(peer, request, channel);
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
        // Whether the asker wants each event's receipt (this version does;
        // an older node asks `Fetch` and `TrustFor` and gets bare events).
        let receipts =
            matches!(request, Request::FetchReceived { .. } | Request::TrustForReceived { .. });
        match request {
            Request::Credentials => {
                let events = credentials(&self.parts.store, &self.node_key);
                self.respond(channel, Response::Credentials { events });
            }
            Request::Admitted => {
                // Meshed (if it is chartered here) before the answer goes,
                // so that this node's GRAFT can only follow it.
                self.admitted_by(peer_id);
                self.respond(channel, Response::Admission { admitted: chartered });
            }
            _ if !chartered => {
                self.respond(
                    channel,
                    Response::refused(Code::NotChartered, "this node has not seen your charter"),
                );
            }
            Request::Reconcile { scope, message } => {
                let index = self.parts.index.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let response = match index.read(scope, |set| recon::respond(set, &message)) {
                        Ok(reply) => Response::Reconcile { message: reply.next },
                        Err(e) => Response::refused(Code::BadMessage, e.to_string()),
                    };
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
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
            request @ (Request::LogHead { .. }
            | Request::LogLeaves { .. }
            | Request::LogConsistency { .. }
            | Request::LogInclusion { .. }) => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let response = crate::audit::answer(&store, request);
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
            Request::TrustFor { key } | Request::TrustForReceived { key } => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                let now = (self.parts.clock)();
                tokio::task::spawn_blocking(move || {
                    let events = trust_for(&store, &key, now);
                    let response = answer(events, receipts);
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
            Request::Fetch { ids } | Request::FetchReceived { ids } => {
                let store = self.parts.store.clone();
                let commands = self.commands.clone();
                tokio::task::spawn_blocking(move || {
                    let mut events = Vec::with_capacity(ids.len());
                    let mut size = 0;
                    for id in ids {
                        match store.get_received(&id) {
                            Ok(Some((wire, received_at))) => {
                                size += wire.len() + 16;
                                if size > FETCH_RESPONSE_BUDGET {
                                    break;
                                }
                                events.push(ReceivedEvent { wire, received_at });
                            }
                            Ok(None) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "reading events for a peer");
                                break;
                            }
                        }
                    }
                    let response = answer(events, receipts);
                    let _ = commands.blocking_send(Command::Respond { channel, response });
                });
            }
        }
    }

    pub(super) fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
            tracing::debug!("a peer left before its response was sent");
        }
    }
}

/// Events read for a peer, as the request asked: with receipts
/// ([`Response::Received`]) or bare ([`Response::Events`]).
fn answer(events: Vec<ReceivedEvent>, receipts: bool) -> Response {
    if receipts {
        Response::Received { events }
    } else {
        Response::Events { events: events.into_iter().map(|e| e.wire).collect() }
    }
}
