//! What the benchmarks share to report a measurement: percentiles by
//! nearest rank, the load average and the machine, and when each node
//! stored each post.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use curbside_node::ingest::Observer;
use curbside_protocol::{EventId, Kind};

/// When each event was submitted (`S`: the instant, and whatever else a
/// benchmark records of it), and when each node stored each post.
#[derive(Debug)]
pub struct Times<S> {
    /// Per event: as the benchmark recorded its submission.
    pub submitted: HashMap<EventId, S>,
    /// Per post: which node stored it, and when.
    pub stored: HashMap<EventId, Vec<(usize, Instant)>>,
}

impl<S> Default for Times<S> {
    fn default() -> Self {
        Self { submitted: HashMap::new(), stored: HashMap::new() }
    }
}

impl<S: Send + 'static> Times<S> {
    /// An observer for node `node` (`NodeBuilder::observer`): the moment
    /// each post it stores is durable, recorded in `times.stored`.
    pub fn observer(times: &Arc<Mutex<Self>>, node: usize) -> Observer {
        let times = times.clone();
        Arc::new(move |stored| {
            let at = Instant::now();
            let mut times = times.lock().unwrap_or_else(|p| p.into_inner());
            for (_, id, kind) in stored {
                if *kind == Kind::Post {
                    times.stored.entry(*id).or_default().push((node, at));
                }
            }
        })
    }
}

/// The `p`th percentile (nearest rank) of `sorted`; `None` if it is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The machine: the threads available and the CPU model `/proc/cpuinfo` names.
pub fn machine() -> String {
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{threads} threads available, {model}")
}

/// How a figure grows with the number of nodes N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// y = a + b·log2(N).
    Logarithmic,
    /// y = a + b·N.
    Linear,
}

/// A least-squares fit of a figure against the number of nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The model.
    pub growth: Growth,
    /// The intercept.
    pub a: f64,
    /// The slope (per doubling for [`Growth::Logarithmic`], per node for
    /// [`Growth::Linear`]).
    pub b: f64,
    /// The residual sum of squares.
    pub rss: f64,
}

impl Fit {
    /// The model's value at `n` nodes.
    pub fn at(&self, n: f64) -> f64 {
        self.a + self.b * Self::x(self.growth, n)
    }

    fn x(growth: Growth, n: f64) -> f64 {
        match growth {
            Growth::Logarithmic => n.log2(),
            Growth::Linear => n,
        }
    }

    /// `y = a + b·x(N)` by least squares over the points `(N, y)`.
    pub fn with(growth: Growth, points: &[(f64, f64)]) -> Self {
        let k = points.len() as f64;
        let xs: Vec<f64> = points.iter().map(|(n, _)| Self::x(growth, *n)).collect();
        let mx = xs.iter().sum::<f64>() / k;
        let my = points.iter().map(|(_, y)| y).sum::<f64>() / k;
        let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let sxy: f64 = xs.iter().zip(points).map(|(x, (_, y))| (x - mx) * (y - my)).sum();
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let a = my - b * mx;
        let rss = xs.iter().zip(points).map(|(x, (_, y))| (y - a - b * x).powi(2)).sum();
        Self { growth, a, b, rss }
    }

    /// Of the logarithmic and the linear model, the one that fits the
    /// points better (the smaller residual).
    pub fn best(points: &[(f64, f64)]) -> Self {
        let log = Self::with(Growth::Logarithmic, points);
        let lin = Self::with(Growth::Linear, points);
        if lin.rss < log.rss { lin } else { log }
    }

    /// The model as a formula.
    pub fn formula(&self) -> String {
        match self.growth {
            Growth::Logarithmic => format!("{:.3} + {:.3}·log2(N)", self.a, self.b),
            Growth::Linear => format!("{:.3} + {:.5}·N", self.a, self.b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Fit, Growth, percentile};

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let ms: Vec<u32> = (1..=200).collect();
        assert_eq!(percentile(&ms, 50.0), Some(100));
        assert_eq!(percentile(&ms, 99.0), Some(198));
        assert_eq!(percentile(&ms, 100.0), Some(200));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    #[test]
    fn fits_find_the_model_that_made_the_points() {
        let log: Vec<(f64, f64)> =
            [16.0, 32.0, 64.0].iter().map(|n: &f64| (*n, 3.0 + 2.0 * n.log2())).collect();
        let fit = Fit::best(&log);
        assert_eq!(fit.growth, Growth::Logarithmic);
        assert!((fit.a - 3.0).abs() < 1e-9 && (fit.b - 2.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.at(512.0) - 21.0).abs() < 1e-9);
        let lin: Vec<(f64, f64)> = [16.0, 32.0, 64.0].iter().map(|n| (*n, 1.0 + 0.5 * n)).collect();
        let fit = Fit::best(&lin);
        assert_eq!(fit.growth, Growth::Linear);
        assert!((fit.at(500.0) - 251.0).abs() < 1e-9, "{fit:?}");
        assert!(fit.formula().ends_with("·N"));
    }
}
