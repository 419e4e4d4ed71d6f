//! The admission rules, one story each, with made-up instants.

use super::*;

const TIMEOUT: Duration = Duration::from_secs(20);

fn limits() -> Limits {
    Limits { timeout: TIMEOUT, max_unadmitted: 2, graylist: -80.0 }
}

fn key(seed: u8) -> PublicKey {
    curbside_protocol::SecretKey::from_seed(&[seed; 32]).public()
}

fn peer(state: State, since: Instant) -> Standing {
    Standing {
        id: PeerId::random(),
        key: Some(key(1)),
        state,
        since,
        told: Told::Yes,
        score: Some(0.0),
    }
}

fn code(action: &Action) -> Option<&'static str> {
    match action {
        Action::Refuse { code, .. } => Some(code.as_str()),
        _ => None,
    }
}

#[test]
fn a_new_peer_that_never_shows_a_charter_is_refused_only_after_the_timeout() {
    let start = Instant::now();
    for state in [State::Looking, State::Checking { asked: true }] {
        let p = peer(state, start);
        assert_eq!(check(start + TIMEOUT, limits(), [p]), vec![], "{state:?} at the timeout");
        let late = check(start + TIMEOUT + Duration::from_millis(1), limits(), [p]);
        assert_eq!(late.iter().map(code).collect::<Vec<_>>(), vec![Some("not_chartered")]);
    }
}

#[test]
fn a_new_peer_not_yet_asked_is_asked_and_one_asked_is_left_to_answer() {
    let start = Instant::now();
    let unasked = peer(State::Checking { asked: false }, start);
    assert_eq!(check(start, limits(), [unasked]), vec![Action::AskCredentials(unasked.id)]);
    // Its key is still being looked up: nothing is asked yet.
    let looking = peer(State::Looking, start);
    assert_eq!(check(start, limits(), [looking]), vec![]);
    let asked = peer(State::Checking { asked: true }, start);
    assert_eq!(check(start, limits(), [asked]), vec![]);
}

/// The race fixed by giving the other side twice as long: both nodes time
/// out at about the same moment, and the one that never saw a charter
/// must be the one to refuse, with the real cause (`not_chartered`), not
/// the one waiting to be admitted back (`not_admitted`).
#[test]
fn a_peer_that_has_not_admitted_this_node_back_gets_twice_the_timeout() {
    let start = Instant::now();
    let welcoming = peer(State::Welcoming, start);
    let checking = peer(State::Checking { asked: true }, start);
    let at = start + TIMEOUT + TIMEOUT / 2;
    let actions = check(at, limits(), [welcoming, checking]);
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(code(&actions[1]), Some("not_chartered"), "the unchartered side times out");
    assert_eq!(actions[0], Action::Review(welcoming.id, key(1)), "the other side still waits");
    let later = check(start + TIMEOUT * 2 + Duration::from_millis(1), limits(), [welcoming]);
    assert_eq!(later.iter().map(code).collect::<Vec<_>>(), vec![Some("not_admitted")]);
}

#[test]
fn an_admitted_peer_is_never_timed_out_but_its_charter_is_read_again() {
    let start = Instant::now();
    let admitted = peer(State::Admitted, start);
    let actions = check(start + TIMEOUT * 100, limits(), [admitted]);
    assert_eq!(actions, vec![Action::Review(admitted.id, key(1))]);
}

#[test]
fn a_graylisted_peer_is_cut_off_before_its_charter_is_read() {
    let start = Instant::now();
    let mut p = peer(State::Admitted, start);
    p.score = Some(-80.5);
    assert_eq!(
        check(start, limits(), [p]).iter().map(code).collect::<Vec<_>>(),
        vec![Some("score_too_low")]
    );
    // A welcoming peer is not meshed, so its score is not held against it.
    p.state = State::Welcoming;
    assert_eq!(check(start, limits(), [p]), vec![Action::Review(p.id, key(1))]);
}

#[test]
fn a_review_tells_a_peer_not_yet_told_and_drops_a_lapsed_one() {
    let start = Instant::now();
    let mut p = peer(State::Welcoming, start);
    p.told = Told::No;
    assert_eq!(reviewed(&p, Admission::Chartered), Some(Action::TellAdmitted(p.id)));
    p.told = Told::Asking;
    assert_eq!(reviewed(&p, Admission::Chartered), None, "a request is out already");
    let revoked =
        Admission::Refused { code: "charter_revoked".parse().unwrap(), message: "revoked".into() };
    assert_eq!(reviewed(&p, revoked).as_ref().and_then(code), Some("charter_revoked"));
    assert_eq!(reviewed(&p, Admission::Unknown).as_ref().and_then(code), Some("not_chartered"));
}

