//! Configuration: defaults, then `<data>/node.toml`, then `CURBSIDE_*`
//! environment variables, then command-line flags — turned into a checked
//! [`NodeConfig`] in one place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ingest::IngestConfig;
use crate::net::NetConfig;
use crate::store::StoreConfig;

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

/// The file's keys; unknown keys are an error, so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    api: Option<String>,
    allow_public_api: Option<bool>,
    api_max_connections: Option<u64>,
    api_connections_per_address: Option<u64>,
    api_proxies: Option<Vec<String>>,
    api_idle_timeout_secs: Option<u64>,
    api_request_timeout_secs: Option<u64>,
    log_format: Option<String>,
    max_pending: Option<u64>,
    pending_max_mb: Option<u64>,
    pending_per_sender: Option<u64>,
    pending_per_sender_mb: Option<u64>,
    min_free_disk_mb: Option<u64>,
    pending_max_age_secs: Option<u64>,
    stranger_events_per_second: Option<u64>,
    stranger_burst: Option<u64>,
    session_events_per_minute: Option<u64>,
    session_burst: Option<u64>,
    session_hours: Option<u64>,
    sessions_per_physician: Option<u64>,
    listen: Option<Vec<String>>,
    bootstrap: Option<Vec<String>>,
    mdns: Option<bool>,
    sync_interval_secs: Option<u64>,
    peer_gossip_events_per_second: Option<u32>,
    peer_gossip_burst: Option<u32>,
    gossip_author_events_per_minute: Option<u32>,
    gossip_author_burst: Option<u32>,
    peer_pending_per_address: Option<u32>,
    peer_connections_per_address: Option<u32>,
    audit_quorum: Option<usize>,
    store_cache_mb: Option<u64>,
    author_events_per_minute: Option<u32>,
    author_burst: Option<u32>,
}

/// Values from flags (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--api`.
    pub api: Option<String>,
    /// `--allow-public-api`.
    pub allow_public_api: bool,
    /// `--log-format`.
    pub log_format: Option<String>,
    /// `--listen` (replaces the file's list when given).
    pub listen: Vec<String>,
    /// `--bootstrap` (replaces the file's list when given).
    pub bootstrap: Vec<String>,
    /// `--mdns`.
    pub mdns: bool,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory.
    pub data: PathBuf,
    /// The API's address.
    pub api: SocketAddr,
    /// Whether a non-loopback API address was explicitly allowed.
    pub allow_public_api: bool,
    /// How the API's server holds connections.
    pub http: crate::api::HttpLimits,
    /// Log format.
    pub log_format: LogFormat,
    /// The ingest path's limits.
    pub ingest: IngestConfig,
    /// Session lifetime in milliseconds.
    pub session_ms: u64,
    /// Live sessions one physician's key may hold.
    pub sessions_per_key: usize,
    /// Peer-to-peer settings; `None` when the node runs alone.
    pub net: Option<NetConfig>,
    /// Cosignatures by other institutions that settle a tree head.
    pub audit_quorum: usize,
    /// How the store is opened (its page cache).
    pub store: StoreConfig,
    /// Events a minute, and the burst, one physician may submit through
    /// the API.
    pub author_limit: AuthorLimit,
    /// What the API checks for a caller before it verifies anything.
    pub submit_limits: SubmitLimits,
}

/// The per-physician submission limit of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorLimit {
    /// Sustained events a minute.
    pub per_minute: u32,
    /// Events at once.
    pub burst: u32,
}

impl Default for AuthorLimit {
    fn default() -> Self {
        Self { per_minute: 60, burst: 30 }
    }
}

