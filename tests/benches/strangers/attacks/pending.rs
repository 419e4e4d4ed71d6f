//! The pending flood: events whose author no verifier has attested, so a
//! node that holds what waits for a dependency holds them all. Each is a
//! case of about 30 KB, near the network's 32 KiB limit, to cost the
//! node as much memory and disk as one event can.

use curbside_protocol::{AgeBand, Body, Case, SignedEvent, testkit::key};
use curbside_tests::Network;

use super::{Submission, Tally, Target, flood};

pub(crate) const DESCRIPTION: &str = "4 connections, 24 cases of 30 KB a request, each by a \
    key of its own that no verifier attested (12,000 made beforehand, sent round and round)";

const CONNECTIONS: usize = 4;
/// The node's default pending set holds 10,000 events: the physicians
/// start posting once that many have been sent, when a node that holds
/// them all is full.
const HOLDS: u64 = 10_000;
/// 24 cases of 30 KB, about 40 KB each in base64url, stay under the
/// API's 1 MiB body limit.
const PER_REQUEST: usize = 24;
/// Requests made beforehand (12,000 cases, 480 MB in base64url), sent
/// round and round: more than a pending set of 10,000 holds.
const REQUESTS: usize = 500;

pub(crate) fn run(target: &Target, tally: &Tally) {
    let requests = Submission::made(REQUESTS, |r| {
        let events: Vec<SignedEvent> = (r * PER_REQUEST..(r + 1) * PER_REQUEST)
            .map(|n| unattested_case(target.net, n))
            .collect();
        Submission::of(&events)
    });
    flood(target, tally, CONNECTIONS, HOLDS, &requests);
}

/// The `n`th case, by a key of its own.
fn unattested_case(net: &Network, n: usize) -> SignedEvent {
    let author = key(&format!("strangers-unattested-{n}"));
    let event = net.sign(
        &author,
        Body::Case(Case {
            hub: "general".parse().unwrap(),
            title: format!("Case {n}"),
            age: AgeBand::Age40To49,
            sex: curbside_protocol::Sex::Unspecified,
            presentation: text(10_000),
            history: text(10_000),
            findings: text(9_300),
            question: "What would you do next?".into(),
            tags: Vec::new(),
        }),
    );
    debug_assert!(event.encoded_len() > 29_000, "{}", event.encoded_len());
    event
}

fn text(len: usize) -> String {
    "Fever and a dry cough for three days; no travel, no sick contacts. "
        .chars()
        .cycle()
        .take(len)
        .collect()
}
