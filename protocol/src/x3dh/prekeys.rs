//! Our own signed prekeys (profile §5.4): one current prekey per installation, rotated every
//! [`ROTATION_INTERVAL`] lazily when the caller asks (at send time, as status-go does), with
//! superseded prekeys kept for [`RETENTION`] so that initial messages built on them while our
//! new bundle propagates still open, then deleted (status-go never deletes them).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SignedPrekey;
use crate::crypto::{KeyPair, PublicKey};
use crate::entropy::Entropy;
use crate::time::Timestamp;

/// How long a signed prekey stays current (status-go `BundleRefreshInterval`; 53, 2/ACCOUNT).
pub const ROTATION_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a superseded prekey's secret is kept after rotation (libsignal's 30-day horizon for
/// unacknowledged sessions).
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// One of our signed prekeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnPrekey {
    pair: KeyPair,
    version: u32,
    created: Timestamp,
}

impl OwnPrekey {
    /// The key pair.
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }

    /// The version (1 for the first prekey).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// When it was created.
    pub fn created(&self) -> Timestamp {
        self.created
    }

    /// The entry to put in our bundle.
    pub fn signed_prekey(&self) -> SignedPrekey {
        SignedPrekey::new(*self.pair.public(), self.version)
    }
}

/// A prekey replaced by a newer one, with the time it was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Superseded {
    prekey: OwnPrekey,
    at: Timestamp,
}

/// Why the prekey store refused to rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrekeyError {
    /// The version counter reached `u32::MAX`; peers could not tell a newer prekey apart.
    #[error("signed prekey version exhausted")]
    VersionExhausted,
}

/// The signed prekeys of our installation.
///
/// At most 31 superseded prekeys are ever held: rotations are at least a day apart (each needs
/// the current prekey to be [`ROTATION_INTERVAL`] old) and each rotation first deletes those
/// superseded more than [`RETENTION`] ago.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrekeyStore {
    current: OwnPrekey,
    /// Oldest first.
    superseded: Vec<Superseded>,
}

impl PrekeyStore {
    /// A store with a fresh prekey, version 1, created `now`.
    pub fn new(now: Timestamp, entropy: &mut dyn Entropy) -> Self {
        let current = OwnPrekey { pair: KeyPair::generate(entropy), version: 1, created: now };
        Self { current, superseded: Vec::new() }
    }

    /// The current prekey.
    pub fn current(&self) -> &OwnPrekey {
        &self.current
    }

    /// Deletes expired superseded prekeys, then replaces the current prekey with a new one if it
    /// is [`ROTATION_INTERVAL`] old. Returns whether it rotated (the bundle must then be re-signed
    /// and published). A clock that went backwards never rotates.
    pub fn rotate_if_due(&mut self, now: Timestamp, entropy: &mut dyn Entropy) -> Result<bool, PrekeyError> {
        self.prune(now);
        if now.saturating_since(self.current.created) < ROTATION_INTERVAL {
            return Ok(false);
        }
        let version = self.current.version.checked_add(1).ok_or(PrekeyError::VersionExhausted)?;
        let next = OwnPrekey { pair: KeyPair::generate(entropy), version, created: now };
        let old = std::mem::replace(&mut self.current, next);
        self.superseded.push(Superseded { prekey: old, at: now });
        Ok(true)
    }

    /// Deletes superseded prekeys replaced more than [`RETENTION`] before `now`.
    pub fn prune(&mut self, now: Timestamp) {
        self.superseded.retain(|s| now.saturating_since(s.at) <= RETENTION);
    }

    /// The key pair of the prekey whose public key is `public`, if it is current or was superseded
    /// no more than [`RETENTION`] before `now`.
    pub fn find(&self, public: &PublicKey, now: Timestamp) -> Option<&KeyPair> {
        if self.current.pair.public() == public {
            return Some(&self.current.pair);
        }
        self.superseded
            .iter()
            .find(|s| s.prekey.pair.public() == public && now.saturating_since(s.at) <= RETENTION)
            .map(|s| &s.prekey.pair)
    }

    /// The version of our prekey whose public key is `public` (current or still retained).
    pub fn version_of(&self, public: &PublicKey, now: Timestamp) -> Option<u32> {
        if self.current.pair.public() == public {
            return Some(self.current.version);
        }
        self.superseded
            .iter()
            .find(|s| s.prekey.pair.public() == public && now.saturating_since(s.at) <= RETENTION)
            .map(|s| s.prekey.version)
    }

    /// Number of superseded prekeys still held.
    pub fn superseded_count(&self) -> usize {
        self.superseded.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    const DAY_MS: u64 = 24 * 60 * 60 * 1000;

    #[test]
    fn rotates_daily_and_keeps_superseded_prekeys_thirty_days() {
        let mut e = SeededEntropy::from_u64(1);
        let t0 = Timestamp::from_millis(1_000 * DAY_MS);
        let mut store = PrekeyStore::new(t0, &mut e);
        let first = *store.current().pair().public();
        assert_eq!(store.rotate_if_due(Timestamp::from_millis(t0.as_millis() + DAY_MS - 1), &mut e), Ok(false));
        let t1 = Timestamp::from_millis(t0.as_millis() + DAY_MS);
        assert_eq!(store.rotate_if_due(t1, &mut e), Ok(true));
        assert_eq!(store.current().version(), 2);
        assert_ne!(store.current().pair().public(), &first);
        let last_day = Timestamp::from_millis(t1.as_millis() + 30 * DAY_MS);
        assert!(store.find(&first, last_day).is_some());
        let expired = Timestamp::from_millis(last_day.as_millis() + 1);
        assert!(store.find(&first, expired).is_none(), "not usable once past retention, even before pruning");
        store.prune(expired);
        assert_eq!(store.superseded_count(), 0);
        // A clock that went backwards does not rotate.
        assert_eq!(store.rotate_if_due(t0, &mut e), Ok(false));
    }

    #[test]
    fn superseded_prekeys_are_bounded_and_versions_cannot_wrap() {
        let mut e = SeededEntropy::from_u64(2);
        let mut store = PrekeyStore::new(Timestamp::ZERO, &mut e);
        for day in 1..=100u64 {
            assert_eq!(store.rotate_if_due(Timestamp::from_millis(day * DAY_MS), &mut e), Ok(true));
            assert!(store.superseded_count() <= 31);
        }
        assert_eq!(store.superseded_count(), 31);
        assert_eq!(store.current().version(), 101);
        store.current.version = u32::MAX;
        let later = Timestamp::from_millis(1_000 * DAY_MS);
        assert_eq!(store.rotate_if_due(later, &mut e), Err(PrekeyError::VersionExhausted));
        assert_eq!(store.current().version(), u32::MAX);
    }

    #[test]
    fn debug_redacts_secrets_and_serde_restores_exactly() {
        let mut e = SeededEntropy::from_u64(3);
        let store = PrekeyStore::new(Timestamp::from_millis(5), &mut e);
        let secret = hex::encode(store.current().pair().secret().to_bytes());
        assert!(!format!("{store:?}").contains(&secret));
        let json = serde_json::to_string(&store).unwrap();
        assert_eq!(serde_json::from_str::<PrekeyStore>(&json).unwrap(), store);
    }
}
