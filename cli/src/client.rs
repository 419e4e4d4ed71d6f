//! A blocking HTTP client for a node's API (`docs/API.md`).
//!
//! Every answer is JSON. A 4xx or 5xx answer is the API's
//! `{"code", "message"}`, which becomes [`ClientError::Api`]; a node that
//! does not answer at all becomes [`ClientError::NoNode`], which says how to
//! start one.

use std::time::Duration;

use curbside_protocol::{EventId, PublicKey, SignedEvent, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// Nothing listens at the URL (or the host does not resolve).
    #[error(
        "no node answers at {url}{}: is the address right? name a running node with --node URL (an institution runs its own with `curbside node run`)",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    NoNode {
        /// The node's URL.
        url: String,
        /// What the operating system said, when it is not plain "refused".
        detail: Option<String>,
    },
    /// The API answered with an error.
    #[error("{message} ({code})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable code.
        code: String,
        /// For people.
        message: String,
    },
    /// The answer is not what the API documents.
    #[error(
        "the server at {url} answered {path} with something that is not Curbside's API ({detail}): is --node right?"
    )]
    BadAnswer {
        /// The node's URL.
        url: String,
        /// The path asked.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// The request failed on the way (timeout, protocol error).
    #[error("talking to the node at {url}: {detail}")]
    Transport {
        /// The node's URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The URL itself is unusable.
    #[error("{url:?} is not a node URL: {detail}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is unusable.
        detail: String,
    },
}

impl ClientError {
    /// The API's code, if the node answered with one.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub(crate) use curbside_node::api::types::{
    AmbiguousIdAnswer, EventOutcome, IdMatch, StatusAnswer as Status, SubmitAnswer as Outcomes,
};

/// What `GET /v1/ids/{prefix}` answered.
#[derive(Debug, Clone)]
pub(crate) enum Resolved {
    /// The one event.
    One(IdMatch),
    /// Several: the first of them.
    Ambiguous(AmbiguousIdAnswer),
}

/// An event as the API shows it. `event` is the signed wire form, decoded
/// (and so checked for canonical form) here; `body` is the node's JSON of
/// the body's fields, passed through to `--json` output.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventAnswer {
    pub(crate) id: EventId,
    pub(crate) author: PublicKey,
    pub(crate) handle: Option<String>,
    /// The attestation, its verifier and the verifier's institution, and
    /// how many keys share the handle (physicians' events; absent from
    /// nodes older than these fields).
    #[serde(default)]
    pub(crate) attestation: Option<EventId>,
    #[serde(default)]
    pub(crate) verifier: Option<PublicKey>,
    #[serde(default)]
    pub(crate) institution: Option<String>,
    #[serde(default)]
    pub(crate) handle_keys: Option<u32>,
    /// What the author is attested as (physicians' events; absent from
    /// older nodes).
    #[serde(default)]
    pub(crate) specialties: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) jurisdiction: Option<String>,
    /// The comments in its thread (feeds only).
    #[serde(default)]
    pub(crate) replies: Option<u64>,
    pub(crate) created_at: Timestamp,
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) body: Value,
    pub(crate) event: SignedEvent,
    /// A comment's thread root (absent from nodes older than outcomes).
    #[serde(default)]
    pub(crate) thread: Option<EventId>,
    /// A case's outcome: the case is solved.
    #[serde(default)]
    pub(crate) outcome: Option<OutcomeShown>,
    /// A post's or case's accepted answer.
    #[serde(default)]
    pub(crate) accepted: Option<AcceptedShown>,
    /// A comment: whether it is its thread's accepted answer.
    #[serde(default)]
    pub(crate) accepted_answer: Option<bool>,
    /// A poll: the option (from 0) its author said turned out right.
    #[serde(default)]
    pub(crate) answer: Option<u8>,
    /// An edited post, case or comment: the edit in force (`event` holds
    /// its signed bytes; `id`, `kind` and `created_at` are the original's).
    #[serde(default)]
    pub(crate) edited: Option<Value>,
}

/// A case's outcome as a node shows it with the case.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub(crate) struct OutcomeShown {
    pub(crate) id: EventId,
    pub(crate) diagnosis: String,
    pub(crate) text: String,
    pub(crate) created_at: Timestamp,
}

/// A thread's accepted answer as a node shows it with the post or case.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub(crate) struct AcceptedShown {
    pub(crate) comment: EventId,
    pub(crate) id: EventId,
    pub(crate) created_at: Timestamp,
}

/// A session (`POST /v1/session`) or a challenge (`POST /v1/session/challenge`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) challenge: String,
}

/// An open session.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) expires_at: Timestamp,
}

/// The client of one node.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    base: String,
    agent: ureq::Agent,
}

