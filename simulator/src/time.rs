//! Virtual time. The simulator never reads a clock: time only advances when the event loop pops
//! the next event, so a run is a pure function of its seed and configuration.

use serde::{Deserialize, Serialize};

/// The wall-clock instant virtual time zero maps to: 2026-01-01T00:00:00Z in Unix milliseconds.
/// Fixed so every run sees the same timestamps (and so Waku message hashes are reproducible).
pub const EPOCH_MS: u64 = 1_767_225_600_000;

/// Virtual time in microseconds since the start of the run.
///
/// Microseconds (not milliseconds) so that independently sampled latencies rarely tie, which
/// keeps reordering realistic; ties are broken by the event sequence number anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: Self = Self(0);

    /// `ms` milliseconds after the start.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms.saturating_mul(1_000))
    }

    /// `s` seconds after the start.
    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the start.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the start.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// `self + ms` milliseconds, saturating.
    pub const fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms.saturating_mul(1_000)))
    }

    /// `self + us` microseconds, saturating.
    pub const fn plus_micros(self, us: u64) -> Self {
        Self(self.0.saturating_add(us))
    }

    /// Microseconds from `earlier` to `self`, zero if `earlier` is later.
    pub const fn micros_since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for SimTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.as_millis();
        write!(f, "{}.{:03}s", ms / 1_000, ms % 1_000)
    }
}

/// Converts a fractional number of milliseconds to whole microseconds (negative values clamp to 0).
///
/// Float-to-integer casts are exact and saturating in Rust, so this is deterministic on every
/// platform.
pub fn ms_to_micros(ms: f64) -> u64 {
    if ms.is_nan() || ms <= 0.0 { 0 } else { (ms * 1_000.0) as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(SimTime::from_secs(2).as_millis(), 2_000);
        assert_eq!(SimTime::from_millis(5).plus_millis(5).as_micros(), 10_000);
        assert_eq!(SimTime::from_millis(1).micros_since(SimTime::from_millis(2)), 0);
        assert_eq!(ms_to_micros(1.5), 1_500);
        assert_eq!(ms_to_micros(-3.0), 0);
        assert_eq!(ms_to_micros(f64::NAN), 0);
        assert_eq!(SimTime::from_millis(61_005).to_string(), "61.005s");
    }
}
