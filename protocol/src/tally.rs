//! Counting a poll: pure, so every node and every auditor gets the same answer.
//!
//! - Each key counts once: its latest vote cast before the poll closed
//!   (ties broken by vote id, so the result is the same in any order).
//! - A vote counts only if the voter is eligible (attested in one of the
//!   poll's specialties, when it names any) and names an existing option.
//! - Breakdowns by specialty and by jurisdiction show a group only if at
//!   least `min_cell` (k, 5 by default) of its voters voted, and show a cell
//!   (group × option) only if at least k voters chose it; smaller cells are
//!   suppressed so that no one's vote can be read off a small group. A voter
//!   with several specialties counts in each of their specialty groups.
//!
//! A single suppressed cell could be read back by subtraction (a row's
//! voters less its shown cells; an option's total less the other
//! jurisdictions' cells), so suppression is *complementary*: a row never
//! has exactly one suppressed cell, and in the jurisdiction breakdown
//! (where each voter is in exactly one group) neither does an option's
//! column, unless hidden groups already blur it. What remains public is
//! the sum of the suppressed cells of a row, never how it splits. See
//! `docs/SECURITY.md`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::{EventId, Jurisdiction, Poll, PublicKey, Specialty, Timestamp};

/// One vote as the tally needs it: who, for what, when, and the voter's
/// attested specialties and jurisdiction at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    /// The voter's key.
    pub voter: PublicKey,
    /// The vote event's id (tie-break).
    pub vote: EventId,
    /// The option chosen.
    pub option: u8,
    /// When it was cast.
    pub cast_at: Timestamp,
    /// The voter's attested specialties.
    pub specialties: Vec<Specialty>,
    /// The voter's licensing jurisdiction.
    pub jurisdiction: Jurisdiction,
}

/// One breakdown cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// This many voters.
    Count(u64),
    /// Fewer than k voters: not shown.
    Suppressed,
}

/// One group in a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The specialty or jurisdiction.
    pub group: String,
    /// Voters in the group (at least k).
    pub voters: u64,
    /// One cell per option.
    pub cells: Vec<Cell>,
}

/// A breakdown: groups with at least k voters, and how many groups were too
/// small to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Groups shown, largest first.
    pub rows: Vec<Row>,
    /// Groups hidden for having fewer than k voters.
    pub hidden_groups: u64,
}

/// A poll's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Votes per option.
    pub counts: Vec<u64>,
    /// Voters counted.
    pub voters: u64,
    /// Ballots that did not count (late, ineligible, unknown option) or were
    /// replaced by the same voter's later ballot.
    pub discarded: u64,
    /// The k used for suppression.
    pub min_cell: u32,
    /// By the voters' specialties.
    pub by_specialty: Breakdown,
    /// By the voters' jurisdictions.
    pub by_jurisdiction: Breakdown,
}

/// Running counts for one poll: what a node keeps per poll so that a tally
/// is a read, not a scan. Add each voter's counted ballot; when a voter's
/// later ballot replaces an earlier one, remove the earlier one first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Per option.
    options: Vec<u64>,
    by_specialty: BTreeMap<String, Vec<u64>>,
    by_jurisdiction: BTreeMap<String, Vec<u64>>,
    /// Voters counted.
    voters: u64,
    /// Every ballot ever seen, counted or not.
    ballots: u64,
}

impl Counts {
    /// Empty counts for a poll with `options` options.
    pub fn new(options: usize) -> Self {
        Self { options: vec![0; options], ..Self::default() }
    }

    /// Notes a ballot that does not count (replaced, late, ineligible).
    pub fn discard(&mut self) {
        self.ballots += 1;
    }

    /// Counts `ballot` as its voter's current choice. Ballots for options
    /// the poll does not have are discarded.
    pub fn add(&mut self, ballot: &Ballot) {
        self.ballots += 1;
        self.apply(ballot, true);
    }

    /// Withdraws `ballot`, previously added, when the same voter's later
    /// ballot replaces it (which is then [`Counts::add`]ed).
    pub fn replace(&mut self, old: &Ballot) {
        self.apply(old, false);
    }