/// The review is read off the swarm task, so a peer may have changed by
/// the time the verdict is back: one refused and reconnected since is
/// looking again, and is not judged by the old verdict.
#[test]
fn a_review_that_comes_back_after_the_peer_changed_is_dropped() {
    let p = peer(State::Looking, Instant::now());
    assert_eq!(reviewed(&p, Admission::Unknown), None);
    let q = peer(State::Checking { asked: true }, Instant::now());
    assert_eq!(reviewed(&q, Admission::Unknown), None);
}

/// Throwaway peer ids must not take the places of peers whose charter is
/// known: past `max_unadmitted` a stranger is disconnected (not blocked:
/// it may be an honest node whose charter has not reached this one), while
/// a chartered peer is admitted whatever the count.
#[test]
fn past_the_cap_strangers_are_disconnected_and_chartered_peers_still_admitted() {
    let p = peer(State::Looking, Instant::now());
    assert_eq!(looked_up(&p, Admission::Unknown, 1, limits()), Some(Action::AskCredentials(p.id)));
    assert_eq!(looked_up(&p, Admission::Unknown, 2, limits()), Some(Action::Disconnect(p.id)));
    assert_eq!(looked_up(&p, Admission::Chartered, 99, limits()), Some(Action::Admit(p.id)));
    let lapsed =
        Admission::Refused { code: "no_valid_charter".parse().unwrap(), message: "lapsed".into() };
    assert_eq!(
        looked_up(&p, lapsed, 0, limits()).as_ref().and_then(code),
        Some("no_valid_charter")
    );
    // Timed out while being looked up: the late verdict changes nothing.
    let q = peer(State::Checking { asked: false }, Instant::now());
    assert_eq!(looked_up(&q, Admission::Chartered, 0, limits()), None);
}

#[test]
fn a_charter_shown_and_ingested_admits_the_peer_once() {
    let p = peer(State::Checking { asked: true }, Instant::now());
    assert_eq!(checked(&p, Admission::Chartered), Some(Action::Admit(p.id)));
    assert_eq!(checked(&p, Admission::Unknown), Some(Action::AskAgain(p.id)));
    let welcoming = peer(State::Welcoming, Instant::now());
    assert_eq!(checked(&welcoming, Admission::Chartered), None, "admitted already");
    let forged =
        Admission::Refused { code: "bad_signature".parse().unwrap(), message: "forged".into() };
    assert_eq!(checked(&p, forged).as_ref().and_then(code), Some("bad_signature"));
}

fn connected(since: Instant, meshed: bool, synced: Option<Instant>) -> Connected {
    Connected { id: PeerId::random(), since, meshed, synced }
}

#[test]
fn under_the_bound_no_peer_is_disconnected() {
    let t = Instant::now();
    let peers: Vec<Connected> = (0..4).map(|i| connected(t + secs(i), false, None)).collect();
    assert!(excess(peers.clone(), 4).is_empty());
    assert!(excess(peers, 10).is_empty());
}

#[test]
fn past_the_bound_the_newest_peers_outside_the_mesh_go_first() {
    let t = Instant::now();
    let old_meshed = connected(t, true, None);
    let old = connected(t + secs(1), false, None);
    let new_meshed = connected(t + secs(5), true, None);
    let newer = connected(t + secs(6), false, None);
    let newest = connected(t + secs(7), false, None);
    let peers = vec![newest, old_meshed, newer, old, new_meshed];
    let mut dropped = excess(peers.clone(), 3);
    dropped.sort();
    let mut expected = vec![newer.id, newest.id];
    expected.sort();
    assert_eq!(dropped, expected);
    // Tighter still: the meshed peers are the last to go, the newer first.
    let dropped = excess(peers, 1);
    assert_eq!(dropped.len(), 4);
    assert!(!dropped.contains(&old_meshed.id));
}

#[test]
fn sync_rounds_reach_the_longest_unsynced_peers_in_turn() {
    let t = Instant::now();
    let never = connected(t + secs(3), false, None);
    let long_ago = connected(t, false, Some(t + secs(10)));
    let lately = connected(t, true, Some(t + secs(50)));
    let recently = connected(t + secs(1), false, Some(t + secs(40)));
    let peers = vec![lately, recently, long_ago, never];
    assert_eq!(sync_partners(peers.clone(), 2), vec![never.id, long_ago.id]);
    assert_eq!(sync_partners(peers.clone(), 3), vec![never.id, long_ago.id, recently.id]);
    assert_eq!(sync_partners(peers, 10).len(), 4);
    assert!(sync_partners(Vec::new(), 3).is_empty());
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
