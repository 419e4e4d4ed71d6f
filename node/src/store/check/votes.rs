//! The check of the votes: each voter's ballot is their latest vote, and
//! each poll's tally counts exactly the stored votes.

use std::collections::HashMap;

use curbside_protocol::{Ballot, Counts, EventId, PublicKey};

use super::{CastVote, CheckReport, Derived};
use crate::store::index::WITHDRAWN;
use crate::store::keys::{self, Space};
use crate::store::{Store, StoreError, decode, key_part};

impl Store {
    /// Each voter's ballot is their latest vote; each poll's tally counts
    /// exactly the stored votes.
    pub(super) fn check_votes(
        &self,
        derived: &mut Derived,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        let mut ballots = self.ballots_held(report)?;
        for (poll, votes) in &derived.votes {
            if derived.gone.contains_key(poll) {
                continue; // taken back: no ballots, no tally
            }
            let mut latest: HashMap<PublicKey, &CastVote> = HashMap::new();
            for v in votes {
                let slot = latest.entry(v.voter).or_insert(v);
                if (v.cast_at, v.id) > (slot.cast_at, slot.id) {
                    *slot = v;
                }
            }
            for (voter, vote) in &latest {
                match ballots.remove(&(*poll, *voter)) {
                    None => {
                        report.problem("missing_index_entry", format!("ballots: {voter} on {poll}"))
                    }
                    Some(b)
                        if (b.vote, b.option, b.cast_at)
                            != (vote.id, vote.option, vote.cast_at) =>
                    {
                        report.problem(
                            "index_value_mismatch",
                            format!(
                                "ballots: {voter} on {poll} holds {}, not their latest vote {}",
                                b.vote, vote.id
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
            let Some(&options) = derived.polls.get(poll) else {
                report
                    .problem("missing_dependency", format!("votes on {poll}, which is not stored"));
                continue;
            };
            let current: Vec<&CastVote> = latest.values().copied().collect();
            let mut counts = vec![0u64; options];
            for v in current.iter().filter(|v| usize::from(v.option) < options) {
                counts[usize::from(v.option)] += 1;
            }
            let voters: u64 = counts.iter().sum();
            let seen = votes.iter().filter(|v| v.option != WITHDRAWN).count() as u64;
            let expected = (counts, voters, seen.saturating_sub(voters));
            derived.polls.insert(*poll, usize::MAX); // tally checked here
            self.check_tally(poll, Some(expected), report)?;
        }
        for ((poll, voter), _) in ballots {
            report.problem(
                "dangling_index_entry",
                format!("ballots: {voter} on {poll} has no stored vote"),
            );
        }
        let unvoted: Vec<EventId> =
            derived.polls.iter().filter(|(_, o)| **o != usize::MAX).map(|(p, _)| *p).collect();
        for poll in unvoted {
            self.check_tally(&poll, None, report)?;
        }
        self.check_tallies_held(derived, report)
    }

    /// The tally of `poll`: (per option, voters, discarded), or none counted.
    fn check_tally(
        &self,
        poll: &EventId,
        expected: Option<(Vec<u64>, u64, u64)>,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        let Some(bytes) = self.tree.get(keys::tally(poll))? else {
            report.problem("missing_index_entry", format!("tallies: poll {poll}"));
            return Ok(());
        };
        let counts: Counts = match decode(Space::Tallies, &bytes) {
            Ok(c) => c,
            Err(e) => {
                report.problem("bad_record", e.to_string());
                return Ok(());
            }
        };
        let tally = counts.finish(1);
        let found = (tally.counts.clone(), tally.voters, tally.discarded);
        let expected = expected.unwrap_or_else(|| (vec![0; tally.counts.len()], 0, 0));
        if found != expected {
            report.problem(
                "tally_mismatch",
                format!("poll {poll}: the tally says {found:?} (per option, voters, discarded), the votes {expected:?}"),
            );
        }
        Ok(())
    }

    /// Every ballot held, by (poll, voter).
    fn ballots_held(
        &self,
        report: &mut CheckReport,
    ) -> Result<HashMap<(EventId, PublicKey), Ballot>, StoreError> {
        let mut ballots: HashMap<(EventId, PublicKey), Ballot> = HashMap::new();
        for item in self.tree.scan_prefix(Space::Ballots.all()) {
            let (key, bytes) = item?;
            report.index_entries += 1;
            let (Ok(poll), Ok(voter)) =
                (key_part(Space::Ballots, &key, 1), key_part(Space::Ballots, &key, 33))
            else {
                report.problem("bad_key", "ballots key is cut short");
                continue;
            };
            match decode(Space::Ballots, &bytes) {
                Ok(b) => {
                    ballots.insert((EventId::from_bytes(poll), PublicKey::from_bytes(voter)), b);
                }
                Err(e) => report.problem("bad_record", e.to_string()),
            }
        }
        Ok(ballots)
    }

    /// Each tally held is of a stored poll.
    fn check_tallies_held(
        &self,
        derived: &Derived,
        report: &mut CheckReport,
    ) -> Result<(), StoreError> {
        let mut tallies = 0;
        for item in self.tree.scan_prefix(Space::Tallies.all()) {
            let (key, _) = item?;
            tallies += 1;
            if let Ok(poll) = key_part(Space::Tallies, &key, 1)
                && !derived.polls.contains_key(&EventId::from_bytes(poll))
            {
                report.problem(
                    "dangling_index_entry",
                    format!("tallies: {} is not a stored poll", EventId::from_bytes(poll)),
                );
            }
        }
        report.index_entries += tallies;
        Ok(())
    }
}
