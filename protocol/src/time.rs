//! Time as the caller supplies it. The library never reads a clock: every entry point that needs
//! the time takes a `now: Timestamp`, so simulations and tests control it completely.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Wall-clock time in milliseconds since the Unix epoch, as supplied by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const ZERO: Self = Self(0);

    /// A timestamp `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Nanoseconds since the epoch, the unit of WakuMessage timestamps and bundle timestamps
    /// (saturating at `i64::MAX`, the year 2262).
    pub const fn as_nanos_i64(self) -> i64 {
        let ns = self.0.saturating_mul(1_000_000);
        if ns > i64::MAX as u64 { i64::MAX } else { ns as i64 }
    }

    /// The timestamp of a nanosecond value (negative values clamp to the epoch).
    pub const fn from_nanos_i64(ns: i64) -> Self {
        if ns < 0 { Self(0) } else { Self(ns as u64 / 1_000_000) }
    }

    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_saturation() {
        let t = Timestamp::from_millis(1_700_000_000_000);
        assert_eq!(t.as_nanos_i64(), 1_700_000_000_000_000_000);
        assert_eq!(Timestamp::from_nanos_i64(t.as_nanos_i64()), t);
        assert_eq!(Timestamp::from_nanos_i64(-5), Timestamp::ZERO);
        assert_eq!(Timestamp::from_millis(u64::MAX).as_nanos_i64(), i64::MAX);
        assert_eq!(t.saturating_add(Duration::from_secs(30)).saturating_since(t), Duration::from_secs(30));
        assert_eq!(t.saturating_since(t.saturating_add(Duration::from_secs(1))), Duration::ZERO);
        assert_eq!(Timestamp::ZERO.saturating_sub(Duration::from_secs(1)), Timestamp::ZERO);
    }
}
