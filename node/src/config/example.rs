//! The `node.toml` that `curbside node init` writes: every key, with its
//! default, its environment variable and its flag.

/// The `node.toml` written by `curbside node init`, documenting every key.
pub const DEFAULT_NODE_TOML: &str = r#"# Curbside node configuration. Flags and CURBSIDE_* environment variables
# override what is set here.

# Where the HTTP API listens. Keep it on loopback unless a reverse proxy
# with TLS stands in front; binding elsewhere needs allow_public_api = true.
api = "127.0.0.1:7420"            # CURBSIDE_API, --api
allow_public_api = false          # CURBSIDE_ALLOW_PUBLIC_API, --allow-public-api

# How the API holds connections. At most api_max_connections at once (and
# never more than half the open-file limit, which the node raises to its
# hard limit at start); when all are taken, the connection that has kept
# the node waiting longest on its client (idle, or sending slowly) is
# closed to make room. At most api_connections_per_address from one address
# (an IPv4 address or an IPv6 /64); more are answered 429
# too_many_connections. Addresses in api_proxies are exempt: a reverse proxy
# carries many physicians' requests on its connections (loopback by
# default: on 127.0.0.1 every caller is this machine or its proxy; add your
# proxy's address if it runs elsewhere, and limit clients per address there).
# A connection waiting for a request is closed after api_idle_timeout_secs
# (keep it above your proxy's upstream keep-alive timeout); a request whose
# headers and body take longer than api_request_timeout_secs from its first
# byte, or an answer the client does not read for as long, closes it.
api_max_connections = 1024        # CURBSIDE_API_MAX_CONNECTIONS
api_connections_per_address = 64  # CURBSIDE_API_CONNECTIONS_PER_ADDRESS
api_proxies = ["127.0.0.1", "::1"]  # CURBSIDE_API_PROXIES (comma-separated)
api_idle_timeout_secs = 75        # CURBSIDE_API_IDLE_TIMEOUT_SECS
api_request_timeout_secs = 30     # CURBSIDE_API_REQUEST_TIMEOUT_SECS

# Logs: "text" for people, "json" for log collectors. Filter with RUST_LOG.
log_format = "text"               # CURBSIDE_LOG_FORMAT, --log-format

# Peer-to-peer: where other institutions' nodes reach this one (TCP with
# noise and yamux, and QUIC), peers to dial at start, and mDNS discovery on
# the local network. With no listen address and no bootstrap peer the node
# runs alone. Peers seen before are remembered in the store.
listen = ["/ip4/0.0.0.0/tcp/7421", "/ip4/0.0.0.0/udp/7421/quic-v1"]   # CURBSIDE_LISTEN, --listen
bootstrap = []                    # CURBSIDE_BOOTSTRAP, --bootstrap (comma-separated in the variable)
mdns = false                      # CURBSIDE_MDNS, --mdns
sync_interval_secs = 30           # CURBSIDE_SYNC_INTERVAL_SECS
# Gossip messages a second taken from one peer (the neighbour that sent
# them, whoever wrote them), with bursts of peer_gossip_burst. Over it,
# messages are dropped unchecked and the peer's score goes down; a peer
# that keeps flooding is blocked with gossip_rate_limited. Sync (catching
# up, reconciliation) does not count: it is request-response, not gossip.
peer_gossip_events_per_second = 100     # CURBSIDE_PEER_GOSSIP_EVENTS_PER_SECOND
peer_gossip_burst = 1000                # CURBSIDE_PEER_GOSSIP_BURST
# One physician's valid events a minute this node forwards by gossip, with
# bursts of gossip_author_burst; more are stored but not forwarded (sync
# carries them), so one physician's flood is not relayed at full speed.
gossip_author_events_per_minute = 240   # CURBSIDE_GOSSIP_AUTHOR_EVENTS_PER_MINUTE
gossip_author_burst = 120               # CURBSIDE_GOSSIP_AUTHOR_BURST
# Inbound connections from one address (an IPv4 address or an IPv6 /64):
# handshakes under way at once (5 s each at most), and connections held.
# Silent sockets from one address then take only that address's share, not
# every other node's way in. Raise the second if many chartered nodes
# reach this one from behind one address.
peer_pending_per_address = 8            # CURBSIDE_PEER_PENDING_PER_ADDRESS
peer_connections_per_address = 32       # CURBSIDE_PEER_CONNECTIONS_PER_ADDRESS
# Peers (other institutions' nodes whose charter was checked): below
# target_peers the node dials the bootstrap and remembered peers again and
# looks for more; it keeps at most max_peers connected (past it, the newest
# outside its gossip meshes are disconnected, not blocked); each
# sync_interval_secs it syncs with the sync_peers synced longest ago. Each
# 1 to 64, max_peers at least target_peers. More peers reach more nodes in
# one hop, for more bandwidth and CPU at rest.
target_peers = 8                        # CURBSIDE_TARGET_PEERS
max_peers = 24                          # CURBSIDE_MAX_PEERS
sync_peers = 3                          # CURBSIDE_SYNC_PEERS

