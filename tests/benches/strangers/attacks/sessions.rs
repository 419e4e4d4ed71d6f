//! Sessions: an attested physician opening sessions as fast as it can
//! (the one attack here that needs a credential: a physician's key, as
//! a stolen or careless device holds), while strangers ask for
//! challenges for keys of their choosing.

use std::time::Duration;

use curbside_node::api::session_message;
use curbside_protocol::{Digest, testkit::key};
use serde_json::json;

use super::{Client, Tally, Target, stranger};

pub(crate) const DESCRIPTION: &str = "an attested physician opening sessions on 2 connections as fast \
    as they answer, and strangers asking for challenges for random keys on 2 more";

pub(crate) fn run(target: &Target, tally: &Tally) {
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| open_sessions(target, tally));
            s.spawn(|| ask_challenges(target, tally));
        }
    });
}

/// The rogue physician, from an address of its own, opens sessions one
/// after another: a challenge, signed, answered.
fn open_sessions(target: &Target, tally: &Tally) {
    let mut client = Client::new(stranger(1), target.api);
    while tally.running() {
        match open_session(&mut client, target, tally) {
            Some(outcome) => tally.answered(&outcome, 1),
            None => {
                tally.pause(Duration::from_millis(50));
            }
        }
        tally.engage();
    }
}

/// How one attempt ended (`session opened`, or the refusal), or `None`
/// if the connection failed.
fn open_session(client: &mut Client, target: &Target, tally: &Tally) -> Option<String> {
    let rogue = target.rogue;
    let ask = json!({ "key": rogue.public() }).to_string();
    let answer = client.post(tally, "/v1/session/challenge", 0, ask.as_bytes())?;
    let Some(challenge) = answer.body["challenge"].as_str().and_then(|c| c.parse::<Digest>().ok())
    else {
        return Some(format!("challenge {}", answer.label()));
    };
    let signature = rogue.sign(&session_message(&target.net.id(), challenge.as_bytes()));
    let open = json!({ "key": rogue.public(), "challenge": challenge, "signature": signature });
    let answer = client.post(tally, "/v1/session", 0, open.to_string().as_bytes())?;
    Some(if answer.status == 200 {
        "session opened".into()
    } else {
        format!("session {}", answer.label())
    })
}

fn ask_challenges(target: &Target, tally: &Tally) {
    let keys: Vec<_> =
        (0..256).map(|i| key(&format!("strangers-challenger-{i}")).public()).collect();
    let mut client = Client::new(stranger(0), target.api);
    for key in keys.iter().cycle() {
        if !tally.running() {
            break;
        }
        let body = json!({ "key": key }).to_string();
        match client.post(tally, "/v1/session/challenge", 0, body.as_bytes()) {
            Some(answer) => tally.answered(&format!("challenge {}", answer.status), 1),
            None => {
                tally.pause(Duration::from_millis(50));
            }
        }
    }
}
