//! Where a connection comes from, as the per-address caps of the API and
//! of the peer-to-peer side count it.

use std::net::{IpAddr, Ipv6Addr};

/// The address a cap counts by: an IPv4 address, or an IPv6 /64 (one
/// subscriber's network: anyone with one has 2^64 addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Source(IpAddr);

impl Source {
    /// The source of a connection from `ip`.
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Source(IpAddr::V6(Ipv6Addr::from(bits)))
                }
            },
            v4 => Source(v4),
        }
    }

    /// The address (for an IPv6 /64, its first address).
    pub(crate) fn ip(self) -> IpAddr {
        self.0
    }

    /// The source of a connection from `addr`, if it names an IP address.
    pub(crate) fn of_multiaddr(addr: &libp2p::Multiaddr) -> Option<Self> {
        addr.iter().find_map(|p| match p {
            libp2p::multiaddr::Protocol::Ip4(ip) => Some(Self::of(IpAddr::V4(ip))),
            libp2p::multiaddr::Protocol::Ip6(ip) => Some(Self::of(IpAddr::V6(ip))),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn sources_are_addresses_and_ipv6_slash_64s() {
        assert_eq!(Source::of(ip("2001:db8::1")), Source::of(ip("2001:db8::ffff:1")));
        assert_ne!(Source::of(ip("2001:db8::1")), Source::of(ip("2001:db8:0:1::1")));
        assert_eq!(Source::of(ip("::ffff:10.0.0.1")), Source::of(ip("10.0.0.1")));
        assert_ne!(Source::of(ip("10.0.0.1")), Source::of(ip("10.0.0.2")));
        let quic: libp2p::Multiaddr = "/ip4/10.0.0.1/udp/7421/quic-v1".parse().unwrap();
        assert_eq!(Source::of_multiaddr(&quic), Some(Source::of(ip("10.0.0.1"))));
        let dns: libp2p::Multiaddr = "/dns4/node.example/tcp/7421".parse().unwrap();
        assert_eq!(Source::of_multiaddr(&dns), None);
    }
}
