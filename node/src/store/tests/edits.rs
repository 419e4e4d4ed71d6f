//! Edits (rules 4): the original's text leaves the store as a retracted
//! event's does, its tombstone names the edit in force, the latest edit
//! wins and the others' text goes too, whatever order they arrive in; a
//! retraction of the original takes its edit with it.

use curbside_protocol::{EventId, SecretKey};

use super::*;

/// The store tests' federation and `count` nodes holding the same trust
/// events, with the rules raised to 4 (edits are valid from rules 4 on).
fn nodes(count: usize) -> (Federation, Vec<Node>, Vec<SecretKey>) {
    let mut fed = Federation::new();
    let verifier = fed.verifier().public();
    let charter = fed.charter(&verifier, &["GB", "DEV"]);
    let names = ["dr-a", "dr-b", "dr-c"];
    let mut events = vec![charter.clone()];
    fed.accept(&charter);
    events.extend(trust_events(&mut fed, &names));
    events.push(fed.raise_rules(4));
    let nodes: Vec<Node> = (0..count).map(|_| node(&fed)).collect();
    for n in &nodes {
        let outcomes = put(n, &fed, &events);
        assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
    }
    (fed, nodes, names.iter().map(|n| key(n)).collect())
}

fn setup() -> (Federation, Node, Vec<SecretKey>) {
    let (fed, mut nodes, drs) = nodes(1);
    (fed, nodes.remove(0), drs)
}

fn codes(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Rejected { refusal, .. } => refusal.code().as_str().to_string(),
            Outcome::Stored { .. } => "stored".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Whether `text` is anywhere in the store's records.
fn anywhere(n: &Node, text: &str) -> bool {
    n.store.tree.iter().any(|item| {
        let (_, value) = item.unwrap();
        value.windows(text.len()).any(|w| w == text.as_bytes())
    })
}

fn retraction_of(n: &Node, id: &EventId) -> Option<EventId> {
    n.store.events().tombstone(id).unwrap().map(|t| t.retraction)
}

fn sound(n: &Node) {
    let report = n.store.check().unwrap();
    assert!(report.is_sound(), "{report:?}");
}

#[test]
fn an_edit_deletes_the_original_text_and_keeps_its_place() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let reply = fed.comment(&drs[1], &post, "Check urine osmolality");
    put(&n, &fed, &[post.clone(), reply.clone()]);
    let edit = fed.edit(&drs[0], &post, "Corrected: sodium 126 on the second sample.");
    assert_eq!(codes(&put(&n, &fed, std::slice::from_ref(&edit))), vec!["stored"]);

    assert!(n.store.events().get(&post.id()).unwrap().is_none());
    assert!(!anywhere(&n, "HbA1c 7.2%"), "the original's text remains");
    assert!(n.store.events().get(&edit.id()).unwrap().is_some());
    assert_eq!(retraction_of(&n, &post.id()), Some(edit.id()));
    // Its replies still hang from it.
    let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
    let shape: Vec<_> = thread.entries.iter().map(|e| (e.depth, e.id, e.event.is_some())).collect();
    assert_eq!(shape, vec![(0, post.id(), false), (1, reply.id(), true)]);
    // A reply to the edited post is still accepted.
    let late = fed.comment(&drs[2], &post, "Agree: fluid restrict");
    assert_eq!(codes(&put(&n, &fed, &[late])), vec!["stored"]);
    // The original again (a replay, a slow peer): refused as edited.
    assert_eq!(codes(&put(&n, &fed, std::slice::from_ref(&post))), vec!["edited"]);
    sound(&n);
}

#[test]
fn someone_elses_edit_is_refused() {
    let (mut fed, n, drs) = setup();
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    put(&n, &fed, std::slice::from_ref(&post));
    let theirs = fed.edit(&drs[1], &post, "Forged text.");
    assert_eq!(codes(&put(&n, &fed, &[theirs])), vec!["not_target_author"]);
    assert!(n.store.events().get(&post.id()).unwrap().is_some());
    sound(&n);
}

/// The state two nodes must agree on: who holds what of the original and
/// its edits.
fn state(n: &Node, ids: &[EventId]) -> Vec<(bool, Option<EventId>)> {
    ids.iter()
        .map(|id| (n.store.events().get(id).unwrap().is_some(), retraction_of(n, id)))
        .collect()
}

