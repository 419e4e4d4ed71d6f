//! Reading needs a session: a physician signs a node's challenge with their
//! attested key (`SHA-256("curbside/session/v1" ‖ network ‖ challenge)`)
//! and gets a bearer token for 12 hours. Tokens are cached in
//! `<home>/session.json` (mode 0600) by node URL, so the passphrase is asked
//! for once per session, not once per read.
//!
//! Without a physician key, an institution admin's token (found as for
//! `curbside attest`) reads instead.

use std::collections::BTreeMap;

use anyhow::Context as _;
use curbside_protocol::{PublicKey, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Challenge, Client, ClientError, Session};
use crate::error::Refusal;
use crate::home::{self, Home};
use crate::keystore::{self, KeyKind, Keystore};

/// A session is renewed when it has less than this left (milliseconds).
const RENEW_MARGIN_MS: u64 = 60_000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    #[serde(default)]
    sessions: BTreeMap<String, Cached>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    key: PublicKey,
    token: String,
    expires_at: Timestamp,
}

fn load_cache(home: &Home) -> Cache {
    std::fs::read_to_string(home.session_file())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save_cache(home: &Home, cache: &Cache) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(cache)?;
    home::write_private(&home.session_file(), format!("{text}\n").as_bytes())
}

/// A cached, live session of `key` at `url`.
fn cached(home: &Home, url: &str, key: &PublicKey, now: Timestamp) -> Option<String> {
    load_cache(home)
        .sessions
        .get(url)
        .filter(|c| c.key == *key && c.expires_at.as_millis() > now.as_millis() + RENEW_MARGIN_MS)
        .map(|c| c.token.clone())
}

/// Forgets the cached session at `url` (the node closed it).
pub(crate) fn forget_session(home: &Home, url: &str) {
    forget(home, url);
}

fn forget(home: &Home, url: &str) {
    let mut cache = load_cache(home);
    if cache.sessions.remove(url).is_some() {
        let _ = save_cache(home, &cache);
    }
}

/// Loads the physician's keystore, if there is one.
pub(crate) fn physician_key(home: &Home) -> anyhow::Result<Option<Keystore>> {
    let path = home.id_key();
    if !path.exists() {
        return Ok(None);
    }
    let store = Keystore::load(&path)?;
    if store.kind() != KeyKind::Physician {
        anyhow::bail!(
            "{} holds a {} key, not a physician's: move it aside and run `curbside id new --handle H`",
            path.display(),
            store.kind()
        );
    }
    Ok(Some(store))
}

/// Opens the keystore with its passphrase (`CURBSIDE_PASSPHRASE`, or asked).
pub(crate) fn unlock(
    store: &Keystore,
    home: &Home,
) -> anyhow::Result<curbside_protocol::SecretKey> {
    let prompt = format!("Passphrase for {}: ", home.id_key().display());
    Ok(keystore::open_with_passphrase(&prompt, |pass| store.open(pass))?)
}

/// What signs for the physician: the key itself, opened with the
/// passphrase, or the agent `curbside unlock` left holding it.
#[derive(Debug)]
pub(crate) enum Signer {
    /// The key, opened for this command.
    Key(curbside_protocol::SecretKey),
    /// An agent holding it ([`crate::agent`]).
    Agent(crate::agent::Agent),
}

impl Signer {
    /// The physician's public key.
    pub(crate) fn public(&self) -> curbside_protocol::PublicKey {
        match self {
            Signer::Key(key) => key.public(),
            Signer::Agent(agent) => agent.public(),
        }
    }

    /// The signature of a 32-byte digest (an event's id, a session's
    /// challenge message).
    pub(crate) fn sign(&self, digest: &[u8; 32]) -> anyhow::Result<curbside_protocol::Signature> {
        match self {
            Signer::Key(key) => Ok(key.sign(digest)),
            Signer::Agent(agent) => agent.sign(digest),
        }
    }
}

/// The physician's signer: the agent `curbside unlock` started, if it
/// holds this key, else the key opened with its passphrase.
pub(crate) fn signer(store: &Keystore, home: &Home) -> anyhow::Result<Signer> {
    if let Some(agent) = crate::agent::Agent::find(home)
        && agent.public() == store.public_key()
    {
        return Ok(Signer::Agent(agent));
    }
    Ok(Signer::Key(unlock(store, home)?))
}

/// Opens a new session at the node for the physician's key, and caches it.
pub(crate) fn open_session(
    client: &Client,
    home: &Home,
    store: &Keystore,
) -> anyhow::Result<String> {
    let signer = signer(store, home)?;
    open_session_with(client, home, &signer)
}

