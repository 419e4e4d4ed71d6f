//! The command line's grammar (clap). The names here are a contract that
//! scripts and tests rely on: see "The command line (contract)" in the
//! design, and `cli/README.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The node the command line talks to when none is named.
pub(crate) const DEFAULT_NODE: &str = "http://127.0.0.1:7420";

/// Curbside: a federated network where physicians consult each other.
mod moderation;
mod operators;

pub(crate) use moderation::{
    AppointArgs, AuditModerationArgs, HideArgs, ModCommand, ModQueueArgs, ReportArgs, TakedownArgs,
};
pub(crate) use operators::{
    AdminAddArgs, AdminCommand, AdminListArgs, AdminLogArgs, AdminRevokeArgs,
};
#[derive(Debug, Parser)]
#[command(name = "curbside", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Print machine-readable JSON (one object, stable snake_case fields).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Where your keystore, session cache and development network live.
    #[arg(long, global = true, env = "CURBSIDE_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
    /// The node to talk to [env: CURBSIDE_NODE] [default: http://127.0.0.1:7420].
    /// May also be given after the subcommand.
    #[arg(long = "node", value_name = "URL")]
    pub(crate) node: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `--node URL` after a subcommand that talks to a node.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct NodeUrl {
    /// The node to talk to [env: CURBSIDE_NODE] [default: http://127.0.0.1:7420].
    #[arg(long = "node", value_name = "URL")]
    pub(crate) node: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// A whole federation on this machine, narrated: three nodes on loopback,
    /// physicians, a case, a poll, a revocation and an outage, each step checked.
    Demo,
    /// Found a network: a root key and its genesis (federation roots).
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Charter an institution's node, signed with a root key, and submit it.
    Charter(CharterArgs),
    /// Add a hub to the network (a root's signed event).
    #[command(subcommand)]
    Hub(HubCommand),
    /// List the attestations this node issued (admin): filter by handle, key, licence, status, expiry.
    Attestations(AttestationsArgs),
    /// Send signed events made offline (a charter written with --no-submit --out) to a node.
    Submit(SubmitArgs),
    /// Raise the network's rules version from a time (a root's `Rules`
    /// event; docs/PROTOCOL.md, Rules versions), and submit it.
    Rules(RulesArgs),
    /// Set up or run a node (institutions; or a development network on this machine).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Your pseudonymous physician identity: create it, show it, ask to be attested.
    #[command(subcommand)]
    Id(IdCommand),
    /// Attest a physician's key from their request (institution admin).
    Attest(AttestArgs),
    /// Revoke an attestation this node issued (institution admin).
    Revoke(RevokeArgs),
    /// Print the licence opening an attestation commits to (institution admin).
    Reveal(RevealArgs),
    /// The institution's operators as people: named credentials (add,
    /// list, revoke) and the log of who did what (institution admin).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Audit verifiers' logs (regulators): every attestation, their history, that nodes agree.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a discussion post in a hub.
    Post(PostArgs),
    /// Present a de-identified patient case in a hub (from a TOML file or flags).
    Case(CaseArgs),
    /// Reply to a post, case, poll or comment.
    Comment(CommentArgs),
    /// Ask colleagues a question with 2 to 8 options.
    Poll(PollArgs),
    /// Vote in a poll (a later vote replaces your earlier one).
    Vote(VoteArgs),
    /// The network's hubs, the most lately active first.
    Hubs(NodeUrl),
    /// The specialties the network names (for attestations and polls).
    Specialties(NodeUrl),
    /// The jurisdictions the network names (for charters and attestations).
    Jurisdictions(NodeUrl),
    /// Who readers see when you write: handle, key, specialties,
    /// jurisdiction, and until when you are attested.
    Whoami(NodeUrl),
    /// Keep your key open for a while (an agent process, as ssh-agent), so
    /// that the passphrase is asked once, not at every command.
    Unlock(UnlockArgs),
    /// Close the key that `unlock` opened, now.
    Lock,
    /// The agent `unlock` starts (not for people: it reads the key on
    /// standard input).
    #[command(hide = true)]
    Agent(AgentArgs),
    /// Take back your own post, case, comment, poll or vote: every node
    /// deletes it and shows "[retracted by its author]" in its place.
    Retract(RetractArgs),
    /// Take an event down as a hub's moderator (same effect everywhere as a retraction).
    Takedown(TakedownArgs),
    /// Report an event to its hub's moderators (kept on this node, not public).
    Report(ReportArgs),
    /// Moderators' commands.
    #[command(subcommand)]
    Mod(ModCommand),
    /// Hide an event on this node only (institution admin; no network effect).
    Hide(HideArgs),
    /// Appoint a moderator for a hub or every hub, or end an appointment (a root).
    Appoint(AppointArgs),
    /// The newest posts, cases and polls in a hub.
    Feed(FeedArgs),
    /// Search posts, cases, comments and polls: every word must match;
    /// the best first, the newest among equals.
    Search(SearchArgs),
    /// An event and its replies, as a thread.
    Show(ShowArgs),
    /// A poll's results, optionally broken down by specialty or jurisdiction.
    Tally(TallyArgs),
    /// Your events a node holds until what they need arrives, and those it
    /// dropped in the last week because it never came.
    Pending(NodeUrl),
    /// Check text for patient identifiers as nodes do (findings, exit 1) and
    /// for what deserves a second look (warnings, exit 0); reads FILE, or
    /// stdin with -.
    CheckText {
        /// A file of clinical text, or `-` for standard input.
        file: String,
    },
    /// List the stable rejection codes a node can answer with.
    Codes,
    /// Say how your case ended: its diagnosis (and what happened); feeds
    /// and threads then show it solved. A later outcome replaces it.
    Outcome(OutcomeArgs),
    /// Mark the reply in your post's or case's thread that helped most (a
    /// later accept replaces it).
    Accept(AcceptArgs),
    /// Name the option of your closed poll that turned out right: the
    /// tally then shows how the vote compared.
    Answer(AnswerArgs),
    /// What you wrote (posts, cases, comments, polls), newest first.
    Mine(PageArgs),
    /// Your inbox: replies to you, replies in threads you follow, mentions
    /// of your handle, new posts in hubs you follow, closed polls you voted
    /// in; unread first. Shown items are marked read.
    Inbox(InboxArgs),
    /// Follow a thread (an event's id, or its first 8 characters or more) or a hub.
    Follow(FollowArgs),
    /// Stop following a thread or a hub.
    Unfollow(FollowArgs),
    /// Keep an event in your bookmarks (kept by your node, for you alone).
    Bookmark(MarkArgs),
    /// Drop an event from your bookmarks.
    Unbookmark(MarkArgs),
    /// Your bookmarks, newest first.
    Bookmarks(PageArgs),
    /// Edit your own post, case or comment: every node shows the new text
    /// in its place and deletes the earlier one (rules 4).
    Edit(EditArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The id of your post, case or comment (or its first 8 characters or more).
    pub(crate) event_id: String,
    /// A post's or case's new title (one line).
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// The new text of a post or comment.
    #[arg(long)]
    pub(crate) body: Option<String>,
    /// Read the new text from FILE (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub(crate) body_file: Option<PathBuf>,
    /// A case's patient age in years, or a band.
    #[arg(long)]
    pub(crate) age: Option<String>,
    /// A case's patient sex: female, male, intersex or unspecified.
    #[arg(long)]
    pub(crate) sex: Option<String>,
    /// A case's presenting complaint.
    #[arg(long)]
    pub(crate) presentation: Option<String>,
    /// A case's relevant history.
    #[arg(long)]
    pub(crate) history: Option<String>,
    /// A case's findings.
    #[arg(long)]
    pub(crate) findings: Option<String>,
    /// A case's question.
    #[arg(long)]
    pub(crate) question: Option<String>,
    /// A case's tags (replaces them all).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct OutcomeArgs {
    /// Your case's id (or its first 8 characters or more).
    pub(crate) case_id: String,
    /// The final diagnosis, one line (no patient details: the guard applies).
    #[arg(long)]
    pub(crate) diagnosis: String,
    /// What happened (optional) [or --text-file].
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) text: String,
    /// Read the text from FILE (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub(crate) text_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// A page of a list of one's own.
#[derive(Debug, Args)]
pub(crate) struct PageArgs {
    /// Most entries to show (at most 200).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    /// Continue after a previous page (the `next` it printed).
    #[arg(long)]
    pub(crate) before: Option<String>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AcceptArgs {
    /// The comment's id (or its first 8 characters or more).
    pub(crate) comment_id: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// `curbside inbox`.
#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    /// Show read items too (after the unread ones).
    #[arg(long)]
    pub(crate) all: bool,
    /// Most items to show (at most 200).
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    /// Stay and print new items as they arrive, until interrupted.
    #[arg(long)]
    pub(crate) watch: bool,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AnswerArgs {
    /// Your poll's id (or its first 8 characters or more).
    pub(crate) poll_id: String,
    /// The right option's number, counting from 1 as `curbside show` and `tally` list them.
    #[arg(long, value_name = "N")]
    pub(crate) option: u16,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// `curbside follow` and `unfollow`.
#[derive(Debug, Args)]
pub(crate) struct FollowArgs {
    /// An event's id (or its first 8 characters or more): its thread; or a hub.
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// `curbside bookmark` and `unbookmark`.
#[derive(Debug, Args)]
pub(crate) struct MarkArgs {
    /// The event's id (or its first 8 characters or more).
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Create a root key (DIR/root.key, encrypted) and a genesis (DIR/genesis.json).
    New {
        /// The network's name, for people ("Curbside UK").
        #[arg(long)]
        name: String,
        /// Directory to write root.key and genesis.json into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The hubs the network starts with, as SLUG=TITLE (repeat) [default: the standard
        /// specialty hubs]; more can be added later with `curbside hub add`.
        #[arg(long = "hub", value_name = "SLUG=TITLE")]
        hubs: Vec<String>,
        /// Fewest voters a poll breakdown's cell may show (k-anonymity) [default: 5].
        #[arg(long, value_name = "N")]
        min_cell_size: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum HubCommand {
    /// Add a hub to the network: a root's signed Hub event, submitted to a node.
    Add(HubAddArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HubAddArgs {
    /// The hub's slug (lowercase letters, digits and '-'), as commands and topics name it.
    pub(crate) hub: String,
    /// Its name for people.
    #[arg(long)]
    pub(crate) title: String,
    /// The root's key file (from `curbside network new`).
    #[arg(long, value_name = "FILE")]
    pub(crate) root_key: PathBuf,
    /// The network's genesis [default: genesis.json next to the root key].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<PathBuf>,
    /// The node to submit it to [env: CURBSIDE_NODE] [default: http://127.0.0.1:7420].
    #[arg(long = "submit-to", value_name = "URL")]
    pub(crate) submit_to: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// The root's key file (from `curbside network new`).
    #[arg(long, value_name = "FILE")]
    pub(crate) root_key: PathBuf,
    /// The rules version to put in force [default: the newest this build knows].
    #[arg(long = "rules-version", value_name = "N")]
    pub(crate) rules_version: Option<u16>,
    /// How long from now it takes effect: give every node time to hear of
    /// it (90m, 12h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "1d")]
    pub(crate) effective_in: String,
    /// The network's genesis [default: genesis.json next to the root key].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<PathBuf>,
    /// The node to submit it to [env: CURBSIDE_NODE] [default: http://127.0.0.1:7420].
    #[arg(long = "submit-to", value_name = "URL")]
    pub(crate) submit_to: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CharterArgs {
    /// The root's key file (from `curbside network new`).
    #[arg(long, value_name = "FILE")]
    pub(crate) root_key: PathBuf,
    /// The node's public key (printed by `curbside node init`).
    #[arg(long = "node", value_name = "PUBKEY")]
    pub(crate) node_key: String,
    /// The institution that runs the node.
    #[arg(long)]
    pub(crate) institution: String,
    /// Jurisdictions the node may attest physicians in (none: a relay only).
    #[arg(long, value_name = "JURISDICTION", num_args = 1..)]
    pub(crate) verify: Vec<String>,
    /// How many days the charter lasts.
    #[arg(long, value_name = "D")]
    pub(crate) valid_days: u64,
    /// The network's genesis [default: genesis.json next to the root key].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<PathBuf>,
    /// Also write the signed charter (base64url) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Do not submit the charter to a node (use with --out; `curbside submit FILE` sends it later).
    #[arg(long, requires = "out")]
    pub(crate) no_submit: bool,
    /// A node that relays and serves but attests no one (instead of --verify).
    #[arg(long, conflicts_with = "verify")]
    pub(crate) relay: bool,
    /// The node to submit the charter to (`--node` names the chartered key here)
    /// [env: CURBSIDE_NODE] [default: http://127.0.0.1:7420].
    #[arg(long = "submit-to", value_name = "URL")]
    pub(crate) submit_to: Option<String>,
}

/// `curbside submit FILE`.
#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// A file of signed events, one a line as `--out` writes them (base64url), or - for standard input.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NodeCommand {
    /// Create a node's data directory: its key, admin token and configuration.
    Init {
        /// The network's genesis file.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// The data directory to create.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Where the HTTP API listens, written to node.toml [default: 127.0.0.1:7420].
        #[arg(long, value_name = "ADDR")]
        api: Option<String>,
        /// Where other nodes reach this one (multiaddr; repeat for TCP and QUIC),
        /// written to node.toml [default: TCP and QUIC on port 7421].
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// Peers to dial at every start (multiaddrs ending in /p2p/<PeerId>),
        /// written to node.toml.
        #[arg(long, value_name = "MULTIADDR", num_args = 1..)]
        bootstrap: Vec<String>,
    },
    /// Where other nodes reach this one: its multiaddrs with its peer id, one a line,
    /// for their --bootstrap.
    Address {
        /// The node's data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// This machine's name or address, for a listen address of 0.0.0.0
        /// [default: 127.0.0.1, right on this machine only].
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },
    /// Run a node until Ctrl-C. Without --data: a one-node development network under --home.
    Run(RunArgs),
    /// Show a running node's network, peers and sync state (asks --node, or the node of --data).
    Status {
        #[command(flatten)]
        node: NodeUrl,
        /// The node's data directory: its API address is read from its node.toml.
        #[arg(long, value_name = "DIR", conflicts_with = "node")]
        data: Option<PathBuf>,
        /// Wait (at most 60 s) until the node answers with at least N admitted
        /// peers; exit 1 if it does not. 0 waits only for it to answer.
        #[arg(long, value_name = "N")]
        wait_peers: Option<usize>,
    },
    /// A node's public key (what the root charters), from its data directory.
    Key {
        /// The node's data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Check a stopped node's store: counts, every index against the events,
    /// audit logs against their signed heads; exit 1 on any problem.
    Check {
        /// The node's data directory (the node must not be running).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Back up a node, running or stopped, into a new directory: its store (events,
    /// audit log, licence openings), key, admin token and configuration.
    Backup {
        /// The node's data directory (its admin.token reaches a running node).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The new directory to write (outside --data; never overwritten).
        #[arg(long, value_name = "BACKUP_DIR")]
        out: PathBuf,
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Restore a backup into a new (absent or empty) data directory, for a stopped node.
    Restore {
        /// The backup's directory (from `curbside node backup`).
        #[arg(long, value_name = "BACKUP_DIR")]
        from: PathBuf,
        /// The data directory to create.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Rebuild a stopped node's search index from its store.
    Reindex {
        /// The node's data directory (the node must not be running).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Ask a running node to sync with its peers now, and show the round
    /// until it ends (institution admin; a second one joins the first).
    Sync {
        #[command(flatten)]
        admin: AdminTokenArgs,
        #[command(flatten)]
        node: NodeUrl,
        /// How long to wait for the round to end.
        #[arg(long, value_name = "DURATION", default_value = "10m")]
        timeout: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The node's data directory (from `curbside node init`).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Where the HTTP API listens [default: node.toml's api, else 127.0.0.1:7420].
    #[arg(long, value_name = "ADDR")]
    pub(crate) api: Option<String>,
    /// Allow an API address that is not loopback (put a TLS proxy in front).
    #[arg(long)]
    pub(crate) allow_public_api: bool,
    /// Log format: text for people, json for log collectors (filter with RUST_LOG).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormatArg>,
    /// Where other nodes reach this one (multiaddr; repeat for TCP and QUIC)
    /// [default: node.toml's listen].
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) listen: Vec<String>,
    /// Peers to dial at start (multiaddrs, ideally ending in /p2p/<PeerId>).
    #[arg(long, value_name = "MULTIADDR", num_args = 1..)]
    pub(crate) bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS.
    #[arg(long)]
    pub(crate) mdns: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormatArg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogFormatArg::Text => "text",
            LogFormatArg::Json => "json",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum IdCommand {
    /// Create your physician key (encrypted, in HOME/id.key) under a handle.
    New {
        /// Your pseudonym: 3 to 32 of a-z 0-9 - _ . starting with a letter.
        #[arg(long)]
        handle: String,
    },
    /// Your public key, handle and attestation status.
    Show {
        #[command(flatten)]
        node: NodeUrl,
    },
    /// Print a signed request for an attestation, to give to a verifying institution.
    Request {
        #[command(flatten)]
        node: NodeUrl,
    },
}

/// Where the institution admin's token comes from.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct AdminTokenArgs {
    /// The node's data directory: the node the command must reach, and
    /// (without --token-file) its admin.token.
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// A file holding the admin token or a named operator's credential
    /// (`curbside admin add NAME --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The request (`curbside-request-v1:...`), a file holding it, or `-` for standard input.
    pub(crate) request: String,
    /// Specialties checked (one or more).
    #[arg(long, value_name = "S", num_args = 1.., required = true)]
    pub(crate) specialty: Vec<String>,
    /// Where the licence was issued (GB, US-CA, DEV...).
    #[arg(long, value_name = "J")]
    pub(crate) jurisdiction: String,
    /// The licence number (kept privately by the node; only a commitment is published).
    #[arg(long, value_name = "L")]
    pub(crate) licence: String,
    /// How many days the attestation lasts (never past this node's charter).
    #[arg(long, value_name = "D")]
    pub(crate) valid_days: u64,
    /// Revoke, in the same step, what this node has in force for the same key or licence.
    #[arg(long)]
    pub(crate) replace: bool,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// The attestation's id, or its first 8 hex characters or more.
    #[arg(required_unless_present_any = ["licence", "key"], conflicts_with_all = ["licence", "key"])]
    pub(crate) attestation_id: Option<String>,
    /// Every attestation this node has in force for this licence number.
    #[arg(long, value_name = "L", conflicts_with = "key")]
    pub(crate) licence: Option<String>,
    /// With --licence: only in this jurisdiction.
    #[arg(long, value_name = "J", requires = "licence")]
    pub(crate) jurisdiction: Option<String>,
    /// Every attestation this node has in force for this physician's key.
    #[arg(long, value_name = "PUBKEY")]
    pub(crate) key: Option<String>,
    /// Why, for the audit record.
    #[arg(long)]
    pub(crate) reason: String,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// `curbside attestations`: what this node issued.
#[derive(Debug, Args)]
pub(crate) struct AttestationsArgs {
    /// Only this handle's.
    #[arg(long)]
    pub(crate) handle: Option<String>,
    /// Only this physician key's.
    #[arg(long, value_name = "PUBKEY")]
    pub(crate) key: Option<String>,
    /// Only this licence number's.
    #[arg(long, value_name = "L")]
    pub(crate) licence: Option<String>,
    /// Only this jurisdiction's.
    #[arg(long, value_name = "J")]
    pub(crate) jurisdiction: Option<String>,
    /// Only those active, revoked or expired.
    #[arg(long, value_name = "STATUS", value_parser = ["active", "revoked", "expired"])]
    pub(crate) status: Option<String>,
    /// Only those lapsing within this many days.
    #[arg(long, value_name = "D")]
    pub(crate) expiring_within: Option<u64>,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct RevealArgs {
    /// The attestation's id, or its first 8 hex characters or more.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) attestation_id: Option<String>,
    /// Every attestation this node issued, with its opening, as JSON lines
    /// (for a regulator's `curbside audit licences`).
    #[arg(long)]
    pub(crate) all: bool,
    /// With --all: write to FILE (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE", requires = "all")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) admin: AdminTokenArgs,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check every verifier's log (or one) as every named node shows it; exit 1 on any finding.
    Verify(AuditVerifyArgs),
    /// Check a licence opening against an attestation's commitment; exit 1 if it does not open.
    Open(AuditOpenArgs),
    /// Who was appointed moderator, and who took what down, when and why.
    Moderation(AuditModerationArgs),
    /// List the attestations in one verifier's log, checked as `audit verify` checks it.
    List(AuditListArgs),
    /// Check institutions' exported openings against commitments and the register; exit 1 on any finding.
    Licences(AuditLicencesArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AuditListArgs {
    /// The verifier: its node key, or its first 8 hex characters or more (as `audit verify` shows it).
    #[arg(value_name = "VERIFIER")]
    pub(crate) verifier: String,
    /// A node to read the log from; repeat for several [default: the global --node].
    #[arg(long = "node", value_name = "URL")]
    pub(crate) nodes: Vec<String>,
    /// The network's genesis [default: the one pinned under --home, else the node's].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AuditLicencesArgs {
    /// Openings exported by `curbside reveal --all` (JSON lines); repeat for several institutions.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) openings: Vec<PathBuf>,
    /// The register (CSV with a header: `licence` and `end_date`, optionally `jurisdiction`).
    #[arg(long, value_name = "REGISTER.csv")]
    pub(crate) register: PathBuf,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct AuditVerifyArgs {
    /// Only this verifier's log: its node key, or its first 8 hex characters or more (as the table shows it).
    #[arg(long, value_name = "PUBKEY")]
    pub(crate) verifier: Option<String>,
    /// A node to read the logs from; repeat for several [default: the global --node].
    #[arg(long = "node", value_name = "URL")]
    pub(crate) nodes: Vec<String>,
    /// Distinct valid cosigners each verifier's latest head needs.
    #[arg(long, value_name = "N")]
    pub(crate) quorum: Option<usize>,
    /// The network's genesis [default: the one pinned under --home, else the node's, on first use].
    #[arg(long, value_name = "FILE")]
    pub(crate) genesis: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AuditOpenArgs {
    /// The attestation's id (64 hex characters).
    pub(crate) attestation_id: String,
    /// The licence number, as on the register.
    #[arg(long, value_name = "L")]
    pub(crate) licence: String,
    /// The salt (64 hex characters) that `curbside reveal` printed.
    #[arg(long, value_name = "S")]
    pub(crate) salt: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

/// Whether the content guard's warnings may be accepted without asking.
#[derive(Debug, Args)]
pub(crate) struct Confirm {
    /// Accept the content guard's warnings (possible names, places, months
    /// with years) without being asked: for scripts. Findings are refused
    /// whatever this says.
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PostArgs {
    /// The hub (general, cardiology, oncology...).
    #[arg(long)]
    pub(crate) hub: String,
    /// One line.
    #[arg(long)]
    pub(crate) title: String,
    /// The text [or --body-file; with neither, on a terminal, $EDITOR].
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) body: String,
    /// Read the text from FILE (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub(crate) body_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct CaseArgs {
    /// The hub [or `hub` in the file].
    #[arg(long)]
    pub(crate) hub: Option<String>,
    /// A case file (TOML: title, age, sex, presentation, history, findings, question, tags).
    /// Flags override its fields.
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// One line.
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// The patient's age in years, or a band: <1, 1-4, 5-11, 12-17, 18-29, ..., 80-89, 90+.
    #[arg(long)]
    pub(crate) age: Option<String>,
    /// female, male, intersex or unspecified.
    #[arg(long)]
    pub(crate) sex: Option<String>,
    /// The presenting complaint.
    #[arg(long)]
    pub(crate) presentation: Option<String>,
    /// Relevant history.
    #[arg(long)]
    pub(crate) history: Option<String>,
    /// Examination and investigation findings.
    #[arg(long)]
    pub(crate) findings: Option<String>,
    /// What you ask colleagues.
    #[arg(long)]
    pub(crate) question: Option<String>,
    /// Tags (lowercase words joined by -); replaces the file's tags.
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct RetractArgs {
    /// The id of your post, case, comment, poll or vote.
    pub(crate) event_id: String,
    /// Why (optional; public, so no patient details).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct CommentArgs {
    /// The id of the post, case, poll or comment replied to (or its first 8 characters or more).
    pub(crate) event_id: String,
    /// The text [or --body-file; with neither, on a terminal, $EDITOR].
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) body: String,
    /// Read the text from FILE (`-` for standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub(crate) body_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct PollArgs {
    /// The hub.
    #[arg(long)]
    pub(crate) hub: String,
    /// The question.
    #[arg(long)]
    pub(crate) question: String,
    /// An option (give 2 to 8, in order).
    #[arg(long = "option", value_name = "TEXT", required = true)]
    pub(crate) options: Vec<String>,
    /// How long the poll stays open: 90m, 12h, 7d, 2w (at most the network's limit, 90 days).
    #[arg(long, value_name = "DURATION")]
    pub(crate) closes_in: String,
    /// Only physicians attested in one of these specialties may vote.
    #[arg(long, value_name = "S", num_args = 1..)]
    pub(crate) eligible: Vec<String>,
    #[command(flatten)]
    pub(crate) confirm: Confirm,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct VoteArgs {
    /// The poll's id (or its first 8 characters or more).
    pub(crate) poll_id: String,
    /// The option's number, counting from 1 as `curbside show` and `tally` list them.
    #[arg(long, value_name = "N")]
    pub(crate) option: u16,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct FeedArgs {
    /// The hub.
    pub(crate) hub: String,
    /// How many events (1 to 200).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub(crate) limit: u16,
    /// Continue from a previous page (its `next` cursor).
    #[arg(long, value_name = "CURSOR")]
    pub(crate) before: Option<String>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The event's id (or its first 8 characters or more).
    pub(crate) event_id: String,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Breakdown {
    /// By the voters' attested specialties.
    Specialty,
    /// By the voters' licensing jurisdictions.
    Jurisdiction,
}

#[derive(Debug, Args)]
pub(crate) struct TallyArgs {
    /// The poll's id (or its first 8 characters or more).
    pub(crate) poll_id: String,
    /// Also show a breakdown (groups and cells under k voters are suppressed).
    #[arg(long, value_enum)]
    pub(crate) by: Option<Breakdown>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn node_may_come_before_or_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["curbside", "--node", "http://a", "feed", "general"]).unwrap();
        assert_eq!(cli.node.as_deref(), Some("http://a"));
        let cli =
            Cli::try_parse_from(["curbside", "feed", "general", "--node", "http://b"]).unwrap();
        let Command::Feed(f) = cli.command else { panic!() };
        assert_eq!(f.node.node.as_deref(), Some("http://b"));
    }

    #[test]
    fn charter_node_is_the_chartered_key() {
        let cli = Cli::try_parse_from([
            "curbside",
            "charter",
            "--root-key",
            "r.key",
            "--node",
            "ab",
            "--institution",
            "St Elsewhere",
            "--verify",
            "GB",
            "US-CA",
            "--valid-days",
            "365",
        ])
        .unwrap();
        let Command::Charter(c) = cli.command else { panic!() };
        assert_eq!(c.node_key, "ab");
        assert_eq!(c.verify, ["GB", "US-CA"]);
    }

    #[test]
    fn demo_takes_the_global_json_flag() {
        let cli = Cli::try_parse_from(["curbside", "demo", "--json"]).unwrap();
        assert!(matches!(cli.command, Command::Demo));
        assert!(cli.json);
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["curbside", "id", "show", "--json", "--home", "/h"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.home.as_deref(), Some(std::path::Path::new("/h")));
    }
}

#[derive(Debug, Args)]
pub(crate) struct UnlockArgs {
    /// How long the key stays open: 30m, 2h, at most 12h.
    #[arg(long = "for", value_name = "DURATION", default_value = "1h")]
    pub(crate) duration: String,
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// Until when (milliseconds since the epoch).
    #[arg(long)]
    pub(crate) until: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The words to search for (codes like I21.4 and abbreviations like MI work).
    #[arg(required = true, num_args = 1..)]
    pub(crate) query: Vec<String>,
    /// Only in this hub.
    #[arg(long)]
    pub(crate) hub: Option<String>,
    /// Only posts, cases, comments or polls.
    #[arg(long, value_parser = ["post", "case", "comment", "poll"])]
    pub(crate) kind: Option<String>,
    /// Only cases with this tag.
    #[arg(long)]
    pub(crate) tag: Option<String>,
    /// Only cases in this age band (40-49, 90+) or of this age in years.
    #[arg(long, value_name = "BAND")]
    pub(crate) age_band: Option<String>,
    /// Only cases of this sex (female, male, intersex, unspecified).
    #[arg(long)]
    pub(crate) sex: Option<String>,
    /// Only by authors attested in this specialty.
    #[arg(long)]
    pub(crate) specialty: Option<String>,
    /// Only solved cases.
    #[arg(long)]
    pub(crate) solved: bool,
    /// Only made on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub(crate) since: Option<String>,
    /// How many results (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub(crate) limit: u16,
    /// Continue from a previous page (its `next` cursor).
    #[arg(long, value_name = "CURSOR")]
    pub(crate) cursor: Option<String>,
    #[command(flatten)]
    pub(crate) node: NodeUrl,
}
