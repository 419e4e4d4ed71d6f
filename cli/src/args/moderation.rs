//! The flags of moderation's commands: `takedown`, `report`, `mod queue`,
//! `hide`, `audit moderation`.

use clap::{Args, Subcommand};

use super::{AdminTokenArgs, NodeUrl};

#[derive(Debug, Args)]
pub(crate) struct TakedownArgs {
    /// The id of the post, case, comment, poll or vote to take down.
    pub(crate) event_id: String,
    /// phi, defamation, spam, harassment, off_topic or other.
    #[arg(long)]
    pub(crate) reason: String,
    /// A note for the audit record (public: no patient details).
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    /// The hub of its thread (needed for a comment or a vote; a post's,
    /// case's or poll's own hub otherwise).
    #[arg(long)]
    pub(crate) hub: Option<String>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The id of the event to report to its hub's moderators.
    pub(crate) event_id: String,
    /// phi, defamation, spam, harassment, off_topic or other.
    #[arg(long)]
    pub(crate) reason: String,
    /// More, for the moderator.
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModCommand {
    /// Reports filed at this node for the hubs you moderate.
    Queue(ModQueueArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ModQueueArgs {
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct HideArgs {
    /// The id of the event to hide on this node only.
    pub(crate) event_id: String,
    /// Why (a legal hold, local policy), for the operator's records.
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    /// Show it again instead.
    #[arg(long)]
    pub(crate) undo: bool,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AppointArgs {
    /// The root's key file (from `curbside network new`).
    #[arg(long, value_name = "FILE")]
    pub(crate) root_key: std::path::PathBuf,
    /// The moderator's public key (an attested physician's: `curbside id show`).
    #[arg(long, value_name = "PUBKEY", required_unless_present = "end")]
    pub(crate) moderator: Option<String>,
    /// The hub they moderate [default: every hub].
    #[arg(long)]
    pub(crate) hub: Option<String>,
    /// How many days the appointment lasts.
    #[arg(long, value_name = "D", default_value_t = 365)]
    pub(crate) valid_days: u64,
    /// End this appointment (its id) now, instead of making one.
    #[arg(long, value_name = "APPOINTMENT_ID", conflicts_with = "moderator")]
    pub(crate) end: Option<String>,
    /// The network's genesis [default: genesis.json next to the root key].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AuditModerationArgs {
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}
