//! `curbside audit list VERIFIER`: the attestations in one verifier's log
//! — id, handle, specialties, jurisdiction, issued, expiry, and revoked
//! with the reason and date — read from the log itself.
//!
//! What is listed is what was checked: the leaves are fetched page by
//! page and judged exactly as `audit verify` judges them (every leaf's
//! signature and validity, their root against the latest signed head, the
//! heads against each other, the log against the head this auditor saved,
//! the nodes against each other), and the rows are taken from those same
//! leaves. A log with any finding is refused with the finding's code, not
//! listed: a list from a log that does not check would be the node's word.
//! Only leaves the latest signed head covers are listed.

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use curbside_protocol::audit::{Auditor, Finding, FindingCode, HeadRef, Options};
use curbside_protocol::{
    Body, EventId, Genesis, Handle, Jurisdiction, PublicKey, SignedEvent, Specialty, Timestamp,
};
use serde::Serialize;
use serde_json::json;

use super::fetch;
use super::state::{self, State};
use super::{
    Ctx, GenesisSource, Node, NodeLogs, VerifierArg, audit_verifier, choose_genesis, node_urls,
    reach, read_nodes,
};
use crate::args::AuditListArgs;
use crate::error::Refusal;
use crate::output::{date, datetime, truncate};

/// What one leaf of a verifier's log says, kept for the list.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    /// An attestation.
    Attestation(Row),
    /// A revocation of `target`.
    Revocation { index: u64, target: EventId, reason: String, effective_at: Timestamp },
}

impl Entry {
    /// What the event at leaf `index` says, if it is an attestation or a
    /// revocation (whether it is valid is the auditor's to judge).
    pub(super) fn of(index: u64, event: &SignedEvent) -> Option<Entry> {
        match event.body() {
            Body::Attestation(a) => Some(Entry::Attestation(Row {
                index,
                id: event.id(),
                key: a.subject,
                handle: a.handle.clone(),
                specialties: a.specialties.clone(),
                jurisdiction: a.jurisdiction.clone(),
                issued_at: event.created_at(),
                valid_until: a.valid_until,
                revoked: None,
                standing: Standing::Active,
            })),
            Body::Revocation(r) => Some(Entry::Revocation {
                index,
                target: r.target,
                reason: r.reason.clone(),
                effective_at: r.effective_at,
            }),
            _ => None,
        }
    }
}

/// Whether a listed attestation is in force now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Standing {
    /// Neither revoked (as of now) nor lapsed.
    Active,
    /// A revocation in the log took effect.
    Revoked,
    /// Its `valid_until` has passed.
    Expired,
}

/// A revocation in the log.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Revoked {
    /// When it takes effect.
    pub(super) effective_at: Timestamp,
    /// Why, as the verifier wrote it.
    pub(super) reason: String,
}

/// One attestation in the list.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Row {
    /// Its leaf's index in the log.
    pub(super) index: u64,
    /// The attestation's id.
    pub(super) id: EventId,
    /// The physician's key.
    pub(super) key: PublicKey,
    pub(super) handle: Handle,
    pub(super) specialties: Vec<Specialty>,
    pub(super) jurisdiction: Jurisdiction,
    /// When it was issued (the attestation's own time).
    pub(super) issued_at: Timestamp,
    /// Its expiry.
    pub(super) valid_until: Timestamp,
    /// Its earliest revocation in the log.
    pub(super) revoked: Option<Revoked>,
    pub(super) standing: Standing,
}