    /// Forgets `ballot`, previously added, whose vote was taken back: out
    /// of the counts if it was its voter's current choice (`current`),
    /// and out of the ballots seen either way, so the counts are those of
    /// a node that never saw the vote.
    pub fn forget(&mut self, ballot: &Ballot, current: bool) {
        if current {
            self.apply(ballot, false);
        }
        self.ballots = self.ballots.saturating_sub(1);
    }

    fn apply(&mut self, ballot: &Ballot, add: bool) {
        let option = usize::from(ballot.option);
        let n = self.options.len();
        if option >= n {
            return;
        }
        let step = |cell: &mut u64| {
            *cell = if add { cell.saturating_add(1) } else { cell.saturating_sub(1) };
        };
        step(&mut self.options[option]);
        step(&mut self.voters);
        for s in &ballot.specialties {
            step(&mut self.by_specialty.entry(s.to_string()).or_insert_with(|| vec![0; n])[option]);
        }
        step(
            &mut self
                .by_jurisdiction
                .entry(ballot.jurisdiction.to_string())
                .or_insert_with(|| vec![0; n])[option],
        );
    }

    /// The result, with breakdown cells under `min_cell` suppressed.
    pub fn finish(&self, min_cell: u32) -> Tally {
        Tally {
            counts: self.options.clone(),
            voters: self.voters,
            discarded: self.ballots - self.voters.min(self.ballots),
            min_cell,
            by_specialty: breakdown(&self.by_specialty, min_cell, Groups::Overlapping),
            by_jurisdiction: breakdown(&self.by_jurisdiction, min_cell, Groups::Disjoint),
        }
    }
}

/// Whether `ballot` may count in `poll`: cast before closing, for an
/// existing option, by an eligible voter.
pub fn counts_in(poll: &Poll, ballot: &Ballot) -> bool {
    ballot.cast_at < poll.closes_at
        && usize::from(ballot.option) < poll.options.len()
        && (poll.eligible.is_empty()
            || ballot.specialties.iter().any(|s| poll.eligible.contains(s)))
}

/// Whether `new` replaces `old` as the same voter's current ballot: the
/// later one wins, ties broken by vote id so every node agrees.
pub fn supersedes(new: &Ballot, old: &Ballot) -> bool {
    (new.cast_at, new.vote) > (old.cast_at, old.vote)
}

/// Counts `ballots` for `poll` with cell threshold `min_cell`.
pub fn tally(poll: &Poll, ballots: impl IntoIterator<Item = Ballot>, min_cell: u32) -> Tally {
    let mut latest: HashMap<PublicKey, Ballot> = HashMap::new();
    let mut seen = 0u64;
    for ballot in ballots {
        seen += 1;
        if !counts_in(poll, &ballot) {
            continue;
        }
        match latest.get(&ballot.voter) {
            Some(prev) if !supersedes(&ballot, prev) => {}
            _ => {
                latest.insert(ballot.voter, ballot);
            }
        }
    }
    let mut counts = Counts::new(poll.options.len());
    for ballot in latest.values() {
        counts.add(ballot);
    }
    for _ in 0..seen - latest.len() as u64 {
        counts.discard();
    }
    counts.finish(min_cell)
}

/// How a poll's vote compared with the answer its author later gave
/// (a [`crate::PollAnswer`]): the share of voters who chose it, overall
/// and in each group a breakdown shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The option that turned out right.
    pub answer: u8,
    /// Voters who chose it.
    pub right: u64,
    /// Voters counted.
    pub voters: u64,
    /// `right / voters`, from 0 to 1 (`None` with no voters).
    pub share: Option<f64>,
    /// Per specialty shown in the tally (suppressed cells stay suppressed).
    pub by_specialty: Vec<GroupCalibration>,
    /// Per jurisdiction shown in the tally.
    pub by_jurisdiction: Vec<GroupCalibration>,
}

/// One group's calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCalibration {
    /// The specialty or jurisdiction.
    pub group: String,
    /// Voters in the group.
    pub voters: u64,
    /// Voters in the group who chose the answer, if the cell is shown.
    pub right: Cell,
    /// `right / voters` if the cell is shown.
    pub share: Option<f64>,
}