/// Makes `text` a base URL: `http://` is assumed when no scheme is given,
/// and a trailing `/` is dropped.
pub(crate) fn normalize_url(text: &str) -> Result<String, ClientError> {
    let text = text.trim();
    let bad =
        |detail: &str| ClientError::BadUrl { url: text.to_owned(), detail: detail.to_owned() };
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    let url = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
    if url.starts_with("https://") {
        return Err(bad(
            "this build of curbside speaks plain HTTP to a node on this machine or network; \
             use an http:// URL (or an SSH tunnel to the node's loopback API)",
        ));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(bad("use an http:// URL such as http://127.0.0.1:7420"));
    };
    if rest.trim_end_matches('/').is_empty() {
        return Err(bad("it names no host"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl Client {
    /// A client of the node at `url`.
    pub(crate) fn new(url: &str) -> Result<Self, ClientError> {
        let base = normalize_url(url)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("curbside/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self { base, agent: config.into() })
    }

    /// The same node, with `timeout` for a whole request (60 s otherwise),
    /// for a call whose work on the node takes long (a backup).
    pub(crate) fn with_timeout(&self, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(timeout))
            .user_agent(concat!("curbside/", env!("CARGO_PKG_VERSION")))
            .build();
        Self { base: self.base.clone(), agent: config.into() }
    }

    /// `DELETE path`, expecting 2xx and JSON.
    pub(crate) fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let (status, value) = self.request("DELETE", path, None, bearer)?;
        if !(200..300).contains(&status) {
            return Err(self.api_error(path, status, &value));
        }
        self.parse(path, value)
    }

    /// `GET path` as Server-Sent Events: `on_event(name, data)` for each
    /// event until it returns false or the node ends the stream. No
    /// overall time limit (a stream lasts as long as it is read); the
    /// node's keep-alives arrive every 15 s, so a silent minute is a
    /// dead connection.
    pub(crate) fn stream(
        &self,
        path: &str,
        bearer: &str,
        mut on_event: impl FnMut(&str, &str) -> bool,
    ) -> Result<(), ClientError> {
        use std::io::BufRead as _;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_body(Some(Duration::from_secs(60)))
            .user_agent(concat!("curbside/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let mut response = agent
            .get(&url)
            .header("Authorization", format!("Bearer {bearer}"))
            .header("Accept", "text/event-stream")
            .call()
            .map_err(|e| self.transport(path, e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(self.api_error(path, status, &value));
        }
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        let (mut name, mut data) = (String::new(), String::new());
        for line in reader.lines() {
            let line = line.map_err(|e| ClientError::Transport {
                url: self.base.clone(),
                detail: format!("{path}: {e}"),
            })?;
            if line.is_empty() {
                if !data.is_empty() && !on_event(&name, &data) {
                    return Ok(());
                }
                (name, data) = (String::new(), String::new());
            } else if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        Ok(())
    }

    /// The node's base URL.
    pub(crate) fn url(&self) -> &str {
        &self.base
    }

    fn transport(&self, path: &str, e: ureq::Error) -> ClientError {
        let url = self.base.clone();
        match e {
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ClientError::NoNode { url, detail: None },
                std::io::ErrorKind::AddrNotAvailable
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable => {
                    ClientError::NoNode { url, detail: Some(io.to_string()) }
                }
                _ => ClientError::Transport { url, detail: format!("{path}: {io}") },
            },
            ureq::Error::ConnectionFailed => ClientError::NoNode { url, detail: None },
            ureq::Error::HostNotFound => {
                ClientError::NoNode { url, detail: Some("the host name does not resolve".into()) }
            }
            ureq::Error::Timeout(t) => ClientError::Transport {
                url,
                detail: format!("{path}: no answer in time ({t}); is the node overloaded?"),
            },
            ureq::Error::BadUri(detail) => ClientError::BadUrl { url, detail },
            other => ClientError::Transport { url, detail: format!("{path}: {other}") },
        }
    }

    /// `GET path`, expecting 2xx: the answer's text, unparsed (for large
    /// answers that the caller parses on another thread).
    pub(crate) fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, text) = self.request_text("GET", path, None, None)?;
        if !(200..300).contains(&status) {
            let value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(self.api_error(path, status, &value));
        }
        Ok(text)
    }

    /// One request; the status and the answer's text.
    fn request_text(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<(u16, String), ClientError> {
        let url = format!("{}{path}", self.base);
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let result = if method == "GET" {
            let mut req = self.agent.get(&url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()
        } else if method == "DELETE" {
            let mut req = self.agent.delete(&url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()
        } else {
            let mut req = self.agent.post(&url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.send_json(body.unwrap_or(&Value::Null))
        };
        let mut response = result.map_err(|e| self.transport(path, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| self.transport(path, e))?;
        Ok((status, text))
    }

    /// One request; the status and the JSON answer.
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<(u16, Value), ClientError> {
        let (status, text) = self.request_text(method, path, body, bearer)?;
        let bad = |detail: String| ClientError::BadAnswer {
            url: self.base.clone(),
            path: path.to_owned(),
            detail,
        };
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            let start: String = text.chars().take(80).collect();
            bad(format!("HTTP {status}, not JSON: {start:?}"))
        })?;
        Ok((status, value))
    }

    /// The API's error for a non-2xx answer.
    fn api_error(&self, path: &str, status: u16, value: &Value) -> ClientError {
        match (
            value.get("code").and_then(Value::as_str),
            value.get("message").and_then(Value::as_str),
        ) {
            (Some(code), message) => ClientError::Api {
                status,
                code: code.to_owned(),
                message: message.unwrap_or("(no message)").to_owned(),
            },
            _ => ClientError::BadAnswer {
                url: self.base.clone(),
                path: path.to_owned(),
                detail: format!("HTTP {status} without an error code"),
            },
        }
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, value: Value) -> Result<T, ClientError> {
        serde_json::from_value(value).map_err(|e| ClientError::BadAnswer {
            url: self.base.clone(),
            path: path.to_owned(),
            detail: e.to_string(),
        })
    }

    /// `GET path`, expecting 2xx and a `T`.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let (status, value) = self.request("GET", path, None, bearer)?;
        if !(200..300).contains(&status) {
            return Err(self.api_error(path, status, &value));
        }
        self.parse(path, value)
    }

    /// `POST path` with a JSON body, expecting 2xx and a `T`.
    pub(crate) fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let (status, value) = self.request("POST", path, Some(body), bearer)?;
        if !(200..300).contains(&status) {
            return Err(self.api_error(path, status, &value));
        }
        self.parse(path, value)
    }

    /// `GET /v1/ids/{prefix}`: the one event whose id starts with
    /// `prefix`, or the candidates when several do (`409 ambiguous_id`).
    pub(crate) fn resolve_id(
        &self,
        prefix: &str,
        bearer: Option<&str>,
    ) -> Result<Resolved, ClientError> {
        let path = format!("/v1/ids/{prefix}");
        let (status, value) = self.request("GET", &path, None, bearer)?;
        match status {
            200..300 => Ok(Resolved::One(self.parse(&path, value)?)),
            409 if value.get("candidates").is_some() => {
                Ok(Resolved::Ambiguous(self.parse(&path, value)?))
            }
            _ => Err(self.api_error(&path, status, &value)),
        }
    }

    /// `GET /v1/status`.
    pub(crate) fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status", None)
    }

    /// `POST /v1/events` without credentials: one outcome per event,
    /// refused ones included (a refusal is an outcome here, not an error).
    pub(crate) fn submit(&self, events: &[SignedEvent]) -> Result<Vec<EventOutcome>, ClientError> {
        self.submit_as(events, None)
    }

    /// [`Client::submit`] with a bearer token: a physician's session, whose
    /// own budget pays for the node's checking, or the admin token.
    pub(crate) fn submit_as(
        &self,
        events: &[SignedEvent],
        bearer: Option<&str>,
    ) -> Result<Vec<EventOutcome>, ClientError> {
        let path = "/v1/events";
        let wire: Vec<Value> =
            events.iter().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)).collect();
        let (status, value) =
            self.request("POST", path, Some(&json!({ "events": wire })), bearer)?;
        if value.get("outcomes").is_some() {
            let answer: Outcomes = self.parse(path, value)?;
            if answer.outcomes.len() != events.len() {
                return Err(ClientError::BadAnswer {
                    url: self.base.clone(),
                    path: path.to_owned(),
                    detail: format!(
                        "{} outcomes for {} events",
                        answer.outcomes.len(),
                        events.len()
                    ),
                });
            }
            return Ok(answer.outcomes);
        }
        Err(self.api_error(path, status, &value))
    }
}

/// `text` percent-encoded for a query string (unreserved bytes as they are).
pub(crate) fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalized() {
        assert_eq!(normalize_url("http://127.0.0.1:7420/").unwrap(), "http://127.0.0.1:7420");
        assert_eq!(normalize_url("127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        assert_eq!(normalize_url(" localhost:1 ").unwrap(), "http://localhost:1");
        assert!(normalize_url("").is_err());
        assert!(normalize_url("http://").is_err());
        assert!(normalize_url("ftp://x").is_err());
        let https = normalize_url("https://node.example").unwrap_err().to_string();
        assert!(https.contains("http://"), "{https}");
    }

    #[test]
    fn a_closed_port_means_no_node() {
        // Bind, learn the port, close: nothing listens there now.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = client.status().unwrap_err();
        assert!(matches!(err, ClientError::NoNode { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&format!("no node answers at http://127.0.0.1:{port}")), "{text}");
        assert!(text.contains("curbside node run"), "{text}");
    }

    #[test]
    fn api_errors_read_message_then_code() {
        let client = Client::new("http://127.0.0.1:1").unwrap();
        let err = client.api_error(
            "/v1/events",
            422,
            &json!({"code": "poll_closed", "message": "the poll closed"}),
        );
        assert_eq!(err.to_string(), "the poll closed (poll_closed)");
        assert_eq!(err.code(), Some("poll_closed"));
        let odd = client.api_error("/v1/x", 404, &json!({"hello": 1}));
        assert!(matches!(odd, ClientError::BadAnswer { .. }), "{odd:?}");
    }
}
