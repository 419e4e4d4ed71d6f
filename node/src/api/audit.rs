//! The audit API: verifiers' logs, their tree heads and cosignatures,
//! leaves with their events, proofs, and proof of misbehaviour; what a
//! regulator's `curbside audit verify` reads.
//!
//! These routes need no session. What they serve is the federation's
//! trust record — charters, attestations (pseudonymous: a handle, a
//! specialty, a licence *commitment*), revocations, tree heads — which
//! every node already gossips to every other; an auditor must be able to
//! read it without being a physician. No physician's content is served
//! here.

use axum::Json;
use axum::extract::State;
use curbside_protocol::{EventId, PublicKey, SignedEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Admin;
use super::reads::parse_id;
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::verifier::{blocking, issued};

/// Most leaves one page holds.
pub(crate) const MAX_LEAVES_PAGE: u64 = 1000;

fn parse_key(text: &str) -> Result<PublicKey, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{text:?} is not a key (64 hex characters)")))
}

fn wire(event: &SignedEvent) -> Value {
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// The wire form (base64url) of a stored event, or null.
fn wire_of(state: &AppState, id: &EventId) -> Result<Value, ApiError> {
    Ok(state.store.events().get(id)?.map_or(Value::Null, |e| wire(e.signed())))
}

/// The network's genesis, so an auditor can check the roots it was given.
pub(crate) async fn genesis(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let genesis = serde_json::to_value(state.store.genesis())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({ "network": state.store.network(), "genesis": genesis })))
}

/// Every verifier's log as this node holds it.
pub(crate) async fn logs(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let quorum = state.audit_quorum;
    let logs = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let mut verifiers = store.audit().head_verifiers()?;
        for summary in store.audit().summaries() {
            if !verifiers.contains(&summary.verifier) {
                verifiers.push(summary.verifier);
            }
        }
        verifiers.sort();
        let summaries = store.audit().summaries();
        let mut out = Vec::new();
        for verifier in verifiers {
            let summary = summaries.iter().find(|s| s.verifier == verifier);
            let heads = store.audit().heads_of(&verifier)?;
            let latest = summary.and_then(|s| s.latest);
            let cosigners = match latest {
                Some(h) => store.audit().cosigners(&h.id)?,
                None => Vec::new(),
            };
            let unchecked =
                store.audit().queued_heads(usize::MAX)?.iter().filter(|q| q.verifier == verifier).count();
            let evidence = store.audit().evidence(Some(&verifier))?.len();
            out.push(json!({
                "verifier": verifier,
                "size": summary.map_or(0, |s| s.size),
                "heads": heads.len(),
                "unchecked_heads": unchecked,
                "latest": latest.map(|h| json!({
                    "id": h.id, "size": h.size, "root": h.root, "created_at": h.created_at,
                })),
                "cosigners": cosigners.iter().map(|(k, id)| json!({ "key": k, "cosignature": id })).collect::<Vec<_>>(),
                "settled": cosigners.len() >= quorum,
                "forked_at": summary.and_then(|s| s.forked_at),
                "evidence": evidence,
            }));
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({ "quorum": quorum, "logs": logs })))
}

