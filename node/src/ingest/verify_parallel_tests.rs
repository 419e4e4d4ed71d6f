//! Signature verification split over threads: results stay paired with
//! their events, and a panicked verifier fails the whole batch.

use curbside_protocol::testkit::Federation;

use super::*;

/// Enough posts for four threads of [`MIN_EVENTS_PER_THREAD`] each.
fn posts(fed: &mut Federation, n: usize) -> Vec<SignedEvent> {
    let dr = fed.physician("dr-ada");
    (0..n).map(|i| fed.post(&dr, &format!("Case {i}"))).collect()
}

fn id_of(result: &Verified) -> EventId {
    match result {
        Ok(verified) => verified.event().id(),
        Err((event, _)) => event.id(),
    }
}

#[test]
fn results_come_back_in_the_order_of_the_events() {
    let mut fed = Federation::new();
    let events = posts(&mut fed, 4 * MIN_EVENTS_PER_THREAD);
    let ids: Vec<EventId> = events.iter().map(SignedEvent::id).collect();
    let results = verify_parallel(events, 4).unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(results.iter().map(id_of).collect::<Vec<_>>(), ids);
}

/// Regression: a panicked thread's results were dropped
/// (`join().unwrap_or_default()`), so the results after it paired with the
/// wrong events and the batch was committed before being reported failed.
#[test]
fn a_panicked_verifier_fails_the_whole_batch() {
    let mut fed = Federation::new();
    let events = posts(&mut fed, 4 * MIN_EVENTS_PER_THREAD);
    let doomed = events[MIN_EVENTS_PER_THREAD + 1].id();
    let verify = move |chunk: Vec<SignedEvent>| {
        assert!(chunk.iter().all(|e| e.id() != doomed), "verifier bug");
        verify_batch(chunk)
    };
    let result = verify_parallel_with(events, 4, verify);
    assert!(matches!(result, Err(StoreError::Internal(_))), "{result:?}");
}
