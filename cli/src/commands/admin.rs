//! For institution admins: `attest`, `revoke` and `reveal`, with the node's admin
//! token (`--token-file`, else `<--data>/admin.token`, else the
//! development node's).

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::{
    AttestationRequest, Body, Digest, EventId, Jurisdiction, REQUEST_PREFIX, SignedEvent,
    Specialty, limits,
};
use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use crate::args::{AdminTokenArgs, AttestArgs, NodeUrl, RevealArgs, RevokeArgs};
use crate::checks::text_field;
use crate::client::Client;
use crate::home;
use crate::ids;
use crate::output::{datetime, kv};

/// The admin token and a client of the node it belongs to.
///
/// With `--data`, the node reached must be that directory's node: its
/// key is asked for before anything is sent, and another node's answer is
/// refused naming both, so that an attestation is never issued (or an
/// admin call refused as "wrong token") by a node the operator did not
/// mean. The node reached is named on standard error.
pub(super) fn admin_client(
    ctx: &Ctx,
    admin: &AdminTokenArgs,
    node: &NodeUrl,
) -> anyhow::Result<(Client, String)> {
    let source = home::find_admin_token(
        admin.token_file.as_deref(),
        admin.data.as_deref(),
        &ctx.home,
    )
    .with_context(|| {
        format!(
            "no admin token: pass --token-file FILE or --data DIR (the node's data directory); \
                     none was found for a development node under {}",
            ctx.home.dir().display()
        )
    })?;
    let token = home::read_token(&source)?;
    // The node: as named, else the API address in --data's configuration.
    let (url, from) = ctx.node_url_or_data(node.node.as_deref(), admin.data.as_deref())?;
    let client = Client::new(&url)?;
    let status: StatusKey = client.get("/v1/status", None)?;
    if let Some(data) = admin.data.as_deref() {
        let expected = curbside_node::datadir::DataDir::open(data)?.key().public();
        if status.node_key != expected {
            bail!(
                "the node at {url} (from {from}) is node {}, not the node of {} ({}): \
                 is that node running elsewhere? name its API with --node URL, or set api in {}",
                status.node_key.short(),
                data.display(),
                expected.short(),
                data.join("node.toml").display()
            );
        }
    }
    if !ctx.out.json {
        eprintln!("node {} ({}) at {url}", status.node_key.short(), status.network_name);
    }
    Ok((client, token))
}

/// What an admin command reads of `/v1/status` to know whom it reached.
#[derive(Debug, Deserialize)]
struct StatusKey {
    node_key: curbside_protocol::PublicKey,
    network_name: String,
}

/// The API address in `data`'s node.toml, as a URL (a wildcard address
/// asked on loopback).
pub(super) fn data_api_url(data: &Path) -> anyhow::Result<String> {
    let config =
        curbside_node::config::NodeConfig::load(data, &curbside_node::config::Overrides::default())
            .with_context(|| {
                format!("reading the API address in {}", data.join("node.toml").display())
            })?;
    let mut addr = config.api;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("http://{addr}"))
}

/// The request text: given, in a file, or on stdin (`-`).
fn request_text(arg: &str) -> anyhow::Result<String> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the request from standard input")?;
        if s.trim().is_empty() {
            bail!("standard input held no request: pipe in the output of `curbside id request`");
        }
        return Ok(s);
    }
    if arg.trim_start().starts_with(REQUEST_PREFIX) {
        return Ok(arg.to_owned());
    }
    let path = Path::new(arg);
    if path.is_file() {
        return std::fs::read_to_string(path)
            .with_context(|| format!("reading the request from {}", path.display()));
    }
    bail!(
        "{arg:?} is neither a request (it starts with {REQUEST_PREFIX}) nor a file: pass the text `curbside id request` printed, a file holding it, or - to read standard input"
    )
}

/// What the admin calls answer.
#[derive(Debug, Deserialize)]
struct Issued {
    id: EventId,
    event: SignedEvent,
    /// (attest) The validity was cut to the node's charter's end.
    #[serde(default)]
    capped_at_charter_end: bool,
    /// (attest --replace) What it revoked.
    #[serde(default)]
    replaced: Vec<EventId>,
}

