//! The physicians whose experience is measured. Each is attested by the
//! node, holds a session, and posts through the API as the command line
//! will: a new connection per submission, `Authorization: Bearer` with the
//! session's token, one event a request. Every second submission is a
//! reply that arrives before its parent (a colleague's post still on its
//! way from another node), so it must be held as pending until the
//! parent comes; that is what a full pending set refuses.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use curbside_protocol::{Body, Comment, PublicKey, SecretKey, SignedEvent, testkit::key};
use curbside_tests::{Api, Network, wire};
use serde_json::json;

use crate::http::{Answer, Conn};

/// Each physician posts at this rate, half the node's default
/// per-physician limit (60 a minute), so the limit never binds when idle.
const EACH_PER_SECOND: f64 = 0.5;
/// Physicians connect from here: on the node's own machine, as a
/// command line or a reverse proxy would.
const FROM: &str = "127.0.0.1";
/// How long a held reply may take to be stored once its parent is.
const RELEASE: Duration = Duration::from_secs(10);

/// The physicians, their colleagues (who write the parents of early
/// replies) and one more physician who misbehaves (opens sessions without
/// end).
#[derive(Debug)]
pub(crate) struct Clinic {
    physicians: Vec<SecretKey>,
    colleagues: Vec<SecretKey>,
    pub(crate) rogue: SecretKey,
}

/// A physician at work on one node: keys and session tokens.
#[derive(Debug)]
pub(crate) struct Desk<'a> {
    physician: &'a SecretKey,
    colleague: &'a SecretKey,
    token: String,
    colleague_token: String,
}

/// One submission: how long the physician waited for its answer (from
/// when it was due, so a slow answer that delays the next counts), and
/// whether the event was stored, or why not.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) waited: Duration,
    pub(crate) outcome: Result<(), String>,
}

impl Clinic {
    /// Enough physicians, each at [`EACH_PER_SECOND`], to post `rate`
    /// events a second together.
    pub(crate) fn new(rate: f64) -> Self {
        let n = (rate / EACH_PER_SECOND).ceil().max(1.0) as usize;
        Self {
            physicians: (0..n).map(|i| key(&format!("strangers-dr-{i}"))).collect(),
            colleagues: (0..n).map(|i| key(&format!("strangers-colleague-{i}"))).collect(),
            rogue: key("strangers-dr-rogue"),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.physicians.len()
    }

    /// The physicians' public keys.
    pub(crate) fn keys(&self) -> Vec<PublicKey> {
        self.physicians.iter().map(SecretKey::public).collect()
    }

    /// Attests everyone at `node` and opens the physicians' and
    /// colleagues' sessions there.
    pub(crate) fn open<'a>(&'a self, node: &Api, net: &Network) -> Vec<Desk<'a>> {
        let everyone = self.physicians.iter().chain(&self.colleagues).chain([&self.rogue]);
        for (i, dr) in everyone.enumerate() {
            node.attest(net, dr, &format!("dr-{i}"), &["cardiology"], "GB");
        }
        let session = |dr: &SecretKey| node.session(net, dr).expect("a session");
        self.physicians
            .iter()
            .zip(&self.colleagues)
            .map(|(physician, colleague)| Desk {
                physician,
                colleague,
                token: session(physician),
                colleague_token: session(colleague),
            })
            .collect()
    }
}

/// Each physician posts once, unmeasured; the posts (stored) are what a
/// stranger may replay.
pub(crate) fn warm_up(desks: &[Desk], addr: SocketAddr, net: &Network) -> Vec<SignedEvent> {
    desks
        .iter()
        .map(|desk| {
            let event = net.post(desk.physician, "Warming up");
            let answer = submit(addr, &desk.token, &event).unwrap();
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            event
        })
        .collect()
}

/// Every physician posts for `secs`, each on a steady schedule, the
/// physicians spread evenly over each interval; every submission's sample.
pub(crate) fn post(desks: &[Desk], addr: SocketAddr, net: &Network, secs: f64) -> Vec<Sample> {
    let interval = Duration::from_secs_f64(1.0 / EACH_PER_SECOND);
    let rounds = (secs * EACH_PER_SECOND).round().max(1.0) as u32;
    let start = Instant::now() + Duration::from_millis(100);
    std::thread::scope(|s| {
        let workers: Vec<_> = desks
            .iter()
            .enumerate()
            .map(|(i, desk)| {
                let offset = interval * i as u32 / desks.len() as u32;
                s.spawn(move || {
                    (0..rounds)
                        .map(|round| {
                            let due = start + offset + interval * round;
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            let title = format!("Round {round}");
                            if round % 2 == 0 {
                                post_once(desk, addr, net, &title, due)
                            } else {
                                reply_early(desk, addr, net, &title, due)
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

/// A post, stored when the answer is `200` `stored`.
fn post_once(desk: &Desk, addr: SocketAddr, net: &Network, title: &str, due: Instant) -> Sample {
    let event = net.post(desk.physician, title);
    let answer = submit(addr, &desk.token, &event);
    let waited = due.elapsed();
    let outcome = answer.and_then(|a| match (a.status, a.outcomes().first()) {
        (200, Some(&"stored")) => Ok(()),
        _ => Err(a.label()),
    });
    Sample { waited, outcome }
}

/// A reply to a colleague's post the node does not hold yet: held when
/// the answer is `202` `pending`; then the parent arrives, and the reply
/// counts as stored once it can be read.
fn reply_early(desk: &Desk, addr: SocketAddr, net: &Network, title: &str, due: Instant) -> Sample {
    let parent = net.post(desk.colleague, title);
    let reply = net.sign(
        desk.physician,
        Body::Comment(Comment {
            parent: parent.id(),
            body: "Seen this before: check the potassium.".into(),
        }),
    );
    let answer = submit(addr, &desk.token, &reply);
    let waited = due.elapsed();
    let outcome = answer
        .and_then(|a| match (a.status, a.outcomes().first()) {
            // Held; or stored at once, its parent fetched from a peer.
            (202, Some(&"pending")) | (200, Some(&"stored")) => Ok(()),
            _ => Err(a.label()),
        })
        .and_then(|()| {
            let a = submit(addr, &desk.colleague_token, &parent)?;
            if a.status == 200 { Ok(()) } else { Err(format!("parent {}", a.label())) }
        })
        .and_then(|()| released(addr, desk, &reply));
    Sample { waited, outcome }
}

/// Whether the held `reply` is stored within [`RELEASE`].
fn released(addr: SocketAddr, desk: &Desk, reply: &SignedEvent) -> Result<(), String> {
    let path = format!("/v1/events/{}", reply.id());
    let deadline = Instant::now() + RELEASE;
    loop {
        let answer = Conn::open(FROM, addr).and_then(|mut c| c.get(&path, Some(&desk.token)));
        match answer {
            Ok(a) if a.status == 200 => return Ok(()),
            _ if Instant::now() > deadline => return Err("held reply not released".into()),
            _ => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// `POST /v1/events` with one event, on a new connection, with `token`.
fn submit(addr: SocketAddr, token: &str, event: &SignedEvent) -> Result<Answer, String> {
    let body = json!({ "events": [wire(event)] }).to_string();
    Conn::open(FROM, addr)
        .and_then(|mut conn| conn.post("/v1/events", Some(token), body.as_bytes()))
        .map_err(|e| format!("{:?}", e.kind()))
}
