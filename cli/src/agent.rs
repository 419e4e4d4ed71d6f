//! `curbside unlock`: the physician's key kept open for a bounded time by
//! an agent process, as ssh-agent keeps SSH keys, so that a physician types
//! the passphrase once a sitting rather than once a command.
//!
//! The agent is this binary run as `curbside agent` (hidden), started by
//! `unlock` in a process group of its own. It reads the key's seed from its
//! standard input (never from its arguments or environment, which other
//! users can read), listens on `<home>/agent.sock`, and signs 32-byte
//! digests — an event's id, a session's challenge message — for whoever
//! can open that socket: the socket is the owner's alone (mode 0600 in the
//! home, which is 0700), as ssh-agent's is. It never hands the key out, so
//! a process that reaches it can sign while it runs, not after. It stops at
//! the time it was given (at most [`MAX_OPEN`]), on `curbside lock`, or
//! when a new `unlock` replaces it, and removes its socket as it goes.
//!
//! One request a connection, one JSON line each way:
//!
//! ```text
//! {"op": "public"}                 → {"public": hex, "until": ms}
//! {"op": "sign", "digest": hex32}  → {"signature": hex}
//! {"op": "lock"}                   → {"locked": true}   (then it exits)
//! ```

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use curbside_protocol::{PublicKey, SecretKey, Signature, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::home::Home;

/// The longest `unlock` keeps a key open: a working day.
pub(crate) const MAX_OPEN: Duration = Duration::from_secs(12 * 60 * 60);

/// How long a client waits for the agent, and the agent for a request.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest request line the agent reads.
const MAX_REQUEST: u64 = 256;

/// Where the agent of `home` listens.
pub(crate) fn socket_path(home: &Home) -> PathBuf {
    home.dir().join("agent.sock")
}

/// A running agent, reached through its socket.
#[derive(Debug)]
pub(crate) struct Agent {
    path: PathBuf,
    public: PublicKey,
    until: Timestamp,
}

impl Agent {
    /// The agent of `home`, if one is running and answers.
    pub(crate) fn find(home: &Home) -> Option<Agent> {
        let path = socket_path(home);
        let answer = call(&path, &json!({ "op": "public" })).ok()?;
        let public = answer["public"].as_str()?.parse().ok()?;
        let until = Timestamp::from_millis(answer["until"].as_u64()?);
        Some(Agent { path, public, until })
    }

    /// The key it holds.
    pub(crate) fn public(&self) -> PublicKey {
        self.public
    }

    /// Until when it holds it.
    pub(crate) fn until(&self) -> Timestamp {
        self.until
    }

    /// The key's signature of `digest`.
    pub(crate) fn sign(&self, digest: &[u8; 32]) -> anyhow::Result<Signature> {
        let answer = call(&self.path, &json!({ "op": "sign", "digest": hex::encode(digest) }))?;
        let text = answer["signature"].as_str().context("the agent gave no signature")?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(text, &mut bytes).context("the agent's signature is not hex")?;
        let signature = Signature::from_bytes(bytes);
        self.public
            .verify(digest, &signature)
            .map_err(|_| anyhow::anyhow!("the agent's signature does not verify"))?;
        Ok(signature)
    }

    /// Asks it to forget the key and stop.
    pub(crate) fn lock(&self) -> anyhow::Result<()> {
        call(&self.path, &json!({ "op": "lock" }))?;
        // The agent answers, then drops the key and removes its socket:
        // wait for that (briefly), so that `lock` returns with the agent
        // gone, as its answer says.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }
}

/// One request to the agent at `path`, and its answer.
fn call(path: &Path, request: &Value) -> anyhow::Result<Value> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut line = String::new();
    BufReader::new(stream.take(4096)).read_line(&mut line)?;
    let answer: Value = serde_json::from_str(&line).context("the agent's answer is not JSON")?;
    if let Some(error) = answer["error"].as_str() {
        bail!("the agent refused: {error}");
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Request {
    Public,
    Sign { digest: String },
    Lock,
}

/// `curbside agent --until MS`: serves the key whose seed (64 hex
/// characters and a line end) comes on standard input, until `until`.
pub(crate) fn serve(home: &Home, until: Timestamp) -> anyhow::Result<()> {
    let mut seed_hex = zeroize::Zeroizing::new(String::new());
    std::io::stdin().lock().take(130).read_line(&mut seed_hex)?;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(seed_hex.trim(), seed.as_mut_slice())
        .context("the agent reads the key's seed, 64 hex characters, on standard input")?;
    let key = SecretKey::from_seed(&seed);
    let path = socket_path(home);
    // A socket left by an agent that died: nothing answers on it.
    if path.exists() && UnixStream::connect(&path).is_err() {
        std::fs::remove_file(&path)?;
    }
    let listener =
        UnixListener::bind(&path).with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let left = until.as_millis().saturating_sub(curbside_node::now().as_millis());
    let expiry = path.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(left));
        let _ = std::fs::remove_file(&expiry);
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if answer(stream, &key, until) {
            break;
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Answers one connection; whether the agent is to stop.
fn answer(stream: UnixStream, key: &SecretKey, until: Timestamp) -> bool {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else { return false };
    let mut line = String::new();
    if BufReader::new(stream.take(MAX_REQUEST)).read_line(&mut line).is_err() {
        return false;
    }
    let (reply, stop) = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Public) => {
            (json!({ "public": key.public(), "until": until.as_millis() }), false)
        }
        Ok(Request::Sign { digest }) => {
            let mut bytes = [0u8; 32];
            match hex::decode_to_slice(digest.trim(), &mut bytes) {
                Ok(()) => (json!({ "signature": hex::encode(key.sign(&bytes).to_bytes()) }), false),
                Err(_) => (json!({ "error": "a digest is 64 hex characters" }), false),
            }
        }
        Ok(Request::Lock) => (json!({ "locked": true }), true),
        Err(e) => (json!({ "error": format!("not a request: {e}") }), false),
    };
    let _ = writer.write_all(format!("{reply}\n").as_bytes());
    stop
}

/// Starts an agent for `key` until `until`, replacing any running one, and
/// waits until it answers.
pub(crate) fn start(home: &Home, key: &SecretKey, until: Timestamp) -> anyhow::Result<Agent> {
    use std::os::unix::process::CommandExt as _;
    if let Some(old) = Agent::find(home) {
        old.lock()?;
    }
    let exe = std::env::current_exe().context("finding this program to start the agent")?;
    let mut child = std::process::Command::new(exe)
        .arg("--home")
        .arg(home.dir())
        .args(["agent", "--until", &until.as_millis().to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own process group: a Ctrl-C at the terminal that started it
        // does not reach it; `curbside lock` or its time ends it.
        .process_group(0)
        .spawn()
        .context("starting the agent")?;
    {
        let mut stdin = child.stdin.take().context("the agent's standard input")?;
        let seed = key.to_seed();
        let mut line = zeroize::Zeroizing::new(hex::encode(seed.as_slice()));
        line.push('\n');
        stdin.write_all(line.as_bytes())?;
    }
    for _ in 0..100 {
        if let Some(agent) = Agent::find(home)
            && agent.public() == key.public()
        {
            return Ok(agent);
        }
        if let Some(status) = child.try_wait()? {
            bail!("the agent stopped at once ({status})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    bail!("the agent did not answer within 5 s")
}
