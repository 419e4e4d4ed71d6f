//! The index against a real store: built as events arrive or rebuilt from
//! the store, it answers the same; what is retracted is never answered.

use curbside_protocol::testkit::{Federation, key};
use curbside_protocol::{AgeBand, Body, Case, HubId, Sex, SignedEvent, Tag, TrustView as _};

use super::query::{Filters, SearchQuery};
use super::*;
use crate::ingest::{Incoming, IngestConfig, Outcome};

struct Setup {
    fed: Federation,
    store: Arc<Store>,
    dr: curbside_protocol::SecretKey,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

/// Stores `events`; those stored, as ingest hands them to the indexer.
fn put(s: &Setup, events: &[SignedEvent]) -> Vec<VerifiedEvent> {
    let incoming = events.iter().cloned().map(Incoming::when_made).collect();
    let ingested =
        crate::ingest::ingest(&s.store, &IngestConfig::default(), incoming, s.fed.now()).unwrap();
    assert!(ingested.outcomes.iter().all(Outcome::is_stored), "{:?}", ingested.outcomes);
    assert_eq!(ingested.stored.len(), events.len());
    ingested.stored
}

fn setup() -> Setup {
    let mut fed = Federation::new();
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(&dir.path().join("store"), fed.view().genesis().clone()).unwrap());
    let verifier = fed.verifier().public();
    let charter = fed.charter(&verifier, &["GB"]);
    fed.accept(&charter);
    let dr = key("dr-search");
    let att = fed.attestation(&dr, "dr-search", &["cardiology"], "GB");
    fed.accept(&att);
    let rules = fed.raise_rules(2);
    let path = dir.path().join("search");
    let s = Setup { fed, store, dr, _dir: dir, dir: path };
    put(&s, &[charter, att, rules]);
    s
}

fn case(s: &mut Setup, title: &str, findings: &str) -> SignedEvent {
    let dr = s.dr.clone();
    s.fed.sign(
        &dr,
        Body::Case(Case {
            hub: HubId::new("general").unwrap(),
            title: title.into(),
            age: AgeBand::Age50To59,
            sex: Sex::Female,
            presentation: "Chest pain for two hours".into(),
            history: "Known CKD, smoker".into(),
            findings: findings.into(),
            question: "Would you start anticoagulation?".into(),
            tags: vec![Tag::new("cardiology").unwrap()],
        }),
    )
}

fn ids(index: &SearchIndex, store: &Store, text: &str, filters: &Filters) -> Vec<EventId> {
    let q = SearchQuery::new(text, filters, None, None).unwrap();
    index.search(store, &q).unwrap().hits.into_iter().map(|h| h.found.id).collect()
}

fn none() -> Filters {
    Filters::default()
}

#[test]
fn an_index_built_as_events_arrive_answers_as_one_rebuilt_from_the_store() {
    built_as_events_arrive(HANDED_BYTES);
}

/// The same when the indexer's queue is full of text already: every event
/// is then read back from the store rather than handed over.
#[test]
fn an_index_built_from_events_read_back_answers_the_same() {
    built_as_events_arrive(0);
}

