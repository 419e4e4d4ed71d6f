//! `curbside rules [--rules-version N]`: a root raises the network's rules version from a time
//! (docs/PROTOCOL.md, Rules versions), so that a stricter guard applies
//! from a point every node agrees on.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::rules::{LATEST, RuleSet, RulesChange};
use curbside_protocol::{Body, Event};
use serde_json::json;

use super::Ctx;
use super::network::{node_of_network, root_of_network};
use super::write::Extra;
use crate::args::RulesArgs;
use crate::duration::parse_duration;
use crate::keystore;
use crate::output::{datetime, span};

/// `curbside rules --root-key F [--rules-version N] [--effective-in 1d]`.
pub(crate) fn rules(ctx: &Ctx, args: &RulesArgs) -> anyhow::Result<ExitCode> {
    let version = args.rules_version.unwrap_or(LATEST);
    if version <= 1 || RuleSet::of(version).is_none() {
        bail!("--rules-version {version}: this build can put rules 2 to {LATEST} in force");
    }
    let delay =
        parse_duration(&args.effective_in).map_err(|e| anyhow::anyhow!("--effective-in: {e}"))?;
    let (genesis, store) = root_of_network(&args.root_key, args.genesis.as_deref())?;
    // Ask the node before the passphrase: no typing for a node that is not there.
    let client = node_of_network(ctx, args.submit_to.as_deref(), &genesis)?;
    let prompt = format!("Passphrase for the root key {}: ", args.root_key.display());
    let key = keystore::open_with_passphrase(&prompt, |pass| store.open(pass))?;
    let now = curbside_node::now();
    let effective_at = now.plus_millis(delay);
    let body = Body::Rules(RulesChange { version, effective_at });
    let event = Event::new(genesis.network_id(), key.public(), now, body)
        .sign(&key)
        .context("the root key file's key does not match its public key")?;
    let outcome = client
        .submit(std::slice::from_ref(&event))?
        .into_iter()
        .next()
        .context("the node gave no outcome")?;
    let extra = vec![
        Extra { key: "version", json: json!(version), human: format!("rules {version}") },
        Extra {
            key: "effective_at",
            json: json!(effective_at),
            human: format!("{} (in {})", datetime(effective_at), span(delay)),
        },
    ];
    super::write::report(ctx, &event, &outcome, extra)
}