/// A session for submitting `key`'s events: the cached one, or a new one
/// opened with the key already unlocked; `None` if the node does not know
/// the key as attested (a new physician's attestation may not have reached
/// it yet: the events then go without one).
pub(crate) fn session_for_writing(
    client: &Client,
    home: &Home,
    key: &Signer,
    renew: bool,
) -> anyhow::Result<Option<String>> {
    if renew {
        forget(home, client.url());
    } else if let Some(token) = cached(home, client.url(), &key.public(), curbside_node::now()) {
        return Ok(Some(token));
    }
    match open_session_with(client, home, key) {
        Ok(token) => Ok(Some(token)),
        Err(e) if crate::error::code(&e) == "not_attested" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens a session with the key itself.
fn open_session_with(client: &Client, home: &Home, key: &Signer) -> anyhow::Result<String> {
    let status = client.status()?;
    let public = key.public();
    let challenge: Challenge =
        client.post("/v1/session/challenge", &json!({ "key": public }), None)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&challenge.challenge, &mut bytes).map_err(|_| ClientError::BadAnswer {
        url: client.url().to_owned(),
        path: "/v1/session/challenge".into(),
        detail: "the challenge is not 64 hex characters".into(),
    })?;
    let signature = key.sign(&curbside_node::api::session_message(&status.network, &bytes))?;
    let session: Session = client
        .post(
            "/v1/session",
            &json!({ "key": public, "challenge": challenge.challenge, "signature": signature }),
            None,
        )
        .map_err(|e| match e {
            ClientError::Api { code, message, .. } if code == "not_attested" => {
                anyhow::Error::new(Refusal::Coded {
                    code,
                    message: format!(
                        "{message}: reading needs an attested key; run `curbside id request` and give the text to a verifying institution"
                    ),
                })
            }
            other => other.into(),
        })?;
    let mut cache = load_cache(home);
    cache.sessions.insert(
        client.url().to_owned(),
        Cached { key: public, token: session.token.clone(), expires_at: session.expires_at },
    );
    save_cache(home, &cache).context("caching the session")?;
    Ok(session.token)
}

/// Who reads. (No `Debug`: it holds a token.)
enum Credential {
    /// A physician's session (`fresh`: just opened, so not worth renewing).
    Physician { store: Box<Keystore>, token: Option<String>, fresh: bool },
    /// The institution admin's token.
    Admin { token: String },
}

/// Reads from a node with a session (or the admin token).
pub(crate) struct Reader<'a> {
    client: &'a Client,
    home: &'a Home,
    credential: Credential,
}

impl<'a> Reader<'a> {
    /// The physician's session if there is a physician key (opened when
    /// first needed), else the admin token if one is found.
    pub(crate) fn new(client: &'a Client, home: &'a Home) -> anyhow::Result<Self> {
        let now = curbside_node::now();
        let credential = match physician_key(home)? {
            Some(store) => {
                let token = cached(home, client.url(), &store.public_key(), now);
                Credential::Physician { store: Box::new(store), token, fresh: false }
            }
            None => match home::find_admin_token(None, None, home) {
                Some(source) => Credential::Admin { token: home::read_token(&source)? },
                None => anyhow::bail!(
                    "reading needs a session, and there is no identity in {}: create one with `curbside id new --handle H` and have it attested (or pass --home)",
                    home.dir().display()
                ),
            },
        };
        Ok(Self { client, home, credential })
    }

    fn token(&mut self) -> anyhow::Result<String> {
        match &mut self.credential {
            Credential::Admin { token } => Ok(token.clone()),
            Credential::Physician { token: Some(t), .. } => Ok(t.clone()),
            Credential::Physician { store, token, fresh } => {
                let t = open_session(self.client, self.home, store)?;
                *token = Some(t.clone());
                *fresh = true;
                Ok(t)
            }
        }
    }

    /// `POST path` with the session (opened if need be).
    pub(crate) fn post<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<T> {
        let token = self.token()?;
        Ok(self.client.post(path, body, Some(&token))?)
    }

    /// `GET path` with the session; a session the node no longer knows
    /// (it restarted) is renewed once.
    pub(crate) fn get<T: DeserializeOwned>(&mut self, path: &str) -> anyhow::Result<T> {
        self.call(|client, token| client.get(path, Some(token)))
    }

    /// `DELETE path` with the session, renewed once as for [`Reader::get`].
    pub(crate) fn delete<T: DeserializeOwned>(&mut self, path: &str) -> anyhow::Result<T> {
        self.call(|client, token| client.delete(path, Some(token)))
    }

    /// The session's token (opened if need be), for a call the client
    /// makes itself (a stream).
    pub(crate) fn session_token(&mut self) -> anyhow::Result<String> {
        self.token()
    }

    /// `call(client, token)` with the session, renewed once as for [`Reader::get`].
    pub(crate) fn call<T>(
        &mut self,
        call: impl Fn(&Client, &str) -> Result<T, ClientError>,
    ) -> anyhow::Result<T> {
        let token = self.token()?;
        match call(self.client, &token) {
            Err(e) if e.code() == Some("unauthenticated") => {
                if let Credential::Physician { token, fresh: false, .. } = &mut self.credential {
                    forget(self.home, self.client.url());
                    *token = None;
                    let token = self.token()?;
                    return Ok(call(self.client, &token)?);
                }
                Err(e.into())
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keys_sessions_by_node_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let key = curbside_protocol::SecretKey::from_seed(&[1; 32]).public();
        let other = curbside_protocol::SecretKey::from_seed(&[2; 32]).public();
        let now = Timestamp::from_millis(1_000_000);
        assert_eq!(cached(&home, "http://a", &key, now), None);

        let mut cache = Cache::default();
        cache.sessions.insert(
            "http://a".into(),
            Cached { key, token: "t1".into(), expires_at: now.plus_millis(3_600_000) },
        );
        save_cache(&home, &cache).unwrap();
        assert_eq!(cached(&home, "http://a", &key, now).as_deref(), Some("t1"));
        assert_eq!(cached(&home, "http://b", &key, now), None);
        assert_eq!(cached(&home, "http://a", &other, now), None);
        // About to expire: renewed rather than used.
        assert_eq!(cached(&home, "http://a", &key, now.plus_millis(3_590_000)), None);

        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.session_file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        forget(&home, "http://a");
        assert_eq!(cached(&home, "http://a", &key, now), None);

        // A damaged cache is ignored, not fatal.
        std::fs::write(home.session_file(), "not json").unwrap();
        assert_eq!(cached(&home, "http://a", &key, now), None);
    }
}