/// A configuration problem, naming where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `node.toml` could not be read or parsed.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A value is invalid.
    #[error("{key} = {value:?}: {problem}")]
    Value {
        /// Which setting (and from where).
        key: String,
        /// The value given.
        value: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A whole number of `unit` from `CURBSIDE_<NAME>` if set, else
/// node.toml's `name`; with the key it came from, for errors.
fn number(name: &str, file: Option<u64>, unit: &str) -> Result<(String, Option<u64>), ConfigError> {
    let var = format!("CURBSIDE_{}", name.to_uppercase());
    match env(&var) {
        Some(text) => {
            let n = text.parse::<u64>().map_err(|_| ConfigError::Value {
                key: var.clone(),
                value: text.clone(),
                problem: format!("not a whole number of {unit}"),
            })?;
            Ok((var, Some(n)))
        }
        None => Ok((format!("node.toml {name}"), file)),
    }
}

/// A switch: a flag can only turn it on; `CURBSIDE_<NAME>` turns it on or
/// off (`1`/`true`/`yes`, `0`/`false`/`no`); else node.toml's `name`.
fn switch(flag: bool, name: &str, file: Option<bool>) -> Result<bool, ConfigError> {
    let var = format!("CURBSIDE_{}", name.to_uppercase());
    decide_switch(flag, &var, env(&var), file)
}

fn decide_switch(
    flag: bool,
    var: &str,
    from_env: Option<String>,
    file: Option<bool>,
) -> Result<bool, ConfigError> {
    if flag {
        return Ok(true);
    }
    match from_env.map(|v| v.to_ascii_lowercase()) {
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError::Value {
            key: var.into(),
            value: v,
            problem: "use true or false (1 or 0)".into(),
        }),
        None => Ok(file.unwrap_or(false)),
    }
}

impl NodeConfig {
    /// Loads the configuration of the node in `data`.
    pub fn load(data: &Path, flags: &Overrides) -> Result<Self, ConfigError> {
        let path = data.join("node.toml");
        let raw: RawConfig = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| ConfigError::File { path: path.clone(), detail: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawConfig::default(),
            Err(e) => return Err(ConfigError::File { path, detail: e.to_string() }),
        };

        let (api_key, api_text) = match (&flags.api, env("CURBSIDE_API"), &raw.api) {
            (Some(v), _, _) => ("--api", v.clone()),
            (None, Some(v), _) => ("CURBSIDE_API", v),
            (None, None, Some(v)) => ("node.toml api", v.clone()),
            (None, None, None) => ("default api", crate::default_api_addr().to_string()),
        };
        let api: SocketAddr = api_text.parse().map_err(|_| ConfigError::Value {
            key: api_key.into(),
            value: api_text.clone(),
            problem: "not an address such as 127.0.0.1:7420".into(),
        })?;
        let allow_public_api =
            switch(flags.allow_public_api, "allow_public_api", raw.allow_public_api)?;
        if !api.ip().is_loopback() && !allow_public_api {
            return Err(ConfigError::Value {
                key: api_key.into(),
                value: api_text,
                problem: "the API would be reachable from other machines; keep it on 127.0.0.1, \
                          or pass --allow-public-api if a TLS proxy stands in front"
                    .into(),
            });
        }

        let log_text = flags
            .log_format
            .clone()
            .or_else(|| env("CURBSIDE_LOG_FORMAT"))
            .or_else(|| raw.log_format.clone())
            .unwrap_or_else(|| "text".into());
        let log_format = match log_text.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError::Value {
                    key: "log_format".into(),
                    value: log_text,
                    problem: "use \"text\" or \"json\"".into(),
                });
            }
        };
        let defaults = IngestConfig::default();
        let pending = pending_limits(&raw)?;
        let (age_key, age) = number("pending_max_age_secs", raw.pending_max_age_secs, "seconds")?;
        if age.is_some_and(|secs| !(1..=7 * 86_400).contains(&secs)) {
            return Err(ConfigError::Value {
                key: age_key,
                value: age.unwrap_or_default().to_string(),
                problem: "use 1 to 604800 seconds".into(),
            });
        }
        let ingest = IngestConfig {
            pending,
            pending_max_age_ms: age.map_or(defaults.pending_max_age_ms, |s| s * 1000),
            ..defaults
        };
        let (session_key, session_hours) = number("session_hours", raw.session_hours, "hours")?;
        let session_hours = session_hours.unwrap_or(12);
        if !(1..=24 * 30).contains(&session_hours) {
            return Err(ConfigError::Value {
                key: session_key,
                value: session_hours.to_string(),
                problem: "use 1 to 720 hours".into(),
            });
        }
        let (per_key_name, per_key) =
            number("sessions_per_physician", raw.sessions_per_physician, "sessions")?;
        let sessions_per_key = per_key.unwrap_or(crate::api::DEFAULT_SESSIONS_PER_KEY as u64);
        if !(1..=1_000).contains(&sessions_per_key) {
            return Err(ConfigError::Value {
                key: per_key_name,
                value: sessions_per_key.to_string(),
                problem: "use 1 to 1000 sessions".into(),
            });
        }
        let http = http_limits(&raw)?;
        let store = store_config(&raw)?;
        let author_limit = author_limit(&raw)?;
        let submit_limits = submit_limits(&raw)?;
        let net = net_config(&raw, flags)?;
        let file_quorum = raw.audit_quorum.map(|n| n as u64);
        let (quorum_key, quorum) = number("audit_quorum", file_quorum, "institutions")?;
        let audit_quorum = match quorum.unwrap_or(1) {
            n @ 0..=100 => n as usize,
            n => {
                return Err(ConfigError::Value {
                    key: quorum_key,
                    value: n.to_string(),
                    problem: "use a number of institutions from 0 to 100".into(),
                });
            }
        };
        Ok(Self {
            author_limit,
            submit_limits,
            audit_quorum,
            store,
            net,
            data: data.to_path_buf(),
            api,
            allow_public_api,
            http,
            log_format,
            ingest,
            session_ms: session_hours * 3_600_000,
            sessions_per_key: sessions_per_key as usize,
        })
    }
}