#[test]
fn two_edits_leave_the_same_store_in_either_order_and_in_one_batch() {
    let (mut fed, nodes, drs) = nodes(3);
    let [a, b, c] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let first = fed.edit(&drs[0], &post, "First correction: sodium 126.");
    let second = fed.edit(&drs[0], &post, "Second correction: sodium 124.");
    for (n, order) in [
        (a, vec![vec![post.clone()], vec![first.clone()], vec![second.clone()]]),
        (b, vec![vec![post.clone()], vec![second.clone()], vec![first.clone()]]),
        (c, vec![vec![post.clone(), second.clone(), first.clone()]]),
    ] {
        for events in order {
            let outcomes = put(n, &fed, &events);
            assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
        }
    }
    let ids = [post.id(), first.id(), second.id()];
    let expected = vec![(false, Some(second.id())), (false, Some(second.id())), (true, None)];
    for n in [a, b, c] {
        assert_eq!(state(n, &ids), expected);
        assert!(!anywhere(n, "First correction"), "a superseded edit's text remains");
        assert!(anywhere(n, "Second correction"));
        assert_eq!(codes(&put(n, &fed, std::slice::from_ref(&first))), vec!["edited"]);
        sound(n);
    }
}

#[test]
fn an_edit_before_its_original_stands_for_it() {
    let (mut fed, nodes, drs) = nodes(2);
    let [a, b] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let reply = fed.comment(&drs[1], &post, "Check urine osmolality");
    let edit = fed.edit(&drs[0], &post, "Corrected: sodium 126.");
    // A node that syncs after every peer replaced the text: the edit and
    // the reply reach it, the original never does (or comes late).
    assert!(put(a, &fed, &[edit.clone(), reply.clone()]).iter().all(Outcome::is_stored));
    assert_eq!(codes(&put(a, &fed, std::slice::from_ref(&post))), vec!["edited"]);
    // One that held the original first.
    assert!(
        put(b, &fed, &[post.clone(), reply.clone(), edit.clone()]).iter().all(Outcome::is_stored)
    );
    let ids = [post.id(), edit.id(), reply.id()];
    assert_eq!(state(a, &ids), state(b, &ids));
    for n in [a, b] {
        let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
        let shape: Vec<_> = thread.entries.iter().map(|e| (e.depth, e.id)).collect();
        assert_eq!(shape, vec![(0, post.id()), (1, reply.id())]);
        sound(n);
    }
}

#[test]
fn an_edited_comment_keeps_its_place_in_its_thread() {
    let (mut fed, nodes, drs) = nodes(2);
    let [a, b] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let reply = fed.comment(&drs[1], &post, "Check urine osmolality");
    let nested = fed.comment(&drs[2], &reply, "620 mOsm/kg");
    let edit = fed.edit(&drs[1], &reply, "Check urine osmolality and TSH.");
    assert!(
        put(a, &fed, &[post.clone(), reply.clone(), nested.clone(), edit.clone()])
            .iter()
            .all(Outcome::is_stored)
    );
    // Never held the reply: the edit places it.
    assert!(
        put(b, &fed, &[post.clone(), edit.clone(), nested.clone()]).iter().all(Outcome::is_stored)
    );
    for n in [a, b] {
        let thread = n.store.events().thread(&post.id(), None, 100).unwrap();
        let shape: Vec<_> = thread.entries.iter().map(|e| (e.depth, e.id)).collect();
        assert_eq!(shape, vec![(0, post.id()), (1, reply.id()), (2, nested.id())]);
        assert_eq!(retraction_of(n, &reply.id()), Some(edit.id()));
        sound(n);
    }
}

