//! `curbside admin`: the institution's operators as people. Each member of
//! staff gets a credential of their own (`add`, shown once), `list` shows
//! who may act and `revoke` stops one; `log` reads the node's record of
//! every admin call: who, when, what, and how it ended.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::Timestamp;
use serde_json::{Value, json};

use super::Ctx;
use super::admin::admin_client;
use crate::args::{AdminAddArgs, AdminCommand, AdminListArgs, AdminLogArgs, AdminRevokeArgs};
use crate::client::encode_query;
use crate::output::{datetime, kv};

/// Runs `curbside admin ...`.
pub(crate) fn run(ctx: &Ctx, command: &AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Add(args) => add(ctx, args),
        AdminCommand::List(args) => list(ctx, args),
        AdminCommand::Revoke(args) => revoke(ctx, args),
        AdminCommand::Log(args) => log(ctx, args),
    }
}

fn when(v: &Value) -> String {
    v.as_u64().map(|ms| datetime(Timestamp::from_millis(ms))).unwrap_or_else(|| "-".into())
}

/// `curbside admin add NAME`.
fn add(ctx: &Ctx, args: &AdminAddArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out
        && out.exists()
    {
        bail!(
            "{} exists: a credential is never written over a file (it may be someone's); \
             name a new file",
            out.display()
        );
    }
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let made: Value =
        client.post("/v1/admin/operators", &json!({ "name": args.name }), Some(&token))?;
    let credential = zeroize::Zeroizing::new(
        made["credential"].as_str().context("the node answered without a credential")?.to_owned(),
    );
    let name = made["name"].as_str().unwrap_or(&args.name).to_owned();
    let mut answer = json!({ "name": name, "created_at": made["created_at"] });
    match &args.out {
        Some(out) => {
            crate::home::write_private(out, format!("{}\n", credential.as_str()).as_bytes())
                .with_context(|| {
                    format!(
                        "operator {name} was made, but their credential could not be written \
                         to {}: revoke it (`curbside admin revoke {name}`) and add them under \
                         another name",
                        out.display()
                    )
                })?;
            answer["file"] = json!(out);
        }
        None => answer["credential"] = json!(credential.as_str()),
    }
    ctx.out.emit(&answer, || {
        let mut text = match &args.out {
            Some(out) => kv(&[
                ("operator", name.clone()),
                ("credential", format!("written to {} (mode 0600)", out.display())),
            ]),
            None => kv(&[("operator", name.clone()), ("credential", credential.to_string())]),
        };
        text.push_str(&format!(
            "\nShown this once: the node keeps only its hash. {name} passes it with \
             --token-file FILE; their admin calls are logged under their name.\n"
        ));
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside admin list`.
fn list(ctx: &Ctx, args: &AdminListArgs) -> anyhow::Result<ExitCode> {
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let listed: Value = client.get("/v1/admin/operators", Some(&token))?;
    let operators = listed["operators"].as_array().cloned().unwrap_or_default();
    ctx.out.emit(&listed, || {
        let mut text = format!(
            "{:<20} {:<20} {:<12} {:<20} {}\n",
            "NAME", "CREATED", "BY", "LAST USED", "REVOKED"
        );
        for o in &operators {
            let name = o["name"].as_str().unwrap_or_default();
            let created = if o["builtin"] == true {
                "(admin.token)".to_owned()
            } else {
                when(&o["created_at"])
            };
            let revoked = match o["revoked_at"].as_u64() {
                Some(_) => format!(
                    "{} by {}",
                    when(&o["revoked_at"]),
                    o["revoked_by"].as_str().unwrap_or("?")
                ),
                None => "-".into(),
            };
            text.push_str(&format!(
                "{:<20} {:<20} {:<12} {:<20} {}\n",
                name,
                created,
                o["created_by"].as_str().unwrap_or("-"),
                when(&o["last_used"]),
                revoked
            ));
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside admin revoke NAME`.
fn revoke(ctx: &Ctx, args: &AdminRevokeArgs) -> anyhow::Result<ExitCode> {
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let path = format!("/v1/admin/operators/{}/revoke", encode_query(&args.name));
    let revoked: Value = client.post(&path, &json!({}), Some(&token))?;
    ctx.out.emit(&revoked, || {
        kv(&[
            ("revoked", args.name.clone()),
            ("at", when(&revoked["revoked_at"])),
            ("by", revoked["revoked_by"].as_str().unwrap_or_default().to_owned()),
        ])
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A log entry's target, for people: `what=value` pairs.
fn target_text(target: &Value) -> String {
    let Some(map) = target.as_object() else { return String::new() };
    let mut parts = Vec::new();
    for (what, value) in map {
        let values = match value {
            Value::Array(values) => values.clone(),
            one => vec![one.clone()],
        };
        for v in values {
            parts.push(format!("{what}={}", v.as_str().unwrap_or_default()));
        }
    }
    parts.join(" ")
}

/// `curbside admin log`: every page, oldest first.
fn log(ctx: &Ctx, args: &AdminLogArgs) -> anyhow::Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(|s| {
            curbside_node::search::query::parse_since(s)
                .map_err(|e| anyhow::anyhow!("--since: {e}"))
        })
        .transpose()?;
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let mut query = vec![("limit".to_owned(), "200".to_owned())];
    if let Some(since) = since {
        query.push(("since".into(), since.as_millis().to_string()));
    }
    if let Some(name) = &args.operator {
        query.push(("operator".into(), name.clone()));
    }
    let mut entries: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = query.clone();
        if let Some(a) = &after {
            q.push(("after".into(), a.clone()));
        }
        let encoded: Vec<String> =
            q.iter().map(|(k, v)| format!("{k}={}", encode_query(v))).collect();
        let page: Value =
            client.get(&format!("/v1/admin/log?{}", encoded.join("&")), Some(&token))?;
        entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    ctx.out.emit(&json!({ "entries": entries }), || {
        if entries.is_empty() {
            return "no admin call recorded matches".to_owned();
        }
        let mut text = format!(
            "{:<20} {:<16} {:<18} {:<22} {}\n",
            "AT", "OPERATOR", "ACTION", "OUTCOME", "TARGET"
        );
        for e in &entries {
            let outcome = match e["code"].as_str() {
                Some(code) => format!("{} {code}", e["status"]),
                None => format!("{} ok", e["status"]),
            };
            text.push_str(&format!(
                "{:<20} {:<16} {:<18} {:<22} {}\n",
                when(&e["at"]),
                e["operator"].as_str().unwrap_or_default(),
                e["action"].as_str().unwrap_or_default(),
                outcome,
                target_text(&e["target"])
            ));
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_pairs_with_lists_spread() {
        let target = json!({ "attestation": ["a1", "a2"], "key": "k1" });
        assert_eq!(target_text(&target), "attestation=a1 attestation=a2 key=k1");
        assert_eq!(target_text(&json!({})), "");
    }
}
