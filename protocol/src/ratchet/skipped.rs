//! Skipped message keys (DR §3.2 `MKSKIPPED`), with the profile's bounds (§5.7):
//! at most [`MAX_RECEIVING_CHAINS`] chains, at most [`MAX_STORED_SKIPPED_KEYS`] keys in all
//! (oldest derivation evicted first), and keys deleted once [`MAX_SKIPPED_KEY_AGE`] further
//! receive-side derivations have happened (a deterministic counter, DR §6.7).
//!
//! Keys are grouped per chain (ratchet key) so that an entry is `n || seq || key`, 48 bytes in
//! memory. Within a chain, entries are in derivation order, so `n` and `seq` both increase and
//! every limit removes a prefix of a chain.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::kdf::MessageKey;
use super::secret_vec::SecretVec;
use super::{MAX_RECEIVING_CHAINS, MAX_SKIPPED_KEY_AGE, MAX_STORED_SKIPPED_KEYS};
use crate::crypto::PublicKey;

/// One stored message key.
#[derive(Clone, PartialEq, Eq, Zeroize, Serialize, Deserialize)]
pub(crate) struct StoredKey {
    /// The message number in its chain.
    n: u32,
    /// The receive-derivation counter value when this key was derived.
    seq: u64,
    /// The message key.
    key: MessageKey,
}

/// The stored keys of one receiving chain. The record outlives its keys so that a duplicate on
/// a recent chain is recognised as such rather than taken for a new ratchet key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChainRecord {
    ratchet_key: PublicKey,
    keys: SecretVec<StoredKey>,
}

/// Where a stored key sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    chain: usize,
    index: usize,
}

/// All skipped keys of one session, with the receive-derivation counter.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SkippedKeys {
    /// Receiving chains, oldest first; the last one is the current receiving chain.
    chains: Vec<ChainRecord>,
    /// Number of receive-side message keys derived so far (skipped or used).
    derived: u64,
}

impl SkippedKeys {
    /// No chains, no keys.
    pub(crate) const fn new() -> Self {
        Self { chains: Vec::new(), derived: 0 }
    }

    /// Whether `ratchet_key` is one of the recorded receiving chains.
    pub(crate) fn knows(&self, ratchet_key: &PublicKey) -> bool {
        self.chains.iter().any(|c| c.ratchet_key == *ratchet_key)
    }

    /// The stored key for message `n` of the chain `ratchet_key`.
    pub(crate) fn find(&self, ratchet_key: &PublicKey, n: u32) -> Option<(Slot, &MessageKey)> {
        let chain = self.chains.iter().position(|c| c.ratchet_key == *ratchet_key)?;
        let keys = self.chains.get(chain)?.keys.as_slice();
        let index = keys.binary_search_by_key(&n, |k| k.n).ok()?;
        keys.get(index).map(|k| (Slot { chain, index }, &k.key))
    }

    /// Deletes a used key.
    pub(crate) fn take(&mut self, slot: Slot) {
        if let Some(chain) = self.chains.get_mut(slot.chain) {
            chain.keys.remove(slot.index);
        }
    }

    /// Starts a record for a new receiving chain, dropping the oldest chain (and its keys) when
    /// [`MAX_RECEIVING_CHAINS`] are already recorded.
    pub(crate) fn open_chain(&mut self, ratchet_key: PublicKey) {
        // `while`, not `if`: a snapshot restored from elsewhere may hold more than the limit.
        while self.chains.len() >= MAX_RECEIVING_CHAINS {
            self.chains.remove(0);
        }
        if self.chains.capacity() < MAX_RECEIVING_CHAINS {
            self.chains.reserve_exact(MAX_RECEIVING_CHAINS - self.chains.len());
        }
        self.chains.push(ChainRecord { ratchet_key, keys: SecretVec::new() });
    }

    /// Stores freshly derived skipped keys of chain `ratchet_key` (derivation order), giving each
    /// the next counter value. Keys of an unrecorded chain are counted but not stored.
    pub(crate) fn store(&mut self, ratchet_key: &PublicKey, keys: Vec<(u32, MessageKey)>) {
        let chain = self.chains.iter_mut().find(|c| c.ratchet_key == *ratchet_key);
        match chain {
            Some(chain) => {
                for (n, key) in keys {
                    chain.keys.push(StoredKey { n, seq: self.derived, key });
                    self.derived = self.derived.saturating_add(1);
                }
            }
            None => self.count_derivations(keys.len()),
        }
    }

    /// Counts derivations whose keys are not stored (the key of the message being decrypted).
    pub(crate) fn count_derivations(&mut self, count: usize) {
        self.derived = self.derived.saturating_add(count as u64);
    }

