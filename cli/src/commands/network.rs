//! For federation roots: `network new` and `charter`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_node::datadir::{read_genesis, write_genesis};
use curbside_protocol::{
    Body, Charter, Event, Genesis, HubDef, HubId, Jurisdiction, PublicKey, SecretKey, limits,
};
use serde_json::json;

use super::write::Extra;
use super::{Ctx, shell_word};
use crate::checks::text_field;
use crate::client::{Client, EventOutcome};
use crate::keystore::{self, KdfParams, KeyKind, Keystore};
use crate::output::{datetime, kv};

/// `curbside network new --name N --out DIR`.
pub(crate) fn new(
    ctx: &Ctx,
    name: &str,
    out: &Path,
    hubs: &[String],
    min_cell_size: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let key_path = out.join("root.key");
    let genesis_path = out.join("genesis.json");
    for path in [&key_path, &genesis_path] {
        if path.exists() {
            bail!(
                "{} already exists: refusing to overwrite a network; choose another --out DIR",
                path.display()
            );
        }
    }
    // The parameters first: a typo is said before a passphrase is chosen.
    let hubs = hubs.iter().map(|h| hub_def(h)).collect::<anyhow::Result<Vec<HubDef>>>()?;
    if min_cell_size == Some(0) {
        bail!("--min-cell-size 0 would show single voters: use 1 or more (5 is the default)");
    }
    let key = SecretKey::generate();
    let mut genesis = Genesis::current(name.trim(), vec![key.public()], curbside_node::now());
    if !hubs.is_empty() {
        genesis.hubs = hubs;
    }
    if let Some(n) = min_cell_size {
        genesis.params.min_cell_size = n;
    }
    genesis.check().with_context(|| format!("the network {name:?}"))?;
    let pass =
        keystore::new_passphrase("Choose a passphrase for the root key: ", &[&genesis.name])?;
    let store = Keystore::seal(
        &key,
        KeyKind::Root,
        Some(format!("root of {}", genesis.name)),
        &pass,
        KdfParams::from_env(),
    )?;
    store.save(&key_path)?;
    write_genesis(&genesis_path, &genesis)?;

    let network = genesis.network_id();
    ctx.out.emit(
        &json!({
            "network": network,
            "name": genesis.name,
            "root_key": key.public(),
            "root_key_file": key_path,
            "genesis_file": genesis_path,
        }),
        || {
            let mut text = format!("Created the network {:?}.\n\n", genesis.name);
            text.push_str(&kv(&[
                ("network id", network.to_string()),
                ("root key", key.public().to_string()),
                ("root key file", format!("{} (encrypted; keep it offline)", key_path.display())),
                ("genesis", genesis_path.display().to_string()),
            ]));
            text.push_str(&format!(
                "\nNext: give {} to each institution, who runs\n  curbside node init --genesis genesis.json --data DIR\n\
                 and sends you the node key it prints; charter it with\n  curbside charter --root-key {} --node PUBKEY --institution NAME --verify JURISDICTION --valid-days 365\n",
                genesis_path.display(),
                shell_word(&key_path.display().to_string()),
            ));
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A hub as `--hub SLUG=TITLE` gives it.
fn hub_def(text: &str) -> anyhow::Result<HubDef> {
    let Some((slug, title)) = text.split_once('=') else {
        bail!("--hub {text:?}: write it as SLUG=TITLE, e.g. cardiology=Cardiology");
    };
    let id: HubId = slug.trim().parse().map_err(|e| anyhow::anyhow!("--hub {slug:?}: {e}"))?;
    let title = title.trim();
    text_field("the hub's title", title, 1, 80).map_err(anyhow::Error::msg)?;
    Ok(HubDef { id, title: title.to_owned() })
}

/// `curbside hub add SLUG --title T --root-key F`: a root adds a hub to the
/// network (a signed `Hub` event, valid on every node), submitted to a node.
pub(crate) fn add_hub(ctx: &Ctx, args: &crate::args::HubAddArgs) -> anyhow::Result<ExitCode> {
    let def = hub_def(&format!("{}={}", args.hub, args.title))?;
    let (genesis, store) = root_of_network(&args.root_key, args.genesis.as_deref())?;
    if genesis.hubs.iter().any(|h| h.id == def.id) {
        bail!("{} is already a hub of {:?} (from its genesis)", def.id, genesis.name);
    }
    let client = node_of_network(ctx, args.submit_to.as_deref(), &genesis)?;
    let prompt = format!("Passphrase for the root key {}: ", args.root_key.display());
    let key = keystore::open_with_passphrase(&prompt, |pass| store.open(pass))?;
    let event = Event::new(
        genesis.network_id(),
        key.public(),
        curbside_node::now(),
        Body::Hub(def.clone()),
    )
    .sign(&key)
    .context("the root key file's key does not match its public key")?;
    let outcome = client
        .submit(std::slice::from_ref(&event))?
        .into_iter()
        .next()
        .context("the node gave no outcome")?;
    let extra =
        vec![Extra::plain("hub", def.id.as_str()), Extra::plain("title", def.title.as_str())];
    super::write::report(ctx, &event, &outcome, extra)
}

/// `curbside charter`: signs a charter with the network's root key and
/// submits it (or writes it out with `--no-submit`).
pub(crate) fn charter(ctx: &Ctx, args: &crate::args::CharterArgs) -> anyhow::Result<ExitCode> {
    let (node, verify) = charter_terms(args)?;
    let (genesis, store) = root_of_network(&args.root_key, args.genesis.as_deref())?;
    let network = genesis.network_id();
    // Ask the node before the passphrase: no typing for a node that is not there.
    let client = if args.no_submit {
        None
    } else {
        Some(node_of_network(ctx, args.submit_to.as_deref(), &genesis)?)
    };
    let prompt = format!("Passphrase for the root key {}: ", args.root_key.display());
    let key = keystore::open_with_passphrase(&prompt, |pass| store.open(pass))?;
    let now = curbside_node::now();
    let valid_until = now.plus_days(args.valid_days);
    let body = Body::Charter(Charter {
        node,
        institution: args.institution.trim().to_owned(),
        verify: verify.clone(),
        valid_until,
    });
    let event = Event::new(network, key.public(), now, body)
        .sign(&key)
        .context("the root key file's key does not match its public key")?;
    let wire = serde_json::to_value(&event)?;
    if let Some(out) = &args.out {
        let text = wire.as_str().unwrap_or_default();
        std::fs::write(out, format!("{text}\n"))
            .with_context(|| format!("writing the charter to {}", out.display()))?;
    }
    let verify_text = if verify.is_empty() {
        "(relay only)".to_owned()
    } else {
        verify.iter().map(|j| j.as_str()).collect::<Vec<_>>().join(", ")
    };
    let extra = vec![
        Extra::plain("node", node),
        Extra::plain("institution", args.institution.trim()),
        Extra { key: "verify", json: json!(verify), human: verify_text },
        Extra { key: "valid_until", json: json!(valid_until), human: datetime(valid_until) },
    ];
    match client {
        Some(client) => {
            let outcome = client
                .submit(std::slice::from_ref(&event))?
                .into_iter()
                .next()
                .context("the node gave no outcome")?;
            super::write::report(ctx, &event, &outcome, extra)
        }
        None => report_unsubmitted(ctx, args, &event, &extra),
    }
}

/// The charter's terms from the flags, checked before anything is read:
/// the node's key and the jurisdictions it may verify in (deduplicated).
fn charter_terms(
    args: &crate::args::CharterArgs,
) -> anyhow::Result<(PublicKey, Vec<Jurisdiction>)> {
    if args.verify.is_empty() && !args.relay {
        anyhow::bail!(
            "a charter without --verify makes a relay, a node that attests no one: pass \
             --verify JURISDICTION... for a verifying institution, or --relay if a relay is meant"
        );
    }
    let node: PublicKey = args.node_key.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "--node {:?} is not a node's public key: use the 64 hex characters `curbside node init` printed",
            args.node_key
        )
    })?;
    text_field("--institution", &args.institution, 1, limits::NAME).map_err(anyhow::Error::msg)?;
    let mut verify: Vec<Jurisdiction> = Vec::new();
    for j in &args.verify {
        let j = crate::checks::jurisdiction(j)?;
        if !verify.contains(&j) {
            verify.push(j);
        }
    }
    if verify.len() > limits::JURISDICTIONS {
        bail!("at most {} --verify jurisdictions", limits::JURISDICTIONS);
    }
    if args.valid_days == 0 {
        bail!("--valid-days must be at least 1");
    }
    Ok((node, verify))
}