/// The calibration of `tally` against `answer`. Reads only what the
/// tally shows, so it reveals nothing its suppression hides.
pub fn calibration(tally: &Tally, answer: u8) -> Calibration {
    let share = |right: u64, voters: u64| (voters > 0).then(|| right as f64 / voters as f64);
    let right = tally.counts.get(usize::from(answer)).copied().unwrap_or(0);
    let groups = |b: &Breakdown| -> Vec<GroupCalibration> {
        b.rows
            .iter()
            .map(|row| {
                let cell = row.cells.get(usize::from(answer)).copied().unwrap_or(Cell::Count(0));
                let share = match cell {
                    Cell::Count(n) => share(n, row.voters),
                    Cell::Suppressed => None,
                };
                GroupCalibration {
                    group: row.group.clone(),
                    voters: row.voters,
                    right: cell,
                    share,
                }
            })
            .collect()
    };
    Calibration {
        answer,
        right,
        voters: tally.voters,
        share: share(right, tally.voters),
        by_specialty: groups(&tally.by_specialty),
        by_jurisdiction: groups(&tally.by_jurisdiction),
    }
}

/// Whether a voter is in exactly one group of a breakdown (jurisdictions)
/// or may be in several (specialties).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Groups {
    Disjoint,
    Overlapping,
}

fn breakdown(groups: &BTreeMap<String, Vec<u64>>, min_cell: u32, kind: Groups) -> Breakdown {
    let k = u64::from(min_cell);
    let mut out = Breakdown::default();
    let mut hidden_voters = 0;
    for (group, cells) in groups {
        let voters: u64 = cells.iter().sum();
        if voters == 0 {
            continue;
        }
        if voters < k {
            out.hidden_groups += 1;
            hidden_voters += voters;
            continue;
        }
        let cells =
            cells.iter().map(|&n| if n < k { Cell::Suppressed } else { Cell::Count(n) }).collect();
        out.rows.push(Row { group: group.clone(), voters, cells });
    }
    complement(&mut out.rows, kind == Groups::Disjoint && hidden_voters == 0);
    out.rows.sort_by(|a, b| b.voters.cmp(&a.voters).then_with(|| a.group.cmp(&b.group)));
    out
}