    /// Applies the age and size limits: first deletes every key derived more than
    /// [`MAX_SKIPPED_KEY_AGE`] derivations ago, then evicts the oldest keys until at most
    /// [`MAX_STORED_SKIPPED_KEYS`] remain.
    pub(crate) fn enforce_limits(&mut self) {
        let oldest_kept = self.derived.saturating_sub(MAX_SKIPPED_KEY_AGE);
        for chain in &mut self.chains {
            let expired = chain.keys.as_slice().partition_point(|k| k.seq < oldest_kept);
            chain.keys.remove_front(expired);
        }
        let mut excess = self.len().saturating_sub(MAX_STORED_SKIPPED_KEYS);
        while excess > 0 {
            let Some((oldest, bound)) = self.oldest_chain() else { break };
            let Some(chain) = self.chains.get_mut(oldest) else { break };
            // Every key of this chain older than the other chains' oldest key goes first.
            let run = chain.keys.as_slice().partition_point(|k| k.seq < bound).clamp(1, excess);
            chain.keys.remove_front(run);
            excess -= run;
        }
    }

    /// The chain holding the oldest key, and the oldest key's `seq` among the other chains.
    fn oldest_chain(&self) -> Option<(usize, u64)> {
        let mut best: Option<(u64, usize)> = None;
        let mut runner_up = u64::MAX;
        for (i, chain) in self.chains.iter().enumerate() {
            let Some(front) = chain.keys.as_slice().first() else { continue };
            match best {
                Some((seq, _)) if seq <= front.seq => runner_up = runner_up.min(front.seq),
                _ => {
                    if let Some((seq, _)) = best {
                        runner_up = runner_up.min(seq);
                    }
                    best = Some((front.seq, i));
                }
            }
        }
        best.map(|(_, i)| (i, runner_up))
    }

    /// Number of stored keys.
    pub(crate) fn len(&self) -> usize {
        self.chains.iter().map(|c| c.keys.len()).sum()
    }

    /// Number of recorded receiving chains.
    pub(crate) fn chain_count(&self) -> usize {
        self.chains.len()
    }

    /// The receive-derivation counter.
    pub(crate) fn derived(&self) -> u64 {
        self.derived
    }
}

impl std::fmt::Debug for SkippedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chains: Vec<(&PublicKey, usize)> = self.chains.iter().map(|c| (&c.ratchet_key, c.keys.len())).collect();
        f.debug_struct("SkippedKeys").field("chains", &chains).field("derived", &self.derived).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: std::ops::Range<u32>) -> Vec<(u32, MessageKey)> {
        range.map(|n| (n, MessageKey::from_bytes([n as u8; 32]))).collect()
    }

    fn chain(i: u8) -> PublicKey {
        PublicKey::from_bytes([i; 32])
    }

    #[test]
    fn a_stored_key_costs_48_bytes() {
        assert_eq!(std::mem::size_of::<StoredKey>(), 48);
    }

    #[test]
    fn find_take_and_chain_limit() {
        let mut s = SkippedKeys::new();
        s.open_chain(chain(1));
        s.store(&chain(1), keys(0..3));
        let (slot, key) = s.find(&chain(1), 1).unwrap();
        assert_eq!(key.as_bytes(), &[1; 32]);
        s.take(slot);
        assert!(s.find(&chain(1), 1).is_none());
        assert_eq!(s.len(), 2);
        for i in 2..=MAX_RECEIVING_CHAINS as u8 {
            s.open_chain(chain(i));
        }
        assert!(s.knows(&chain(1)));
        s.open_chain(chain(99));
        assert!(!s.knows(&chain(1)), "the oldest chain and its keys are dropped");
        assert_eq!((s.chain_count(), s.len()), (MAX_RECEIVING_CHAINS, 0));
    }

    #[test]
    fn size_limit_evicts_oldest_derivations_across_chains() {
        let mut s = SkippedKeys::new();
        s.open_chain(chain(1));
        s.store(&chain(1), keys(0..1000));
        s.open_chain(chain(2));
        s.store(&chain(2), keys(0..800));
        s.store(&chain(1), keys(1000..1400));
        s.enforce_limits();
        assert_eq!(s.len(), MAX_STORED_SKIPPED_KEYS);
        // 2200 derived, 200 evicted: chain 1's n = 0..200 (seq 0..200).
        assert!(s.find(&chain(1), 199).is_none());
        assert!(s.find(&chain(1), 200).is_some());
        assert!(s.find(&chain(2), 0).is_some());
        assert!(s.find(&chain(1), 1000).is_some());
    }

    #[test]
    fn age_limit_deletes_keys_derived_too_long_ago() {
        let mut s = SkippedKeys::new();
        s.open_chain(chain(1));
        s.store(&chain(1), keys(0..10));
        s.count_derivations(MAX_SKIPPED_KEY_AGE as usize + 5);
        s.enforce_limits();
        // derived = 3015: keys with seq < 15 are older than 3000 derivations.
        assert_eq!(s.len(), 0);
        let mut s = SkippedKeys::new();
        s.open_chain(chain(1));
        s.store(&chain(1), keys(0..10));
        s.count_derivations(MAX_SKIPPED_KEY_AGE as usize - 5);
        s.enforce_limits();
        // derived = 3005: seq 0..5 are gone, 5..10 are exactly within the age limit.
        assert_eq!(s.len(), 5);
        assert!(s.find(&chain(1), 5).is_some());
    }
}
