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
//! Suppression protects small cells from being read directly; it does not
//! stop every inference by subtracting one published figure from another.
//! See `docs/SECURITY.md`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::{EventId, Jurisdiction, Poll, PublicKey, Specialty, Timestamp};

/// One vote as the tally needs it: who, for what, when, and the voter's
/// attested specialties and jurisdiction at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Counts `ballots` for `poll` with cell threshold `min_cell`.
pub fn tally(poll: &Poll, ballots: impl IntoIterator<Item = Ballot>, min_cell: u32) -> Tally {
    let options = poll.options.len();
    let mut latest: HashMap<PublicKey, Ballot> = HashMap::new();
    let mut seen = 0u64;
    for ballot in ballots {
        seen += 1;
        let counts = ballot.cast_at < poll.closes_at
            && usize::from(ballot.option) < options
            && (poll.eligible.is_empty()
                || ballot.specialties.iter().any(|s| poll.eligible.contains(s)));
        if !counts {
            continue;
        }
        match latest.get(&ballot.voter) {
            Some(prev) if (prev.cast_at, prev.vote) >= (ballot.cast_at, ballot.vote) => {}
            _ => {
                latest.insert(ballot.voter, ballot);
            }
        }
    }

    let mut counts = vec![0u64; options];
    let mut specialty: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut jurisdiction: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for ballot in latest.values() {
        let option = usize::from(ballot.option);
        counts[option] += 1;
        for s in &ballot.specialties {
            specialty.entry(s.to_string()).or_insert_with(|| vec![0; options])[option] += 1;
        }
        jurisdiction.entry(ballot.jurisdiction.to_string()).or_insert_with(|| vec![0; options])
            [option] += 1;
    }
    let voters = latest.len() as u64;
    Tally {
        counts,
        voters,
        discarded: seen - voters,
        min_cell,
        by_specialty: breakdown(specialty, min_cell),
        by_jurisdiction: breakdown(jurisdiction, min_cell),
    }
}

fn breakdown(groups: BTreeMap<String, Vec<u64>>, min_cell: u32) -> Breakdown {
    let k = u64::from(min_cell);
    let mut out = Breakdown::default();
    for (group, cells) in groups {
        let voters: u64 = cells.iter().sum();
        if voters < k {
            out.hidden_groups += 1;
            continue;
        }
        let cells = cells
            .into_iter()
            .map(|n| if n < k { Cell::Suppressed } else { Cell::Count(n) })
            .collect();
        out.rows.push(Row { group, voters, cells });
    }
    out.rows.sort_by(|a, b| b.voters.cmp(&a.voters).then_with(|| a.group.cmp(&b.group)));
    out
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
    fn order_does_not_matter() {
        let ballots: Vec<Ballot> = (0..40u8)
            .map(|i| ballot(i % 13, i % 3, u64::from(i) * 7 % 50, &["cardiology"], "GB"))
            .collect();
        let forward = tally(&poll(&[]), ballots.clone(), 5);
        let backward = tally(&poll(&[]), ballots.into_iter().rev(), 5);
        assert_eq!(forward, backward);
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
}
