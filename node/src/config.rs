//! Configuration: defaults, then `<data>/node.toml`, then `CURBSIDE_*`
//! environment variables, then command-line flags — turned into a checked
//! [`NodeConfig`] in one place.

pub use crate::api::{AuthorLimit, SubmitLimits};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ingest::IngestConfig;
use crate::net::NetConfig;
use crate::store::StoreConfig;

mod example;
pub mod reference;
mod sections;

pub use example::{DEFAULT_LISTEN_LINE, DEFAULT_NODE_TOML};
use sections::{
    author_limit, http_limits, net_config, pending_limits, store_config, submit_limits,
};

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
    target_peers: Option<u64>,
    max_peers: Option<u64>,
    sync_peers: Option<u64>,
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
    /// Loads the configuration of the node in `data`: `node.toml`, then
    /// the environment, then `flags`, each setting checked in one place.
    pub fn load(data: &Path, flags: &Overrides) -> Result<Self, ConfigError> {
        Self::from_raw(data, &read_file(&data.join("node.toml"))?, flags)
    }

    /// The checked configuration of `raw`, the settings read from a file.
    fn from_raw(data: &Path, raw: &RawConfig, flags: &Overrides) -> Result<Self, ConfigError> {
        let (api, allow_public_api) = api_addr(raw, flags)?;
        let log_format = log_format(raw, flags)?;
        let ingest = ingest_config(raw)?;
        let (session_ms, sessions_per_key) = sessions(raw)?;
        let http = http_limits(raw)?;
        let store = store_config(raw)?;
        let author_limit = author_limit(raw)?;
        let submit_limits = submit_limits(raw)?;
        let net = net_config(raw, flags)?;
        let audit_quorum = audit_quorum(raw)?;
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
            session_ms,
            sessions_per_key,
        })
    }
}

/// `node.toml` at `path`, or every default if there is none.
fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| ConfigError::File { path: path.to_path_buf(), detail: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RawConfig::default()),
        Err(e) => Err(ConfigError::File { path: path.to_path_buf(), detail: e.to_string() }),
    }
}

/// Where the API listens, and whether it may listen beyond loopback
/// (which must be asked for).
fn api_addr(raw: &RawConfig, flags: &Overrides) -> Result<(SocketAddr, bool), ConfigError> {
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
    Ok((api, allow_public_api))
}

/// How the node logs: `text` (the default) or `json`.
fn log_format(raw: &RawConfig, flags: &Overrides) -> Result<LogFormat, ConfigError> {
    let log_text = flags
        .log_format
        .clone()
        .or_else(|| env("CURBSIDE_LOG_FORMAT"))
        .or_else(|| raw.log_format.clone())
        .unwrap_or_else(|| "text".into());
    match log_text.as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(ConfigError::Value {
            key: "log_format".into(),
            value: log_text,
            problem: "use \"text\" or \"json\"".into(),
        }),
    }
}

/// What ingest may hold waiting for a dependency, and for how long.
fn ingest_config(raw: &RawConfig) -> Result<IngestConfig, ConfigError> {
    let defaults = IngestConfig::default();
    let pending = pending_limits(raw)?;
    let (age_key, age) = number("pending_max_age_secs", raw.pending_max_age_secs, "seconds")?;
    if age.is_some_and(|secs| !(1..=7 * 86_400).contains(&secs)) {
        return Err(ConfigError::Value {
            key: age_key,
            value: age.unwrap_or_default().to_string(),
            problem: "use 1 to 604800 seconds".into(),
        });
    }
    Ok(IngestConfig {
        pending,
        pending_max_age_ms: age.map_or(defaults.pending_max_age_ms, |s| s * 1000),
        ..defaults
    })
}

/// How long a physician's session lasts (in milliseconds), and how many
/// one key may hold at once.
fn sessions(raw: &RawConfig) -> Result<(u64, usize), ConfigError> {
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
    Ok((session_hours * 3_600_000, sessions_per_key as usize))
}

/// Distinct institutions whose witnesses must cosign a head (0 to 100).
fn audit_quorum(raw: &RawConfig) -> Result<usize, ConfigError> {
    let file_quorum = raw.audit_quorum.map(|n| n as u64);
    let (quorum_key, quorum) = number("audit_quorum", file_quorum, "institutions")?;
    match quorum.unwrap_or(1) {
        n @ 0..=100 => Ok(n as usize),
        n => Err(ConfigError::Value {
            key: quorum_key,
            value: n.to_string(),
            problem: "use a number of institutions from 0 to 100".into(),
        }),
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

#[cfg(test)]
mod tests;

/// What `curbside node init` writes into a new `node.toml` in place of the
/// defaults: where the API listens, where peers reach this node, and whom it
/// dials at start. Given at init, they are remembered; a flag given only to
/// `node run` is not, and the next admin command would read the default
/// API address from the file and reach another node.
#[derive(Debug, Default, Clone)]
pub struct InitialSettings {
    /// `api = ...` (a socket address).
    pub api: Option<String>,
    /// `listen = [...]`, when given.
    pub listen: Vec<String>,
    /// `bootstrap = [...]`, when given.
    pub bootstrap: Vec<String>,
}

impl InitialSettings {
    /// The documented default file with these settings in place of the
    /// defaults (each comment kept), checked as `node run` would check it,
    /// so a bad address is refused before anything is written.
    pub fn node_toml(&self) -> Result<String, ConfigError> {
        let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let list = |items: &[String]| {
            format!("[{}]", items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
        };
        let mut text = String::with_capacity(DEFAULT_NODE_TOML.len() + 256);
        for line in DEFAULT_NODE_TOML.lines() {
            let replaced = match line.split_once(" = ").map(|(key, _)| key) {
                Some("api") => self.api.as_deref().map(|api| ("api", quoted(api))),
                Some("listen") if !self.listen.is_empty() => Some(("listen", list(&self.listen))),
                Some("bootstrap") if !self.bootstrap.is_empty() => {
                    Some(("bootstrap", list(&self.bootstrap)))
                }
                _ => None,
            };
            match replaced {
                Some((key, value)) => {
                    let comment = line.find("  #").map_or("", |at| line[at..].trim_start());
                    text.push_str(&format!("{key} = {value}   {comment}"));
                }
                None => text.push_str(line),
            }
            text.push('\n');
        }
        let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: PathBuf::from("node.toml"),
            detail: e.to_string(),
        })?;
        // As flags, so that a CURBSIDE_* variable set here cannot stand in
        // for the values being checked.
        let given = Overrides {
            api: self.api.clone(),
            listen: self.listen.clone(),
            bootstrap: self.bootstrap.clone(),
            ..Overrides::default()
        };
        api_addr(&raw, &given)?;
        net_config(&raw, &given)?;
        Ok(text)
    }
}