/// The attestations among `entries` that the first `size` leaves hold,
/// in log order, each with its earliest revocation among those leaves and
/// its standing at `now`.
pub(super) fn rows(entries: Vec<Entry>, size: u64, now: Timestamp) -> Vec<Row> {
    let mut revocations: HashMap<EventId, Revoked> = HashMap::new();
    let mut rows = Vec::new();
    for entry in entries {
        match entry {
            Entry::Attestation(row) if row.index < size => rows.push(row),
            Entry::Revocation { index, target, reason, effective_at } if index < size => {
                let slot = revocations
                    .entry(target)
                    .or_insert_with(|| Revoked { effective_at, reason: reason.clone() });
                if effective_at < slot.effective_at {
                    *slot = Revoked { effective_at, reason };
                }
            }
            _ => {}
        }
    }
    rows.sort_by_key(|r| r.index);
    for row in &mut rows {
        row.revoked = revocations.remove(&row.id);
        row.standing = match &row.revoked {
            Some(r) if r.effective_at <= now => Standing::Revoked,
            _ if row.valid_until <= now => Standing::Expired,
            _ => Standing::Active,
        };
    }
    rows
}

/// The refusal of a log that does not check: its first finding's code,
/// and every finding's code and message.
fn refused(verifier: &PublicKey, findings: &[Finding]) -> anyhow::Error {
    let code = findings.first().map_or(FindingCode::NodeUnreachable, |f| f.code);
    let mut codes: Vec<String> = findings.iter().map(|f| f.code.to_string()).collect();
    codes.dedup();
    let first = findings.first().map(|f| f.message.clone()).unwrap_or_default();
    Refusal::Coded {
        code: code.to_string(),
        message: format!(
            "the log of verifier {} does not check ({}: {}), so nothing is listed from it: {first}. \
             `curbside audit verify --verifier {} --node URL` shows the evidence",
            verifier.short(),
            findings.len(),
            codes.join(", "),
            verifier.short()
        ),
    }
    .into()
}

/// The verifiers' logs as the nodes named serve them, with what is
/// needed to check each as `audit verify` does; read-only (no head is
/// saved under --home).
pub(super) struct Logs {
    now: Timestamp,
    pub(super) urls: Vec<String>,
    saved: Option<State>,
    pub(super) genesis: Genesis,
    source: GenesisSource,
    nodes: Vec<Node>,
    auditor: Auditor,
    /// What reaching and reading the nodes found (a node unreachable…).
    findings: Vec<Finding>,
}

/// One verifier's attestations, from its log, which checked.
pub(super) struct Listing {
    pub(super) verifier: PublicKey,
    pub(super) institution: Option<String>,
    /// The node whose leaves the rows come from (it showed the latest head).
    pub(super) shown_by: Option<String>,
    pub(super) size: u64,
    pub(super) head: Option<HeadRef>,
    pub(super) rows: Vec<Row>,
}

impl Logs {
    /// Reaches the nodes at `urls` and chooses the genesis (`file`, else
    /// the one pinned under `ctx`'s home, else the first node's).
    pub(super) fn read(
        ctx: &Ctx,
        urls: Vec<String>,
        file: Option<&PathBuf>,
    ) -> anyhow::Result<Self> {
        let now = curbside_node::now();
        let saved = State::load(&state::path(&ctx.home))?;
        let (answered, mut findings) = reach(&urls)?;
        let first = answered.first().map(|(c, g)| (c.url(), g));
        let Some((genesis, source)) = choose_genesis(file, saved.as_ref(), first)? else {
            let message = findings.first().map(|f| f.message.clone()).unwrap_or_default();
            return Err(Refusal::Coded {
                code: FindingCode::NodeUnreachable.to_string(),
                message: format!("no node could be read ({message}): name one with --node URL"),
            }
            .into());
        };
        let (nodes, trust) = read_nodes(answered, genesis.network_id(), &mut findings);
        let auditor = Auditor::new(genesis.clone(), fetch::union(trust), now);
        Ok(Self { now, urls, saved, genesis, source, nodes, auditor, findings })
    }

    /// Every verifier a node lists a log of or a charter names.
    pub(super) fn verifiers(&self) -> BTreeSet<PublicKey> {
        let mut all: BTreeSet<PublicKey> =
            self.nodes.iter().flat_map(|n| n.logs.iter().map(|l| l.verifier)).collect();
        all.extend(self.auditor.chartered());
        all
    }