fn built_as_events_arrive(budget: usize) {
    let mut s = setup();
    let (index, opened) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(opened, Opened::Rebuilt { reason: "missing" });
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start_with(index.clone(), s.store.clone(), budget).unwrap();

    let mi = case(
        &mut s,
        "Inferior STEMI",
        "Troponin 3400 ng/L, ST elevation; I21.4 on discharge; prior MI",
    );
    let af = case(&mut s, "Palpitations post-op", "New atrial fibrillation on day 2, HbA1c 9.1");
    let dr = s.dr.clone();
    let post = s.fed.post(&dr, "Warfarin in the elderly");
    let comment = s.fed.comment(&dr, &mi, "Consider BRCA1 testing for the family");
    // A reply to a reply: its hub is its thread's, two levels up.
    let reply = s.fed.comment(&dr, &comment, "Cascade testing of her sisters too");
    // The same words, later: ranked equal, so shown first.
    let again = s.fed.post(&dr, "Warfarin in the elderly");
    let late_reply = s.fed.comment(&dr, &af, "Cascade of arrhythmias after surgery");
    for batch in [
        vec![mi.clone(), af.clone()],
        vec![post.clone(), comment.clone(), reply.clone(), again.clone()],
        vec![late_reply.clone()],
    ] {
        let keys = put(&s, &batch);
        indexer.stored(keys, s.store.commits_made());
    }
    indexer.commit_now();

    let checks: Vec<(&str, Filters, Vec<EventId>)> = vec![
        ("troponin", none(), vec![mi.id()]),
        ("i21.4", none(), vec![mi.id()]),
        ("I21", none(), vec![mi.id()]),
        ("myocardial infarction", none(), vec![mi.id()]),
        ("AF", none(), vec![af.id()]),
        ("postop", none(), vec![af.id()]),
        ("post-op", none(), vec![af.id()]),
        ("hba1c", Filters { kind: Some("case".into()), ..none() }, vec![af.id()]),
        ("brca1", Filters { hub: Some("general".into()), ..none() }, vec![comment.id()]),
        (
            "cascade",
            Filters { hub: Some("general".into()), kind: Some("comment".into()), ..none() },
            vec![reply.id(), late_reply.id()],
        ),
        ("cascade", Filters { hub: Some("cardiology".into()), ..none() }, vec![]),
        (
            "chronic kidney disease",
            Filters { age_band: Some("55".into()), ..none() },
            vec![af.id(), mi.id()],
        ),
        ("ckd", Filters { sex: Some("male".into()), ..none() }, vec![]),
        ("troponin", Filters { specialty: Some("cardiology".into()), ..none() }, vec![mi.id()]),
        ("troponin", Filters { specialty: Some("surgery".into()), ..none() }, vec![]),
        ("troponin", Filters { solved: Some(true), ..none() }, vec![]),
        ("anticoagulating", none(), vec![mi.id(), af.id()]),
        ("warfarin", Filters { kind: Some("post".into()), ..none() }, vec![post.id(), again.id()]),
    ];
    let rebuilt_dir = s.dir.with_file_name("rebuilt");
    let rebuilt = SearchIndex::rebuild(&rebuilt_dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(rebuilt.documents(), index.documents());
    for (text, filters, expected) in &checks {
        let mut live = ids(&index, &s.store, text, filters);
        let mut again = ids(&rebuilt, &s.store, text, filters);
        live.sort();
        again.sort();
        let mut expected = expected.clone();
        expected.sort();
        assert_eq!(live, expected, "{text} {filters:?}");
        assert_eq!(again, expected, "{text} {filters:?} (rebuilt)");
    }
    // The newer of two equal matches comes first.
    assert_eq!(ids(&index, &s.store, "warfarin", &none()), vec![again.id(), post.id()]);

    // Retracted: gone from the answers at once, before the index commits.
    let retraction = s.fed.retract(&dr, &mi);
    let keys = put(&s, std::slice::from_ref(&retraction));
    assert!(ids(&index, &s.store, "troponin", &none()).is_empty());
    indexer.stored(keys, s.store.commits_made());
    indexer.commit_now();
    assert!(ids(&index, &s.store, "troponin", &none()).is_empty());
    assert_eq!(index.documents(), 6, "the retracted case is deleted from the index");
    // Hidden by the operator: not answered.
    s.store.events().hide(&af.id(), "under review").unwrap();
    assert!(ids(&index, &s.store, "fibrillation", &none()).is_empty());
    s.store.events().unhide(&af.id()).unwrap();
    assert_eq!(ids(&index, &s.store, "fibrillation", &none()), vec![af.id()]);

    // Stopped, then events stored while no indexer ran: reopening catches up.
    drop(indexer);
    thread.join();
    drop(index);
    let late = case(&mut s, "Syncope", "QTc 520 ms on the ECG");
    put(&s, std::slice::from_ref(&late));
    let (index, opened) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(opened, Opened::CaughtUp { commits: 1 });
    assert_eq!(ids(&index, &s.store, "qtc", &none()), vec![late.id()]);
    assert_eq!(ids(&index, &s.store, "electrocardiogram", &none()), vec![late.id()]);
    assert!(ids(&index, &s.store, "troponin", &none()).is_empty());
    drop(index);
    let (index, opened) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(opened, Opened::Current);

    // A new indexer remembers no thread's hub: a reply's is read from the
    // store.
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start_with(index.clone(), s.store.clone(), budget).unwrap();
    let answer = s.fed.comment(&dr, &post, "Dabigatran instead");
    indexer.stored(put(&s, std::slice::from_ref(&answer)), s.store.commits_made());
    indexer.commit_now();
    let general = Filters { hub: Some("general".into()), ..none() };
    assert_eq!(ids(&index, &s.store, "dabigatran", &general), vec![answer.id()]);
    drop(indexer);
    thread.join();
}

#[test]
fn an_index_of_another_format_is_rebuilt() {
    let mut s = setup();
    let c = case(&mut s, "Fever", "Procalcitonin 12");
    put(&s, std::slice::from_ref(&c));
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    // As an older build would have left it.
    {
        let mut writer = lock(&index.writer);
        let mut prepared = writer.prepare_commit().unwrap();
        prepared.set_payload(r#"{"format":0,"store_commits":0}"#);
        prepared.commit().unwrap();
    }
    drop(index);
    let (index, opened) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(opened, Opened::Rebuilt { reason: "another format version" });
    assert_eq!(ids(&index, &s.store, "procalcitonin", &none()), vec![c.id()]);
}

#[test]
fn a_case_is_found_as_solved_once_its_author_says_how_it_ended() {
    let mut s = setup();
    let rules = s.fed.raise_rules(3);
    put(&s, &[rules]);
    let open = case(&mut s, "Fever of unknown origin", "Ferritin 9000");
    let closed = case(&mut s, "Fever after travel", "Ferritin 800, malaria film negative");
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), s.store.clone()).unwrap();
    let keys = put(&s, &[open.clone(), closed.clone()]);
    indexer.stored(keys, s.store.commits_made());
    let dr = s.dr.clone();
    let outcome = s.fed.outcome(&dr, &closed, "Dengue fever");
    let keys = put(&s, &[outcome]);
    indexer.stored(keys, s.store.commits_made());
    indexer.commit_now();
    let with = |solved| Filters { solved: Some(solved), ..none() };
    assert_eq!(ids(&index, &s.store, "ferritin", &with(true)), vec![closed.id()]);
    assert_eq!(ids(&index, &s.store, "ferritin", &with(false)), vec![open.id()]);
    assert_eq!(ids(&index, &s.store, "ferritin", &none()).len(), 2);
    drop(indexer);
    thread.join();
    drop(index);
    // Rebuilt from the store, the same.
    std::fs::remove_dir_all(&s.dir).unwrap();
    let (rebuilt, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert_eq!(ids(&rebuilt, &s.store, "ferritin", &with(true)), vec![closed.id()]);
}

/// The ranking is exact across segments and pages: BM25 first, the newer
/// first among equal scores, every match on exactly one page, whatever
/// Tantivy's block-max pruning skipped (`search/top.rs`).
#[test]
fn pages_of_equal_and_unequal_scores_follow_one_order_across_segments() {
    let mut s = setup();
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), s.store.clone()).unwrap();
    let dr = s.dr.clone();
    let mut made = Vec::new();
    // Three commits, so three segments; in each, posts whose title names
    // the word once (equal scores) and a few that name it twice (higher).
    for _ in 0..3 {
        let batch: Vec<SignedEvent> = (0..14)
            .map(|i| {
                let title =
                    if i % 5 == 0 { "Warfarin or warfarin again" } else { "Warfarin question" };
                s.fed.post(&dr, title)
            })
            .collect();
        let keys = put(&s, &batch);
        indexer.stored(keys, s.store.commits_made());
        indexer.commit_now();
        made.extend(batch);
    }
    let twice = |e: &SignedEvent| match e.body() {
        Body::Post(p) => p.title.contains("again"),
        _ => false,
    };
    // The expected order: those naming it twice, then the rest, each
    // newest first.
    let mut expected: Vec<&SignedEvent> = made.iter().collect();
    expected.sort_by_key(|e| (std::cmp::Reverse(twice(e)), std::cmp::Reverse(e.created_at())));
    let expected: Vec<EventId> = expected.into_iter().map(SignedEvent::id).collect();

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = SearchQuery::new("warfarin", &none(), Some(5), cursor.as_deref()).unwrap();
        let page = index.search(&s.store, &q).unwrap();
        paged.extend(page.hits.iter().map(|h| h.found.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, expected);
    // The same with a filter (a query Tantivy does not prune).
    let kind = Filters { kind: Some("post".into()), ..none() };
    let q = SearchQuery::new("warfarin", &kind, Some(100), None).unwrap();
    let all: Vec<EventId> =
        index.search(&s.store, &q).unwrap().hits.iter().map(|h| h.found.id).collect();
    assert_eq!(all, expected);
    drop(indexer);
    thread.join();
}

