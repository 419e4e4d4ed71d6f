//! The limits the API applies to submitters, as the configuration sets
//! them (defined here, beside their only user; `config` reads them from
//! `node.toml` and re-exports them).

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