    /// The verifier `asked` names (a key or a unique prefix).
    fn resolve(&self, asked: VerifierArg) -> anyhow::Result<PublicKey> {
        let listed: BTreeSet<PublicKey> =
            self.nodes.iter().flat_map(|n| n.logs.iter().map(|l| l.verifier)).collect();
        let chartered = self.auditor.chartered();
        let verifier = asked.resolve(&listed, &chartered)?;
        if !listed.contains(&verifier) && !chartered.contains(&verifier) {
            bail!(
                "no node read lists a log of {verifier}, and no charter names it: is it a verifier \
                 of this network? `curbside audit verify` lists every verifier's log"
            );
        }
        Ok(verifier)
    }

    /// `verifier`'s attestations, read from its log at every node and
    /// checked as `audit verify` checks it; refused with the first
    /// finding's code if anything was found.
    pub(super) fn list(&self, verifier: PublicKey, show_progress: bool) -> anyhow::Result<Listing> {
        let options = Options {
            previous: self.saved.as_ref().and_then(|s| s.previous(&verifier)),
            quorum: None,
        };
        let NodeLogs { logs, findings: failed, entries } =
            audit_verifier(&self.auditor, &self.nodes, &verifier, &options, show_progress, true);
        let report = self.auditor.combine(&verifier, logs, None);
        let mut findings = self.findings.clone();
        findings.extend(failed);
        findings.extend(report.findings.iter().cloned());
        if !findings.is_empty() {
            return Err(refused(&verifier, &findings));
        }
        let latest = report.latest.map(|h| h.id);
        let shown_by = report
            .nodes
            .iter()
            .find(|n| latest.is_some() && n.latest.map(|h| h.id) == latest)
            .map(|n| n.node.clone());
        let entries = shown_by
            .as_ref()
            .and_then(|url| entries.into_iter().find(|(u, _)| u == url))
            .map(|(_, e)| e)
            .unwrap_or_default();
        Ok(Listing {
            verifier,
            institution: report.institution.clone(),
            shown_by,
            size: report.size,
            head: report.latest,
            rows: rows(entries, report.size, self.now),
        })
    }
}

