//! The steps about physicians' work: a case, comments on it, a poll and
//! its tally, and a revocation that stops a physician's next post.

use anyhow::{Context as _, ensure};
use curbside_node::codes::Code;
use curbside_protocol::{
    AgeBand, Body, Case, Comment, EventId, HubId, Poll, Post, Sex, SignedEvent, Tag, Tally, Vote,
};
use serde_json::{Value, json};

use super::cast::{self, RELAY, SITES, ST_JAMES, ST_MARYS};
use super::federation::{LIMIT, all_hold};
use super::reads::{
    ballot, breakdown_line, counts_text, describe, expect_stored, only_large_cells,
    reference_tally, same_wire, session, tally_at, thread_at,
};
use super::report::Log;
use super::{Demo, Physician};
use crate::authors;
use crate::client::EventAnswer;
use crate::output;

fn cardiology() -> anyhow::Result<HubId> {
    Ok(HubId::new("cardiology")?)
}

fn as_check(result: anyhow::Result<String>) -> Result<String, String> {
    result.map_err(|e| format!("{e:#}"))
}

fn case_body(findings: &str) -> anyhow::Result<Body> {
    Ok(Body::Case(Case {
        hub: cardiology()?,
        title: cast::CASE_TITLE.into(),
        age: AgeBand::from_years(cast::CASE_AGE),
        sex: Sex::Male,
        presentation: cast::CASE_PRESENTATION.into(),
        history: cast::CASE_HISTORY.into(),
        findings: findings.into(),
        question: cast::CASE_QUESTION.into(),
        tags: vec![Tag::new("syncope")?, Tag::new("long-qt")?],
    }))
}

/// How `site` shows the author of `event`, which `who` signed: their
/// handle, key and the hospital that attested them, or what it shows
/// instead.
fn author_shown(
    demo: &Demo,
    site: usize,
    event: &SignedEvent,
    who: &Physician,
) -> anyhow::Result<Result<String, String>> {
    let node = demo.node(site)?;
    let view: EventAnswer = node.admin_get(&format!("/v1/events/{}", event.id()))?;
    let attested_by = demo.node(who.who.hospital)?;
    let at = node.site.short;
    Ok(if view.author != who.key.public() {
        Err(format!("{at} shows another author"))
    } else if view.handle.as_deref() != Some(who.who.handle) {
        Err(format!("{at} shows the handle {:?}", view.handle))
    } else if view.verifier != Some(attested_by.key) {
        Err(format!("{at} shows another verifier"))
    } else if view.institution.as_deref() != Some(attested_by.site.institution) {
        Err(format!("{at} names the verifier {:?}", view.institution))
    } else if view.handle_keys != Some(1) {
        Err(format!("{at} counts {:?} keys with the handle", view.handle_keys))
    } else {
        Ok(authors::label(&view))
    })
}

/// Step 4.
pub(crate) fn case(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let presenter = demo.physician(cast::PRESENTER)?;
    log.say(&format!(
        "{}, a cardiologist licensed in GB, presents a case in the cardiology hub through St \
         Mary's, signed with her own key. Her first draft gives the clinic date: every node \
         refuses text that could identify a patient, whoever sends it.",
        presenter.who.handle
    ));
    let st_marys = demo.node(ST_MARYS)?;
    let draft = demo.sign(&presenter.key, case_body(cast::CASE_DRAFT_FINDINGS)?)?;
    let outcome = st_marys.submit(&draft)?;
    let refused = if outcome.code().map(Code::as_str) == Some("identifying_text")
        && !st_marys.has(&draft.id())?
    {
        Ok("identifying_text".to_owned())
    } else {
        Err(describe(&outcome))
    };
    log.check("the draft naming a full date is refused, and stored nowhere", refused)?;

    let case = demo.sign(&presenter.key, case_body(cast::CASE_FINDINGS)?)?;
    expect_stored(st_marys, &case, "the case")?;
    let shown = author_shown(demo, ST_MARYS, &case, presenter)?;
    if let Ok(label) = &shown {
        log.show(&format!(
            "{label}:\n  {} ({}, {})\n  {}",
            cast::CASE_TITLE,
            AgeBand::from_years(cast::CASE_AGE).label(),
            "male",
            cast::CASE_QUESTION
        ));
    }
    log.check("St Mary's stored the de-identified case", Ok(case.id().short()))?;
    log.check(
        "it shows the case under her handle, key and the hospital that attested her",
        shown.map(|_| String::new()),
    )?;
    let id = case.id();

    let nodes = &demo.nodes;
    log.wait("it reached St James's and the relay by gossip", LIMIT, || all_hold(nodes, &[id]))?;
    let author = json!(presenter.key.public());
    let same: anyhow::Result<String> = (|| {
        for n in nodes {
            let view: Value = n.admin_get(&format!("/v1/events/{id}"))?;
            ensure!(view["author"] == author, "{} shows another author", n.site.short);
            ensure!(same_wire(&view, &case), "{} holds different bytes", n.site.short);
        }
        Ok(String::new())
    })();
    log.check("every node holds the same signed bytes: her signature, no node's", as_check(same))?;
    demo.made.push(id);
    demo.case = Some(id);
    Ok(())
}

