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
pub(crate) struct AuditModerationArgs {
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}