/// `curbside audit list VERIFIER [--node URL...] [--genesis FILE]`.
pub(crate) fn list(ctx: &Ctx, args: &AuditListArgs) -> anyhow::Result<ExitCode> {
    let asked = VerifierArg::parse(&args.verifier)?;
    let logs = Logs::read(ctx, node_urls(ctx, &args.nodes)?, args.genesis.as_ref())?;
    let verifier = logs.resolve(asked)?;
    let show_progress = !ctx.out.json && std::io::stderr().is_terminal();
    let Listing { institution, shown_by, size, head, rows, .. } =
        logs.list(verifier, show_progress)?;
    let (genesis, source, urls) = (&logs.genesis, &logs.source, &logs.urls);
    let revoked = rows.iter().filter(|r| r.revoked.is_some()).count();

    ctx.out.emit(
        &json!({
            "verifier": verifier,
            "institution": institution,
            "network": genesis.network_id(),
            "genesis": source,
            "nodes": urls,
            "shown_by": shown_by,
            "size": size,
            "head": head,
            "count": rows.len(),
            "revoked": revoked,
            "attestations": rows,
        }),
        || {
            let mut text = format!(
                "{} ({}): {} attestation(s), {revoked} revoked, in the {} leaves its latest \
                 signed head covers\n",
                institution.as_deref().unwrap_or("no charter held"),
                verifier.short(),
                rows.len(),
                size,
            );
            match head {
                Some(head) => text.push_str(&format!(
                    "Head {} signed {}, checked at {} node(s) as `audit verify` checks it; \
                     genesis from {} {}\n",
                    head.id.short(),
                    datetime(head.created_at),
                    urls.len(),
                    source.source,
                    source.from
                )),
                None => {
                    text.push_str("No node shows a signed head of this log: nothing to list.\n")
                }
            }
            if rows.is_empty() {
                return text;
            }
            text.push_str(&format!(
                "\n{:<16}  {:<20} {:<18} {:<6} {:<10} {:<10}  {}\n",
                "ID", "HANDLE", "SPECIALTY", "JURIS", "ISSUED", "EXPIRY", "REVOKED"
            ));
            for row in &rows {
                let specialties =
                    row.specialties.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                let revoked = match &row.revoked {
                    Some(r) => format!("{} {}", date(r.effective_at), r.reason),
                    None if row.standing == Standing::Expired => "(expired)".to_owned(),
                    None => "-".to_owned(),
                };
                text.push_str(&format!(
                    "{:<16}  {:<20} {:<18} {:<6} {:<10} {:<10}  {}\n",
                    row.id.short(),
                    truncate(row.handle.as_str(), 20),
                    truncate(&specialties, 18),
                    row.jurisdiction.to_string(),
                    date(row.issued_at),
                    date(row.valid_until),
                    revoked
                ));
            }
            text
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attestation(index: u64, id: u8, valid_until: u64) -> Entry {
        Entry::Attestation(Row {
            index,
            id: EventId::from_bytes([id; 32]),
            key: curbside_protocol::SecretKey::from_seed(&[id; 32]).public(),
            handle: Handle::new(format!("dr-{id}")).unwrap(),
            specialties: vec!["cardiology".parse().unwrap()],
            jurisdiction: "GB".parse().unwrap(),
            issued_at: Timestamp::from_millis(10),
            valid_until: Timestamp::from_millis(valid_until),
            revoked: None,
            standing: Standing::Active,
        })
    }

    fn revocation(index: u64, target: u8, at: u64, reason: &str) -> Entry {
        Entry::Revocation {
            index,
            target: EventId::from_bytes([target; 32]),
            reason: reason.into(),
            effective_at: Timestamp::from_millis(at),
        }
    }

    #[test]
    fn rows_carry_their_earliest_revocation_and_stop_at_the_signed_size() {
        let entries = vec![
            attestation(0, 1, 1_000),
            attestation(1, 2, 1_000),
            revocation(2, 1, 300, "licence suspended"),
            attestation(3, 3, 50),
            revocation(4, 1, 200, "struck off"),
            revocation(5, 2, 900, "later"),
            // Beyond the signed head: not listed, and its revocation does not count.
            attestation(6, 4, 1_000),
            revocation(7, 3, 20, "unsigned"),
        ];
        let rows = rows(entries, 6, Timestamp::from_millis(500));
        let ids: Vec<u8> = rows.iter().map(|r| r.id.as_bytes()[0]).collect();
        assert_eq!(ids, [1, 2, 3]);
        let first = &rows[0];
        assert_eq!(first.standing, Standing::Revoked);
        let revoked = first.revoked.as_ref().unwrap();
        assert_eq!(
            (revoked.effective_at.as_millis(), revoked.reason.as_str()),
            (200, "struck off")
        );
        // A revocation that takes effect later: shown, still active now.
        assert_eq!(rows[1].standing, Standing::Active);
        assert_eq!(rows[1].revoked.as_ref().unwrap().reason, "later");
        // Lapsed, never revoked.
        assert_eq!((rows[2].standing, rows[2].revoked.is_none()), (Standing::Expired, true));
    }

    #[test]
    fn a_refusal_names_the_first_code_and_every_code() {
        let key = curbside_protocol::SecretKey::from_seed(&[9; 32]).public();
        let finding = |code, message: &str| {
            Finding::new(
                code,
                message.to_owned(),
                curbside_protocol::audit::FindingEvidence::default(),
            )
        };
        let err = refused(
            &key,
            &[
                finding(FindingCode::RootMismatch, "leaf 1 changed"),
                finding(FindingCode::SplitView, "two heads"),
            ],
        );
        assert_eq!(crate::error::code(&err), "root_mismatch");
        assert_eq!(crate::error::exit_code(&err), 1);
        let text = err.to_string();
        assert!(
            text.contains("root_mismatch, split_view") && text.contains("leaf 1 changed"),
            "{text}"
        );
        assert!(text.contains("audit verify --verifier"), "{text}");
    }
}
