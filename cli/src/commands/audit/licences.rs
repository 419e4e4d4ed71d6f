//! `curbside audit licences --openings FILE... --register REGISTER.csv`:
//! every licence opening institutions exported (`curbside reveal --all`)
//! checked against its attestation's commitment and against the register
//! the regulator holds.
//!
//! The openings file is the institution's word; only the attestation id,
//! the licence number and the salt are taken from it. Everything else —
//! the key, the jurisdiction, the expiry, the revocations — comes from
//! the signed attestation a node serves (`/v1/audit/events/ID`, checked
//! as `audit open` checks it), so an institution cannot hide a key or an
//! expiry by writing another in the file.
//!
//! Findings (exit 1 on any, 0 when there is none):
//!
//! | code | what |
//! | --- | --- |
//! | `opening_mismatch` | the licence and salt do not open the attestation's commitment |
//! | `unknown_attestation` | no node named holds the attestation the opening names |
//! | `invalid_attestation` | what the node served is not that signed attestation of this network |
//! | `duplicate_licence` | one licence on several keys, each with an attestation in force now |
//! | `not_on_register` | an attestation in force now for a licence the register does not hold |
//! | `outlives_licence` | an attestation in force past the end of its licence on the register |
//! | `not_opened` | an attestation in force, in the log of a verifier whose openings were given, that no opening names: the export is incomplete |
//! | `not_exported` | a verifier whose log holds attestations in force, and no opening of any was given |
//!
//! The last two come from the verifiers' logs themselves, read and
//! checked as `audit list` reads them, so an institution cannot pass the
//! check by leaving an attestation out of its export.
//!
//! Only an opening that opens its commitment is checked further: the
//! licence of one that does not is unknown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use curbside_protocol::{Digest, EventId, Jurisdiction, LicenceOpening, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::list::{Listing, Logs, Row, Standing};
use super::register::{Register, normalise};
use super::{Ctx, NotServed, Served, fetch, served_attestation};
use crate::args::AuditLicencesArgs;
use crate::client::ClientError;
use crate::output::{date, truncate};

/// One line of an openings file, as `curbside reveal --all` writes it;
/// only these fields are read (the others are the institution's word).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct OpeningLine {
    pub(super) attestation: EventId,
    pub(super) licence: String,
    pub(super) salt: Digest,
}

/// An opening, where it was read, and its attestation as a node served it.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    /// `FILE:LINE`.
    pub(super) source: String,
    pub(super) attestation: EventId,
    pub(super) licence: String,
    /// The attestation, or why there is none.
    pub(super) served: Result<Attested, Missing>,
}

/// What the signed attestation says, and whether the opening opens it.
#[derive(Debug, Clone)]
pub(super) struct Attested {
    pub(super) issuer: PublicKey,
    pub(super) key: PublicKey,
    pub(super) jurisdiction: Jurisdiction,
    pub(super) valid_until: Timestamp,
    /// Its earliest revocation that counts.
    pub(super) revoked_at: Option<Timestamp>,
    pub(super) opens: bool,
}

impl Attested {
    /// The moment it stops being in force: its expiry, or its revocation
    /// if earlier.
    fn ends_at(&self) -> Timestamp {
        self.revoked_at.map_or(self.valid_until, |r| r.min(self.valid_until))
    }

    fn in_force(&self, now: Timestamp) -> bool {
        self.ends_at() > now
    }
}

/// Why an opening's attestation could not be checked.
#[derive(Debug, Clone)]
pub(super) enum Missing {
    /// The node holds no such attestation.
    Unknown,
    /// It served something else.
    Invalid(String),
}

/// One thing found.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Finding {
    /// The stable code (module docs).
    pub(super) code: &'static str,
    /// The licence concerned, as the opening gives it.
    pub(super) licence: String,
    /// Its jurisdiction, once known from an attestation.
    pub(super) jurisdiction: Option<Jurisdiction>,
    /// The attestations concerned.
    pub(super) attestations: Vec<EventId>,
    /// Their keys.
    pub(super) keys: Vec<PublicKey>,
    /// Where the openings were read (`FILE:LINE`).
    pub(super) sources: Vec<String>,
    /// For people.
    pub(super) message: String,
}