#[test]
fn an_edit_replaces_its_originals_document_and_nothing_of_the_old_text_is_found() {
    let mut s = setup();
    let rules = s.fed.raise_rules(4);
    put(&s, &[rules]);
    let original = case(&mut s, "Fever of unknown origin", "Ferritin 9000");
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), s.store.clone()).unwrap();
    let keys = put(&s, std::slice::from_ref(&original));
    indexer.stored(keys, s.store.commits_made());
    let dr = s.dr.clone();
    let Body::Case(c) = original.body().clone() else { unreachable!() };
    let revise = |findings: &str| {
        let content =
            curbside_protocol::Revision::Case(Case { findings: findings.into(), ..c.clone() });
        Body::Edit(curbside_protocol::Edit::of(&original, content).unwrap())
    };
    let first = s.fed.sign(&dr, revise("Procalcitonin 12"));
    let second = s.fed.sign(&dr, revise("Lactate 4.1"));
    // The later edit first: the earlier one arrives superseded.
    let keys = put(&s, std::slice::from_ref(&second));
    indexer.stored(keys, s.store.commits_made());
    let keys = put(&s, std::slice::from_ref(&first));
    indexer.stored(keys, s.store.commits_made());
    indexer.commit_now();
    let found = |index: &SearchIndex, text| ids(index, &s.store, text, &none());
    assert!(found(&index, "ferritin").is_empty(), "the original's text is still found");
    assert!(found(&index, "procalcitonin").is_empty(), "a superseded edit's text is found");
    assert_eq!(found(&index, "lactate"), vec![original.id()]);
    drop(indexer);
    thread.join();
    drop(index);
    // Rebuilt from the store, the same.
    std::fs::remove_dir_all(&s.dir).unwrap();
    let (rebuilt, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    assert!(found(&rebuilt, "ferritin").is_empty());
    assert!(found(&rebuilt, "procalcitonin").is_empty());
    assert_eq!(found(&rebuilt, "lactate"), vec![original.id()]);
}