/// Every tree head of a verifier held here, each with its cosignatures.
pub(crate) async fn heads(
    State(state): State<AppState>,
    ApiPath(verifier): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let verifier = parse_key(&verifier)?;
    let mut out = Vec::new();
    for (created_at, id, record) in state.store.audit().heads_of(&verifier)? {
        let mut cosignatures = Vec::new();
        for (cosigner, cosig) in state.store.audit().cosigners(&id)? {
            cosignatures.push(
                json!({ "cosigner": cosigner, "id": cosig, "event": wire_of(&state, &cosig)? }),
            );
        }
        out.push(json!({
            "id": id,
            "created_at": created_at,
            "size": record.size,
            "root": record.root,
            "event": wire_of(&state, &id)?,
            "cosignatures": cosignatures,
        }));
    }
    Ok(Json(
        json!({ "verifier": verifier, "size": state.store.audit().size(&verifier), "heads": out }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct LeavesQuery {
    start: Option<u64>,
    end: Option<u64>,
}

/// Leaves `start..end` of a verifier's log, with their events.
pub(crate) async fn leaves(
    State(state): State<AppState>,
    ApiPath(verifier): ApiPath<String>,
    ApiQuery(q): ApiQuery<LeavesQuery>,
) -> Result<Json<Value>, ApiError> {
    let verifier = parse_key(&verifier)?;
    let size = state.store.audit().size(&verifier);
    let start = q.start.unwrap_or(0);
    let end = q.end.unwrap_or(size).min(size).min(start.saturating_add(MAX_LEAVES_PAGE));
    if start > end && start > size {
        return Err(ApiError::bad_request(format!(
            "start {start} is beyond the log ({size} leaves)"
        )));
    }
    let mut leaves = Vec::new();
    for (i, id) in state.store.audit().leaves(&verifier, start, end)?.into_iter().enumerate() {
        leaves.push(json!({ "index": start + i as u64, "id": id, "event": wire_of(&state, &id)? }));
    }
    let next = (end < size).then_some(end);
    Ok(Json(
        json!({ "verifier": verifier, "size": size, "start": start, "leaves": leaves, "next": next }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// The consistency proof between two sizes of a verifier's log.
pub(crate) async fn consistency(
    State(state): State<AppState>,
    ApiPath(verifier): ApiPath<String>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<Value>, ApiError> {
    let verifier = parse_key(&verifier)?;
    let proof = state
        .store
        .audit()
        .consistency(&verifier, q.old, q.new)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(json!({ "verifier": verifier, "old": q.old, "new": q.new, "proof": proof })))
}

#[derive(Deserialize)]
pub(crate) struct InclusionQuery {
    leaf: String,
    size: Option<u64>,
}

/// The inclusion proof of a leaf in the first `size` leaves (default: all).
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    ApiPath(verifier): ApiPath<String>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<Value>, ApiError> {
    let verifier = parse_key(&verifier)?;
    let leaf = parse_id(&q.leaf)?;
    let size = q.size.unwrap_or_else(|| state.store.audit().size(&verifier));
    match state.store.audit().inclusion(&verifier, &leaf, size) {
        Some(Ok((index, proof))) => Ok(Json(json!({
            "verifier": verifier, "leaf": leaf, "index": index, "size": size, "proof": proof,
        }))),
        Some(Err(e)) => Err(ApiError::bad_request(e.to_string())),
        None => {
            Err(ApiError::not_found(format!("{leaf} is not in the log of {verifier} held here")))
        }
    }
}

/// Proof of every fork, rollback or split this node caught.
pub(crate) async fn evidence(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all: Vec<Value> = state
        .store
        .audit()
        .evidence(None)?
        .into_iter()
        .map(|e| {
            let decode =
                |bytes: &[u8]| SignedEvent::decode(bytes).map_or(Value::Null, |e| wire(&e));
            json!({
                "verifier": e.verifier,
                "contradiction": e.contradiction.code(),
                "first": decode(&e.first),
                "second": decode(&e.second),
                "leaves": e.leaves,
                "found_at": e.found_at,
            })
        })
        .collect();
    Ok(Json(json!({ "evidence": all })))
}

/// Every charter held, with the revocations of each: what an auditor
/// needs to judge an attestation's validity at the time it was issued.
pub(crate) async fn charters(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for id in state.store.events().charter_ids()? {
        let mut revocations = Vec::new();
        for r in state.store.events().revocations_of(&id)? {
            revocations.push(wire_of(&state, &r)?);
        }
        out.push(json!({ "id": id, "event": wire_of(&state, &id)?, "revocations": revocations }));
    }
    Ok(Json(json!({ "charters": out })))
}

/// One trust event (charter, attestation, revocation, tree head, hub,
/// cosignature) and the revocations of it; never physicians' content.
pub(crate) async fn trust_event(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let event = state
        .store
        .events()
        .get(&id)?
        .filter(|e| e.kind().is_trust())
        .ok_or_else(|| ApiError::not_found(format!("no trust event {id} here")))?;
    let mut revocations = Vec::new();
    for r in state.store.events().revocations_of(&id)? {
        revocations.push(wire_of(&state, &r)?);
    }
    Ok(Json(json!({
        "id": id, "kind": event.kind(), "event": wire(event.signed()), "revocations": revocations,
    })))
}

/// The licence opening of an attestation this node issued (institution
/// admin only): salt, jurisdiction, licence number.
pub(crate) async fn opening(
    admin: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    admin.note("attestation", id);
    let opening = state
        .store
        .audit()
        .opening(&id)?
        .ok_or_else(|| ApiError::not_found(format!("this node issued no attestation {id}")))?;
    admin.note("licence_commitment", opening.commitment());
    Ok(Json(json!({
        "attestation": id,
        "salt": opening.salt,
        "jurisdiction": opening.jurisdiction,
        "licence": opening.licence,
        "commitment": opening.commitment(),
    })))
}

#[derive(Deserialize)]
pub(crate) struct OpeningsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// Openings a page holds when the caller does not say.
const OPENINGS_PAGE: usize = 500;

/// Every attestation this node issued, with its licence opening
/// (institution admin only), a page at a time in attestation-id order:
/// what `curbside reveal --all` exports for a regulator's licence check.
pub(crate) async fn openings(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OpeningsQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = q.after.as_deref().map(parse_id).transpose()?;
    let limit = q.limit.unwrap_or(OPENINGS_PAGE).clamp(1, issued::REVEALED_PAGE);
    let now = crate::now();
    let store = state.store.clone();
    let (page, next) =
        blocking(move || issued::revealed_page(&store, after.as_ref(), limit, now)).await?;
    let openings: Vec<Value> = page
        .into_iter()
        .map(|r| {
            let a = r.attestation;
            json!({
                "attestation": a.id,
                "key": a.key,
                "handle": a.handle,
                "specialties": a.specialties,
                "jurisdiction": a.jurisdiction,
                "licence": a.licence,
                "salt": r.salt,
                "commitment": r.commitment,
                "issued_at": a.issued_at,
                "valid_until": a.valid_until,
                "revoked_at": a.revoked_at,
                "revocation_reason": r.revocation_reason,
                "standing": a.standing,
            })
        })
        .collect();
    Ok(Json(json!({ "openings": openings, "next": next })))
}
