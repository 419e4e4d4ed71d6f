//! The flags of `curbside admin`: named operators and the admin log.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{AdminTokenArgs, NodeUrl};

/// `curbside admin ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Make a credential for a named operator: shown once (or written to
    /// --out with mode 0600); the node keeps only its hash.
    Add(AdminAddArgs),
    /// The node's operators: names, when made and by whom, last used,
    /// revoked. Never a credential.
    List(AdminListArgs),
    /// Revoke a named operator's credential: refused from now on
    /// (`operator_revoked`).
    Revoke(AdminRevokeArgs),
    /// Who did what: every admin call this node answered, with its
    /// operator, action, target and outcome.
    Log(AdminLogArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AdminAddArgs {
    /// The operator's name (1 to 32 of a-z 0-9 . _ -, starting with a
    /// letter; never given twice).
    pub(crate) name: String,
    /// Write the credential to this file (mode 0600; refused if it exists)
    /// instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AdminListArgs {
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AdminRevokeArgs {
    /// The operator's name.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AdminLogArgs {
    /// From this date (YYYY-MM-DD, from its midnight UTC) or time
    /// (milliseconds since 1970) on.
    #[arg(long, value_name = "DATE")]
    pub(crate) since: Option<String>,
    /// Only this operator's calls (`owner` is the admin token's).
    #[arg(long, value_name = "NAME")]
    pub(crate) operator: Option<String>,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}