#[test]
fn a_search_finds_what_was_stored_before_it_without_waiting_for_the_indexers_commit() {
    let mut s = setup();
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), s.store.clone()).unwrap();
    // Nothing to commit: a refresh returns at once.
    let t = Instant::now();
    index.refresh(&s.store).unwrap();
    assert!(t.elapsed() < REFRESH_GAP, "an idle refresh waited {:?}", t.elapsed());

    let stemi = case(&mut s, "Inferior STEMI", "Troponin 3400 ng/L");
    let keys = put(&s, std::slice::from_ref(&stemi));
    indexer.stored(keys, s.store.commits_made());
    // The indexer commits on its own only after COMMIT_EVERY; a search's
    // refresh makes it visible well before.
    let t = Instant::now();
    index.refresh(&s.store).unwrap();
    assert_eq!(ids(&index, &s.store, "troponin", &none()), vec![stemi.id()]);
    assert!(t.elapsed() < COMMIT_EVERY, "the refresh took {:?}", t.elapsed());

    // Two refreshes in a row: the second finds everything committed.
    let t = Instant::now();
    index.refresh(&s.store).unwrap();
    assert!(t.elapsed() < REFRESH_GAP, "a second refresh waited {:?}", t.elapsed());
    drop(indexer);
    thread.join();
}

/// Searches arriving together after one write make one commit between
/// them, not one each (a flood of searches cannot make the index commit
/// more than about five times a second).
#[test]
fn searches_waking_together_share_one_commit() {
    let mut s = setup();
    let (index, _) = SearchIndex::open(&s.dir, &s.store, &mut |_, _| {}).unwrap();
    let index = Arc::new(index);
    let (indexer, thread) = Indexer::start(index.clone(), s.store.clone()).unwrap();
    let stemi = case(&mut s, "Inferior STEMI", "Troponin 3400 ng/L");
    let keys = put(&s, std::slice::from_ref(&stemi));
    indexer.stored(keys, s.store.commits_made());
    let commits = || lock(&index.freshness).commits;
    let before = commits();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| index.refresh(&s.store).unwrap());
        }
    });
    assert_eq!(ids(&index, &s.store, "troponin", &none()), vec![stemi.id()]);
    // One commit by the searches (two if the indexer's own, every COMMIT_EVERY,
    // fell in between).
    let made = commits() - before;
    assert!((1..=2).contains(&made), "{made} commits for 8 searches");
    drop(indexer);
    thread.join();
}
