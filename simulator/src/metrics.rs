//! Run metrics: counters, a log-bucketed latency histogram and a delivery timeline.

use serde::{Deserialize, Serialize};

/// A log-linear histogram of millisecond values (16 sub-buckets per power of two, ≈6 % error),
/// constant memory whatever the number of samples.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB: u64 = 16;

impl Histogram {
    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let exp = 63 - u64::from(v.leading_zeros());
        let shift = exp - 4;
        ((exp - 3) * SUB + ((v >> shift) - SUB)) as usize
    }

    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let exp = i / SUB + 3;
        let sub = i % SUB;
        (SUB + sub) << (exp - 4)
    }

    /// Adds one value.
    pub fn add(&mut self, v: u64) {
        let i = Self::index(v);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Largest value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` in `[0, 1]` (lower bucket bound; exact below 16).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total - 1) as f64 * q.clamp(0.0, 1.0)) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return Self::lower_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Non-empty buckets as `(lower bound, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (Self::lower_bound(i), *c))
    }
}

/// Counters collected by the world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Events processed.
    pub events: u64,
    /// Largest number of pending events in the queue.
    pub peak_queue: u64,
    /// Messages issued by the workload to a live device.
    pub issued: u64,
    /// Sends skipped because the chosen device was crashed.
    pub skipped_sends: u64,
    /// First deliveries (message × installation).
    pub delivered: u64,
    /// Duplicates suppressed by nodes.
    pub duplicates_suppressed: u64,
    /// Retransmissions.
    pub retransmissions: u64,
    /// End-to-end acks received.
    pub acks: u64,
    /// Inputs rejected by nodes (forged, tampered, misaddressed).
    pub rejected: u64,
    /// Typed errors reported by nodes.
    pub node_errors: u64,
    /// Node publishes.
    pub publishes: u64,
    /// Node publishes made while handling a message the adversary published.
    pub answers_to_strangers: u64,
    /// Store queries sent.
    pub store_queries: u64,
    /// Snapshots persisted, and their total size.
    pub persists: u64,
    /// Bytes persisted.
    pub persisted_bytes: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
    /// Issue-to-first-delivery latency, in ms.
    pub latency_ms: Histogram,
    /// Per timeline bucket: (issued, first deliveries).
    pub timeline: Vec<(u64, u64)>,
    /// Width of a timeline bucket in ms.
    pub timeline_bucket_ms: u64,
}

impl Metrics {
    /// Metrics with a timeline of `bucket_ms` buckets.
    pub fn new(bucket_ms: u64) -> Self {
        Self { timeline_bucket_ms: bucket_ms.max(1), ..Self::default() }
    }

    fn bucket(&mut self, at_ms: u64) -> &mut (u64, u64) {
        let i = (at_ms / self.timeline_bucket_ms) as usize;
        if self.timeline.len() <= i {
            self.timeline.resize(i + 1, (0, 0));
        }
        &mut self.timeline[i]
    }

    /// Counts an issued message.
    pub fn on_issue(&mut self, at_ms: u64) {
        self.issued += 1;
        self.bucket(at_ms).0 += 1;
    }

    /// Counts a first delivery.
    pub fn on_delivery(&mut self, at_ms: u64, latency_us: u64) {
        self.delivered += 1;
        self.latency_ms.add(latency_us / 1_000);
        self.bucket(at_ms).1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.add(v);
        }
        for (q, want) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.07, "q{q}: {got}");
        }
        assert_eq!(h.quantile(0.0), 1);
        assert_eq!(h.max(), 10_000);
        assert_eq!(h.count(), 10_000);
        for i in 0..200 {
            assert!(Histogram::lower_bound(i) <= Histogram::lower_bound(i + 1));
            assert_eq!(Histogram::index(Histogram::lower_bound(i)), i);
        }
    }
}
