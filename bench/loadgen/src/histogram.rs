//! A fixed-size latency histogram: log-linear buckets (64 per power of two, so any value is
//! kept within 1.6 %), merged across connections, queried for percentiles. No allocation
//! while recording, whatever the number of requests.

use std::time::Duration;

/// Buckets per power of two; the relative error of a recorded value is below 1 / this.
const SUB_BUCKETS: u64 = 64;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Enough buckets for any `u64` count of nanoseconds.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB_BUCKETS as usize;

/// Latencies in nanoseconds, bucketed.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB_BUCKETS {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) & (SUB_BUCKETS - 1);
    ((shift as u64 + 1) * SUB_BUCKETS + mantissa) as usize
}

/// The middle of bucket `i`'s range.
fn value(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB_BUCKETS {
        return i;
    }
    let shift = i / SUB_BUCKETS - 1;
    let low = (SUB_BUCKETS + i % SUB_BUCKETS) << shift;
    low + ((1u64 << shift) >> 1)
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket(ns)] += 1;
        self.total += 1;
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The value below which a fraction `q` (0..=1) of the recorded values fall.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(value(i));
            }
        }
        Duration::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_within_the_relative_error_of_its_bucket() {
        for v in (0..200u64).chain((1..60).map(|s| (1u64 << s) + 12345 % (1u64 << s))) {
            let back = value(bucket(v));
            let err = back.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(err < 1.0 / SUB_BUCKETS as f64, "{v} -> {back}");
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_follow_the_recorded_values() {
        let mut h = Histogram::default();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros();
        let p99 = h.quantile(0.99).as_micros();
        assert!((49..=51).contains(&p50), "{p50}");
        assert!((98..=100).contains(&p99), "{p99}");
        assert_eq!(h.total, 100);
    }
}
