//! Per-address caps on inbound connections: libp2p's `connection_limits`
//! counts in all and per peer, and a peer id costs nothing to make, so a
//! stranger with one address could take every pending slot (64 silent TCP
//! sockets once kept every chartered node out) or fill the established
//! ones with throwaway keys. Counted by [`Source`]: an IPv4 address or an
//! IPv6 /64.

use std::collections::HashMap;
use std::convert::Infallible;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint, Multiaddr};
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{PeerId, swarm::behaviour::ConnectionEstablished, swarm::behaviour::ListenFailure};

use crate::source::Source;

/// An address over one of its caps.
#[derive(Debug, thiserror::Error)]
#[error("{from:?} holds {limit} {what} connections already")]
pub(crate) struct AddressLimitExceeded {
    from: Source,
    limit: usize,
    what: &'static str,
}

/// Connections counted by where they come from.
#[derive(Debug, Default)]
struct Counted {
    by_connection: HashMap<ConnectionId, Source>,
    by_source: HashMap<Source, usize>,
}

impl Counted {
    fn count(&self, source: Source) -> usize {
        self.by_source.get(&source).copied().unwrap_or(0)
    }

    fn add(&mut self, id: ConnectionId, source: Source) {
        if self.by_connection.insert(id, source).is_none() {
            *self.by_source.entry(source).or_default() += 1;
        }
    }

    fn remove(&mut self, id: ConnectionId) {
        let Some(source) = self.by_connection.remove(&id) else { return };
        if let Some(n) = self.by_source.get_mut(&source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_source.remove(&source);
            }
        }
    }
}

/// At most `pending` handshakes and `established` inbound connections at
/// once from one address.
#[derive(Debug)]
pub(crate) struct AddressLimits {
    max_pending: usize,
    max_established: usize,
    pending: Counted,
    established: Counted,
}

impl AddressLimits {
    pub(crate) fn new(max_pending: usize, max_established: usize) -> Self {
        Self {
            max_pending: max_pending.max(1),
            max_established: max_established.max(1),
            pending: Counted::default(),
            established: Counted::default(),
        }
    }

    fn check(
        counted: &Counted,
        source: Source,
        limit: usize,
        what: &'static str,
    ) -> Result<(), ConnectionDenied> {
        if counted.count(source) >= limit {
            return Err(ConnectionDenied::new(AddressLimitExceeded { from: source, limit, what }));
        }
        Ok(())
    }
}

impl NetworkBehaviour for AddressLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(source) = Source::of_multiaddr(remote) else { return Ok(()) };
        Self::check(&self.pending, source, self.max_pending, "pending")?;
        self.pending.add(connection_id, source);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.pending.remove(connection_id);
        if let Some(source) = Source::of_multiaddr(remote) {
            Self::check(&self.established, source, self.max_established, "established")?;
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // Dialled by this node: its own choice, not counted.
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                connection_id,
                endpoint: ConnectedPoint::Listener { send_back_addr, .. },
                ..
            }) => {
                if let Some(source) = Source::of_multiaddr(send_back_addr) {
                    self.established.add(connection_id, source);
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                self.established.remove(connection_id);
            }
            FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.pending.remove(connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_address_is_capped_and_others_are_not() {
        let mut limits = AddressLimits::new(2, 3);
        let local = addr("/ip4/127.0.0.1/tcp/7421");
        let stranger = addr("/ip4/192.0.2.9/tcp/5000");
        let id = |n| ConnectionId::new_unchecked(n);
        assert!(limits.handle_pending_inbound_connection(id(1), &local, &stranger).is_ok());
        assert!(limits.handle_pending_inbound_connection(id(2), &local, &stranger).is_ok());
        assert!(limits.handle_pending_inbound_connection(id(3), &local, &stranger).is_err());
        let other = addr("/ip4/192.0.2.10/tcp/5000");
        assert!(limits.handle_pending_inbound_connection(id(4), &local, &other).is_ok());
        // A handshake that failed frees its place.
        limits.pending.remove(id(1));
        assert!(limits.handle_pending_inbound_connection(id(5), &local, &stranger).is_ok());
        // Established: three at most from one address.
        let peer = PeerId::random();
        for n in 10..13 {
            assert!(
                limits
                    .handle_established_inbound_connection(id(n), peer, &local, &stranger)
                    .is_ok()
            );
            limits.established.add(id(n), Source::of_multiaddr(&stranger).unwrap());
        }
        assert!(
            limits.handle_established_inbound_connection(id(13), peer, &local, &stranger).is_err()
        );
        limits.established.remove(id(10));
        assert!(
            limits.handle_established_inbound_connection(id(14), peer, &local, &stranger).is_ok()
        );
    }
}
