//! The CPU flood: full batches of posts whose signatures do not verify,
//! each by a different key, so that no per-author limit covers them and
//! the node does the whole verification of each (a well-formed signature,
//! valid for another message: it passes the encoding screen and fails
//! only the equation, and a batch of failures is halved down to single
//! checks to name them).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use curbside_protocol::{Body, Event, Post, PublicKey, SignedEvent, testkit::key};
use curbside_tests::wire;
use serde_json::json;

use super::{Tally, Target, flood};

pub(crate) const DESCRIPTION: &str =
    "4 connections, batches of 1,024 posts by random keys with signatures that do not verify";

const CONNECTIONS: usize = 4;
/// The API's most events in one request.
const BATCH: usize = 1024;
/// Keys the posts are by, taken in turn: at the node's verification rate
/// (a few thousand bad signatures a second here) each is used less than
/// once a second, the per-physician limit's refill.
const AUTHORS: usize = 32_768;

pub(crate) fn run(target: &Target, tally: &Tally) {
    let authors = authors();
    let signature = key("strangers-cpu").sign(b"a signature over something else");
    let next = AtomicUsize::new(0);
    flood(target, tally, CONNECTIONS, 1, || {
        let events: Vec<String> = (0..BATCH)
            .map(|_| {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = Body::Post(Post {
                    hub: "general".parse().unwrap(),
                    title: format!("Noise {n}"),
                    body: "Nothing.".into(),
                });
                let event =
                    Event::new(target.net.id(), authors[n % AUTHORS], curbside_node::now(), body);
                wire(&SignedEvent::from_parts(event, signature))
            })
            .collect();
        (BATCH as u64, json!({ "events": events }).to_string().into_bytes())
    });
}

/// [`AUTHORS`] public keys, made once (on every core: a key costs a
/// scalar multiplication) before the first batch.
fn authors() -> &'static [PublicKey] {
    static AUTHORS_MADE: OnceLock<Vec<PublicKey>> = OnceLock::new();
    AUTHORS_MADE.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let per = AUTHORS.div_ceil(threads);
        std::thread::scope(|s| {
            let parts: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t * per..((t + 1) * per).min(AUTHORS))
                            .map(|i| key(&format!("strangers-noise-{i}")).public())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
        })
    })
}