/// The genesis (`--genesis`, or `genesis.json` beside the root key) and the
/// root key file, which must hold a root key of that network.
pub(crate) fn root_of_network(
    root_key: &Path,
    genesis: Option<&Path>,
) -> anyhow::Result<(Genesis, Keystore)> {
    let genesis_path = match genesis {
        Some(p) => p.to_path_buf(),
        None => root_key.parent().unwrap_or(Path::new(".")).join("genesis.json"),
    };
    let genesis = read_genesis(&genesis_path).with_context(|| {
        format!("reading the genesis {} (name it with --genesis FILE)", genesis_path.display())
    })?;
    let store = Keystore::load(root_key)?;
    if store.kind() != KeyKind::Root {
        bail!("{} holds a {} key, not a root key", root_key.display(), store.kind());
    }
    if !genesis.is_root(&store.public_key()) {
        bail!(
            "the key in {} is not a root of the network {:?} ({}): use that network's root key or genesis",
            root_key.display(),
            genesis.name,
            genesis_path.display()
        );
    }
    Ok((genesis, store))
}

/// The node to submit to (`--submit-to`), which must belong to `genesis`'s
/// network.
pub(crate) fn node_of_network(
    ctx: &Ctx,
    submit_to: Option<&str>,
    genesis: &Genesis,
) -> anyhow::Result<Client> {
    let network = genesis.network_id();
    let client = ctx.client(submit_to)?;
    let status = client.status()?;
    if status.network != network {
        bail!(
            "the node at {} belongs to the network {:?} ({}), not {:?} ({}): name the right node with --submit-to URL",
            client.url(),
            status.network_name,
            status.network.short(),
            genesis.name,
            network.short()
        );
    }
    Ok(client)
}

