//! A behaviour that serves a peer only once the node has seen its charter:
//! [`Gated`] wraps another behaviour (kademlia) and closes every stream the
//! peer opens to it until [`Gated::open`] names the peer.
//!
//! Kademlia answers `FIND_NODE` from its routing table to whoever asks, and
//! its mode (client or server) is one setting for every connection; a peer
//! that had shown no charter could list the network's nodes. Neither
//! `kad::Config` nor the behaviour filters inbound requests by peer, so
//! the gate sits at the connection handler: the remote may negotiate the
//! protocol, but its stream is dropped unread, and its query gets nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::handler::{ConnectionEvent, ConnectionHandlerEvent, SubstreamProtocol};
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionHandler, ConnectionId, FromSwarm,
    NetworkBehaviour, NotifyHandler, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
    behaviour::ConnectionEstablished,
};

/// `B`, serving each peer only once it is opened.
#[derive(Debug)]
pub(crate) struct Gated<B: NetworkBehaviour> {
    inner: B,
    open: HashSet<PeerId>,
    connections: HashMap<PeerId, HashSet<ConnectionId>>,
    queued: VecDeque<ToSwarm<B::ToSwarm, GateIn<THandlerInEvent<B>>>>,
}

impl<B: NetworkBehaviour> Gated<B> {
    pub(crate) fn new(inner: B) -> Self {
        Self { inner, open: HashSet::new(), connections: HashMap::new(), queued: VecDeque::new() }
    }

    /// Serves `peer` from now on, on its connections and later ones
    /// (until it has none left).
    pub(crate) fn open(&mut self, peer: PeerId) {
        if !self.open.insert(peer) {
            return;
        }
        for connection in self.connections.get(&peer).into_iter().flatten() {
            self.queued.push_back(ToSwarm::NotifyHandler {
                peer_id: peer,
                handler: NotifyHandler::One(*connection),
                event: GateIn::Open,
            });
        }
    }
}

impl<B: NetworkBehaviour> Deref for Gated<B> {
    type Target = B;

    fn deref(&self) -> &B {
        &self.inner
    }
}

impl<B: NetworkBehaviour> DerefMut for Gated<B> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

/// What the behaviour tells a gate.
#[derive(Debug)]
pub(crate) enum GateIn<E> {
    /// The peer is admitted: pass its streams on.
    Open,
    /// For the wrapped handler.
    Inner(E),
}

/// A connection handler that drops the streams the remote opens until it
/// is opened.
#[derive(Debug)]
pub(crate) struct Gate<H> {
    inner: H,
    open: bool,
}

impl<H: ConnectionHandler> ConnectionHandler for Gate<H> {
    type FromBehaviour = GateIn<H::FromBehaviour>;
    type ToBehaviour = H::ToBehaviour;
    type InboundProtocol = H::InboundProtocol;
    type OutboundProtocol = H::OutboundProtocol;
    type InboundOpenInfo = H::InboundOpenInfo;
    type OutboundOpenInfo = H::OutboundOpenInfo;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        self.inner.listen_protocol()
    }

    fn connection_keep_alive(&self) -> bool {
        self.inner.connection_keep_alive()
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<
        ConnectionHandlerEvent<Self::OutboundProtocol, Self::OutboundOpenInfo, Self::ToBehaviour>,
    > {
        self.inner.poll(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::ToBehaviour>> {
        self.inner.poll_close(cx)
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        match event {
            GateIn::Open => self.open = true,
            GateIn::Inner(event) => self.inner.on_behaviour_event(event),
        }
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<
            Self::InboundProtocol,
            Self::OutboundProtocol,
            Self::InboundOpenInfo,
            Self::OutboundOpenInfo,
        >,
    ) {
        if !self.open && matches!(event, ConnectionEvent::FullyNegotiatedInbound(_)) {
            // Dropped unread: the stream closes, the request gets nothing.
            return;
        }
        self.inner.on_connection_event(event);
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Gated<B> {
    type ConnectionHandler = Gate<THandler<B>>;
    type ToSwarm = B::ToSwarm;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner.handle_pending_inbound_connection(connection_id, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let inner =
            self.inner.handle_established_inbound_connection(connection_id, peer, local, remote)?;
        Ok(Gate { inner, open: self.open.contains(&peer) })
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let inner = self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        Ok(Gate { inner, open: self.open.contains(&peer) })
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match &event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                peer_id,
                connection_id,
                ..
            }) => {
                self.connections.entry(*peer_id).or_default().insert(*connection_id);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                remaining_established,
                ..
            }) => {
                if let Some(held) = self.connections.get_mut(peer_id) {
                    held.remove(connection_id);
                }
                if *remaining_established == 0 {
                    self.connections.remove(peer_id);
                    // Admitted again, on its next connection, or not at all.
                    self.open.remove(peer_id);
                }
            }
            _ => {}
        }
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner.on_connection_handler_event(peer, connection, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        if let Some(event) = self.queued.pop_front() {
            return Poll::Ready(event);
        }
        self.inner.poll(cx).map(|event| event.map_in(GateIn::Inner))
    }
}