/// `curbside attest`.
pub(crate) fn attest(ctx: &Ctx, args: &AttestArgs) -> anyhow::Result<ExitCode> {
    // The flags first: a mistyped specialty is said before the request is
    // read from a pipe or a file.
    let mut specialties: Vec<Specialty> = Vec::new();
    for s in &args.specialty {
        let s = crate::checks::specialty(s)?;
        if !specialties.contains(&s) {
            specialties.push(s);
        }
    }
    if specialties.len() > limits::SPECIALTIES {
        bail!("at most {} specialties", limits::SPECIALTIES);
    }
    let jurisdiction = crate::checks::jurisdiction(&args.jurisdiction)?;
    let text = request_text(&args.request)?;
    let request = AttestationRequest::from_text(&text)?;
    let licence = args.licence.trim();
    if licence.is_empty() {
        bail!("--licence must not be empty");
    }
    if args.valid_days == 0 {
        bail!("--valid-days must be at least 1");
    }
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let issued: Issued = client.post(
        "/v1/admin/attest",
        &json!({
            "request": text.trim(),
            "specialties": specialties,
            "jurisdiction": jurisdiction,
            "licence": licence,
            "valid_days": args.valid_days,
            "replace": args.replace,
        }),
        Some(&token),
    )?;
    let valid_until = match issued.event.body() {
        Body::Attestation(a) => Some(a.valid_until),
        _ => None,
    };
    let mut notes = Vec::new();
    if issued.capped_at_charter_end {
        notes.push((
            "note",
            "valid only until this node's charter ends: ask the root to renew it".to_owned(),
        ));
    }
    for old in &issued.replaced {
        notes.push(("replaced", format!("{old} (revoked)")));
    }
    ctx.out.emit(
        &json!({
            "id": issued.id,
            "subject": request.subject,
            "handle": request.handle,
            "specialties": specialties,
            "jurisdiction": jurisdiction,
            "valid_until": valid_until,
            "capped_at_charter_end": issued.capped_at_charter_end,
            "replaced": issued.replaced,
            "issuer": issued.event.author(),
        }),
        || {
            let mut rows = vec![
                ("attested", format!("{} ({})", request.handle, request.subject.short())),
                ("id", issued.id.to_string()),
                (
                    "specialties",
                    specialties.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                ),
                ("jurisdiction", jurisdiction.to_string()),
                ("valid until", valid_until.map(datetime).unwrap_or_default()),
            ];
            rows.extend(notes);
            kv(&rows)
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside revoke`.
pub(crate) fn revoke(ctx: &Ctx, args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    text_field("--reason", &args.reason, 1, limits::REASON).map_err(anyhow::Error::msg)?;
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let Some(attestation_id) = &args.attestation_id else {
        return revoke_all(ctx, args, &client, &token);
    };
    let target = ids::resolve_with(&client, Some(&token), attestation_id, "ATTESTATION_ID")?;
    let issued: Issued = client.post(
        "/v1/admin/revoke",
        &json!({ "target": target, "reason": args.reason.trim() }),
        Some(&token),
    )?;
    let effective_at = match issued.event.body() {
        Body::Revocation(r) => Some(r.effective_at),
        _ => None,
    };
    ctx.out.emit(
        &json!({
            "id": issued.id,
            "target": target,
            "reason": args.reason.trim(),
            "effective_at": effective_at,
        }),
        || {
            kv(&[
                ("revoked", target.to_string()),
                ("id", issued.id.to_string()),
                ("effective", effective_at.map(datetime).unwrap_or_default()),
            ])
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside revoke --licence L` or `--key K`: every attestation this node
/// has in force for it, in one step.
fn revoke_all(
    ctx: &Ctx,
    args: &RevokeArgs,
    client: &Client,
    token: &str,
) -> anyhow::Result<ExitCode> {
    let mut body = json!({ "reason": args.reason.trim() });
    if let Some(licence) = &args.licence {
        body["licence"] = json!(licence.trim());
        if let Some(j) = &args.jurisdiction {
            body["jurisdiction"] = json!(Jurisdiction::new(j.trim())?);
        }
    }
    if let Some(key) = &args.key {
        body["key"] = json!(key.trim());
    }
    let answer: serde_json::Value = client.post("/v1/admin/revoke-all", &body, Some(token))?;
    let revoked = answer["revoked"].as_array().cloned().unwrap_or_default();
    ctx.out.emit(&answer, || {
        let mut text = format!("revoked {} attestation(s):\n", revoked.len());
        for r in &revoked {
            text.push_str(&format!(
                "  {}  {}  (revocation {})\n",
                r["attestation"].as_str().unwrap_or_default(),
                r["handle"].as_str().unwrap_or_default(),
                r["revocation"].as_str().unwrap_or_default()
            ));
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside attestations`: what this node issued, every page.
pub(crate) fn attestations(
    ctx: &Ctx,
    args: &crate::args::AttestationsArgs,
) -> anyhow::Result<ExitCode> {
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let mut query: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            query.push((k.to_owned(), v));
        }
    };
    put("handle", args.handle.clone());
    put("key", args.key.clone());
    put("licence", args.licence.clone());
    put("jurisdiction", args.jurisdiction.clone());
    put("status", args.status.clone());
    put(
        "expiring_before",
        args.expiring_within.map(|d| curbside_node::now().plus_days(d).as_millis().to_string()),
    );
    let mut all: Vec<serde_json::Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = query.clone();
        q.push(("limit".into(), "200".into()));
        if let Some(a) = &after {
            q.push(("after".into(), a.clone()));
        }
        let encoded: Vec<String> =
            q.iter().map(|(k, v)| format!("{k}={}", crate::client::encode_query(v))).collect();
        let page: serde_json::Value =
            client.get(&format!("/v1/admin/attestations?{}", encoded.join("&")), Some(&token))?;
        all.extend(page["attestations"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    ctx.out.emit(&json!({ "attestations": all }), || {
        if all.is_empty() {
            return "no attestation matches".to_owned();
        }
        let mut text = format!(
            "{:<16}  {:<20} {:<16} {:<8} {:<14} {:<10} {:<10}  {}\n",
            "ID", "HANDLE", "KEY", "JURIS", "LICENCE", "ISSUED", "UNTIL", "STATUS"
        );
        let day = |v: &serde_json::Value| {
            v.as_u64()
                .map(|ms| crate::output::date(curbside_protocol::Timestamp::from_millis(ms)))
                .unwrap_or_default()
        };
        for a in &all {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
            text.push_str(&format!(
                "{:<16}  {:<20} {:<16} {:<8} {:<14} {:<10} {:<10}  {}\n",
                s("id").get(..16).unwrap_or_default(),
                s("handle"),
                s("key").get(..16).unwrap_or_default(),
                s("jurisdiction"),
                s("licence"),
                day(&a["issued_at"]),
                day(&a["valid_until"]),
                s("standing"),
            ));
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `GET /v1/admin/openings/{id}`.
#[derive(Debug, Deserialize)]
struct Opening {
    attestation: EventId,
    salt: Digest,
    jurisdiction: Jurisdiction,
    licence: String,
    commitment: Digest,
}

/// `curbside reveal ATTESTATION_ID`: the opening of the licence
/// commitment, which only the issuing node holds, for a regulator who is
/// to check it against the register (`curbside audit open`).
pub(crate) fn reveal(ctx: &Ctx, args: &RevealArgs) -> anyhow::Result<ExitCode> {
    let (client, token) = admin_client(ctx, &args.admin, &args.node)?;
    let Some(asked) = args.attestation_id.as_deref() else {
        return reveal_all(ctx, &client, &token, args.out.as_deref());
    };
    let id = ids::resolve_with(&client, Some(&token), asked, "ATTESTATION_ID")?;
    let opening: Opening = client.get(&format!("/v1/admin/openings/{id}"), Some(&token))?;
    if opening.attestation != id {
        bail!(
            "the node answered with the opening of another attestation ({})",
            opening.attestation
        );
    }
    ctx.out.emit(
        &json!({
            "attestation": opening.attestation,
            "salt": opening.salt,
            "jurisdiction": opening.jurisdiction,
            "licence": opening.licence,
            "commitment": opening.commitment,
        }),
        || {
            let mut text = kv(&[
                ("attestation", opening.attestation.to_string()),
                ("jurisdiction", opening.jurisdiction.to_string()),
                ("licence", opening.licence.clone()),
                ("salt", opening.salt.to_string()),
                ("commitment", opening.commitment.to_string()),
            ]);
            text.push_str(&format!(
                "\nThis identifies a physician: give it only to the regulator who asked. They check it with\n  \
                 curbside audit open {id} --licence {} --salt {}\n",
                super::shell_word(&opening.licence),
                opening.salt
            ));
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Openings asked for per page of `GET /v1/admin/openings` (its largest).
const OPENINGS_PAGE: usize = 1_000;

/// A page of `GET /v1/admin/openings`.
#[derive(Debug, Deserialize)]
struct OpeningsPage {
    openings: Vec<serde_json::Value>,
    next: Option<EventId>,
}

/// `curbside reveal --all [--out FILE]`: every attestation this node
/// issued with its licence opening, one JSON object a line (the format is
/// in cli/README.md), read from the node a page at a time and written as
/// it comes: to standard output, or to FILE (mode 0600: it identifies
/// physicians), which appears only once it is whole and synced.
fn reveal_all(
    ctx: &Ctx,
    client: &Client,
    token: &str,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let issuer = client.get::<StatusKey>("/v1/status", None)?.node_key;
    let Some(path) = out else {
        let mut stdout = std::io::stdout().lock();
        export_openings(client, token, &issuer, &mut stdout)?;
        stdout.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A temporary file in the same directory is made with mode 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let count = {
        let mut writer = std::io::BufWriter::new(file.as_file_mut());
        let count = export_openings(client, token, &issuer, &mut writer)?;
        writer.flush().with_context(|| format!("writing {}", path.display()))?;
        count
    };
    file.as_file().sync_all().with_context(|| format!("writing {}", path.display()))?;
    file.persist(path).with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    ctx.out.emit(&json!({ "openings": count, "out": path, "issuer": issuer }), || {
        format!(
            "{count} opening(s) of attestations issued by node {} written to {} (mode 0600).\n\
             They identify physicians: give the file only to the regulator who asked. They check \
             it with\n  curbside audit licences --openings {} --register REGISTER.csv\n",
            issuer.short(),
            path.display(),
            super::shell_word(&path.display().to_string())
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Writes every opening the node serves to `out`, a line each, page by
/// page; how many.
fn export_openings(
    client: &Client,
    token: &str,
    issuer: &curbside_protocol::PublicKey,
    out: &mut impl std::io::Write,
) -> anyhow::Result<usize> {
    let mut count = 0usize;
    let mut after: Option<EventId> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/v1/admin/openings?limit={OPENINGS_PAGE}&after={id}"),
            None => format!("/v1/admin/openings?limit={OPENINGS_PAGE}"),
        };
        let page: OpeningsPage = client.get(&path, Some(token))?;
        for opening in page.openings {
            serde_json::to_writer(&mut *out, &export_line(opening, issuer))?;
            out.write_all(b"\n")?;
            count += 1;
        }
        match page.next {
            // Ids only grow: a cursor that does not is not followed (no loop).
            Some(next) if after.is_none_or(|a| next > a) => after = Some(next),
            _ => return Ok(count),
        }
    }
}

/// An opening as `GET /v1/admin/openings` serves it, as the export
/// writes it: with the issuing node's key, and `revoked` as
/// `{"effective_at", "reason"}` or null.
fn export_line(
    mut opening: serde_json::Value,
    issuer: &curbside_protocol::PublicKey,
) -> serde_json::Value {
    let revoked = match (opening.get("revoked_at"), opening.get("revocation_reason")) {
        (Some(at), reason) if !at.is_null() => {
            json!({ "effective_at": at, "reason": reason.cloned().unwrap_or_default() })
        }
        _ => serde_json::Value::Null,
    };
    if let Some(fields) = opening.as_object_mut() {
        fields.remove("revoked_at");
        fields.remove("revocation_reason");
        fields.insert("issuer".into(), json!(issuer));
        fields.insert("revoked".into(), revoked);
    }
    opening
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_come_as_text_or_files() {
        assert_eq!(request_text("curbside-request-v1:abc").unwrap(), "curbside-request-v1:abc");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("req.txt");
        std::fs::write(&file, "curbside-request-v1:xyz\n").unwrap();
        assert_eq!(request_text(file.to_str().unwrap()).unwrap(), "curbside-request-v1:xyz\n");
        let err = request_text("hello").unwrap_err().to_string();
        assert!(err.contains("neither a request"), "{err}");
    }

    #[test]
    fn an_exported_line_names_its_issuer_and_its_revocation() {
        let issuer = curbside_protocol::SecretKey::from_seed(&[3; 32]).public();
        let served = json!({
            "attestation": "ab", "licence": "GMC 1", "salt": "cd",
            "revoked_at": 5, "revocation_reason": "licence suspended",
        });
        let line = export_line(served, &issuer);
        assert_eq!(line["issuer"], json!(issuer));
        assert_eq!(line["revoked"], json!({ "effective_at": 5, "reason": "licence suspended" }));
        assert!(line.get("revoked_at").is_none() && line.get("revocation_reason").is_none());
        assert_eq!((&line["licence"], &line["salt"]), (&json!("GMC 1"), &json!("cd")));
        let in_force = export_line(json!({ "attestation": "ab", "revoked_at": null }), &issuer);
        assert!(in_force["revoked"].is_null(), "{in_force}");
    }
}
