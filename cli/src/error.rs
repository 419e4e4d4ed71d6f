//! How a command fails, and with which exit code.
//!
//! - exit 1: a refusal — the node (or the local de-identification guard,
//!   or the strength rule for a new passphrase) said no to what was asked.
//!   Printed as `error: <message> (<code>)`.
//! - exit 2: everything else — a usage mistake, a missing file, no node
//!   answering, a wrong passphrase.
//! - exit 3: not refused, not stored either: the node holds the event until
//!   what it needs arrives (code `pending`), and drops it if that never
//!   comes; `curbside pending` shows what waits and what expired.

use crate::client::ClientError;
use crate::keystore::KeystoreError;

/// A refusal: exit code 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// Refused with a stable code (by a node, or locally with the node's code).
    #[error("{message} ({code})")]
    Coded {
        /// The stable code.
        code: String,
        /// For people.
        message: String,
    },
}

/// An event the node holds rather than stores: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{message} (pending)")]
pub(crate) struct Waiting {
    /// For people.
    pub(crate) message: String,
}

/// A stable code for an error, for `--json` output: the refusal's or the
/// node's own code, else what kind of failure it was.
pub(crate) fn code(e: &anyhow::Error) -> String {
    if let Some(Refusal::Coded { code, .. }) = e.downcast_ref::<Refusal>() {
        return code.clone();
    }
    if e.downcast_ref::<Waiting>().is_some() {
        return "pending".into();
    }
    if let Some(KeystoreError::WeakPassphrase { .. }) = e.downcast_ref::<KeystoreError>() {
        return "weak_passphrase".into();
    }
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Api { code, .. }) => code.clone(),
        Some(ClientError::NoNode { .. }) => "no_node".into(),
        Some(ClientError::BadAnswer { .. }) => "bad_answer".into(),
        _ => "error".into(),
    }
}

/// The exit code for an error.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<Waiting>().is_some() {
        return 3;
    }
    if e.downcast_ref::<Refusal>().is_some()
        || matches!(e.downcast_ref::<KeystoreError>(), Some(KeystoreError::WeakPassphrase { .. }))
    {
        return 1;
    }
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Api { status, .. }) if *status < 500 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn refusals_exit_1_and_the_rest_2() {
        let refused = anyhow::Error::new(Refusal::Coded { code: "x".into(), message: "no".into() });
        assert_eq!(exit_code(&refused), 1);
        let api = ClientError::Api { status: 422, code: "poll_closed".into(), message: "x".into() };
        let wrapped = Err::<(), _>(api).context("voting").unwrap_err();
        assert_eq!(exit_code(&wrapped), 1);
        let storage = ClientError::Api { status: 500, code: "storage".into(), message: "x".into() };
        assert_eq!(exit_code(&anyhow::Error::new(storage)), 2);
        let no_node = ClientError::NoNode { url: "http://127.0.0.1:1".into(), detail: None };
        assert_eq!(exit_code(&anyhow::Error::new(no_node)), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("usage")), 2);
        let weak = KeystoreError::WeakPassphrase {
            weakness: crate::keystore::Weakness::TooShort { chars: 1 },
            from_env: true,
        };
        assert_eq!(exit_code(&anyhow::Error::new(weak)), 1);
        let wrong = KeystoreError::WrongPassphrase { what: "id.key".into() };
        assert_eq!(exit_code(&anyhow::Error::new(wrong)), 2);
    }

    #[test]
    fn errors_have_codes_for_json_output() {
        let refused = anyhow::Error::new(Refusal::Coded { code: "x".into(), message: "no".into() });
        assert_eq!(code(&refused), "x");
        let api = ClientError::Api { status: 422, code: "poll_closed".into(), message: "x".into() };
        assert_eq!(code(&Err::<(), _>(api).context("voting").unwrap_err()), "poll_closed");
        let no_node = ClientError::NoNode { url: "http://127.0.0.1:1".into(), detail: None };
        assert_eq!(code(&anyhow::Error::new(no_node)), "no_node");
        assert_eq!(code(&anyhow::anyhow!("usage")), "error");
        let weak = KeystoreError::WeakPassphrase {
            weakness: crate::keystore::Weakness::TooShort { chars: 1 },
            from_env: false,
        };
        assert_eq!(code(&anyhow::Error::new(weak)), "weak_passphrase");
    }

    #[test]
    fn coded_refusals_read_message_then_code() {
        let r = Refusal::Coded { code: "identifying_text".into(), message: "found".into() };
        assert_eq!(r.to_string(), "found (identifying_text)");
    }
}
