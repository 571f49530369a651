//! Key-use audit (feature `audit`, off by default): every AEAD encryption records the
//! fingerprints of its key and plaintext with the nonce, so a simulator can check globally, across
//! devices and crashes, that no key and nonce ever encrypted two different plaintexts. Only
//! fingerprints are kept (SHA-256), never keys or plaintexts. The log is thread-local: the
//! simulator is single-threaded and drains it after every event it hands a peer.

use std::cell::RefCell;

use crate::crypto::hash::sha256;

/// One encryption: fingerprints of the key and of (associated data, plaintext), and the nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyUse {
    /// SHA-256 of the key.
    pub key: [u8; 32],
    /// The nonce.
    pub nonce: [u8; 12],
    /// SHA-256 of the associated data and plaintext.
    pub plaintext: [u8; 32],
}

thread_local! {
    static LOG: RefCell<Vec<KeyUse>> = const { RefCell::new(Vec::new()) };
}

/// Records one encryption.
pub(crate) fn record(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8]) {
    let entry = KeyUse {
        key: sha256(&[key]),
        nonce: *nonce,
        plaintext: sha256(&[&(ad.len() as u64).to_be_bytes(), ad, plaintext]),
    };
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Takes every encryption recorded on this thread since the last call.
pub fn take() -> Vec<KeyUse> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}
