//! Someone else's rate limit: events in the physicians' names that cost a
//! stranger nothing to make — posts with a signature that does not
//! verify, and replays of posts of theirs already stored — to use up the
//! per-physician limit, if the node charges it before checking the
//! signature or for events it already holds.

use std::time::{Duration, Instant};

use curbside_protocol::{Body, Event, Post, PublicKey, SignedEvent, testkit::key};
use curbside_tests::wire;
use serde_json::json;

use super::{Client, Tally, Target, stranger};

pub(crate) const DESCRIPTION: &str = "one connection; for each physician 20 posts with a forged \
    signature naming them and 11 replays of a stored post of theirs, then 2 forged and 1 replay \
    every 250 ms";

const EVERY: Duration = Duration::from_millis(250);

pub(crate) fn run(target: &Target, tally: &Tally) {
    let signature = key("strangers-forger").sign(b"a signature over something else");
    let mut forged = 0usize;
    let mut forge = |author: &PublicKey| {
        forged += 1;
        let body = Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: format!("Forged {forged}"),
            body: "Not written by this physician.".into(),
        });
        SignedEvent::from_parts(
            Event::new(target.net.id(), *author, curbside_node::now(), body),
            signature,
        )
    };
    let mut request = |forgeries: usize, replays: usize| {
        let mut events = Vec::new();
        for (author, stored) in target.physicians.iter().zip(&target.stored) {
            events.extend((0..forgeries).map(|_| wire(&forge(author))));
            events.extend((0..replays).map(|_| wire(stored)));
        }
        (events.len() as u64, json!({ "events": events }).to_string().into_bytes())
    };
    let mut client = Client::new(stranger(0), target.api);
    let mut send = |(events, body): (u64, Vec<u8>)| client.submit(tally, events, &body);
    send(request(20, 11));
    tally.engage();
    let start = Instant::now();
    for round in 1u32.. {
        if !tally.pause((start + EVERY * round).saturating_duration_since(Instant::now())) {
            break;
        }
        send(request(2, 1));
    }
}
