//! Step 9: a regulator audits both hospitals' logs with `curbside audit
//! verify`, and checks one licence with `curbside reveal` and `curbside
//! audit open`: the real commands, run as a regulator would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail, ensure};
use curbside_protocol::PublicKey;
use serde_json::Value;

use super::cast::{self, ST_JAMES, ST_MARYS};
use super::federation::LIMIT;
use super::report::Log;
use super::{Demo, Physician};

/// The `curbside` binary running this demo.
fn curbside() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("finding the curbside binary")
}

/// Runs `curbside` with `args` under the regulator's own `--home`.
pub(super) fn run(home: &Path, args: &[String]) -> anyhow::Result<Output> {
    Command::new(curbside()?)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CURBSIDE_NODE")
        .output()
        .context("running curbside")
}

/// The one JSON object a `--json` run printed.
pub(super) fn json_of(output: &Output) -> anyhow::Result<Value> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "curbside printed no JSON ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })
}

/// Why an audit report is not yet the clean one expected: both hospitals'
/// logs, every attestation and revocation they issued in them, every node
/// showing the same head, each head cosigned by another institution.
fn clean(report: &Value, hospitals: &[(PublicKey, &str, u64, u64)]) -> anyhow::Result<()> {
    let findings = report["finding_count"].as_u64().context("no finding_count")?;
    if findings > 0 {
        let first = &report["findings"][0];
        let named = report["verifiers"]
            .as_array()
            .and_then(|v| v.iter().find_map(|r| r["findings"].as_array()?.first().cloned()));
        let f = if first.is_null() { named.unwrap_or(Value::Null) } else { first.clone() };
        bail!("{findings} finding(s), the first {}: {}", f["code"], f["message"]);
    }
    let verifiers = report["verifiers"].as_array().context("no verifiers")?;
    for (key, name, attestations, revocations) in hospitals {
        let r = verifiers
            .iter()
            .find(|r| r["verifier"].as_str() == Some(&key.to_string()))
            .with_context(|| format!("no log of {name}"))?;
        let (a, v) = (r["attestations"].as_u64(), r["revocations"].as_u64());
        ensure!(
            a == Some(*attestations) && v == Some(*revocations),
            "{name}'s log shows {a:?} attestations and {v:?} revocations, not {attestations} \
             and {revocations}"
        );
        let cosigners = r["cosigners"].as_array().map_or(0, Vec::len);
        ensure!(cosigners >= 1, "{name}'s latest head has no cosigner yet");
    }
    Ok(())
}

/// Step 9.
pub(crate) fn audit(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    log.say(
        "A regulator, with nothing but the network's genesis file, audits every verifier: \
         `curbside audit verify` reads each hospital's append-only log from all three nodes, \
         checks every signature and every attestation's validity when issued, rebuilds the \
         Merkle tree and compares it with every signed head, and checks that the nodes show \
         the same history and that other institutions cosigned it.",
    );
    let home = demo.dir().join("regulator");
    let genesis = demo.dir().join("genesis.json");
    std::fs::write(&genesis, serde_json::to_vec_pretty(&demo.genesis)?)
        .context("writing the genesis file for the regulator")?;
    let mut args: Vec<String> = vec!["audit".into(), "verify".into()];
    for node in &demo.nodes {
        args.extend(["--node".into(), node.url()]);
    }
    args.extend(["--quorum".into(), "1".into(), "--genesis".into(), genesis.display().to_string()]);

    let issued_by = |site: usize| demo.physicians.iter().filter(|p| p.who.hospital == site).count();
    let hospitals = [
        (demo.node(ST_MARYS)?.key, "St Mary's", issued_by(ST_MARYS) as u64, 1),
        (demo.node(ST_JAMES)?.key, "St James's", issued_by(ST_JAMES) as u64, 0),
    ];
    let json_args: Vec<String> = std::iter::once("--json".to_owned()).chain(args.clone()).collect();
    // Cosignatures come as the nodes' witnesses check new heads: wait for them.
    let report = log.wait(
        "both logs verify at every node, with no finding, each head cosigned",
        LIMIT,
        || {
            let output = run(&home, &json_args)?;
            let report = json_of(&output)?;
            clean(&report, &hospitals)?;
            ensure!(output.status.success(), "curbside exited with {}", output.status);
            Ok(report)
        },
    )?;
    log.fact("audit", &report);
    // The same run as a person reads it: a second run, which also checks
    // the logs against the heads this --home saved the first time.
    let shown = run(&home, &args)?;
    ensure!(
        shown.status.success(),
        "the second audit failed ({}): {}",
        shown.status,
        String::from_utf8_lossy(&shown.stderr).trim()
    );
    log.show(&format!(
        "$ curbside audit verify --node … --quorum 1 --genesis genesis.json\n{}",
        { String::from_utf8_lossy(&shown.stdout) }
    ));
    log.check(
        "a second audit extends the first: the logs only grew by appending",
        Ok(String::new()),
    )?;

    // One licence, opened: the hospital reveals what it kept privately, and
    // the regulator checks it against the register and the attestation.
    let who = demo.physician(cast::PRESENTER)?;
    open_licence(demo, log, &home, who)
}

