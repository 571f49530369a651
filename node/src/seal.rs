//! Sealing values at rest: XChaCha20-Poly1305 under the store key, a fresh random 24-byte nonce
//! per write (random nonces are safe at 192 bits), and the value's place (table tag and key) as
//! associated data, so a value copied to another key or table does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::StoreError;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The 32-byte key every stored value is sealed with. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// A key from its bytes (from the OS keychain, or derived from a passphrase by the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| StoreError::Entropy)?;
        Ok(Self(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }

    /// `nonce ‖ ciphertext ‖ tag` of `value` bound to `place`.
    pub(crate) fn seal(&self, place: &[u8], value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| StoreError::Entropy)?;
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: value, aad: place })
            .map_err(|_| StoreError::Corrupt("value too large to seal".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The value sealed at `place`, refusing anything tampered, truncated or moved.
    pub(crate) fn open(&self, place: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher().decrypt(&XNonce::from(nonce), Payload { msg: body, aad: place }).ok()
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sealed_values_open_only_at_their_place_under_their_key() {
        let key = StoreKey::from_bytes([7; 32]);
        let sealed = key.seal(b"rec/a", b"secret").unwrap();
        assert_eq!(key.open(b"rec/a", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(key.open(b"rec/b", &sealed), None);
        assert_eq!(StoreKey::from_bytes([8; 32]).open(b"rec/a", &sealed), None);
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(key.open(b"rec/a", &flipped), None);
        assert_eq!(key.open(b"rec/a", &sealed[..20]), None);
        assert_ne!(key.seal(b"rec/a", b"secret").unwrap(), sealed, "nonces are fresh");
        assert_eq!(format!("{key:?}"), "StoreKey(<redacted>)");
    }
}
