//! A physician's own state: follows, bookmarks, read marks (bounded), and
//! the inbox computed from them.

use super::*;
use crate::store::{Follow, ItemKind, MAX_BOOKMARKS, MAX_FOLLOWS, MAX_READ, MarkError};

fn kinds(
    n: &Node,
    fed: &Federation,
    who: &curbside_protocol::SecretKey,
) -> Vec<(EventId, ItemKind, bool)> {
    let items = n.store.personal().inbox(&who.public(), fed.now()).unwrap();
    items.into_iter().map(|i| (i.event.id(), i.kind, i.read)).collect()
}

#[test]
fn a_followed_thread_brings_its_new_replies_and_a_followed_hub_its_new_posts() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Resistant hypertension");
    let early = fed.comment(&drs[1], &post, "Check adherence first");
    put(&n, &fed, &[post.clone(), early.clone()]);
    let me = drs[2].public();
    let personal = n.store.personal();
    assert!(personal.follow(&me, &Follow::Thread(post.id()), fed.tick()).unwrap());
    assert!(!personal.follow(&me, &Follow::Thread(post.id()), fed.now()).unwrap(), "once");
    fed.tick();
    let later = fed.comment(&drs[1], &post, "Then spironolactone");
    let own = fed.comment(&drs[2], &post, "Agreed");
    put(&n, &fed, &[later.clone(), own]);
    assert_eq!(kinds(&n, &fed, &drs[2]), vec![(later.id(), ItemKind::ThreadReply, false)]);
    // dr-a wrote the post: both replies of others are theirs to read.
    let of_author: Vec<_> = kinds(&n, &fed, &drs[0]).into_iter().map(|k| k.1).collect();
    assert_eq!(of_author, vec![ItemKind::Reply; 3]);

    let hub: curbside_protocol::HubId = "general".parse().unwrap();
    assert!(personal.follow(&me, &Follow::Hub(hub.clone()), fed.tick()).unwrap());
    fed.tick();
    let new_post = fed.post(&drs[3], "A new case of gout");
    put(&n, &fed, std::slice::from_ref(&new_post));
    let items = kinds(&n, &fed, &drs[2]);
    assert_eq!(items[0], (new_post.id(), ItemKind::HubPost, false), "{items:?}");
    assert_eq!(items.len(), 2, "the older post is not news");

    personal.mark_read(&me, &[later.id()], fed.now()).unwrap();
    let items = kinds(&n, &fed, &drs[2]);
    assert!(items.contains(&(later.id(), ItemKind::ThreadReply, true)), "{items:?}");
    assert!(personal.unfollow(&me, &Follow::Thread(post.id())).unwrap());
    assert!(personal.unfollow(&me, &Follow::Hub(hub)).unwrap());
    assert!(kinds(&n, &fed, &drs[2]).is_empty());
    // Nobody else's state changed.
    assert!(personal.follows(&drs[0].public()).unwrap().is_empty());
    assert!(personal.read_items(&drs[0].public()).unwrap().is_empty());
}

#[test]
fn a_poll_voted_in_comes_back_when_it_closes() {
    let (mut fed, n, drs) = setup();
    let poll = fed.poll(&drs[0], &["a", "b"], &[]);
    let vote = fed.vote(&drs[1], &poll, 1);
    put(&n, &fed, &[poll.clone(), vote]);
    assert!(kinds(&n, &fed, &drs[1]).is_empty(), "still open");
    let closes_at = match poll.body() {
        Body::Poll(p) => p.closes_at,
        _ => unreachable!(),
    };
    let items = n.store.personal().inbox(&drs[1].public(), closes_at).unwrap();
    let got: Vec<_> = items.iter().map(|i| (i.event.id(), i.kind, i.at)).collect();
    assert_eq!(got, vec![(poll.id(), ItemKind::PollClosed, closes_at)]);
}

#[test]
fn lists_are_capped_and_read_marks_forget_the_oldest() {
    let (fed, n, drs) = setup();
    let me = drs[0].public();
    let personal = n.store.personal();
    let id = |i: usize| {
        EventId::from_bytes(
            <[u8; 32]>::try_from([&(i as u64).to_be_bytes()[..], &[7u8; 24]].concat()).unwrap(),
        )
    };
    for i in 0..MAX_FOLLOWS {
        personal.follow(&me, &Follow::Thread(id(i)), fed.now()).unwrap();
    }
    let hub = Follow::Hub("general".parse().unwrap());
    assert!(matches!(
        personal.follow(&me, &hub, fed.now()),
        Err(MarkError::Full { limit: MAX_FOLLOWS, .. })
    ));
    // Another physician's lists are their own.
    assert!(personal.follow(&drs[1].public(), &hub, fed.now()).unwrap());
    for i in 0..MAX_BOOKMARKS {
        personal.bookmark(&me, &id(i), Timestamp::from_millis(i as u64)).unwrap();
    }
    assert!(matches!(
        personal.bookmark(&me, &id(MAX_BOOKMARKS), fed.now()),
        Err(MarkError::Full { limit: MAX_BOOKMARKS, .. })
    ));
    let marks = personal.bookmarks(&me).unwrap();
    assert_eq!(marks.first().map(|m| m.0), Some(id(MAX_BOOKMARKS - 1)), "newest first");
    assert!(personal.unbookmark(&me, &id(0)).unwrap());
    assert!(!personal.unbookmark(&me, &id(0)).unwrap());

    let first: Vec<EventId> = (0..MAX_READ).map(id).collect();
    personal.mark_read(&me, &first, Timestamp::from_millis(1)).unwrap();
    personal.mark_read(&me, &[id(MAX_READ), id(MAX_READ + 1)], Timestamp::from_millis(2)).unwrap();
    let read = personal.read_items(&me).unwrap();
    assert_eq!(read.len(), MAX_READ);
    assert!(read.contains(&id(MAX_READ + 1)));
}

#[test]
fn the_outcome_of_a_case_one_follows_or_replied_in_reaches_the_inbox() {
    let (mut fed, n, drs) = setup();
    let rules = fed.raise_rules(3);
    let case = fed.case(&drs[0], "Syncope in a young athlete");
    let reply = fed.comment(&drs[1], &case, "Exercise test first");
    put(&n, &fed, &[rules, case.clone(), reply]);
    let follower = drs[2].public();
    assert!(n.store.personal().follow(&follower, &Follow::Thread(case.id()), fed.tick()).unwrap());
    let outcome = fed.outcome(&drs[0], &case, "Long QT syndrome type 1");
    assert!(put(&n, &fed, std::slice::from_ref(&outcome)).iter().all(Outcome::is_stored));
    for who in [&drs[1], &drs[2]] {
        let items = kinds(&n, &fed, who);
        assert!(items.contains(&(outcome.id(), ItemKind::Outcome, false)), "{items:?}");
    }
    // Not to the case's author, who wrote it.
    assert!(!kinds(&n, &fed, &drs[0]).iter().any(|i| i.1 == ItemKind::Outcome));
}
