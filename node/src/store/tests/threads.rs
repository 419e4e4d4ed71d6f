//! Threads: pages depth first, roots across restarts, cursors.

use super::*;

/// A post and a branching discussion under it, stored in two commits:
/// `(depth, id)` depth first, each parent's replies oldest first.
fn discussion(
    fed: &mut Federation,
    n: &Node,
    drs: &[curbside_protocol::SecretKey],
) -> Vec<(usize, curbside_protocol::EventId)> {
    let post = fed.post(&drs[0], "Refractory hypertension");
    let a = fed.comment(&drs[1], &post, "Spironolactone next?");
    let b = fed.comment(&drs[2], &post, "Check adherence first");
    let c = fed.comment(&drs[3], &post, "Renal artery imaging?");
    let a1 = fed.comment(&drs[0], &a, "K is 5.1");
    let a2 = fed.comment(&drs[4], &a, "Amiloride then");
    let c1 = fed.comment(&drs[5], &c, "Duplex was normal");
    let a1x = fed.comment(&drs[1], &a1, "Then a low dose, and recheck");
    put(n, fed, &[post.clone(), a.clone(), b.clone(), c.clone()]);
    put(n, fed, &[a1.clone(), a2.clone(), c1.clone(), a1x.clone()]);
    [(0, &post), (1, &a), (2, &a1), (3, &a1x), (2, &a2), (1, &b), (1, &c), (2, &c1)]
        .into_iter()
        .map(|(depth, e)| (depth, e.id()))
        .collect()
}

/// Every page of `root`'s thread of `limit` entries, concatenated, and
/// whether each page but the last said more remained.
fn pages(
    n: &Node,
    root: &curbside_protocol::EventId,
    limit: usize,
) -> Vec<(usize, curbside_protocol::EventId)> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = n.store.events().thread(root, after.as_ref(), limit).unwrap();
        assert!(page.entries.len() <= limit, "a page holds at most its limit");
        all.extend(page.entries.iter().map(|e| (e.depth, e.id)));
        if !page.more {
            return all;
        }
        assert_eq!(page.entries.len(), limit, "only a full page leaves more");
        after = page.entries.last().map(|e| e.id);
    }
}

#[test]
fn thread_pages_concatenated_are_the_whole_thread_with_depths() {
    let (mut fed, n, drs) = setup();
    let expected = discussion(&mut fed, &n, &drs);
    let whole = n.store.events().thread(&expected[0].1, None, 100).unwrap();
    assert!(!whole.more);
    let shape: Vec<_> = whole.entries.iter().map(|e| (e.depth, e.id)).collect();
    assert_eq!(shape, expected);
    for limit in 1..=expected.len() + 1 {
        assert_eq!(pages(&n, &expected[0].1, limit), expected, "pages of {limit}");
    }
    // A reply's own thread is its subtree, its depths counted from it.
    let (a, a_subtree) = (expected[1].1, &expected[1..5]);
    let from_a: Vec<_> = a_subtree.iter().map(|(d, id)| (d - 1, *id)).collect();
    for limit in 1..=4 {
        assert_eq!(pages(&n, &a, limit), from_a, "pages of {limit} from a reply");
    }
}

#[test]
fn a_reply_after_a_restart_finds_its_thread_from_its_parents_record() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyperkalaemia on trimethoprim");
    let reply = fed.comment(&drs[1], &post, "Stop it");
    let nested = fed.comment(&drs[2], &reply, "K back to 4.8");
    put(&n, &fed, &[post.clone(), reply.clone(), nested.clone()]);
    let (dir, genesis) = (n._dir, n.store.genesis().clone());
    drop(n.store);
    // Reopened, the writer remembers no roots: the parent's record names it.
    let n = Node { store: Store::open(dir.path(), genesis).unwrap(), _dir: dir };
    let late = fed.comment(&drs[3], &nested, "Recheck in a week");
    assert!(put(&n, &fed, std::slice::from_ref(&late)).iter().all(Outcome::is_stored));
    let page = n.store.events().thread(&post.id(), None, 100).unwrap();
    let shape: Vec<_> = page.entries.iter().map(|e| (e.depth, e.id)).collect();
    let ids = [&post, &reply, &nested, &late].map(|e| e.id());
    assert_eq!(shape, vec![(0, ids[0]), (1, ids[1]), (2, ids[2]), (3, ids[3])]);
    assert!(n.store.check().unwrap().is_sound());
}

#[test]
fn a_thread_cursor_outside_the_thread_is_refused_by_name() {
    let (mut fed, n, drs) = setup();
    let expected = discussion(&mut fed, &n, &drs);
    let root = expected[0].1;
    let other = fed.post(&drs[1], "Another thread");
    let elsewhere = fed.comment(&drs[2], &other, "Unrelated");
    put(&n, &fed, &[other.clone(), elsewhere.clone()]);
    let missing = fed.post(&drs[0], "Never stored").id();

    let err = n.store.events().thread(&root, Some(&missing), 10).unwrap_err();
    assert!(matches!(err, ThreadError::CursorNotStored(id) if id == missing), "{err}");
    for outside in [other.id(), elsewhere.id()] {
        let err = n.store.events().thread(&root, Some(&outside), 10).unwrap_err();
        assert!(
            matches!(err, ThreadError::CursorNotInThread { cursor, .. } if cursor == outside),
            "{err}"
        );
    }
    // The subtree of `a` does not hold `b`, though both are in the post's thread.
    let (a, b) = (expected[1].1, expected[5].1);
    let err = n.store.events().thread(&a, Some(&b), 10).unwrap_err();
    assert!(matches!(err, ThreadError::CursorNotInThread { .. }), "{err}");
    let err = n.store.events().thread(&missing, None, 10).unwrap_err();
    assert!(matches!(err, ThreadError::NoRoot(id) if id == missing), "{err}");
    let err = n.store.events().thread(&missing, Some(&root), 10).unwrap_err();
    assert!(matches!(err, ThreadError::NoRoot(_)), "{err}");
}