/// Step 5.
pub(crate) fn comments(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let case = demo.case()?;
    let from_st_james = demo.physician(cast::COMMENTER_ST_JAMES)?;
    let from_relay = demo.physician(cast::COMMENTER_RELAY)?;
    log.say(&format!(
        "Colleagues answer from their own nodes: {} (cardiology, IE) through St James's, and {} \
         (emergency medicine, IE) through the relay, which attests no one but serves every \
         attested physician.",
        from_st_james.who.handle, from_relay.who.handle
    ));
    let first = demo.sign(
        &from_st_james.key,
        Body::Comment(Comment { parent: case, body: cast::COMMENT_ST_JAMES.into() }),
    )?;
    expect_stored(demo.node(ST_JAMES)?, &first, "the comment")?;
    let second = demo.sign(
        &from_relay.key,
        Body::Comment(Comment { parent: case, body: cast::COMMENT_RELAY.into() }),
    )?;
    expect_stored(demo.node(RELAY)?, &second, "the comment")?;
    log.check("St James's and the relay stored the comments", Ok(String::new()))?;
    // Quoted as a reader sees them: by handle, key and verifier, as the
    // node that stored each shows its author.
    let shown = [
        author_shown(demo, ST_JAMES, &first, from_st_james)?,
        author_shown(demo, RELAY, &second, from_relay)?,
    ];
    for (holds, text) in shown.iter().zip([cast::COMMENT_ST_JAMES, cast::COMMENT_RELAY]) {
        if let Ok(label) = holds {
            log.quote(label, text);
        }
    }
    log.check(
        "each comment is shown with its author's handle, key and attesting hospital",
        shown.into_iter().collect::<Result<Vec<_>, _>>().map(|_| String::new()),
    )?;

    let presenter = demo.physician(cast::PRESENTER)?;
    let st_marys = demo.node(ST_MARYS)?;
    let token = session(demo, st_marys, presenter)
        .with_context(|| format!("{} signing in at St Mary's", presenter.who.handle))?;
    let want = vec![case, first.id(), second.id()];
    log.wait(
        format!("{} reads both replies at St Mary's, in her own session", presenter.who.handle),
        LIMIT,
        || {
            let got = thread_at(st_marys, &case, Some(&token))?;
            ensure!(got == want, "the thread there has {} of 3 events", got.len());
            Ok(())
        },
    )?;
    let nodes = &demo.nodes;
    log.wait("every node shows the same thread", LIMIT, || {
        for n in nodes {
            let got = thread_at(n, &case, None)?;
            ensure!(got == want, "{}'s thread has {} of 3 events", n.site.short, got.len());
        }
        Ok(())
    })?;
    demo.made.extend([first.id(), second.id()]);
    Ok(())
}

/// Step 6.
pub(crate) fn poll(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let (poll_id, body) = open_poll(demo, log)?;
    everyone_votes(demo, log, poll_id)?;
    let tally = tallies_agree(demo, log, poll_id, &body)?;
    show_tally(demo, log, &body, &tally)
}

/// The pollster opens the poll through the relay, and it spreads to every
/// node: the votes that follow are cast at all three, so each must know
/// the poll first.
fn open_poll(demo: &mut Demo, log: &mut Log) -> anyhow::Result<(EventId, Poll)> {
    let pollster = demo.physician(cast::POLLSTER)?;
    log.say(&format!(
        "{} opens a poll on the case in the cardiology hub, through the relay; it closes in an \
         hour. All twelve physicians vote, each through one of the three nodes.",
        pollster.who.handle
    ));
    let body = Poll {
        hub: cardiology()?,
        question: cast::POLL_QUESTION.into(),
        options: cast::POLL_OPTIONS.iter().map(|o| (*o).to_owned()).collect(),
        closes_at: curbside_node::now().plus_millis(3_600_000),
        eligible: Vec::new(),
    };
    let event = demo.sign(&pollster.key, Body::Poll(body.clone()))?;
    expect_stored(demo.node(RELAY)?, &event, "the poll")?;
    let poll_id = event.id();
    demo.made.push(poll_id);
    demo.poll = Some((poll_id, body.clone()));
    let nodes = &demo.nodes;
    log.wait("the poll reached every node", LIMIT, || all_hold(nodes, &[poll_id]))?;
    Ok((poll_id, body))
}