impl NodeConfig {
    /// What to tell the operator when the API listens beyond loopback
    /// (which needs `allow_public_api`): anyone who can reach the address
    /// can submit events and try sessions, so it belongs behind TLS.
    pub fn api_warning(&self) -> Option<String> {
        (!self.api.ip().is_loopback()).then(|| {
            format!(
                "the API listens on {}, reachable from other machines: put a TLS proxy in \
                 front of it and keep admin.token secret",
                self.api
            )
        })
    }
}

/// A setting within `range`, or `None` if not set.
fn bounded(
    name: &str,
    file: Option<u64>,
    unit: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ConfigError> {
    match number(name, file, unit)? {
        (_, None) => Ok(None),
        (_, Some(n)) if range.contains(&n) => Ok(Some(n)),
        (key, Some(n)) => Err(ConfigError::Value {
            key,
            value: n.to_string(),
            problem: format!("use {} to {} {unit}", range.start(), range.end()),
        }),
    }
}

fn pending_limits(raw: &RawConfig) -> Result<crate::store::PendingLimits, ConfigError> {
    let d = crate::store::PendingLimits::default();
    let mb = |n: u64| n << 20;
    Ok(crate::store::PendingLimits {
        max_events: bounded("max_pending", raw.max_pending, "events", 1..=10_000_000)?
            .unwrap_or(d.max_events),
        max_bytes: bounded("pending_max_mb", raw.pending_max_mb, "MiB", 1..=65_536)?
            .map_or(d.max_bytes, mb),
        per_holder_events: bounded(
            "pending_per_sender",
            raw.pending_per_sender,
            "events",
            1..=10_000_000,
        )?
        .unwrap_or(d.per_holder_events),
        per_holder_bytes: bounded(
            "pending_per_sender_mb",
            raw.pending_per_sender_mb,
            "MiB",
            1..=65_536,
        )?
        .map_or(d.per_holder_bytes, mb),
        min_free_disk: bounded("min_free_disk_mb", raw.min_free_disk_mb, "MiB", 0..=1_048_576)?
            .map_or(d.min_free_disk, mb),
    })
}

/// What the API checks for callers before it verifies anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitLimits {
    /// Events a second one address may have checked without credentials.
    pub stranger_per_second: u32,
    /// At once.
    pub stranger_burst: u32,
    /// Events a minute one physician's sessions may have checked.
    pub session_per_minute: u32,
    /// At once.
    pub session_burst: u32,
}

impl Default for SubmitLimits {
    fn default() -> Self {
        Self {
            stranger_per_second: 50,
            stranger_burst: 500,
            session_per_minute: 600,
            session_burst: 300,
        }
    }
}

fn submit_limits(raw: &RawConfig) -> Result<SubmitLimits, ConfigError> {
    let d = SubmitLimits::default();
    let get = |name: &str, file: Option<u64>, default: u32| -> Result<u32, ConfigError> {
        Ok(bounded(name, file, "events", 1..=1_000_000)?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default))
    };
    Ok(SubmitLimits {
        stranger_per_second: get(
            "stranger_events_per_second",
            raw.stranger_events_per_second,
            d.stranger_per_second,
        )?,
        stranger_burst: get("stranger_burst", raw.stranger_burst, d.stranger_burst)?,
        session_per_minute: get(
            "session_events_per_minute",
            raw.session_events_per_minute,
            d.session_per_minute,
        )?,
        session_burst: get("session_burst", raw.session_burst, d.session_burst)?,
    })
}

