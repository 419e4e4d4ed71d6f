//! The top of a search's ranking, collected with Tantivy's block-max
//! pruning: BM25 first, the newer first among equal scores, exactly.
//!
//! Tantivy skips whole blocks of a term's postings whose best possible
//! score cannot enter the top k (block-max WAND), but only for a collector
//! that ranks by the score alone; a collector that reads a fast field for
//! every match (as a `tweak_score` on the creation time does) scores every
//! document the words match, which for a common word is a large share of
//! the index. This collector keeps the exact order (score, then newer,
//! then index order) and still lets Tantivy prune: it tells Tantivy a
//! threshold a hair *below* the k-th best score, so that a document whose
//! score equals it still arrives (and may displace an older one), while
//! blocks that cannot reach it are skipped. The creation time is read only
//! for the few documents that arrive.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// One ranked document.
#[derive(Debug, Clone, Copy)]
pub struct Ranked {
    /// BM25.
    pub score: Score,
    /// Its `created_at`, in milliseconds.
    pub created_at: u64,
    /// Where it is in the index.
    pub address: DocAddress,
}

impl Ranked {
    /// Greater is better: higher score, then newer, then earlier in the
    /// index (so that the order is total and the same on every page).
    fn rank(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.created_at.cmp(&other.created_at))
            .then(other.address.cmp(&self.address))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.rank(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

/// A threshold just below `score`: block-max pruning passes only scores
/// strictly above its threshold, and sums a document's term scores in an
/// order that may differ from its upper bounds' by a rounding, so the
/// margin is relative and generous; what passes is ranked exactly.
fn just_below(score: Score) -> Score {
    score - (score.abs() * 1e-4).max(1e-6)
}

/// The best `offset + limit` documents, best first, of which the caller
/// shows those from `offset` on.
#[derive(Debug)]
pub struct RecentTop {
    k: usize,
    offset: usize,
    field: &'static str,
    /// The lowest score that can still enter the top k, learnt from the
    /// segments already collected (each holds k documents at least that
    /// good), so that later segments prune from their first block.
    floor: Arc<Mutex<Score>>,
}

impl RecentTop {
    /// The documents ranked `offset..offset + limit`, the creation time
    /// read from the u64 fast field `field`.
    pub fn new(limit: usize, offset: usize, field: &'static str) -> Self {
        RecentTop { k: limit + offset, offset, field, floor: Arc::new(Mutex::new(Score::MIN)) }
    }
}

/// One segment's top k.
pub struct SegmentTop {
    k: usize,
    segment: SegmentOrdinal,
    times: Option<Arc<dyn ColumnValues<u64>>>,
    /// The worst of the k on top, to be displaced first.
    heap: BinaryHeap<Reverse<Ranked>>,
    floor: Score,
}

impl SegmentTop {
    /// The threshold to tell Tantivy: below it nothing can enter.
    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some(Reverse(worst)) if self.heap.len() >= self.k => {
                just_below(worst.score).max(self.floor)
            }
            _ => self.floor,
        }
    }
}

impl SegmentCollector for SegmentTop {
    type Fruit = Vec<Ranked>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.k == 0 || score < self.floor {
            return;
        }
        let created_at = self.times.as_ref().map_or(0, |t| t.get_val(doc));
        let ranked = Ranked { score, created_at, address: DocAddress::new(self.segment, doc) };
        if self.heap.len() < self.k {
            self.heap.push(Reverse(ranked));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && ranked > worst.0
        {
            *worst = Reverse(ranked);
        }
    }

    fn harvest(self) -> Vec<Ranked> {
        self.heap.into_iter().map(|Reverse(r)| r).collect()
    }
}

impl std::fmt::Debug for SegmentTop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentTop")
            .field("k", &self.k)
            .field("segment", &self.segment)
            .field("held", &self.heap.len())
            .field("floor", &self.floor)
            .finish_non_exhaustive()
    }
}

fn lock(floor: &Mutex<Score>) -> std::sync::MutexGuard<'_, Score> {
    floor.lock().unwrap_or_else(|p| p.into_inner())
}

impl Collector for RecentTop {
    type Fruit = Vec<Ranked>;
    type Child = SegmentTop;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentTop> {
        let times = reader.fast_fields().u64(self.field).ok().map(|c| c.first_or_default_col(0));
        Ok(SegmentTop {
            k: self.k,
            segment,
            times,
            heap: BinaryHeap::with_capacity(self.k),
            floor: *lock(&self.floor),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    /// Collects with pruning: Tantivy is told, after every document that
    /// arrives, the threshold below which none can enter.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<Ranked>> {
        let mut top = self.for_segment(segment, reader)?;
        if self.k == 0 {
            return Ok(Vec::new());
        }
        let alive = reader.alive_bitset();
        weight.for_each_pruning(top.threshold(), reader, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                top.collect(doc, score);
            }
            top.threshold()
        })?;
        if top.heap.len() >= self.k {
            let mut floor = lock(&self.floor);
            *floor = floor.max(top.threshold());
        }
        Ok(top.harvest())
    }

    fn merge_fruits(&self, segments: Vec<Vec<Ranked>>) -> tantivy::Result<Vec<Ranked>> {
        let mut all: Vec<Ranked> = segments.into_iter().flatten().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(self.k);
        Ok(all.split_off(self.offset.min(all.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(score: Score, created_at: u64, doc: DocId) -> Ranked {
        Ranked { score, created_at, address: DocAddress::new(0, doc) }
    }

    #[test]
    fn higher_scores_first_then_newer_then_index_order() {
        let mut v = [r(1.0, 5, 0), r(2.0, 1, 1), r(1.0, 9, 2), r(1.0, 9, 3)];
        v.sort_by(|a, b| b.cmp(a));
        let order: Vec<DocId> = v.iter().map(|x| x.address.doc_id).collect();
        assert_eq!(order, vec![1, 2, 3, 0]);
    }

    #[test]
    fn the_threshold_lets_an_equal_score_through() {
        for s in [0.0f32, 1e-3, 0.7, 3.25, 41.0] {
            assert!(just_below(s) < s, "{s}");
            assert!(just_below(s) > s - 0.01 * s.max(1.0), "{s}");
        }
    }

    #[test]
    fn a_full_segment_top_keeps_the_best_k_and_raises_its_threshold() {
        let mut top = SegmentTop {
            k: 2,
            segment: 0,
            times: None,
            heap: BinaryHeap::new(),
            floor: Score::MIN,
        };
        assert_eq!(top.threshold(), Score::MIN);
        top.collect(0, 1.0);
        top.collect(1, 3.0);
        assert!(top.threshold() < 1.0 && top.threshold() > 0.99);
        top.collect(2, 2.0);
        let mut kept: Vec<DocId> = top.harvest().iter().map(|x| x.address.doc_id).collect();
        kept.sort();
        assert_eq!(kept, vec![1, 2]);
    }
}
