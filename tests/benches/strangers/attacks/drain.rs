//! Someone else's rate limit: events in the physicians' names that cost a
//! stranger nothing to make — posts with a signature that does not
//! verify, and replays of posts of theirs already stored — to use up the
//! per-physician limit, if the node charges it before checking the
//! signature or for events it already holds. Each stranger address
//! attacks a few physicians and stays within what the node takes from an
//! address (50 events a second since main 6b345bb), so that every event
//! it sends is judged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use curbside_protocol::{Body, Event, Post, PublicKey, Signature, SignedEvent, testkit::key};

use super::{Client, Submission, Tally, Target, stranger};

pub(crate) const DESCRIPTION: &str = "an address for every 4 physicians, one connection each; for \
    each physician 20 posts with a forged signature naming them and 11 replays of a stored post \
    of theirs, then 2 forged and 1 replay every 250 ms (48 events a second an address)";

/// Physicians one stranger address attacks.
const PER_ADDRESS: usize = 4;
const EVERY: Duration = Duration::from_millis(250);

pub(crate) fn run(target: &Target, tally: &Tally) {
    let forger = Forger {
        target,
        signature: key("strangers-forger").sign(b"a signature over something else"),
        made: AtomicUsize::new(0),
    };
    let victims: Vec<(&PublicKey, &SignedEvent)> =
        target.physicians.iter().zip(&target.stored).collect();
    let groups = victims.len().div_ceil(PER_ADDRESS);
    let started = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (a, group) in victims.chunks(PER_ADDRESS).enumerate() {
            let (forger, started) = (&forger, &started);
            s.spawn(move || {
                let mut client = Client::new(stranger(a), target.api);
                let mut send = |s: Submission| client.submit(tally, s.events(), s.body());
                send(forger.request(group, 20, 11));
                if started.fetch_add(1, Ordering::Relaxed) + 1 == groups {
                    tally.engage();
                }
                let start = Instant::now();
                for round in 1u32.. {
                    let next = start + EVERY * round;
                    if !tally.pause(next.saturating_duration_since(Instant::now())) {
                        break;
                    }
                    send(forger.request(group, 2, 1));
                }
            });
        }
    });
}

/// Makes the posts in physicians' names.
#[derive(Debug)]
struct Forger<'a> {
    target: &'a Target<'a>,
    /// Well formed, and valid for another message than any post's.
    signature: Signature,
    made: AtomicUsize,
}

impl Forger<'_> {
    /// For each physician of `victims`, `forgeries` new forged posts and
    /// `replays` copies of their stored post.
    fn request(
        &self,
        victims: &[(&PublicKey, &SignedEvent)],
        forgeries: usize,
        replays: usize,
    ) -> Submission {
        let mut events = Vec::new();
        for (author, stored) in victims {
            events.extend((0..forgeries).map(|_| self.forge(author)));
            events.extend((0..replays).map(|_| (*stored).clone()));
        }
        Submission::of(&events)
    }

    fn forge(&self, author: &PublicKey) -> SignedEvent {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        let body = Body::Post(Post {
            hub: "general".parse().unwrap(),
            title: format!("Forged {n}"),
            body: "Not written by this physician.".into(),
        });
        let event = Event::new(self.target.net.id(), *author, curbside_node::now(), body);
        SignedEvent::from_parts(event, self.signature)
    }
}