/// Every finding about `checked` against `register`, at `now`.
pub(super) fn findings(checked: &[Checked], register: &Register, now: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    // Licences in force, by (jurisdiction, licence): for duplicates.
    let mut in_force: BTreeMap<(String, String), Vec<(&Checked, &Attested)>> = BTreeMap::new();
    for c in checked {
        let one =
            |code, jurisdiction: Option<&Jurisdiction>, keys: Vec<PublicKey>, message| Finding {
                code,
                licence: c.licence.clone(),
                jurisdiction: jurisdiction.cloned(),
                attestations: vec![c.attestation],
                keys,
                sources: vec![c.source.clone()],
                message,
            };
        let a = match &c.served {
            Ok(a) => a,
            Err(Missing::Unknown) => {
                out.push(one(
                    "unknown_attestation",
                    None,
                    vec![],
                    format!(
                        "{}: attestation {} is not held by the node asked: ask the institution \
                         which node issued it, or name another with --node",
                        c.source,
                        c.attestation.short()
                    ),
                ));
                continue;
            }
            Err(Missing::Invalid(why)) => {
                out.push(one("invalid_attestation", None, vec![], format!("{}: {why}", c.source)));
                continue;
            }
        };
        if !a.opens {
            out.push(one(
                "opening_mismatch",
                Some(&a.jurisdiction),
                vec![a.key],
                format!(
                    "{}: licence {:?} with that salt does not open the commitment of attestation \
                     {}: the institution attested another licence, or exported a wrong opening",
                    c.source,
                    c.licence,
                    c.attestation.short()
                ),
            ));
            continue;
        }
        let on_register = register.find(a.jurisdiction.as_str(), &c.licence);
        if a.in_force(now) {
            let key = (a.jurisdiction.to_string(), normalise(&c.licence));
            in_force.entry(key).or_default().push((c, a));
            if on_register.is_none() {
                out.push(one(
                    "not_on_register",
                    Some(&a.jurisdiction),
                    vec![a.key],
                    format!(
                        "{}: licence {} ({}) of attestation {}, in force until {}, is not on the \
                         register: ask the institution which licence it checked, or have it \
                         revoked (`curbside revoke`)",
                        c.source,
                        c.licence,
                        a.jurisdiction,
                        c.attestation.short(),
                        date(a.ends_at())
                    ),
                ));
            }
        }
        if let Some(licence) = on_register
            && let Some(ends) = licence.ends_at
            && a.ends_at() > ends
        {
            out.push(one(
                "outlives_licence",
                Some(&a.jurisdiction),
                vec![a.key],
                format!(
                    "{}: attestation {} is in force until {}, but licence {} ends on {} (register \
                     line {}): revoke it, or renew the licence on the register",
                    c.source,
                    c.attestation.short(),
                    date(a.ends_at()),
                    c.licence,
                    licence.end_date.as_deref().unwrap_or_default(),
                    licence.line
                ),
            ));
        }
    }
    for ((jurisdiction, _), holders) in in_force {
        let keys: BTreeSet<PublicKey> = holders.iter().map(|(_, a)| a.key).collect();
        if keys.len() < 2 {
            continue;
        }
        let issuers: BTreeSet<String> = holders.iter().map(|(_, a)| a.issuer.short()).collect();
        let licence = holders[0].0.licence.clone();
        out.push(Finding {
            code: "duplicate_licence",
            licence: licence.clone(),
            jurisdiction: Some(holders[0].1.jurisdiction.clone()),
            attestations: holders.iter().map(|(c, _)| c.attestation).collect(),
            keys: keys.iter().copied().collect(),
            sources: holders.iter().map(|(c, _)| c.source.clone()).collect(),
            message: format!(
                "licence {licence} ({jurisdiction}) is attested in force to {} keys (by {}): one \
                 licence, one physician — revoke all but one (`curbside revoke --licence`)",
                keys.len(),
                issuers.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    out
}

/// Every attestation in force in the verifiers' logs (`listings`) that no
/// opening in `checked` names: `not_opened` where the verifier's openings
/// were given (its export left this one out), one `not_exported` per
/// verifier where none was.
pub(super) fn unopened(checked: &[Checked], listings: &[Listing]) -> Vec<Finding> {
    let opened: BTreeSet<EventId> = checked.iter().map(|c| c.attestation).collect();
    let exported: BTreeSet<PublicKey> =
        checked.iter().filter_map(|c| c.served.as_ref().ok().map(|a| a.issuer)).collect();
    let mut out = Vec::new();
    for listing in listings {
        let missing: Vec<&Row> = listing
            .rows
            .iter()
            .filter(|r| r.standing == Standing::Active && !opened.contains(&r.id))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let whose = format!(
            "{} ({})",
            listing.institution.as_deref().unwrap_or("no charter held"),
            listing.verifier.short()
        );
        if exported.contains(&listing.verifier) {
            out.extend(missing.into_iter().map(|row| Finding {
                code: "not_opened",
                licence: String::new(),
                jurisdiction: Some(row.jurisdiction.clone()),
                attestations: vec![row.id],
                keys: vec![row.key],
                sources: Vec::new(),
                message: format!(
                    "{whose} attested {} (key {}) until {}, in force, but its export holds no \
                     opening of it: ask it for a complete `curbside reveal --all`",
                    row.handle,
                    row.key.short(),
                    date(row.valid_until)
                ),
            }));
        } else {
            out.push(Finding {
                code: "not_exported",
                licence: String::new(),
                jurisdiction: None,
                attestations: missing.iter().map(|r| r.id).collect(),
                keys: missing.iter().map(|r| r.key).collect(),
                sources: Vec::new(),
                message: format!(
                    "{whose} has {} attestation(s) in force and no opening of any was given: \
                     ask it for its `curbside reveal --all`",
                    missing.len()
                ),
            });
        }
    }
    out
}

/// Reads openings files (JSON lines); the same attestation twice is read
/// once.
fn read_openings(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, OpeningLine)>> {
    let mut out: Vec<(String, OpeningLine)> = Vec::new();
    let mut seen: BTreeSet<EventId> = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the openings {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let source = format!("{}:{}", path.display(), n + 1);
            let opening: OpeningLine = serde_json::from_str(line).with_context(|| {
                format!(
                    "{source} is not an opening as `curbside reveal --all` writes it (one JSON \
                     object a line, with attestation, licence and salt)"
                )
            })?;
            if seen.insert(opening.attestation) {
                out.push((source, opening));
            }
        }
    }
    Ok(out)
}

/// `curbside audit licences`.
pub(crate) fn check(ctx: &Ctx, args: &AuditLicencesArgs) -> anyhow::Result<ExitCode> {
    let now = curbside_node::now();
    let text = std::fs::read_to_string(&args.register)
        .with_context(|| format!("reading the register {}", args.register.display()))?;
    let register =
        Register::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.register.display()))?;
    let openings = read_openings(&args.openings)?;
    if openings.is_empty() {
        bail!(
            "no opening in {}: export them with `curbside reveal --all --data DIR --out FILE`",
            files(&args.openings)
        );
    }
    let client = ctx.client(args.node.node.as_deref())?;
    let genesis = fetch::genesis(&client)?;
    let network = genesis.network_id();
    let mut checked = Vec::with_capacity(openings.len());
    for (source, opening) in openings {
        let served = match served_attestation(&client, opening.attestation, || {
            genesis.roots.clone()
        }) {
            Ok(Served { event, attestation, revoked }) if event.event().network == network => {
                let revealed = LicenceOpening {
                    salt: opening.salt,
                    jurisdiction: attestation.jurisdiction.clone(),
                    licence: opening.licence.trim().to_owned(),
                };
                Ok(Attested {
                    issuer: *event.author(),
                    key: attestation.subject,
                    jurisdiction: attestation.jurisdiction.clone(),
                    valid_until: attestation.valid_until,
                    revoked_at: revoked.map(|(at, _)| at),
                    opens: revealed.opens(&attestation),
                })
            }
            Ok(_) => Err(Missing::Invalid(format!(
                "attestation {} belongs to another network than {}'s",
                opening.attestation.short(),
                client.url()
            ))),
            Err(NotServed::Client(ClientError::Api { status: 404, .. })) => Err(Missing::Unknown),
            Err(NotServed::Client(e)) => return Err(e.into()),
            Err(NotServed::Invalid(why)) => Err(Missing::Invalid(why)),
        };
        checked.push(Checked {
            source,
            attestation: opening.attestation,
            licence: opening.licence,
            served,
        });
    }
    // Every verifier's log, checked: what is in force that no opening names.
    let logs = Logs::read(ctx, vec![client.url().to_owned()], None)?;
    let listings = logs
        .verifiers()
        .into_iter()
        .map(|verifier| logs.list(verifier, false))
        .collect::<anyhow::Result<Vec<Listing>>>()?;
    let mut found = findings(&checked, &register, now);
    found.extend(unopened(&checked, &listings));
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &found {
        *counts.entry(f.code).or_default() += 1;
    }
    ctx.out.emit(
        &json!({
            "openings": checked.len(),
            "verifiers": listings.len(),
            "node": client.url(),
            "register": {
                "path": args.register,
                "licences": register.len(),
                "by_jurisdiction": register.by_jurisdiction,
            },
            "counts": counts,
            "findings": found,
            "finding_count": found.len(),
        }),
        || text_report(&checked, &listings, &register, &found, &counts),
    )?;
    Ok(if found.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn files(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The report for people: a summary line and a table of findings.
fn text_report(
    checked: &[Checked],
    listings: &[Listing],
    register: &Register,
    found: &[Finding],
    counts: &BTreeMap<&str, usize>,
) -> String {
    let mut text = format!(
        "{} opening(s) checked against their attestations and a register of {} licence(s){}, \
         and against the logs of {} verifier(s).\n",
        checked.len(),
        register.len(),
        if register.by_jurisdiction { " (by jurisdiction)" } else { "" },
        listings.len()
    );
    if found.is_empty() {
        text.push_str("No finding: every opening opens its commitment, every attestation in force has an opening, and every licence in force is on the register, held by one key, within its end date.\n");
        return text;
    }
    let summary: Vec<String> = counts.iter().map(|(code, n)| format!("{n} {code}")).collect();
    text.push_str(&format!("{} finding(s): {}\n\n", found.len(), summary.join(", ")));
    text.push_str(&format!(
        "{:<20} {:<16} {:<34}  {}\n",
        "CODE", "LICENCE", "ATTESTATION(S)", "DETAIL"
    ));
    for f in found {
        let ids: Vec<String> = f.attestations.iter().map(EventId::short).collect();
        text.push_str(&format!(
            "{:<20} {:<16} {:<34}  {}\n",
            f.code,
            truncate(&f.licence, 16),
            truncate(&ids.join(","), 34),
            f.message
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PublicKey {
        curbside_protocol::SecretKey::from_seed(&[n; 32]).public()
    }

    const NOW: u64 = 1_800_000_000_000;
    const DAY: u64 = 86_400_000;

    /// An opening that opens an attestation of `licence` in GB to key `n`,
    /// valid `days` from now, revoked `revoked` days from now if given.
    fn opening(n: u8, licence: &str, days: u64, revoked: Option<u64>) -> Checked {
        Checked {
            source: format!("a.jsonl:{n}"),
            attestation: EventId::from_bytes([n; 32]),
            licence: licence.into(),
            served: Ok(Attested {
                issuer: key(200),
                key: key(n),
                jurisdiction: "GB".parse().unwrap(),
                valid_until: Timestamp::from_millis(NOW + days * DAY),
                revoked_at: revoked.map(|d| Timestamp::from_millis(NOW + d * DAY)),
                opens: true,
            }),
        }
    }

    fn codes(checked: &[Checked], register: &str) -> Vec<&'static str> {
        let register = Register::parse(register).unwrap();
        let mut codes: Vec<_> = findings(checked, &register, Timestamp::from_millis(NOW))
            .iter()
            .map(|f| f.code)
            .collect();
        codes.sort_unstable();
        codes
    }

    /// A register whose licences all end 400 days from NOW.
    fn register(licences: &[&str]) -> String {
        let end = crate::output::date(Timestamp::from_millis(NOW + 400 * DAY));
        let mut text = "licence,end_date\n".to_owned();
        for l in licences {
            text.push_str(&format!("{l},{end}\n"));
        }
        text
    }

    /// Verifier `v`'s log holding attestations `ids` (as [`opening`] makes
    /// them), each in force unless in `lapsed`.
    fn log_of(v: u8, ids: &[u8], lapsed: &[u8]) -> Listing {
        let rows = ids
            .iter()
            .enumerate()
            .map(|(index, &n)| Row {
                index: index as u64,
                id: EventId::from_bytes([n; 32]),
                key: key(n),
                handle: format!("dr-{n}").parse().unwrap(),
                specialties: Vec::new(),
                jurisdiction: "GB".parse().unwrap(),
                issued_at: Timestamp::from_millis(NOW - DAY),
                valid_until: Timestamp::from_millis(NOW + 365 * DAY),
                revoked: None,
                standing: if lapsed.contains(&n) { Standing::Expired } else { Standing::Active },
            })
            .collect();
        Listing {
            verifier: key(v),
            institution: Some(format!("Hospital {v}")),
            shown_by: None,
            size: ids.len() as u64,
            head: None,
            rows,
        }
    }

    #[test]
    fn an_attestation_in_force_left_out_of_an_export_is_found() {
        // Verifier 200 exported openings 1 and 2, but its log holds 3 in
        // force too (4 has lapsed: not needed); verifier 201 exported
        // nothing and holds 5 in force; verifier 202 holds nothing in force.
        let checked = [opening(1, "GMC 1", 365, None), opening(2, "GMC 2", 365, None)];
        let logs =
            [log_of(200, &[1, 2, 3, 4], &[4]), log_of(201, &[5], &[]), log_of(202, &[6], &[6])];
        let found = unopened(&checked, &logs);
        let got: Vec<(&str, Vec<EventId>)> =
            found.iter().map(|f| (f.code, f.attestations.clone())).collect();
        assert_eq!(
            got,
            [
                ("not_opened", vec![EventId::from_bytes([3; 32])]),
                ("not_exported", vec![EventId::from_bytes([5; 32])]),
            ],
            "{found:?}"
        );
        assert!(found[0].message.contains("Hospital 200") && found[0].message.contains("dr-3"));
        assert!(unopened(&checked, &[log_of(200, &[1, 2], &[])]).is_empty());
    }

    #[test]
    fn a_clean_set_has_no_finding() {
        let checked = [opening(1, "GMC 1", 365, None), opening(2, "GMC 2", 365, None)];
        assert!(codes(&checked, &register(&["GMC1", "gmc 2"])).is_empty());
    }

    #[test]
    fn one_licence_on_two_keys_in_force_is_a_duplicate() {
        let checked = [opening(1, "GMC 1", 365, None), opening(2, "gmc1", 365, None)];
        let register = Register::parse(&register(&["GMC1"])).unwrap();
        let found = findings(&checked, &register, Timestamp::from_millis(NOW));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "duplicate_licence");
        assert_eq!(found[0].keys.len(), 2);
        assert_eq!(found[0].attestations.len(), 2);
        // Once one of them is revoked (or lapsed), one key holds it: no finding.
        let revoked = [opening(1, "GMC 1", 365, None), opening(2, "gmc1", 365, Some(0))];
        assert!(codes(&revoked, &super::tests::register(&["GMC1"])).is_empty());
        let lapsed = [opening(1, "GMC 1", 365, None), opening(2, "gmc1", 0, None)];
        assert!(codes(&lapsed, &super::tests::register(&["GMC1"])).is_empty());
        // Two attestations of one licence to the same key are not a duplicate.
        let mut same_key = opening(2, "GMC 1", 365, None);
        if let Ok(a) = &mut same_key.served {
            a.key = key(1);
        }
        assert!(
            codes(&[opening(1, "GMC 1", 365, None), same_key], &super::tests::register(&["GMC1"]))
                .is_empty()
        );
    }

    #[test]
    fn a_licence_off_the_register_counts_only_while_in_force() {
        let checked = [opening(1, "GMC 1", 365, None), opening(2, "GMC 9", 365, Some(0))];
        assert!(codes(&checked, &register(&["GMC1"])).is_empty());
        let checked = [opening(1, "GMC 1", 365, None), opening(3, "GMC 9", 365, None)];
        assert_eq!(codes(&checked, &register(&["GMC1"])), ["not_on_register"]);
    }

    #[test]
    fn an_attestation_past_its_licence_end_outlives_it() {
        // The licence ends 400 days from now; the attestation runs 500.
        let checked = [opening(1, "GMC 1", 500, None)];
        assert_eq!(codes(&checked, &register(&["GMC1"])), ["outlives_licence"]);
        // Revoked before the licence ends: it does not.
        let checked = [opening(1, "GMC 1", 500, Some(100))];
        assert!(codes(&checked, &register(&["GMC1"])).is_empty());
        // A licence with no end date is never outlived.
        assert!(codes(&[opening(1, "GMC 1", 500, None)], "licence,end_date\nGMC1,\n").is_empty());
        // With a jurisdiction column, a licence of another jurisdiction is not this one.
        let checked = [opening(1, "GMC 1", 300, None)];
        assert_eq!(
            codes(&checked, "jurisdiction,licence,end_date\nIE,GMC1,\n"),
            ["not_on_register"]
        );
        assert!(codes(&checked, "jurisdiction,licence,end_date\ngb,GMC1,\n").is_empty());
    }

    #[test]
    fn openings_that_do_not_open_or_are_missing_are_findings_and_go_no_further() {
        let mut wrong = opening(1, "GMC 1", 500, None);
        if let Ok(a) = &mut wrong.served {
            a.opens = false;
        }
        let mut unknown = opening(2, "GMC 2", 365, None);
        unknown.served = Err(Missing::Unknown);
        let mut invalid = opening(3, "GMC 3", 365, None);
        invalid.served = Err(Missing::Invalid("not an attestation".into()));
        // Not on the register, past any end: none of that is reported for them.
        assert_eq!(
            codes(&[wrong, unknown, invalid], "licence,end_date\nX,2000-01-01\n"),
            ["invalid_attestation", "opening_mismatch", "unknown_attestation"]
        );
    }

    #[test]
    fn openings_files_are_read_line_by_line_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.jsonl");
        let id = EventId::from_bytes([1; 32]);
        let salt = Digest::from_bytes([2; 32]);
        let line = json!({ "attestation": id, "licence": "GMC 1", "salt": salt, "key": "ignored" });
        std::fs::write(&good, format!("{line}\n\n{line}\n")).unwrap();
        let read = read_openings(&[good.clone(), good.clone()]).unwrap();
        assert_eq!(read.len(), 1, "the same attestation is read once");
        assert_eq!(read[0].0, format!("{}:1", good.display()));
        let bad = dir.path().join("b.jsonl");
        std::fs::write(&bad, format!("{line}\n{{\"attestation\": 1}}\n")).unwrap();
        let err = format!("{:#}", read_openings(std::slice::from_ref(&bad)).unwrap_err());
        assert!(err.contains(&format!("{}:2", bad.display())), "{err}");
    }
}