# Events waiting for a dependency (a parent, an author's attestation):
# how many, how many MiB in all, and how much one sender may have held (a
# physician's session, an address without one, a peer); below
# min_free_disk_mb of free disk nothing new is held. Events of authors this
# node does not know are not held at all for callers without a session.
max_pending = 10000               # CURBSIDE_MAX_PENDING
pending_max_mb = 64               # CURBSIDE_PENDING_MAX_MB
pending_per_sender = 1000         # CURBSIDE_PENDING_PER_SENDER
pending_per_sender_mb = 8         # CURBSIDE_PENDING_PER_SENDER_MB
min_free_disk_mb = 256            # CURBSIDE_MIN_FREE_DISK_MB
pending_max_age_secs = 900        # CURBSIDE_PENDING_MAX_AGE_SECS

# Events the API checks for callers: a caller without credentials shares
# its address's budget (events a second, bursts of stranger_burst) with
# every other caller from that address (through a proxy, all of them); a
# physician's session has its own (events a minute). Over it, a request is
# refused with rate_limited before any signature is checked. The admin
# token has no such limit.
stranger_events_per_second = 50  # CURBSIDE_STRANGER_EVENTS_PER_SECOND
stranger_burst = 500              # CURBSIDE_STRANGER_BURST
session_events_per_minute = 600   # CURBSIDE_SESSION_EVENTS_PER_MINUTE
session_burst = 300               # CURBSIDE_SESSION_BURST

# How long a physician's read session lasts, and how many live sessions one
# physician's key may hold (one per device or program, with room to spare):
# opening one more ends the key's oldest. A key may also open at most this
# many within 2 minutes; more are refused with rate_limited.
session_hours = 12                # CURBSIDE_SESSION_HOURS
sessions_per_physician = 16       # CURBSIDE_SESSIONS_PER_PHYSICIAN

# Verifiers' audit logs: how many other institutions must cosign a tree
# head for this node to call it settled (`curbside node status`).
audit_quorum = 1                  # CURBSIDE_AUDIT_QUORUM
# How many events a minute one physician may submit through this node's
# API (posts, cases, comments, polls, votes), with bursts of author_burst.
# Over it, submissions are refused with rate_limited (HTTP 429).
author_events_per_minute = 60     # CURBSIDE_AUTHOR_EVENTS_PER_MINUTE
author_burst = 30

# The store's page cache in MiB (the operating system's file cache comes on
# top). Smaller saves memory on a big store at the cost of slower reads.
store_cache_mb = 1024             # CURBSIDE_STORE_CACHE_MB
"#;

/// The line of [`DEFAULT_NODE_TOML`] that sets the listen addresses.
pub const DEFAULT_LISTEN_LINE: &str = r#"listen = ["/ip4/0.0.0.0/tcp/7421", "/ip4/0.0.0.0/udp/7421/quic-v1"]   # CURBSIDE_LISTEN, --listen"#;
