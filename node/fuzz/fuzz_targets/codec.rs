//! A peer's stream -> the request-response codec (`/curbside/sync/1`), read
//! both as a request and as a response, then what the node does next with
//! no store: reconciliation messages are answered against a set, fetched
//! event bytes are decoded.
//!
//! Checks, on every input:
//! - nothing panics in the codec, in `recon::respond` / `recon::reconcile`
//!   or in `SignedEvent::decode`;
//! - whatever the codec reads, it writes back as exactly the bytes read
//!   (one value, one spelling on the wire);
//! - a reconciliation reply is within its announced length and reads back
//!   through the codec to the same message.
#![no_main]

use std::sync::LazyLock;

use curbside_node::net::codec::{PROTOCOL, PostcardCodec};
use curbside_node::wire::{Request, Response};
use curbside_protocol::recon::{self, Message, SyncSet};
use curbside_protocol::SignedEvent;
use futures::executor::block_on;
use futures::io::Cursor;
use libfuzzer_sys::fuzz_target;
use libp2p::request_response::Codec;

type Sync = PostcardCodec<Request, Response>;

static SET: LazyLock<SyncSet> = LazyLock::new(curbside_node_fuzz::sync_set);

fn written_request(req: Request) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    block_on(Sync::default().write_request(&PROTOCOL, &mut out, req)).expect("writing a request");
    out.into_inner()
}

fn written_response(resp: Response) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    block_on(Sync::default().write_response(&PROTOCOL, &mut out, resp))
        .expect("writing a response");
    out.into_inner()
}

/// A reply the node would send: within its announced length, and read back
/// by the peer's codec as the same message.
fn check_reply(reply: Option<Message>) {
    let Some(message) = reply else { return };
    let bytes = written_response(Response::Reconcile { message: Some(message.clone()) });
    // One byte of variant, one of `Some`, then the message.
    assert_eq!(message.encoded_len() + 2, bytes.len());
    let back = block_on(Sync::default().read_response(&PROTOCOL, &mut Cursor::new(bytes)));
    match back {
        Ok(Response::Reconcile { message: Some(m) }) => assert_eq!(m, message),
        other => panic!("a reply did not read back: {other:?}"),
    }
}

fn check_message(message: &Message) {
    for set in [&*SET, &SyncSet::new()] {
        if let Ok(reply) = recon::respond(set, message) {
            check_reply(reply.next);
        }
        if let Ok(step) = recon::reconcile(set, message) {
            check_reply(step.next);
        }
    }
}

fn decode_events(events: &[Vec<u8>]) {
    for bytes in events {
        if let Ok(event) = SignedEvent::decode(bytes) {
            assert_eq!(&event.to_bytes(), bytes);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let request =
        block_on(Sync::default().read_request(&PROTOCOL, &mut Cursor::new(data.to_vec())));
    if let Ok(request) = request {
        assert_eq!(written_request(request.clone()), data, "a request has a second spelling");
        if let Request::Reconcile { message, .. } = &request {
            check_message(message);
        }
    }
    let response =
        block_on(Sync::default().read_response(&PROTOCOL, &mut Cursor::new(data.to_vec())));
    if let Ok(response) = response {
        assert_eq!(written_response(response.clone()), data, "a response has a second spelling");
        match &response {
            Response::Credentials { events } | Response::Events { events } => decode_events(events),
            Response::LogLeaves { events, .. } => decode_events(events),
            Response::LogHead { head: Some(head), .. } => decode_events(std::slice::from_ref(head)),
            Response::Reconcile { message: Some(message) } => check_message(message),
            _ => {}
        }
    }
});
