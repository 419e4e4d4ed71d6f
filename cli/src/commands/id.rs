//! A physician's identity: `id new`, `id show`, `id request`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::{AttestationRequest, Handle, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;
use crate::authors;
use crate::client::{Client, ClientError};
use crate::error::Refusal;
use crate::home;
use crate::keystore::{self, KdfParams, KeyKind, Keystore};
use crate::output::{date, kv};
use crate::session::{self, Reader};

/// `curbside id new --handle H`.
pub(crate) fn new(ctx: &Ctx, handle: &str) -> anyhow::Result<ExitCode> {
    let handle = Handle::new(handle.trim())?;
    let path = ctx.home.id_key();
    if path.exists() {
        let existing = Keystore::load(&path).ok();
        bail!(
            "you already have an identity at {}{}: one key per home; use another --home for another identity",
            path.display(),
            existing
                .map(|s| format!(
                    " ({}, key {})",
                    s.label().unwrap_or("no handle"),
                    s.public_key().short()
                ))
                .unwrap_or_default()
        );
    }
    // Judged before anything is made: a weak passphrase leaves no trace.
    let pass = keystore::new_passphrase("Choose a passphrase for your key: ", &[handle.as_str()])?;
    ctx.home.create()?;
    let key = curbside_protocol::SecretKey::generate();
    let store = Keystore::seal(
        &key,
        KeyKind::Physician,
        Some(handle.to_string()),
        &pass,
        KdfParams::from_env(),
    )?;
    store.save(&path)?;
    ctx.out.emit(
        &json!({ "public_key": key.public(), "handle": handle, "key_file": path }),
        || {
            let mut text = kv(&[
                ("public key", key.public().to_string()),
                ("handle", handle.to_string()),
                ("key file", format!("{} (encrypted)", path.display())),
            ]);
            text.push_str(
                "\nNext: `curbside id request` prints a request to give to a verifying institution.\n",
            );
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn require_identity(ctx: &Ctx) -> anyhow::Result<Keystore> {
    session::physician_key(&ctx.home)?.ok_or_else(|| {
        anyhow::anyhow!(
            "there is no identity in {}: create one with `curbside id new --handle H`",
            ctx.home.dir().display()
        )
    })
}

/// One attestation, as `GET /v1/keys/{key}/attestation` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AttestationInfo {
    id: String,
    issuer: PublicKey,
    #[serde(default)]
    handle: Option<String>,
    issued_at: Timestamp,
    valid_until: Timestamp,
    specialties: Vec<String>,
    jurisdiction: String,
    revoked_at: Option<Timestamp>,
    /// How many keys hold an attestation with this handle (absent from
    /// older nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handle_keys: Option<u32>,
    /// Whether validation counts it now (absent from older nodes, which
    /// judged by dates and revocation alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    counts: Option<bool>,
    /// Why it does not count, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_counted: Option<NotCounted>,
}

/// The node's reason an attestation does not count: a stable code and its
/// message.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NotCounted {
    code: String,
    reason: String,
}

impl AttestationInfo {
    /// Whether it lets the key write at `now`: the node's verdict where it
    /// gives one, else by its dates and revocation.
    fn counts(&self, now: Timestamp) -> bool {
        self.counts.unwrap_or_else(|| {
            self.revoked_at.is_none_or(|t| t > now)
                && self.issued_at <= now
                && self.valid_until > now
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AttestationStatus {
    attested: bool,
    attestations: Vec<AttestationInfo>,
}

/// The node's view of `key`: `Ok(None)` when no node answers.
fn attestation_status(
    ctx: &Ctx,
    client: &Client,
    key: &PublicKey,
) -> anyhow::Result<Option<AttestationStatus>> {
    let path = format!("/v1/keys/{key}/attestation");
    let not_attested = || AttestationStatus { attested: false, attestations: Vec::new() };
    let result = Reader::new(client, &ctx.home).and_then(|mut r| r.get::<AttestationStatus>(&path));
    match result {
        Ok(status) => Ok(Some(status)),
        Err(e) => {
            if matches!(e.downcast_ref::<ClientError>(), Some(ClientError::NoNode { .. })) {
                return Ok(None);
            }
            let refused_session = matches!(
                e.downcast_ref::<Refusal>(),
                Some(Refusal::Coded { code, .. }) if code == "not_attested"
            );
            if !refused_session {
                return Err(e);
            }
            // No session for an unattested key; the admin token (a
            // development node's, say) can still show why.
            match home::find_admin_token(None, None, &ctx.home) {
                Some(source) => {
                    let token = home::read_token(&source)?;
                    Ok(Some(client.get(&path, Some(&token)).unwrap_or_else(|_| not_attested())))
                }
                None => Ok(Some(not_attested())),
            }
        }
    }
}

fn describe(a: &AttestationInfo, key: &PublicKey, now: Timestamp) -> String {
    let state = match a.revoked_at {
        Some(t) if t <= now => format!("revoked {}", date(t)),
        Some(t) => format!("revoked from {}", date(t)),
        None if a.valid_until <= now => format!("lapsed {}", date(a.valid_until)),
        None => format!("valid until {}", date(a.valid_until)),
    };
    // Dated and unrevoked, yet not counted: its verifier's log speaks
    // against it (a fork, or an entry missing past the merge window).
    let state = match &a.not_counted {
        Some(why) if a.revoked_at.is_none_or(|t| t > now) && a.valid_until > now => {
            format!("does not count ({}): {}", why.code, why.reason)
        }
        _ => state,
    };
    let mut text = format!(
        "{} ({}) {state}, by {}\nid {}",
        a.specialties.join(", "),
        a.jurisdiction,
        a.issuer.short(),
        a.id
    );
    if let (Some(handle), Some(n @ 2..)) = (&a.handle, a.handle_keys) {
        text.push_str(&format!(
            "\n⚠ {n} keys are attested with the handle {handle}: readers tell yours apart by its key, {}",
            authors::fingerprint(key)
        ));
    }
    text
}

/// `curbside id show`.
pub(crate) fn show(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = require_identity(ctx)?;
    let key = store.public_key();
    let client = ctx.client(node)?;
    let status = attestation_status(ctx, &client, &key)?;
    let now = curbside_node::now();
    ctx.out.emit(
        &json!({
            "public_key": key,
            "handle": store.label(),
            "key_file": ctx.home.id_key(),
            "node": client.url(),
            "node_answers": status.is_some(),
            "attested": status.as_ref().map(|s| s.attested),
            "attestations": status.as_ref().map(|s| &s.attestations),
        }),
        || {
            let mut rows = vec![
                ("public key", key.to_string()),
                ("handle", store.label().unwrap_or("(none)").to_owned()),
                ("key file", ctx.home.id_key().display().to_string()),
            ];
            match &status {
                None => rows.push((
                    "attested",
                    format!("unknown: no node answers at {}", client.url()),
                )),
                Some(s) => {
                    rows.push((
                        "attested",
                        if s.attested {
                            format!("yes, at {}", client.url())
                        } else {
                            format!(
                                "no, at {}: run `curbside id request` and give the text to a verifying institution",
                                client.url()
                            )
                        },
                    ));
                    for a in &s.attestations {
                        rows.push(("attestation", describe(a, &key, now)));
                    }
                }
            }
            kv(&rows)
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside unlock [--for 1h]`: the key opened once and kept open by an
/// agent ([`crate::agent`]) until then.
pub(crate) fn unlock(ctx: &Ctx, args: &crate::args::UnlockArgs) -> anyhow::Result<ExitCode> {
    let open_ms = crate::duration::parse_duration(&args.duration)
        .map_err(|e| anyhow::anyhow!("--for: {e}"))?;
    let most = crate::agent::MAX_OPEN.as_millis() as u64;
    if open_ms > most {
        anyhow::bail!("--for: at most 12h (a key left open longer is a key left open)");
    }
    let store = require_identity(ctx)?;
    let key = session::unlock(&store, &ctx.home)?;
    let until = curbside_node::now().plus_millis(open_ms);
    let agent = crate::agent::start(&ctx.home, &key, until)?;
    ctx.out.emit(
        &json!({ "unlocked": agent.public(), "until": agent.until() }),
        || {
            format!(
                "Your key stays open until {} (`curbside lock` closes it now); commands sign without asking for the passphrase until then.\n",
                crate::output::datetime(agent.until())
            )
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside lock`.
pub(crate) fn lock(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let locked = match crate::agent::Agent::find(&ctx.home) {
        Some(agent) => {
            agent.lock()?;
            true
        }
        None => false,
    };
    ctx.out.emit(&json!({ "locked": locked }), || {
        if locked { "Your key is closed.\n" } else { "No key was open.\n" }.to_string()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `curbside id request`.
pub(crate) fn request(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = require_identity(ctx)?;
    let handle = store
        .label()
        .context("your key file has no handle")
        .and_then(|l| Handle::new(l).context("your key file's handle"))?;
    let client = ctx.client(node)?;
    let status = client.status()?;
    let key = session::unlock(&store, &ctx.home)?;
    let request =
        AttestationRequest::new(status.network, &key, handle.clone(), curbside_node::now());
    let text = request.to_text();
    ctx.out.emit(
        &json!({
            "request": text,
            "subject": key.public(),
            "handle": handle,
            "network": status.network,
            "network_name": status.network_name,
        }),
        || text.clone(),
    )?;
    if !ctx.out.json {
        eprintln!(
            "Give this request to a verifying institution of {:?}; it names your key and handle, nothing else.",
            status.network_name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The attestation a key reads and writes under now: of those that
/// count, the one that lasts longest.
fn in_force(attestations: &[AttestationInfo], now: Timestamp) -> Option<&AttestationInfo> {
    attestations.iter().filter(|a| a.counts(now)).max_by_key(|a| a.valid_until)
}

/// `curbside whoami`: who readers see when you write, in a few lines.
pub(crate) fn whoami(ctx: &Ctx, node: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = require_identity(ctx)?;
    let key = store.public_key();
    let client = ctx.client(node)?;
    let status = attestation_status(ctx, &client, &key)?;
    let now = curbside_node::now();
    let current = status.as_ref().and_then(|s| in_force(&s.attestations, now));
    ctx.out.emit(
        &json!({
            "handle": store.label(),
            "public_key": key,
            "fingerprint": authors::fingerprint(&key),
            "node": client.url(),
            "node_answers": status.is_some(),
            "attested": current.is_some(),
            "attestation": current.map(|a| &a.id),
            "specialties": current.map(|a| &a.specialties),
            "jurisdiction": current.map(|a| &a.jurisdiction),
            "verifier": current.map(|a| a.issuer),
            "valid_until": current.map(|a| a.valid_until),
        }),
        || {
            let handle = store.label().unwrap_or("(no handle)");
            let mut text = format!("{handle} (key {})\n", authors::fingerprint(&key));
            match (&status, current) {
                (None, _) => text.push_str(&format!(
                    "attestation unknown: no node answers at {}\n",
                    client.url()
                )),
                (Some(_), None) => text.push_str(
                    "not attested now: run `curbside id request` and give the text to a \
                     verifying institution (`curbside id show` lists past attestations)\n",
                ),
                (Some(_), Some(a)) => {
                    let left = a.valid_until.as_millis().saturating_sub(now.as_millis());
                    text.push_str(&format!(
                        "{} · {}\nattested by {} until {} (in {})\n",
                        a.specialties.join(", "),
                        a.jurisdiction,
                        a.issuer.short(),
                        date(a.valid_until),
                        crate::output::span(left),
                    ));
                    if let (Some(handle), Some(n @ 2..)) = (&a.handle, a.handle_keys) {
                        text.push_str(&format!(
                            "⚠ {n} keys are attested with the handle {handle}: readers tell yours apart by its key\n"
                        ));
                    }
                }
            }
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attestation_in_force_is_unrevoked_unlapsed_and_lasts_longest() {
        let now = Timestamp::from_millis(1_000_000);
        let at = |valid_until: u64, revoked_at: Option<u64>| AttestationInfo {
            id: format!("{valid_until}"),
            issuer: curbside_protocol::SecretKey::from_seed(&[1; 32]).public(),
            handle: Some("dr-a".into()),
            issued_at: Timestamp::from_millis(0),
            valid_until: Timestamp::from_millis(valid_until),
            specialties: vec!["cardiology".into()],
            jurisdiction: "GB".into(),
            revoked_at: revoked_at.map(Timestamp::from_millis),
            handle_keys: Some(1),
            counts: None,
            not_counted: None,
        };
        let list = [at(900_000, None), at(3_000_000, Some(500_000)), at(2_000_000, None)];
        assert_eq!(in_force(&list, now).map(|a| a.id.as_str()), Some("2000000"));
        // Revoked from a time still to come: in force until then.
        let list = [at(3_000_000, Some(2_000_000))];
        assert_eq!(in_force(&list, now).map(|a| a.id.as_str()), Some("3000000"));
        assert!(in_force(&[at(900_000, None)], now).is_none());
        // The node's verdict wins over the dates: an attestation issued
        // after its verifier forked its log does not count, whatever its dates.
        let mut forked = at(5_000_000, None);
        forked.counts = Some(false);
        forked.not_counted = Some(NotCounted {
            code: "verifier_forked".into(),
            reason: "issued after its verifier forked its log".into(),
        });
        let list = [forked.clone(), at(2_000_000, None)];
        assert_eq!(in_force(&list, now).map(|a| a.id.as_str()), Some("2000000"));
        let key = curbside_protocol::SecretKey::from_seed(&[2; 32]).public();
        assert!(describe(&forked, &key, now).contains("does not count (verifier_forked)"));
    }
}
