//! The CPU flood: full batches of posts whose signatures do not verify,
//! each by a different key, so that no per-author limit covers them and
//! the node does the whole verification of each (a well-formed signature,
//! valid for another message: it passes the encoding screen and fails
//! only the equation, and a batch of failures is halved down to single
//! checks to name them).

use curbside_protocol::{Body, Event, Post, Signature, SignedEvent, testkit::key};
use curbside_tests::Network;

use super::{Submission, Tally, Target, flood};

pub(crate) const DESCRIPTION: &str = "4 connections, batches of 1,024 posts by random keys with \
    signatures that do not verify (64 batches made beforehand, sent round and round)";

const CONNECTIONS: usize = 4;
/// The API's most events in one request.
const BATCH: usize = 1024;
/// Batches made, each event by a key of its own: sent round and round at
/// the node's verification rate (a few batches a second here), each key
/// comes back less often than once a second, the per-physician limit's
/// refill.
const BATCHES: usize = 64;

pub(crate) fn run(target: &Target, tally: &Tally) {
    let signature = key("strangers-cpu").sign(b"a signature over something else");
    let batches = Submission::made(BATCHES, |b| {
        let events: Vec<SignedEvent> =
            (b * BATCH..(b + 1) * BATCH).map(|n| noise(target.net, n, signature)).collect();
        Submission::of(&events)
    });
    flood(target, tally, CONNECTIONS, 1, &batches);
}

/// The `n`th post, by a key of its own, with `signature`.
fn noise(net: &Network, n: usize, signature: Signature) -> SignedEvent {
    let author = key(&format!("strangers-noise-{n}")).public();
    let body = Body::Post(Post {
        hub: "general".parse().unwrap(),
        title: format!("Noise {n}"),
        body: "Nothing.".into(),
    });
    SignedEvent::from_parts(Event::new(net.id(), author, curbside_node::now(), body), signature)
}
