//! Injected randomness.
//!
//! The library never reads OS entropy: every key generation takes an `&mut dyn Entropy`. Callers
//! pass a CSPRNG seeded from the OS in production, and a seeded stream in simulations and tests,
//! so that one seed reproduces every byte.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// A source of random bytes. Implementations must be cryptographically secure in production.
pub trait Entropy {
    /// Fills `out` with random bytes.
    fn fill(&mut self, out: &mut [u8]);

    /// Returns 32 random bytes (the size of every key and nonce seed in this crate).
    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.fill(&mut out);
        out
    }
}

/// A deterministic ChaCha20 stream: the production-grade generator for a caller-chosen seed.
///
/// Seed it from the OS in a real client; seed it from the simulation seed for reproducible runs.
pub struct SeededEntropy(ChaCha20Rng);

impl SeededEntropy {
    /// A stream determined by a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ChaCha20Rng::from_seed(seed))
    }

    /// A stream determined by a small integer (tests and simulations only: 64 bits of seed).
    pub fn from_u64(seed: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(seed))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
}

impl std::fmt::Debug for SeededEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededEntropy(<redacted>)")
    }
}

/// Replays chosen byte strings, one per `fill` call, then continues with a seeded stream.
///
/// Test vectors fix every "random" value (ephemeral keys, commitment nonces); this lets a
/// verifier hand exactly those values to the code under test, in the order it asks for them.
pub struct ScriptedEntropy {
    script: std::collections::VecDeque<Vec<u8>>,
    fallback: SeededEntropy,
    mismatches: usize,
}

impl ScriptedEntropy {
    /// Entropy that yields `script` chunks in order, then a stream seeded with zero.
    pub fn new(script: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self { script: script.into_iter().collect(), fallback: SeededEntropy::from_u64(0), mismatches: 0 }
    }

    /// Number of scripted chunks not consumed yet.
    pub fn remaining(&self) -> usize {
        self.script.len()
    }

    /// Number of `fill` calls whose length differed from the scripted chunk (a vector bug).
    pub fn mismatches(&self) -> usize {
        self.mismatches
    }
}

impl Entropy for ScriptedEntropy {
    fn fill(&mut self, out: &mut [u8]) {
        match self.script.pop_front() {
            Some(chunk) if chunk.len() == out.len() => out.copy_from_slice(&chunk),
            Some(_) => {
                self.mismatches += 1;
                self.fallback.fill(out);
            }
            None => self.fallback.fill(out),
        }
    }
}

impl std::fmt::Debug for ScriptedEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedEntropy").field("remaining", &self.script.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a = SeededEntropy::from_u64(7).bytes32();
        let b = SeededEntropy::from_u64(7).bytes32();
        let c = SeededEntropy::from_u64(8).bytes32();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn scripted_entropy_replays_then_falls_back() {
        let mut e = ScriptedEntropy::new([vec![1u8; 4], vec![2u8; 2]]);
        let mut four = [0u8; 4];
        e.fill(&mut four);
        assert_eq!(four, [1; 4]);
        let mut three = [0u8; 3];
        e.fill(&mut three);
        assert_eq!(e.mismatches(), 1);
        assert_eq!(e.remaining(), 0);
    }
}
