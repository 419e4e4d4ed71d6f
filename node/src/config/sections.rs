//! Readers of `node.toml`'s sections (each with its environment variables
//! and flags): each turns raw settings into one component's checked
//! configuration, or says which setting is wrong.

use super::{AuthorLimit, ConfigError, Overrides, RawConfig, SubmitLimits, env, number, switch};
use crate::net::NetConfig;
use crate::store::StoreConfig;

/// A setting within `range`, or `None` if not set.
pub(super) fn bounded(
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

pub(super) fn pending_limits(raw: &RawConfig) -> Result<crate::store::PendingLimits, ConfigError> {
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

pub(super) fn submit_limits(raw: &RawConfig) -> Result<SubmitLimits, ConfigError> {
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

pub(super) fn author_limit(raw: &RawConfig) -> Result<AuthorLimit, ConfigError> {
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

pub(super) fn http_limits(raw: &RawConfig) -> Result<crate::api::HttpLimits, ConfigError> {
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
pub(super) const STORE_CACHE_MB: std::ops::RangeInclusive<u64> = 16..=65_536;

pub(super) fn store_config(raw: &RawConfig) -> Result<StoreConfig, ConfigError> {
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
pub(super) fn list(
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

pub(super) fn net_config(
    raw: &RawConfig,
    flags: &Overrides,
) -> Result<Option<NetConfig>, ConfigError> {
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
    let (target_peers, max_peers, sync_peers) = peer_bounds(raw, &defaults)?;
    Ok(Some(NetConfig {
        listen,
        bootstrap,
        mdns,
        sync_every,
        target_peers,
        max_peers,
        sync_peers,
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

/// How many peers a node looks for, keeps and syncs with each round.
const PEERS: std::ops::RangeInclusive<u64> = 1..=64;

/// `target_peers`, `max_peers` and `sync_peers`, each within [`PEERS`],
/// and `max_peers` at least `target_peers` (below it the node would keep
/// dialling peers its own bound then closes).
fn peer_bounds(
    raw: &RawConfig,
    defaults: &NetConfig,
) -> Result<(usize, usize, usize), ConfigError> {
    let peers = |name: &str, file: Option<u64>, default: usize| {
        Ok::<_, ConfigError>(bounded(name, file, "peers", PEERS)?.map_or(default, |n| n as usize))
    };
    let target = peers("target_peers", raw.target_peers, defaults.target_peers)?;
    let max = peers("max_peers", raw.max_peers, defaults.max_peers)?;
    let sync = peers("sync_peers", raw.sync_peers, defaults.sync_peers)?;
    if max < target {
        // Where max_peers was set: the environment or the file.
        let (key, _) = number("max_peers", raw.max_peers, "peers")?;
        return Err(ConfigError::Value {
            key,
            value: max.to_string(),
            problem: format!(
                "use at least target_peers ({target}): below it the node would keep dialling \
                 peers that its own bound then disconnects"
            ),
        });
    }
    Ok((target, max, sync))
}