/// All twelve physicians vote, spread over the three nodes, and every node
/// comes to count every voter: the tallies are compared only once the
/// votes have been gossiped everywhere.
fn everyone_votes(demo: &mut Demo, log: &mut Log, poll_id: EventId) -> anyhow::Result<()> {
    let mut votes = Vec::new();
    let mut ballots = Vec::new();
    for (i, p) in demo.physicians.iter().enumerate() {
        let vote = demo.sign(&p.key, Body::Vote(Vote { poll: poll_id, option: p.who.vote }))?;
        let node = demo.node(i % SITES.len())?;
        expect_stored(node, &vote, &format!("{}'s vote", p.who.handle))?;
        ballots.push(ballot(p, &vote, p.who.vote)?);
        votes.push(vote.id());
    }
    demo.made.extend(&votes);
    demo.ballots.extend(ballots);
    log.check("12 votes stored, 4 through each node", Ok(String::new()))?;

    let nodes = &demo.nodes;
    log.wait("every node counts 12 voters", LIMIT, || {
        for n in nodes {
            let t = tally_at(n, &poll_id)?;
            ensure!(t.voters == 12, "{} counts {} voters", n.site.short, t.voters);
        }
        Ok(())
    })
}

/// Every node's tally equals the one counted here from the ballots the
/// demo cast, so no node can have counted differently; that reference is
/// the tally shown.
fn tallies_agree(
    demo: &Demo,
    log: &mut Log,
    poll_id: EventId,
    body: &Poll,
) -> anyhow::Result<Tally> {
    let reference = reference_tally(demo, body);
    let mut tallies = Vec::new();
    for n in &demo.nodes {
        tallies.push(tally_at(n, &poll_id)?);
    }
    let alike = match tallies.iter().zip(&demo.nodes).find(|(t, _)| **t != reference) {
        None => Ok(String::new()),
        Some((t, n)) => {
            Err(format!("{} counts {:?}, the ballots say {:?}", n.site.short, t, reference))
        }
    };
    log.check(
        "the three tallies, breakdowns included, are identical and equal to counting the ballots here",
        alike,
    )?;
    Ok(reference)
}

/// The tally as a reader sees it, and the check that its breakdowns hide
/// every group and cell small enough to give a vote away.
fn show_tally(demo: &Demo, log: &mut Log, body: &Poll, t: &Tally) -> anyhow::Result<()> {
    let k = demo.genesis.params.min_cell_size;
    let mut text = format!("{}\n\n", cast::POLL_QUESTION);
    text.push_str(&output::tally_text(&body.options, t, Some(("specialty", &t.by_specialty))));
    text.push('\n');
    text.push_str(&output::breakdown_table(
        "jurisdiction",
        &t.by_jurisdiction,
        body.options.len(),
        k,
    ));
    log.show(&text);
    log.fact("tally", t);
    log.say(&format!(
        "A group of fewer than {k} voters is not shown, and neither is any cell under {k} (it \
         reads <{k}), nor a cell that could be worked out from the others, so no one's vote \
         can be read off a small group."
    ));
    let suppressed = only_large_cells(&t.by_specialty, k)
        .and_then(|()| only_large_cells(&t.by_jurisdiction, k))
        .and_then(|()| {
            let shown = t.by_specialty.rows.len() + t.by_jurisdiction.rows.len();
            if shown == 0 {
                return Err("no group is shown at all".into());
            }
            Ok(format!(
                "{}; {}; {} smaller group(s) hidden",
                breakdown_line(&t.by_specialty, k),
                breakdown_line(&t.by_jurisdiction, k),
                t.by_specialty.hidden_groups + t.by_jurisdiction.hidden_groups
            ))
        });
    log.check(format!("the breakdowns show only groups and cells of {k} or more"), suppressed)?;
    log.check("the result", Ok(counts_text(&t.counts)))
}

