//! One module per group of commands; [`run`] dispatches.

mod admin;
mod afterword;
mod audit;
mod backup;
mod check;
mod demo;
mod edit;
mod hubs;
mod id;
mod me;
mod moderate;
mod network;
mod node;
mod operators;
mod read;
mod rules;
mod search;
mod sync;
mod up;
mod write;

use std::process::ExitCode;

use crate::args::{
    AuditCommand, Cli, Command, DEFAULT_NODE, HubCommand, IdCommand, ModCommand, NetworkCommand,
    NodeCommand,
};
use crate::client::Client;
use crate::home::Home;
use crate::output::Out;

/// What every command shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// `--home`.
    pub(crate) home: Home,
    /// `--json` or text.
    pub(crate) out: Out,
    /// `--node` given before the subcommand.
    top_node: Option<String>,
}

impl Ctx {
    /// The node's URL: `--node` after the subcommand, else before it, else
    /// `CURBSIDE_NODE`, else `http://127.0.0.1:7420`.
    pub(crate) fn node_url(&self, sub: Option<&str>) -> String {
        self.explicit_node_url(sub).unwrap_or_else(|| DEFAULT_NODE.to_owned())
    }

    /// The node's URL if the user named one (flag or environment).
    pub(crate) fn explicit_node_url(&self, sub: Option<&str>) -> Option<String> {
        sub.map(str::to_owned)
            .or_else(|| self.top_node.clone())
            .or_else(|| std::env::var("CURBSIDE_NODE").ok().filter(|v| !v.trim().is_empty()))
    }

    /// The node's URL for a command that may also read one from a data
    /// directory: a `--node` flag first, then `data`'s node.toml, then
    /// `CURBSIDE_NODE`, then the default. A variable set for a
    /// physician's daily commands does not outrank the `--data` typed.
    pub(crate) fn node_url_or_data(
        &self,
        sub: Option<&str>,
        data: Option<&std::path::Path>,
    ) -> anyhow::Result<(String, &'static str)> {
        if let Some(url) = sub.map(str::to_owned).or_else(|| self.top_node.clone()) {
            return Ok((url, "--node"));
        }
        if let Some(data) = data {
            return Ok((admin::data_api_url(data)?, "its node.toml"));
        }
        Ok((self.node_url(None), "CURBSIDE_NODE or the default"))
    }

    /// A client of that node.
    pub(crate) fn client(&self, sub: Option<&str>) -> anyhow::Result<Client> {
        Ok(Client::new(&self.node_url(sub))?)
    }

    /// The flags that make a suggested command reach the same home and
    /// node as this one (empty when they are the defaults).
    pub(crate) fn suggest_flags(&self, node_url: &str) -> String {
        let mut flags = String::new();
        if std::env::var_os("CURBSIDE_HOME").is_none()
            && Home::resolve(None).ok().is_none_or(|d| d.dir() != self.home.dir())
        {
            flags.push_str(&format!(
                " --home {}",
                shell_word(&self.home.dir().display().to_string())
            ));
        }
        if node_url != DEFAULT_NODE && std::env::var_os("CURBSIDE_NODE").is_none() {
            flags.push_str(&format!(" --node {node_url}"));
        }
        flags
    }
}

/// An event id argument, with a message that says where ids come from.
pub(crate) fn parse_event_id(text: &str, what: &str) -> anyhow::Result<curbside_protocol::EventId> {
    text.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "{what} {text:?} is not an event id: use the full 64-character id that `curbside feed` or `curbside show` prints"
        )
    })
}

