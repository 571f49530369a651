//! Per-node clocks: a fixed offset plus a linear drift on top of virtual time.
//!
//! Skew matters because store nodes refuse timestamps more than 20 s from their own clock, so a
//! sender skewed beyond that is delivered live but never archived (waku-network-model.md §0.4,
//! §4.4 item 10). No public skew distribution exists; the range is a sweep.

use serde::{Deserialize, Serialize};
use status_1to1::Timestamp;

use crate::time::{EPOCH_MS, SimTime};

/// A node's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Clock {
    /// Constant offset from true time, in ms.
    pub offset_ms: i64,
    /// Drift in parts per million of elapsed virtual time.
    pub drift_ppm: i32,
}

impl Clock {
    /// Local wall-clock time in Unix ms at virtual time `t`.
    pub fn local_ms(&self, t: SimTime) -> u64 {
        let elapsed = i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        let drift = elapsed.saturating_mul(i64::from(self.drift_ppm)) / 1_000_000;
        let epoch = i64::try_from(EPOCH_MS).unwrap_or(i64::MAX);
        u64::try_from(epoch.saturating_add(elapsed).saturating_add(self.offset_ms).saturating_add(drift)).unwrap_or(0)
    }

    /// Local time as the protocol crate's timestamp.
    pub fn now(&self, t: SimTime) -> Timestamp {
        Timestamp::from_millis(self.local_ms(t))
    }

    /// Local time in Unix ns (WakuMessage timestamp unit).
    pub fn now_ns(&self, t: SimTime) -> i64 {
        self.now(t).as_nanos_i64()
    }
}

/// True (unskewed) Unix ns at virtual time `t`.
pub fn true_ns(t: SimTime) -> i64 {
    Clock::default().now_ns(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_drift() {
        let t = SimTime::from_secs(1_000);
        assert_eq!(Clock::default().local_ms(t), EPOCH_MS + 1_000_000);
        assert_eq!(Clock { offset_ms: -30_000, drift_ppm: 0 }.local_ms(t), EPOCH_MS + 970_000);
        assert_eq!(Clock { offset_ms: 0, drift_ppm: 100 }.local_ms(t), EPOCH_MS + 1_000_100);
        assert_eq!(true_ns(SimTime::ZERO), (EPOCH_MS as i64) * 1_000_000);
    }
}
