//! The rules for text: shape (length, characters) for every text field,
//! and the de-identification guard the rules in force name for clinical
//! free text (guard v1 under rules 1, guard v2 from rules 2, guard v2 with
//! mentions of physicians from rules 4).

use super::{Dependency, NotAccepted, Rejection, TrustView};
use crate::deid;
use crate::rules::RuleSet;

/// Characters that must not appear in text shown on other people's
/// terminals and screens: C0/C1 controls (terminal escape sequences) other
/// than newline and tab, and bidirectional overrides ("Trojan Source").
fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Length and character rules for any text field.
pub(crate) fn text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), NotAccepted> {
    if value.len() < min || value.trim().len() < min {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(invalid(field, format!("is {} bytes; the limit is {max}", value.len())));
    }
    if value.chars().any(is_forbidden_char) {
        return Err(invalid(field, "contains control or bidirectional-override characters"));
    }
    Ok(())
}

/// [`text`] plus the de-identification guard the `rules` in force name,
/// for clinical free text. `view` answers, from rules 4, whether a
/// mentioned handle is a physician's.
pub(super) fn free_text(
    view: &impl TrustView,
    rules: RuleSet,
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), NotAccepted> {
    text(field, value, min, max)?;
    if rules.mentions() {
        return guard_with_mentions(view, field, value);
    }
    if rules.guard() >= 2 {
        return guard_v2(field, value);
    }
    if let Some(found) = deid::first_identifier(value) {
        return Err(Rejection::IdentifyingText {
            field,
            kind: found.kind,
            start: found.start,
            end: found.end,
        }
        .into());
    }
    Ok(())
}

/// Guard v2: format characters have their own code; then the first
/// identifier it refuses (offsets into `value`).
pub(super) fn guard_v2(field: &'static str, value: &str) -> Result<(), NotAccepted> {
    if let Some(at) = deid::v2::first_format_char(value) {
        return Err(Rejection::FormatCharacter { field, at }.into());
    }
    if let Some(found) = deid::v2::first_refusal(value) {
        return Err(Rejection::IdentifyingText {
            field,
            kind: found.kind,
            start: found.start,
            end: found.end,
        }
        .into());
    }
    Ok(())
}

/// Guard v2 from rules 4: as [`guard_v2`], but an `@handle` the guard
/// would refuse as a social-media handle is a mention when an attestation
/// has given that handle to a physician. While no attestation known here
/// does, the event waits for one ([`Dependency::Handle`]) rather than
/// being refused: attestations travel separately from what mentions them,
/// and a node that has not heard of one yet must not judge otherwise than
/// a node that has. Any attestation ever accepted counts, in force or not,
/// expired or revoked: attestations are never deleted, so the answer only
/// ever goes from "wait" to "yes", whatever order events arrive in. An
/// event that waits for a handle nobody was given expires as other held
/// events do.
///
/// Another refusal in the text is reported first: an event refused for
/// an e-mail address does not wait to learn whom it mentions.
fn guard_with_mentions(
    view: &impl TrustView,
    field: &'static str,
    value: &str,
) -> Result<(), NotAccepted> {
    if let Some(at) = deid::v2::first_format_char(value) {
        return Err(Rejection::FormatCharacter { field, at }.into());
    }
    let guarded = deid::v2::first_refusal_beside_mentions(value);
    if let Some(found) = guarded.refusal {
        return Err(Rejection::IdentifyingText {
            field,
            kind: found.kind,
            start: found.start,
            end: found.end,
        }
        .into());
    }
    match guarded.mentions.into_iter().find(|m| !view.handle_attested(&m.handle)) {
        Some(m) => Err(NotAccepted::Missing(Dependency::Handle(m.handle))),
        None => Ok(()),
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> NotAccepted {
    Rejection::InvalidField { field, problem: problem.into() }.into()
}
