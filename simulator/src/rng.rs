//! Seeded randomness with labelled, independent sub-streams.
//!
//! One `u64` root seed drives a run. Each consumer (network, workload, faults, adversary, each
//! peer's entropy) gets its own ChaCha stream whose key is `SHA-256(domain || root || label ||
//! index)`, so adding draws in one stream never shifts another (FoundationDB/TigerBeetle style
//! seeds, madsim-style single source). Only +, -, *, / and sqrt are used on floats here and in
//! [`crate::dist`]; those are correctly rounded by IEEE 754, so draws are identical on every
//! platform, which cross-machine sweeps rely on.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use status_1to1::SeededEntropy;

/// Domain separator for seed derivation; bump it if the derivation ever changes.
const DOMAIN: &[u8] = b"status-1to1-sim/seed/v1";

/// The 32-byte key of the sub-stream `(root, label, index)`.
pub fn derive_seed(root: u64, label: &str, index: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(root.to_le_bytes());
    h.update((label.len() as u64).to_le_bytes());
    h.update(label.as_bytes());
    h.update(index.to_le_bytes());
    h.finalize().into()
}

/// The protocol-level entropy for one incarnation of one device: a fresh stream per restart,
/// as a real device would draw fresh OS randomness after a crash.
pub fn device_entropy(root: u64, device: u32, incarnation: u32) -> SeededEntropy {
    SeededEntropy::from_seed(derive_seed(root, "peer-entropy", (u64::from(device) << 32) | u64::from(incarnation)))
}

/// A deterministic random stream (ChaCha8: fast, and statistically far beyond what a simulator
/// needs).
#[derive(Debug, Clone)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// The sub-stream `(root, label, index)`.
    pub fn new(root: u64, label: &str, index: u64) -> Self {
        Self(ChaCha8Rng::from_seed(derive_seed(root, label, index)))
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }

    /// Uniform in `[0, n)` (0 when `n` is 0), by 128-bit multiply; the bias is below 2^-64·n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a collection of length `n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `[lo, hi]` (inclusive; `lo` when `hi < lo`).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.below(hi - lo + 1) }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`. Always consumes exactly one draw, whatever `p`, so changing a
    /// probability does not shift the rest of the stream.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_labelled_and_stable() {
        let mut a = SimRng::new(1, "network", 0);
        let mut b = SimRng::new(1, "network", 0);
        let mut c = SimRng::new(1, "workload", 0);
        let mut d = SimRng::new(2, "network", 0);
        let (x, y, z, w) = (a.next_u64(), b.next_u64(), c.next_u64(), d.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(x, w);
        // Pinned (computed independently with Python's hashlib): a change to the derivation
        // would silently invalidate every recorded seed and scenario file.
        assert_eq!(hex::encode(&derive_seed(0, "network", 0)[..8]), "477fb9880b6e2bad");
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = SimRng::new(9, "t", 0);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let v = r.range_inclusive(3, 5);
            assert!((3..=5).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range_inclusive(5, 5), 5);
    }
}