/// `s`, quoted for a POSIX shell if it needs it.
pub(crate) fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+@%".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Runs the command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx =
        Ctx { home: Home::resolve(cli.home)?, out: Out { json: cli.json }, top_node: cli.node };
    match cli.command {
        Command::Demo => demo::run(&ctx),
        Command::Network(NetworkCommand::New { name, out, hubs, min_cell_size }) => {
            network::new(&ctx, &name, &out, &hubs, min_cell_size)
        }
        Command::Hub(HubCommand::Add(args)) => network::add_hub(&ctx, &args),
        Command::Charter(args) => network::charter(&ctx, &args),
        Command::Submit(args) => network::submit(&ctx, &args),
        Command::Rules(args) => rules::rules(&ctx, &args),
        Command::Node(NodeCommand::Init { genesis, data, api, listen, bootstrap }) => {
            let settings = curbside_node::config::InitialSettings { api, listen, bootstrap };
            node::init(&ctx, &genesis, &data, &settings)
        }
        Command::Node(NodeCommand::Address { data, host }) => {
            node::address(&ctx, &data, host.as_deref())
        }
        Command::Node(NodeCommand::Run(args)) => node::run(&ctx, &args),
        Command::Node(NodeCommand::Status { node, data, wait_peers }) => {
            node::status(&ctx, node.node.as_deref(), data.as_deref(), wait_peers)
        }
        Command::Node(NodeCommand::Key { data }) => node::key(&ctx, &data),
        Command::Node(NodeCommand::Check { data }) => node::check(&ctx, &data),
        Command::Node(NodeCommand::Reindex { data }) => search::reindex(&ctx, &data),
        Command::Node(NodeCommand::Backup { data, out, node }) => {
            backup::backup(&ctx, &data, &out, &node)
        }
        Command::Node(NodeCommand::Restore { from, data }) => backup::restore(&ctx, &from, &data),
        Command::Node(NodeCommand::Sync { admin, node, timeout }) => {
            sync::sync(&ctx, &admin, &node, &timeout)
        }
        Command::Id(IdCommand::New { handle }) => id::new(&ctx, &handle),
        Command::Id(IdCommand::Show { node }) => id::show(&ctx, node.node.as_deref()),
        Command::Id(IdCommand::Request { node }) => id::request(&ctx, node.node.as_deref()),
        Command::Attest(args) => admin::attest(&ctx, &args),
        Command::Revoke(args) => admin::revoke(&ctx, &args),
        Command::Attestations(args) => admin::attestations(&ctx, &args),
        Command::Reveal(args) => admin::reveal(&ctx, &args),
        Command::Admin(command) => operators::run(&ctx, &command),
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(&ctx, &args),
        Command::Audit(AuditCommand::Open(args)) => audit::open(&ctx, &args),
        Command::Audit(AuditCommand::List(args)) => audit::list::list(&ctx, &args),
        Command::Audit(AuditCommand::Licences(args)) => audit::licences::check(&ctx, &args),
        Command::Post(mut args) => {
            args.body = crate::bodytext::resolve(&args.body, args.body_file.as_deref())?;
            write::post(&ctx, &args)
        }
        Command::Case(args) => write::case(&ctx, &args),
        Command::Comment(mut args) => {
            args.body = crate::bodytext::resolve(&args.body, args.body_file.as_deref())?;
            write::comment(&ctx, &args)
        }
        Command::Poll(args) => write::poll(&ctx, &args),
        Command::Vote(args) => write::vote(&ctx, &args),
        Command::Hubs(node) => hubs::hubs(&ctx, node.node.as_deref()),
        Command::Specialties(node) => hubs::specialties(&ctx, node.node.as_deref()),
        Command::Jurisdictions(node) => hubs::jurisdictions(&ctx, node.node.as_deref()),
        Command::Whoami(node) => id::whoami(&ctx, node.node.as_deref()),
        Command::Unlock(args) => id::unlock(&ctx, &args),
        Command::Lock => id::lock(&ctx),
        Command::Agent(args) => {
            crate::agent::serve(&ctx.home, curbside_protocol::Timestamp::from_millis(args.until))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Retract(args) => write::retract(&ctx, &args),
        Command::Takedown(args) => write::takedown(&ctx, &args),
        Command::Report(args) => moderate::report(&ctx, &args),
        Command::Mod(ModCommand::Queue(args)) => moderate::queue(&ctx, &args),
        Command::Hide(args) => moderate::hide(&ctx, &args),
        Command::Appoint(args) => moderate::appoint(&ctx, &args),
        Command::Audit(AuditCommand::Moderation(args)) => moderate::record(&ctx, &args),
        Command::Feed(args) => read::feed(&ctx, &args),
        Command::Search(args) => search::search(&ctx, &args),
        Command::Show(args) => read::show(&ctx, &args),
        Command::Tally(args) => read::tally(&ctx, &args),
        Command::Pending(node) => read::pending(&ctx, node.node.as_deref()),
        Command::Mine(args) => me::mine(&ctx, &args),
        Command::Inbox(args) => me::inbox(&ctx, &args),
        Command::Follow(args) => me::follow(&ctx, &args, true),
        Command::Unfollow(args) => me::follow(&ctx, &args, false),
        Command::Bookmark(args) => me::bookmark(&ctx, &args, true),
        Command::Unbookmark(args) => me::bookmark(&ctx, &args, false),
        Command::Bookmarks(args) => me::bookmarks(&ctx, &args),
        Command::CheckText { file } => check::check_text(&ctx, &file),
        Command::Codes => check::codes(&ctx),
        Command::Outcome(mut args) => {
            if let Some(file) = &args.text_file {
                args.text = crate::bodytext::resolve("", Some(file))?;
            }
            afterword::outcome(&ctx, &args)
        }
        Command::Accept(args) => afterword::accept(&ctx, &args),
        Command::Answer(args) => afterword::answer(&ctx, &args),
        Command::Edit(mut args) => {
            if let Some(file) = &args.body_file {
                args.body = Some(crate::bodytext::resolve("", Some(file))?);
            }
            edit::edit(&ctx, &args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("/tmp/a-b"), "/tmp/a-b");
        assert_eq!(shell_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