/// Complementary suppression: wherever exactly one cell of a row (or,
/// when `columns`, of an option's column) is suppressed, so that it could
/// be computed from the totals, also suppress the smallest shown cell
/// beside it. Repeats until nothing changes; each round suppresses at
/// least one more cell, so it ends.
fn complement(rows: &mut [Row], columns: bool) {
    let options = rows.first().map_or(0, |r| r.cells.len());
    loop {
        let mut changed = false;
        for row in rows.iter_mut() {
            if row.cells.iter().filter(|c| **c == Cell::Suppressed).count() == 1 {
                changed |= suppress_smallest(row.cells.iter_mut());
            }
        }
        if columns {
            for option in 0..options {
                let suppressed =
                    rows.iter().filter(|r| r.cells.get(option) == Some(&Cell::Suppressed)).count();
                if suppressed == 1 {
                    changed |=
                        suppress_smallest(rows.iter_mut().filter_map(|r| r.cells.get_mut(option)));
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Suppresses the smallest shown cell among `cells`; whether there was one.
fn suppress_smallest<'a>(cells: impl Iterator<Item = &'a mut Cell>) -> bool {
    let smallest = cells
        .filter_map(|c| match *c {
            Cell::Count(n) => Some((n, c)),
            Cell::Suppressed => None,
        })
        .min_by_key(|(n, _)| *n);
    match smallest {
        Some((_, cell)) => {
            *cell = Cell::Suppressed;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubId;

    fn poll(eligible: &[&str]) -> Poll {
        Poll {
            hub: HubId::new("general").unwrap(),
            question: "q".into(),
            options: vec!["a".into(), "b".into(), "c".into()],
            closes_at: Timestamp::from_millis(1_000),
            eligible: eligible.iter().map(|s| Specialty::new(*s).unwrap()).collect(),
        }
    }

    fn ballot(voter: u8, option: u8, at: u64, specialties: &[&str], j: &str) -> Ballot {
        Ballot {
            voter: PublicKey::from_bytes([voter; 32]),
            vote: EventId::from_bytes([voter ^ option ^ (at as u8); 32]),
            option,
            cast_at: Timestamp::from_millis(at),
            specialties: specialties.iter().map(|s| Specialty::new(*s).unwrap()).collect(),
            jurisdiction: Jurisdiction::new(j).unwrap(),
        }
    }

    #[test]
    fn latest_vote_before_closing_counts() {
        let t = tally(
            &poll(&[]),
            [
                ballot(1, 0, 10, &["cardiology"], "GB"),
                ballot(1, 1, 20, &["cardiology"], "GB"), // replaces the first
                ballot(1, 2, 1_000, &["cardiology"], "GB"), // at closing: too late
                ballot(2, 2, 5, &["oncology"], "GB"),
                ballot(3, 7, 5, &["oncology"], "GB"), // no such option
            ],
            5,
        );
        assert_eq!(t.counts, vec![0, 1, 1]);
        assert_eq!(t.voters, 2);
        assert_eq!(t.discarded, 3);
    }

    #[test]
    fn calibration_is_the_share_on_the_right_answer_and_keeps_suppression() {
        // Fifteen cardiologists, five on each option; five oncologists, all on a.
        let mut ballots: Vec<Ballot> =
            (0..15).map(|v| ballot(v, v % 3, 10, &["cardiology"], "GB")).collect();
        ballots.extend((15..20).map(|v| ballot(v, 0, 10, &["oncology"], "GB")));
        let t = tally(&poll(&[]), ballots, 5);
        let c = calibration(&t, 1);
        assert_eq!((c.answer, c.right, c.voters), (1, 5, 20));
        assert_eq!(c.share, Some(0.25));
        let cardiology = c.by_specialty.iter().find(|g| g.group == "cardiology").unwrap();
        assert_eq!((cardiology.right, cardiology.voters), (Cell::Count(5), 15));
        assert_eq!(cardiology.share, Some(5.0 / 15.0));
        // Oncology's cell for b is under k: it stays hidden here too.
        let oncology = c.by_specialty.iter().find(|g| g.group == "oncology").unwrap();
        assert_eq!((oncology.right, oncology.share), (Cell::Suppressed, None));
        let a = calibration(&t, 0);
        assert_eq!((a.right, a.share), (10, Some(0.5)));
        assert_eq!(calibration(&tally(&poll(&[]), [], 5), 0).share, None);
    }

    #[test]
    fn order_does_not_matter() {
        let ballots: Vec<Ballot> = (0..40u8)
            .map(|i| ballot(i % 13, i % 3, u64::from(i) * 7 % 50, &["cardiology"], "GB"))
            .collect();
        let forward = tally(&poll(&[]), ballots.clone(), 5);
        let backward = tally(&poll(&[]), ballots.into_iter().rev(), 5);
        assert_eq!(forward, backward);
    }

    #[test]
    fn running_counts_match_the_batch_tally() {
        let p = poll(&[]);
        let ballots: Vec<Ballot> = (0..60u8)
            .map(|i| {
                ballot(i % 17, i % 3, u64::from(i) * 11 % 90, &["cardiology", "general"], "GB")
            })
            .collect();
        let mut counts = Counts::new(3);
        let mut current: HashMap<PublicKey, Ballot> = HashMap::new();
        for b in &ballots {
            match current.get(&b.voter) {
                Some(old) if supersedes(b, old) => {
                    counts.replace(old);
                    counts.add(b);
                    current.insert(b.voter, b.clone());
                }
                Some(_) => counts.discard(),
                None => {
                    counts.add(b);
                    current.insert(b.voter, b.clone());
                }
            }
        }
        assert_eq!(counts.finish(5), tally(&p, ballots, 5));
    }

    #[test]
    fn only_eligible_specialties_count() {
        let t = tally(
            &poll(&["cardiology"]),
            [
                ballot(1, 0, 1, &["cardiology", "general"], "GB"),
                ballot(2, 0, 1, &["oncology"], "GB"),
            ],
            5,
        );
        assert_eq!(t.counts, vec![1, 0, 0]);
    }

    #[test]
    fn small_cells_and_groups_are_suppressed() {
        let mut ballots = Vec::new();
        // Six cardiologists in GB: five for a, one for b.
        for v in 0..5 {
            ballots.push(ballot(v, 0, 1, &["cardiology"], "GB"));
        }
        ballots.push(ballot(5, 1, 1, &["cardiology"], "GB"));
        // Two oncologists in US-CA.
        ballots.push(ballot(6, 2, 1, &["oncology"], "US-CA"));
        ballots.push(ballot(7, 2, 1, &["oncology"], "US-CA"));
        let t = tally(&poll(&[]), ballots, 5);
        assert_eq!(t.counts, vec![5, 1, 2]);
        assert_eq!(t.by_specialty.rows.len(), 1);
        let row = &t.by_specialty.rows[0];
        assert_eq!(row.group, "cardiology");
        assert_eq!(row.voters, 6);
        assert_eq!(row.cells, vec![Cell::Count(5), Cell::Suppressed, Cell::Suppressed]);
        assert_eq!(t.by_specialty.hidden_groups, 1);
        assert_eq!(t.by_jurisdiction.rows[0].group, "GB");
        assert_eq!(t.by_jurisdiction.hidden_groups, 1);
    }

    /// No suppressed cell can be computed back from a row's voters or an
    /// option's total.
    #[test]
    fn suppression_is_complementary() {
        let two_options = Poll { options: vec!["a".into(), "b".into()], ..poll(&[]) };
        let mut ballots = Vec::new();
        // GB: 7 for a, 2 for b. IE: 6 for a, 5 for b.
        for v in 0..7 {
            ballots.push(ballot(v, 0, 1, &["cardiology"], "GB"));
        }
        for v in 7..9 {
            ballots.push(ballot(v, 1, 1, &["cardiology"], "GB"));
        }
        for v in 9..15 {
            ballots.push(ballot(v, 0, 1, &["oncology"], "IE"));
        }
        for v in 15..20 {
            ballots.push(ballot(v, 1, 1, &["oncology"], "IE"));
        }
        let t = tally(&two_options, ballots, 5);
        assert_eq!(t.counts, vec![13, 7]);
        // GB's b (2) alone would be 9 - 7: its a is suppressed too. Then
        // column a has GB suppressed and IE shown (13 - 6 = GB's a): IE's a
        // goes too, and then IE's row needs its b suppressed as well.
        for row in &t.by_jurisdiction.rows {
            assert_eq!(row.cells, vec![Cell::Suppressed, Cell::Suppressed], "{}", row.group);
        }
        // By specialty (cardiology 7/2, oncology 6/5): rows only.
        let cardiology = t.by_specialty.rows.iter().find(|r| r.group == "cardiology").unwrap();
        assert_eq!(cardiology.cells, vec![Cell::Suppressed, Cell::Suppressed]);
        let oncology = t.by_specialty.rows.iter().find(|r| r.group == "oncology").unwrap();
        assert_eq!(oncology.cells, vec![Cell::Count(6), Cell::Count(5)]);
    }

    /// Whatever the votes, no row and no jurisdiction column ends with
    /// exactly one suppressed cell.
    #[test]
    fn never_exactly_one_suppressed_cell() {
        for seed in 0..200u32 {
            let ballots: Vec<Ballot> = (0..60u32)
                .map(|i| {
                    let x = i.wrapping_mul(2_654_435_761).wrapping_add(seed.wrapping_mul(40_503));
                    let j = ["GB", "IE", "FR"][(x % 3) as usize];
                    ballot(i as u8, ((x >> 3) % 3) as u8, 1, &["cardiology"], j)
                })
                .collect();
            let t = tally(&poll(&[]), ballots, 5);
            let one = |cells: &mut dyn Iterator<Item = &Cell>| {
                cells.filter(|c| **c == Cell::Suppressed).count() == 1
            };
            for row in t.by_jurisdiction.rows.iter().chain(&t.by_specialty.rows) {
                assert!(!one(&mut row.cells.iter()), "seed {seed}: {row:?}");
            }
            if t.by_jurisdiction.hidden_groups == 0 {
                for option in 0..3 {
                    let column = &mut t.by_jurisdiction.rows.iter().map(|r| &r.cells[option]);
                    assert!(!one(column), "seed {seed}, option {option}");
                }
            }
        }
    }
}