/// `curbside reveal` at the physician's hospital, then `curbside audit
/// open` with the licence on the register (which opens) and with another
/// (which does not).
fn open_licence(demo: &Demo, log: &mut Log, home: &Path, who: &Physician) -> anyhow::Result<()> {
    let hospital = demo.node(who.who.hospital)?;
    let attestation = who.attestation.context("the physician was never attested")?;
    let register = who.licence.as_deref().context("no licence on the register")?;
    log.say(&format!(
        "Asked by the regulator, {} reveals the opening of {}'s licence commitment (`curbside \
         reveal`, an admin command); the regulator checks it against the register with \
         `curbside audit open`. Without the salt, the commitment says nothing about the \
         licence.",
        hospital.site.short, who.who.handle
    ));
    let reveal: Vec<String> = [
        "--json",
        "reveal",
        &attestation.to_string(),
        "--data",
        &hospital.data().display().to_string(),
        "--node",
        &hospital.url(),
    ]
    .map(str::to_owned)
    .to_vec();
    let revealed = run(home, &reveal)?;
    ensure!(
        revealed.status.success(),
        "`curbside reveal` failed ({}): {}",
        revealed.status,
        String::from_utf8_lossy(&revealed.stdout).trim()
    );
    let opening = json_of(&revealed)?;
    let salt = opening["salt"].as_str().context("the opening has no salt")?.to_owned();
    log.check(
        "the revealed licence is the one on the register",
        match opening["licence"].as_str() {
            Some(l) if l == register => Ok(register.to_owned()),
            other => Err(format!("revealed {other:?}, the register says {register}")),
        },
    )?;
    let open = |licence: &str| -> anyhow::Result<Value> {
        let args: Vec<String> = [
            "--json",
            "audit",
            "open",
            &attestation.to_string(),
            "--licence",
            licence,
            "--salt",
            &salt,
            "--node",
            &hospital.url(),
        ]
        .map(str::to_owned)
        .to_vec();
        let output = run(home, &args)?;
        let answer = json_of(&output)?;
        let opens = answer["opens"].as_bool() == Some(true);
        ensure!(opens == output.status.success(), "exit {} with {answer}", output.status);
        Ok(answer)
    };
    let right = open(register)?;
    log.check(
        format!("`audit open` with {register} and the salt: it opens"),
        if right["opens"] == true { Ok(String::new()) } else { Err(right.to_string()) },
    )?;
    let other = format!("{register}9");
    let wrong = open(&other)?;
    log.check(
        format!("with another licence ({other}) it does not, and the command fails"),
        if wrong["opens"] == false { Ok(String::new()) } else { Err(wrong.to_string()) },
    )
}