/// Reports a charter signed with `--no-submit`: where it was written.
fn report_unsubmitted(
    ctx: &Ctx,
    args: &crate::args::CharterArgs,
    event: &curbside_protocol::SignedEvent,
    extra: &[Extra],
) -> anyhow::Result<ExitCode> {
    let mut fields = serde_json::Map::new();
    fields.insert("id".into(), json!(event.id()));
    fields.insert("kind".into(), json!("charter"));
    fields.insert("status".into(), json!("signed"));
    if let Some(out) = &args.out {
        fields.insert("out".into(), json!(out));
    }
    for e in extra {
        fields.insert(e.key.into(), e.json.clone());
    }
    ctx.out.emit(&fields, || {
        kv(&[
            ("id", event.id().to_string()),
            ("kind", "charter".into()),
            (
                "status",
                format!(
                    "signed, not submitted; written to {}",
                    args.out.as_deref().unwrap_or(Path::new("-")).display()
                ),
            ),
        ])
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside submit FILE`: sends signed events made elsewhere (a root's
/// offline machine writes a charter with `--no-submit --out FILE`) to a
/// node, one outcome each; exit 1 if any was refused.
pub(crate) fn submit(ctx: &Ctx, args: &crate::args::SubmitArgs) -> anyhow::Result<ExitCode> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading events from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let event: curbside_protocol::SignedEvent = serde_json::from_value(json!(line.trim()))
            .map_err(|e| {
                anyhow::anyhow!(
                    "line {} of {} is not a signed event (base64url, as --out writes): {e}",
                    n + 1,
                    args.file.display()
                )
            })?;
        events.push(event);
    }
    anyhow::ensure!(!events.is_empty(), "{} holds no event", args.file.display());
    anyhow::ensure!(
        events.len() <= 100,
        "{} holds {} events: send at most 100 at a time",
        args.file.display(),
        events.len()
    );
    let client = ctx.client(args.node.node.as_deref())?;
    let outcomes = client.submit(&events)?;
    if let ([event], [outcome]) = (events.as_slice(), outcomes.as_slice()) {
        return super::write::report(ctx, event, outcome, Vec::new());
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .zip(&outcomes)
        .map(|(event, outcome)| {
            let mut row = json!({
                "id": event.id(),
                "kind": event.kind().as_str(),
                "status": outcome.status(),
            });
            if let EventOutcome::Rejected { code, message, .. } = outcome {
                row["code"] = json!(code);
                row["message"] = json!(message);
            }
            row
        })
        .collect();
    ctx.out.emit(&json!({ "outcomes": rows }), || {
        rows.iter()
            .map(|r| {
                let why = r["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
                format!(
                    "{}  {:<12} {}{why}",
                    r["id"].as_str().unwrap_or_default(),
                    r["kind"].as_str().unwrap_or_default(),
                    r["status"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let refused = outcomes.iter().any(|o| matches!(o, EventOutcome::Rejected { .. }));
    Ok(if refused { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
