//! Step 3: hospitals attest their physicians; a relay, and a hospital
//! outside its jurisdiction, cannot.

use anyhow::Context as _;
use curbside_protocol::{AttestationRequest, EventId, Handle, SecretKey};
use serde_json::{Value, json};

use super::cast::{self, RELAY, SITES, ST_JAMES, ST_MARYS};
use super::federation::{LIMIT, all_hold};
use super::nodes::DemoNode;
use super::reads::session;
use super::report::Log;
use super::{Demo, Physician};
use crate::client::ClientError;

/// An attestation request made on the physician's device, as
/// `curbside id request` makes it.
fn request(demo: &Demo, key: &SecretKey, handle: &str) -> anyhow::Result<String> {
    let handle = Handle::new(handle)?;
    Ok(AttestationRequest::new(demo.genesis.network_id(), key, handle, curbside_node::now())
        .to_text())
}

/// Asks `node` to attest, as `curbside attest` does.
fn attest_at(
    demo: &Demo,
    node: &DemoNode,
    key: &SecretKey,
    handle: &str,
    specialty: &str,
    jurisdiction: &str,
    licence: &str,
) -> Result<EventId, ClientError> {
    let request = request(demo, key, handle)
        .map_err(|e| ClientError::Transport { url: node.url(), detail: format!("{e:#}") })?;
    let answer: Value = node.admin_post(
        "/v1/admin/attest",
        &json!({
            "request": request,
            "specialties": [specialty],
            "jurisdiction": jurisdiction,
            "licence": licence,
            "valid_days": 365,
        }),
    )?;
    answer["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| ClientError::BadAnswer {
        url: node.url(),
        path: "/v1/admin/attest".into(),
        detail: "no attestation id".into(),
    })
}

/// `Ok` when `result` is the API refusal `code`.
fn refused_with<T>(result: Result<T, ClientError>, code: &str) -> Result<String, String> {
    match result {
        Err(e) if e.code() == Some(code) => Ok(code.to_owned()),
        Err(e) => Err(format!("refused otherwise: {e}")),
        Ok(_) => Err("it was accepted".into()),
    }
}

/// Step 3.
pub(crate) fn attest(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    log.say(
        "Twelve physicians make keys on their own devices (here, in memory) and each sends a \
         request signed with that key, so no one can have someone else's key attested. St \
         Mary's checks six licences against the GB register and attests them; St James's six \
         from IE. An attestation names a handle, specialties and a jurisdiction, and holds only \
         a salted commitment to the licence number: readers learn that a licensed physician \
         wrote, not who.",
    );
    let mut issued = Vec::new();
    for (i, p) in demo.physicians.iter().enumerate() {
        let node = demo.node(p.who.hospital)?;
        let jurisdiction = node.site.verifies.context("a hospital without a jurisdiction")?;
        let licence = format!("{jurisdiction}-{:07}", 4_100_000 + i);
        let id =
            attest_at(demo, node, &p.key, p.who.handle, p.who.specialty, jurisdiction, &licence)
                .with_context(|| format!("{} attesting {}", node.site.short, p.who.handle))?;
        issued.push((id, licence));
    }
    for (p, (id, licence)) in demo.physicians.iter_mut().zip(&issued) {
        p.attestation = Some(*id);
        p.licence = Some(licence.clone());
    }
    let issued: Vec<EventId> = issued.into_iter().map(|(id, _)| id).collect();
    demo.made.extend(&issued);
    let table = roster(&demo.physicians);
    log.show(&table);
    log.check(
        "12 physicians attested: 6 by St Mary's (GB), 6 by St James's (IE)",
        Ok(String::new()),
    )?;

    let stranger = SecretKey::generate();
    let by_relay = attest_at(
        demo,
        demo.node(RELAY)?,
        &stranger,
        "dr-moreau",
        "cardiology",
        "IE",
        "IE-0000001",
    );
    log.check(
        "the relay cannot attest anyone: its charter names no jurisdiction",
        refused_with(by_relay, "not_a_verifier"),
    )?;
    let out_of_bounds = attest_at(
        demo,
        demo.node(ST_MARYS)?,
        &stranger,
        "dr-moreau",
        "cardiology",
        "IE",
        "IE-0000001",
    );
    log.check(
        "St Mary's cannot attest a physician licensed in IE: its charter covers GB",
        refused_with(out_of_bounds, "jurisdiction_not_chartered"),
    )?;

    let nodes = &demo.nodes;
    log.wait("every node holds all 12 attestations", LIMIT, || all_hold(nodes, &issued))?;
    let gb = demo.physician(cast::PRESENTER)?;
    let ie = demo.physician(cast::COMMENTER_ST_JAMES)?;
    let signed_in: anyhow::Result<()> = (|| {
        for (who, site) in [(gb, ST_JAMES), (gb, RELAY), (ie, ST_MARYS)] {
            let node = demo.node(site)?;
            session(demo, node, who)
                .with_context(|| format!("{} signing in at {}", who.who.handle, node.site.short))?;
        }
        Ok(())
    })();
    log.check(
        format!(
            "physicians sign in wherever they are: {} (attested at St Mary's) at St James's and the relay, {} at St Mary's",
            gb.who.handle, ie.who.handle
        ),
        signed_in.map(|()| String::new()).map_err(|e| format!("{e:#}")),
    )
}

/// The physicians, as a table: handle, specialty, jurisdiction, attested by.
fn roster(physicians: &[Physician]) -> String {
    let hw = physicians.iter().map(|p| p.who.handle.len()).max().unwrap_or(0);
    let sw = physicians.iter().map(|p| p.who.specialty.len()).max().unwrap_or(0);
    let mut out = String::new();
    for pair in physicians.chunks(2) {
        let cells: Vec<String> = pair
            .iter()
            .map(|p| {
                let site = &SITES[p.who.hospital];
                format!(
                    "{:<hw$}  {:<sw$}  {}",
                    p.who.handle,
                    p.who.specialty,
                    site.verifies.unwrap_or("-")
                )
            })
            .collect();
        out.push_str(&cells.join("     "));
        out.push('\n');
    }
    out
}
