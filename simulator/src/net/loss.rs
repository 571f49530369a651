//! Bursty loss: the Gilbert-Elliott two-state channel (as in str0m's netem presets).
//!
//! No public Waku loss rate exists (waku-network-model.md §2, "What is missing"); TCP turns most
//! packet loss into delay, so loss here stands for path failures at the application boundary
//! and its parameters are sweeps, not measurements.

use serde::{Deserialize, Serialize};

use crate::rng::SimRng;

/// Gilbert-Elliott parameters, applied per delivery at the receiving node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GilbertElliott {
    /// Per-delivery probability of entering the bad state.
    pub p_good_to_bad: f64,
    /// Per-delivery probability of leaving it (mean burst length = 1 / this).
    pub p_bad_to_good: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

impl Default for GilbertElliott {
    /// Bursts of 5 deliveries on average, entered 1 % of the time, 80 % loss inside a burst:
    /// about 3.8 % average loss concentrated in bursts.
    fn default() -> Self {
        Self { p_good_to_bad: 0.01, p_bad_to_good: 0.2, loss_good: 0.0, loss_bad: 0.8 }
    }
}

impl GilbertElliott {
    /// Advances the receiver's state and returns whether this delivery is lost. Always two draws.
    pub fn step(&self, bad: &mut bool, rng: &mut SimRng) -> bool {
        let flip = rng.unit();
        *bad = if *bad { flip >= self.p_bad_to_good } else { flip < self.p_good_to_bad };
        rng.chance(if *bad { self.loss_bad } else { self.loss_good })
    }

    /// Long-run average loss.
    pub fn mean_loss(&self) -> f64 {
        let total = self.p_good_to_bad + self.p_bad_to_good;
        if total <= 0.0 {
            return self.loss_good;
        }
        let pi_bad = self.p_good_to_bad / total;
        pi_bad * self.loss_bad + (1.0 - pi_bad) * self.loss_good
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_loss_matches_the_stationary_rate_and_is_bursty() {
        let ge = GilbertElliott::default();
        let mut rng = SimRng::new(1, "ge", 0);
        let mut bad = false;
        let n = 200_000;
        let mut lost = 0;
        let mut runs = 0;
        let mut prev = false;
        for _ in 0..n {
            let l = ge.step(&mut bad, &mut rng);
            lost += usize::from(l);
            runs += usize::from(l && !prev);
            prev = l;
        }
        let rate = lost as f64 / n as f64;
        assert!((rate - ge.mean_loss()).abs() < 0.005, "{rate} vs {}", ge.mean_loss());
        // Bursty: far fewer loss runs than losses.
        assert!(runs * 2 < lost, "runs {runs} losses {lost}");
    }
}
