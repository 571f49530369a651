//! Static-key commitments `H(pk || r)` = SHA-256(32-byte X25519 public key || r)
//! (WAKU2-DEVICE-PAIRING; js-noise `commitPublicKey`). Each side commits to its static key before
//! the authcode is confirmed and opens the commitment in its static-key message, so neither can
//! choose its key after seeing the handshake state, and a man in the middle cannot substitute one.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::PublicKey;
use crate::crypto::hash::sha256;
use crate::entropy::Entropy;

/// The random value `r` (QR owner) or `s` (scanner) a commitment hides: 32 bytes, as js-noise.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct CommitmentNonce(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl CommitmentNonce {
    /// Draws 32 bytes from injected entropy.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self(entropy.bytes32())
    }

    /// Wraps 32 bytes (vectors).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes, sent as the payload that opens the commitment.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CommitmentNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitmentNonce(<redacted>)")
    }
}

/// A commitment to a static key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Commitment(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl Commitment {
    /// `SHA-256(key || nonce)`.
    pub fn commit(key: &PublicKey, nonce: &CommitmentNonce) -> Self {
        Self(sha256(&[key.as_bytes(), nonce.as_bytes()]))
    }

    /// Wraps 32 bytes received in a QR or a handshake payload.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses a received payload of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `opening` (the payload received with `key`) opens this commitment. Like js-noise,
    /// the opening is hashed as received, whatever its length; the comparison is constant-time.
    pub fn is_opened_by(&self, key: &PublicKey, opening: &[u8]) -> bool {
        sha256(&[key.as_bytes(), opening]).ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Commitment({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_key_and_nonce() {
        let key = PublicKey::from_bytes([1; 32]);
        let nonce = CommitmentNonce::from_bytes([2; 32]);
        let c = Commitment::commit(&key, &nonce);
        assert!(c.is_opened_by(&key, nonce.as_bytes()));
        assert!(!c.is_opened_by(&PublicKey::from_bytes([3; 32]), nonce.as_bytes()));
        assert!(!c.is_opened_by(&key, &[2; 31]));
        assert_eq!(format!("{nonce:?}"), "CommitmentNonce(<redacted>)");
    }
}