/// Step 7.
pub(crate) fn revoke(demo: &mut Demo, log: &mut Log) -> anyhow::Result<()> {
    let revoked = demo.physician(cast::REVOKED)?;
    let revocation = attestation_revoked(demo, log, revoked)?;
    next_post_refused(demo, log, revoked)?;
    no_session_anywhere(demo, log, revoked)?;
    history_stands(demo, log, revoked)?;
    demo.made.push(revocation);
    Ok(())
}

/// St Mary's revokes the attestation it issued, and the revocation reaches
/// every node: what follows checks that each of them now refuses the
/// physician.
fn attestation_revoked(demo: &Demo, log: &mut Log, revoked: &Physician) -> anyhow::Result<EventId> {
    log.say(&format!(
        "The GB regulator suspends {}'s licence. St Mary's, which attested {0}, revokes the \
         attestation: a revocation signed by St Mary's, effective from now and never before, \
         gossiped like any event.",
        revoked.who.handle
    ));
    let attestation = revoked.attestation.context("the physician was never attested")?;
    let answer: Value = demo.node(ST_MARYS)?.admin_post(
        "/v1/admin/revoke",
        &json!({ "target": attestation, "reason": "licence suspended by the regulator" }),
    )?;
    let revocation =
        answer["id"].as_str().and_then(|s| s.parse().ok()).context("the revocation has no id")?;
    let key = revoked.key.public();
    let nodes = &demo.nodes;
    log.wait(
        format!("every node sees {}'s attestation revoked", revoked.who.handle),
        LIMIT,
        || {
            for n in nodes {
                let status: Value = n.admin_get(&format!("/v1/keys/{key}/attestation"))?;
                let revoked_at = status["attestations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["id"] == json!(attestation) && !a["revoked_at"].is_null());
                ensure!(
                    status["attested"] == json!(false) && revoked_at,
                    "{} has not seen it",
                    n.site.short
                );
            }
            Ok(())
        },
    )?;
    Ok(revocation)
}

/// The revoked key still signs, but no node takes what it signs any more:
/// each refuses the post as revoked and none stores it.
fn next_post_refused(demo: &Demo, log: &mut Log, revoked: &Physician) -> anyhow::Result<()> {
    let post = demo.sign(
        &revoked.key,
        Body::Post(Post {
            hub: HubId::new("general")?,
            title: cast::REVOKED_POST_TITLE.into(),
            body: cast::REVOKED_POST_BODY.into(),
        }),
    )?;
    let refused: anyhow::Result<String> = (|| {
        for n in &demo.nodes {
            let outcome = n.submit(&post)?;
            ensure!(
                outcome.code().map(Code::as_str) == Some("attestation_revoked"),
                "{} answered {}",
                n.site.short,
                describe(&outcome)
            );
            ensure!(!n.has(&post.id())?, "{} stored it", n.site.short);
        }
        Ok("attestation_revoked".into())
    })();
    log.check(
        format!(
            "{}'s next post is refused by all three nodes, and stored nowhere",
            revoked.who.handle
        ),
        as_check(refused),
    )
}

/// Nor can the revoked key sign in: every node refuses it a session, so
/// nothing that needs an attested physician stays open to it.
fn no_session_anywhere(demo: &Demo, log: &mut Log, revoked: &Physician) -> anyhow::Result<()> {
    let no_session: anyhow::Result<String> = (|| {
        for n in &demo.nodes {
            match session(demo, n, revoked) {
                Err(e) if e.code() == Some("not_attested") => {}
                Err(e) => anyhow::bail!("{} refused otherwise: {e}", n.site.short),
                Ok(_) => anyhow::bail!("{} opened a session", n.site.short),
            }
        }
        Ok("not_attested".into())
    })();
    log.check(
        format!("{} can no longer sign in anywhere", revoked.who.handle),
        as_check(no_session),
    )
}

/// A revocation is never retroactive: the vote cast while still attested
/// counts, so every node's tally is unchanged.
fn history_stands(demo: &Demo, log: &mut Log, revoked: &Physician) -> anyhow::Result<()> {
    let (poll_id, poll) = demo.poll()?;
    let reference = reference_tally(demo, poll);
    let history: anyhow::Result<String> = (|| {
        for n in &demo.nodes {
            let t = tally_at(n, poll_id)?;
            ensure!(t == reference, "{} now counts {:?}", n.site.short, t.counts);
        }
        Ok(format!("{} voters, {}", reference.voters, counts_text(&reference.counts)))
    })();
    log.check(
        format!(
            "history stands: the vote {} cast while attested still counts, as a revocation is never retroactive",
            revoked.who.handle
        ),
        as_check(history),
    )
}