fn author_limit(raw: &RawConfig) -> Result<AuthorLimit, ConfigError> {
    let defaults = AuthorLimit::default();
    let file = raw.author_events_per_minute.map(u64::from);
    let (key, per_minute) = number("author_events_per_minute", file, "events")?;
    let per_minute = per_minute.unwrap_or(u64::from(defaults.per_minute));
    let burst = raw.author_burst.unwrap_or(defaults.burst);
    let allowed = 1..=100_000;
    if !allowed.contains(&per_minute) || !allowed.contains(&u64::from(burst)) {
        return Err(ConfigError::Value {
            key,
            value: format!("{per_minute} a minute, bursts of {burst}"),
            problem: "use 1 to 100000 for both".into(),
        });
    }
    // In range, so it fits.
    let per_minute = u32::try_from(per_minute).unwrap_or(defaults.per_minute);
    Ok(AuthorLimit { per_minute, burst })
}

fn http_limits(raw: &RawConfig) -> Result<crate::api::HttpLimits, ConfigError> {
    let defaults = crate::api::HttpLimits::default();
    let max =
        bounded("api_max_connections", raw.api_max_connections, "connections", 1..=1_000_000)?;
    let per_address = bounded(
        "api_connections_per_address",
        raw.api_connections_per_address,
        "connections",
        1..=1_000_000,
    )?;
    let idle = bounded("api_idle_timeout_secs", raw.api_idle_timeout_secs, "seconds", 1..=3_600)?;
    let request =
        bounded("api_request_timeout_secs", raw.api_request_timeout_secs, "seconds", 1..=3_600)?;
    let (source, proxies) = match env("CURBSIDE_API_PROXIES") {
        Some(v) => (
            "CURBSIDE_API_PROXIES".to_string(),
            Some(v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()),
        ),
        None => ("node.toml api_proxies".to_string(), raw.api_proxies.clone()),
    };
    let proxies = match proxies {
        None => defaults.proxies,
        Some(list) => list
            .into_iter()
            .map(|text: String| {
                text.parse().map_err(|_| ConfigError::Value {
                    key: source.clone(),
                    value: text.clone(),
                    problem: "not an IP address such as 127.0.0.1 or ::1".into(),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let secs = std::time::Duration::from_secs;
    Ok(crate::api::HttpLimits {
        max_connections: max.map_or(defaults.max_connections, |n| n as usize),
        per_address: per_address.map_or(defaults.per_address, |n| n as usize),
        proxies,
        idle_timeout: idle.map_or(defaults.idle_timeout, secs),
        request_timeout: request.map_or(defaults.request_timeout, secs),
    })
}

/// Most and fewest MiB of page cache: below 16 sled thrashes on its own
/// index pages; above 64 GiB is a typo.
const STORE_CACHE_MB: std::ops::RangeInclusive<u64> = 16..=65_536;

fn store_config(raw: &RawConfig) -> Result<StoreConfig, ConfigError> {
    let (key, mb) = number("store_cache_mb", raw.store_cache_mb, "MiB")?;
    let Some(mb) = mb else { return Ok(StoreConfig::default()) };
    if !STORE_CACHE_MB.contains(&mb) {
        return Err(ConfigError::Value {
            key,
            value: mb.to_string(),
            problem: format!("use {} to {} MiB", STORE_CACHE_MB.start(), STORE_CACHE_MB.end()),
        });
    }
    Ok(StoreConfig { cache_bytes: mb << 20 })
}

/// A list from flags, else the environment (comma-separated), else the file.
fn list(
    flags: &[String],
    var: &str,
    file: Option<&Vec<String>>,
    key: &str,
) -> Result<Vec<libp2p::Multiaddr>, ConfigError> {
    let (source, items): (String, Vec<String>) = if !flags.is_empty() {
        (format!("--{key}"), flags.to_vec())
    } else if let Some(v) = env(var) {
        (var.into(), v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
    } else {
        (format!("node.toml {key}"), file.cloned().unwrap_or_default())
    };
    items
        .into_iter()
        .map(|text| {
            text.parse().map_err(|_| ConfigError::Value {
                key: source.clone(),
                value: text.clone(),
                problem: "not a multiaddr: write it like /ip4/0.0.0.0/tcp/7421 or \
                          /dns4/node.example/tcp/7421/p2p/12D3KooW..."
                    .into(),
            })
        })
        .collect()
}

fn net_config(raw: &RawConfig, flags: &Overrides) -> Result<Option<NetConfig>, ConfigError> {
    let listen = list(&flags.listen, "CURBSIDE_LISTEN", raw.listen.as_ref(), "listen")?;
    let bootstrap =
        list(&flags.bootstrap, "CURBSIDE_BOOTSTRAP", raw.bootstrap.as_ref(), "bootstrap")?;
    let mdns = switch(flags.mdns, "mdns", raw.mdns)?;
    if listen.is_empty() && bootstrap.is_empty() && !mdns {
        return Ok(None);
    }
    let defaults = NetConfig::default();
    let (sync_key, sync_secs) = number("sync_interval_secs", raw.sync_interval_secs, "seconds")?;
    let sync_every = match sync_secs {
        None => defaults.sync_every,
        Some(secs @ 1..=86_400) => std::time::Duration::from_secs(secs),
        Some(secs) => {
            return Err(ConfigError::Value {
                key: sync_key,
                value: secs.to_string(),
                problem: "use 1 to 86400 seconds".into(),
            });
        }
    };
    let bounded = |name: &str, file: Option<u32>, default: u32| match number(
        name,
        file.map(u64::from),
        "events",
    )? {
        (_, None) => Ok(default),
        (_, Some(n @ 1..=1_000_000)) => Ok(n as u32),
        (key, Some(n)) => Err(ConfigError::Value {
            key,
            value: n.to_string(),
            problem: "use 1 to 1000000".into(),
        }),
    };
    Ok(Some(NetConfig {
        listen,
        bootstrap,
        mdns,
        sync_every,
        gossip_per_second: bounded(
            "peer_gossip_events_per_second",
            raw.peer_gossip_events_per_second,
            defaults.gossip_per_second,
        )?,
        gossip_burst: bounded("peer_gossip_burst", raw.peer_gossip_burst, defaults.gossip_burst)?,
        gossip_author_per_minute: bounded(
            "gossip_author_events_per_minute",
            raw.gossip_author_events_per_minute,
            defaults.gossip_author_per_minute,
        )?,
        gossip_author_burst: bounded(
            "gossip_author_burst",
            raw.gossip_author_burst,
            defaults.gossip_author_burst,
        )?,
        pending_per_address: bounded(
            "peer_pending_per_address",
            raw.peer_pending_per_address,
            defaults.pending_per_address as u32,
        )? as usize,
        connections_per_address: bounded(
            "peer_connections_per_address",
            raw.peer_connections_per_address,
            defaults.connections_per_address as u32,
        )? as usize,
        ..defaults
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
        let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(c.api, crate::default_api_addr());
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.session_ms, 12 * 3_600_000);
        assert_eq!(c.sessions_per_key, crate::api::DEFAULT_SESSIONS_PER_KEY);
        assert_eq!(c.store, StoreConfig::default());
        assert_eq!(c.http, crate::api::HttpLimits::default());
    }

    #[test]
    fn the_api_connection_limits_come_from_the_file_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("node.toml"),
            "api_max_connections = 10\napi_connections_per_address = 2\n\
             api_proxies = [\"10.0.0.5\"]\napi_idle_timeout_secs = 5\n\
             api_request_timeout_secs = 3\n",
        )
        .unwrap();
        let http = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().http;
        assert_eq!((http.max_connections, http.per_address), (10, 2));
        assert_eq!(http.proxies, vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]);
        assert_eq!(http.idle_timeout, std::time::Duration::from_secs(5));
        assert_eq!(http.request_timeout, std::time::Duration::from_secs(3));
        std::fs::write(dir.path().join("node.toml"), "api_proxies = [\"proxy\"]\n").unwrap();
        let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("api_proxies") && err.contains("not an IP address"), "{err}");
        std::fs::write(dir.path().join("node.toml"), "api_idle_timeout_secs = 0\n").unwrap();
        let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("api_idle_timeout_secs") && err.contains("1 to 3600"), "{err}");
    }

    #[test]
    fn the_store_cache_is_set_in_mib_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), "store_cache_mb = 64\n").unwrap();
        let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
        assert_eq!(c.store.cache_bytes, 64 << 20);
        std::fs::write(dir.path().join("node.toml"), "store_cache_mb = 1\n").unwrap();
        let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("store_cache_mb") && err.contains("16 to 65536"), "{err}");
    }

    #[test]
    fn flags_override_the_file_and_public_apis_need_consent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), "api = \"127.0.0.1:9000\"\n").unwrap();
        let flags = Overrides { api: Some("127.0.0.1:9001".into()), ..Overrides::default() };
        assert_eq!(NodeConfig::load(dir.path(), &flags).unwrap().api.port(), 9001);
        let public = Overrides { api: Some("0.0.0.0:7420".into()), ..Overrides::default() };
        let err = NodeConfig::load(dir.path(), &public).unwrap_err().to_string();
        assert!(err.contains("--allow-public-api"), "{err}");
        let allowed = Overrides { allow_public_api: true, ..public };
        let config = NodeConfig::load(dir.path(), &allowed).unwrap();
        assert!(config.api_warning().is_some_and(|w| w.contains("0.0.0.0:7420")));
        assert_eq!(
            NodeConfig::load(dir.path(), &Overrides::default()).unwrap().api_warning(),
            None
        );
    }

    #[test]
    fn the_environment_turns_switches_off_as_well_as_on() {
        let var = "CURBSIDE_MDNS";
        assert!(!decide_switch(false, var, Some("false".into()), Some(true)).unwrap());
        assert!(!decide_switch(false, var, Some("0".into()), Some(true)).unwrap());
        assert!(decide_switch(false, var, Some("Yes".into()), Some(false)).unwrap());
        assert!(decide_switch(false, var, None, Some(true)).unwrap());
        assert!(!decide_switch(false, var, None, None).unwrap());
        // A flag only ever turns it on.
        assert!(decide_switch(true, var, Some("false".into()), None).unwrap());
        let err = decide_switch(false, var, Some("maybe".into()), None).unwrap_err();
        assert!(err.to_string().contains("CURBSIDE_MDNS"), "{err}");
    }

    #[test]
    fn the_listen_line_is_in_the_default_file() {
        assert!(DEFAULT_NODE_TOML.contains(DEFAULT_LISTEN_LINE));
    }

    #[test]
    fn peer_to_peer_settings_come_from_the_file_or_flags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
        let c = NodeConfig::load(dir.path(), &Overrides::default()).unwrap();
        let net = c.net.unwrap();
        assert_eq!(net.listen.len(), 2);
        assert!(net.bootstrap.is_empty());

        let flags = Overrides {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap: vec![
                "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
                    .into(),
            ],
            ..Overrides::default()
        };
        let net = NodeConfig::load(dir.path(), &flags).unwrap().net.unwrap();
        assert_eq!(net.listen.len(), 1);
        assert_eq!(net.bootstrap.len(), 1);

        let bad = Overrides { listen: vec!["0.0.0.0:7421".into()], ..Overrides::default() };
        let err = NodeConfig::load(dir.path(), &bad).unwrap_err().to_string();
        assert!(err.contains("not a multiaddr"), "{err}");

        std::fs::write(dir.path().join("node.toml"), "listen = []\n").unwrap();
        assert!(NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.is_none());
    }

    #[test]
    fn gossip_limits_come_from_the_file_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), DEFAULT_NODE_TOML).unwrap();
        let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
        let defaults = NetConfig::default();
        assert_eq!(
            (net.gossip_per_second, net.gossip_burst),
            (defaults.gossip_per_second, defaults.gossip_burst)
        );
        assert_eq!(
            (net.gossip_author_per_minute, net.gossip_author_burst),
            (defaults.gossip_author_per_minute, defaults.gossip_author_burst)
        );
        std::fs::write(
            dir.path().join("node.toml"),
            "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n\
             peer_gossip_events_per_second = 20\npeer_gossip_burst = 40\n\
             gossip_author_events_per_minute = 30\ngossip_author_burst = 5\n",
        )
        .unwrap();
        let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
        assert_eq!((net.gossip_per_second, net.gossip_burst), (20, 40));
        assert_eq!((net.gossip_author_per_minute, net.gossip_author_burst), (30, 5));
        std::fs::write(
            dir.path().join("node.toml"),
            "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n\
             peer_pending_per_address = 2\npeer_connections_per_address = 3\n",
        )
        .unwrap();
        let net = NodeConfig::load(dir.path(), &Overrides::default()).unwrap().net.unwrap();
        assert_eq!((net.pending_per_address, net.connections_per_address), (2, 3));
        std::fs::write(
            dir.path().join("node.toml"),
            "listen = [\"/ip4/127.0.0.1/tcp/0\"]\npeer_gossip_burst = 0\n",
        )
        .unwrap();
        let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("peer_gossip_burst") && err.contains("1 to 1000000"), "{err}");
    }

    #[test]
    fn typos_in_the_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.toml"), "apii = \"x\"\n").unwrap();
        let err = NodeConfig::load(dir.path(), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("apii"), "{err}");
    }
}