#[test]
fn a_retraction_takes_the_edit_with_its_original_in_either_order() {
    let (mut fed, nodes, drs) = nodes(2);
    let [a, b] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let edit = fed.edit(&drs[0], &post, "Corrected: sodium 126.");
    let retraction = fed.retract(&drs[0], &post);
    // The edit, then the retraction: both stored, and the edit's text goes.
    assert!(put(a, &fed, std::slice::from_ref(&post)).iter().all(Outcome::is_stored));
    assert!(put(a, &fed, std::slice::from_ref(&edit)).iter().all(Outcome::is_stored));
    assert!(put(a, &fed, std::slice::from_ref(&retraction)).iter().all(Outcome::is_stored));
    // The retraction first: the edit is refused.
    assert!(put(b, &fed, &[post.clone(), retraction.clone()]).iter().all(Outcome::is_stored));
    assert_eq!(codes(&put(b, &fed, std::slice::from_ref(&edit))), vec!["target_taken_back"]);
    for n in [a, b] {
        assert_eq!(retraction_of(n, &post.id()), Some(retraction.id()));
        assert!(n.store.events().get(&edit.id()).unwrap().is_none());
        assert!(!anywhere(n, "Corrected: sodium"), "the edit's text remains");
        let later = fed.edit(&drs[0], &post, "Once more.");
        assert_eq!(codes(&put(n, &fed, &[later])), vec!["target_taken_back"]);
        assert_eq!(codes(&put(n, &fed, std::slice::from_ref(&post))), vec!["retracted"]);
        sound(n);
    }
    // Node a keeps the edit's tombstone (it held the edit), so sync never
    // fetches it again; node b never held it and refuses it.
    assert_eq!(retraction_of(a, &edit.id()), Some(retraction.id()));
    assert!(a.store.events().retracted_ids().contains(&edit.id()));
}

#[test]
fn the_feed_shows_the_edit_in_force_in_its_originals_place() {
    let (mut fed, nodes, drs) = nodes(2);
    let [a, b] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let later = fed.post(&drs[1], "Hypokalaemia on diuretics");
    let first = fed.edit(&drs[0], &post, "First correction: sodium 126.");
    let second = fed.edit(&drs[0], &post, "Second correction: sodium 124.");
    let hub = "general".parse().unwrap();
    assert!(
        put(a, &fed, &[post.clone(), later.clone(), first.clone(), second.clone()])
            .iter()
            .all(Outcome::is_stored)
    );
    // Never held the original, the edits in the other order.
    assert!(
        put(b, &fed, &[second.clone(), later.clone(), first.clone()])
            .iter()
            .all(Outcome::is_stored)
    );
    for n in [a, b] {
        let feed: Vec<EventId> =
            n.store.events().feed(&hub, None, 10).unwrap().iter().map(|e| e.id()).collect();
        // Newest first: the later post, then the edit in force where the
        // original was.
        assert_eq!(feed, vec![later.id(), second.id()]);
        let shown = n.store.events().edit_in_force(&post.id()).unwrap().map(|e| e.id());
        assert_eq!(shown, Some(second.id()));
        sound(n);
    }
    // Retracted: gone from the feed, nothing shown for it.
    let retraction = fed.retract(&drs[0], &post);
    assert!(put(a, &fed, &[retraction]).iter().all(Outcome::is_stored));
    let feed: Vec<EventId> =
        a.store.events().feed(&hub, None, 10).unwrap().iter().map(|e| e.id()).collect();
    assert_eq!(feed, vec![later.id()]);
    assert!(a.store.events().edit_in_force(&post.id()).unwrap().is_none());
    sound(a);
}

/// What the author wrote, as `curbside mine` lists it.
fn mine(n: &Node, author: &SecretKey) -> Vec<EventId> {
    let (list, _) = n.store.personal().written(&author.public(), None, 10).unwrap();
    list.iter().map(|(_, id, _)| *id).collect()
}

/// An edited post stays in its author's list, in its place and under its
/// own id (as its edit in force), through a second edit in either order of
/// arrival, until a retraction takes it; the indexes check at every step.
#[test]
fn an_edited_post_stays_in_its_authors_list_until_it_is_taken_back() {
    let (mut fed, nodes, drs) = nodes(2);
    let [a, b] = &nodes[..] else { unreachable!() };
    let post = fed.post(&drs[0], "Hyponatraemia after a marathon");
    let first = fed.edit(&drs[0], &post, "Corrected once.");
    let second = fed.edit(&drs[0], &post, "Corrected twice.");
    for (n, order) in [(a, [&first, &second]), (b, [&second, &first])] {
        put(n, &fed, std::slice::from_ref(&post));
        assert_eq!(mine(n, &drs[0]), vec![post.id()]);
        for edit in order {
            put(n, &fed, std::slice::from_ref(edit));
            assert_eq!(mine(n, &drs[0]), vec![post.id()], "after {}", edit.id());
            sound(n);
        }
        assert_eq!(retraction_of(n, &post.id()), Some(second.id()));
    }
    let retraction = fed.retract(&drs[0], &post);
    put(a, &fed, std::slice::from_ref(&retraction));
    assert!(mine(a, &drs[0]).is_empty());
    sound(a);
}
