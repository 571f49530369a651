//! A fixed, seedless hasher for lookup-only tables keyed by digests.
//!
//! `std`'s default hasher is randomly keyed per process. That never changes a lookup's result,
//! but the simulator avoids OS randomness altogether, and these tables are large (seen cache,
//! store hash index, AEAD ledger), where a hash map beats a `BTreeMap` on 32-byte keys. The
//! rule that keeps runs deterministic: such maps are only ever looked up, inserted into and
//! removed from, never iterated where the order could affect the outcome.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style multiply-rotate hasher (rustc's), deterministic across runs and platforms.
#[derive(Debug, Clone, Copy, Default)]
pub struct FxHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A lookup-only hash map with the fixed hasher.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A lookup-only hash set with the fixed hasher.
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn fixed_hasher_is_stable() {
        let b = BuildHasherDefault::<FxHasher>::default();
        assert_eq!(b.hash_one([7u8; 32]), b.hash_one([7u8; 32]));
        assert_ne!(b.hash_one([7u8; 32]), b.hash_one([8u8; 32]));
        // Pinned: a change here reorders nothing observable, but flags an accidental change.
        let mut s = FastSet::default();
        assert!(s.insert([1u8; 32]) && !s.insert([1u8; 32]));
    }
}
