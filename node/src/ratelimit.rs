//! Token buckets: a rate with bursts, per key.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self { tokens: burst, last: now, rate, burst }
    }

    /// Takes a token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes `n` tokens if there are that many.
    pub(crate) fn take_n(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whole tokens there now.
    pub(crate) fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        self.tokens.max(0.0).floor().min(f64::from(u32::MAX)) as u32
    }

    /// Takes `n` tokens, going into debt if there are fewer (later takes
    /// wait until the debt is paid).
    pub(crate) fn charge(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.tokens -= n;
    }

    /// Seconds until a token is there.
    pub(crate) fn wait(&self) -> f64 {
        self.wait_for(1.0)
    }

    /// Seconds until `n` tokens are there.
    pub(crate) fn wait_for(&self, n: f64) -> f64 {
        if self.tokens >= n || self.rate <= 0.0 { 0.0 } else { (n - self.tokens) / self.rate }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Whether the bucket is full again (so forgetting it changes nothing).
    fn is_full(&self, now: Instant) -> bool {
        self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate
            >= self.burst
    }
}

/// One bucket per key, forgetting keys whose bucket has filled again so
/// the map stays as small as the set of recently active keys.
#[derive(Debug)]
pub(crate) struct Buckets<K> {
    rate: f64,
    burst: f64,
    buckets: HashMap<K, Bucket>,
    last_sweep: Instant,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// `per_minute` tokens a minute per key, bursts of `burst`.
    pub(crate) fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }

    /// `per_second` tokens a second per key, bursts of `burst`.
    pub(crate) fn per_second(per_second: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }

    /// The most tokens a bucket holds.
    pub(crate) fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// `key`'s bucket (a full one if it had none).
    fn bucket(&mut self, key: &K, now: Instant) -> &mut Bucket {
        if now.saturating_duration_since(self.last_sweep) > Duration::from_secs(60) {
            self.buckets.retain(|_, b| !b.is_full(now));
            self.last_sweep = now;
        }
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.entry(key.clone()).or_insert_with(|| Bucket::new(rate, burst, now))
    }

    /// Takes a token from `key`'s bucket: `Ok`, or `Err(seconds to wait)`.
    pub(crate) fn take(&mut self, key: &K, now: Instant) -> Result<(), f64> {
        self.take_n(key, 1, now)
    }

    /// Takes `n` tokens from `key`'s bucket at once: `Ok`, or `Err(seconds
    /// until there are that many)` (never, if `n` is over the burst: the
    /// caller says so).
    pub(crate) fn take_n(&mut self, key: &K, n: u32, now: Instant) -> Result<(), f64> {
        let bucket = self.bucket(key, now);
        let n = f64::from(n);
        if bucket.take_n(n, now) { Ok(()) } else { Err(bucket.wait_for(n)) }
    }

    /// Whole tokens in `key`'s bucket now (taking none).
    pub(crate) fn available(&mut self, key: &K, now: Instant) -> u32 {
        self.bucket(key, now).available(now)
    }

    /// Takes `n` tokens from `key`'s bucket, into debt if need be.
    pub(crate) fn charge(&mut self, key: &K, n: u32, now: Instant) {
        self.bucket(key, now).charge(f64::from(n), now);
    }

    /// Seconds until `key`'s bucket has a token.
    pub(crate) fn wait(&mut self, key: &K, now: Instant) -> f64 {
        self.bucket(key, now).wait()
    }

    /// Keys tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_at_once_and_debt() {
        let t0 = Instant::now();
        let mut b = Buckets::per_second(10, 20);
        assert_eq!(b.take_n(&"a", 15, t0), Ok(()));
        let wait = b.take_n(&"a", 15, t0).unwrap_err();
        assert!((0.9..=1.0).contains(&wait), "{wait}");
        assert_eq!(b.available(&"a", t0), 5, "a failed take takes nothing");
        b.charge(&"a", 8, t0);
        assert_eq!(b.available(&"a", t0), 0);
        // 3 tokens of debt: a token again after 0.4 s.
        assert!(b.take(&"a", t0 + Duration::from_millis(350)).is_err());
        assert_eq!(b.take(&"a", t0 + Duration::from_millis(401)), Ok(()));
    }

    #[test]
    fn bursts_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Buckets::per_minute(60, 3);
        for _ in 0..3 {
            assert_eq!(b.take(&"dr-a", t0), Ok(()));
        }
        let wait = b.take(&"dr-a", t0).unwrap_err();
        assert!((0.9..=1.0).contains(&wait), "{wait}");
        // Another key has its own bucket.
        assert_eq!(b.take(&"dr-b", t0), Ok(()));
        // A second later one more token.
        assert_eq!(b.take(&"dr-a", t0 + Duration::from_millis(1_001)), Ok(()));
        assert!(b.take(&"dr-a", t0 + Duration::from_millis(1_002)).is_err());
        // Idle keys are forgotten once their buckets are full again.
        assert_eq!(b.take(&"dr-c", t0 + Duration::from_secs(120)), Ok(()));
        assert_eq!(b.len(), 1);
    }
}
