//! The Noise CipherState and SymmetricState (Noise specification §5.1-5.2), with the Waku
//! extension of extra associated data: `encrypt_and_hash` authenticates `h || nametag`.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::NoiseError;
use super::payload::MessageNametag;
use crate::crypto::chachapoly::{CipherKey, noise_nonce};
use crate::crypto::hash::{hkdf_blocks, sha256};

/// Highest nonce this crate uses. js-noise writes only 32 bits of the counter and refuses to go
/// past `0xffffffff`; staying below keeps every message readable by js-noise peers.
pub const MAX_NONCE: u64 = 0xffff_ffff;

/// A key (or none yet) and its message counter.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CipherState {
    k: Option<CipherKey>,
    n: u64,
}

impl CipherState {
    /// A cipher state with key `k` and nonce 0.
    pub fn new(k: CipherKey) -> Self {
        Self { k: Some(k), n: 0 }
    }

    /// The key, if one was mixed in.
    pub fn key(&self) -> Option<&CipherKey> {
        self.k.as_ref()
    }

    /// The next nonce.
    pub fn nonce(&self) -> u64 {
        self.n
    }

    /// Encrypts with associated data `ad`, or copies `plaintext` if there is no key yet.
    pub(crate) fn encrypt_with_ad(&mut self, ad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        match &self.k {
            None => out.extend_from_slice(plaintext),
            Some(k) => {
                if self.n > MAX_NONCE {
                    return Err(NoiseError::NonceExhausted);
                }
                k.seal_into(&noise_nonce(self.n), ad, plaintext, out);
                self.n += 1;
            }
        }
        Ok(())
    }

    /// Decrypts with associated data `ad`, or copies `ciphertext` if there is no key yet.
    /// The nonce advances only on success.
    pub(crate) fn decrypt_with_ad(
        &mut self,
        ad: &[u8],
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), NoiseError> {
        match &self.k {
            None => out.extend_from_slice(ciphertext),
            Some(k) => {
                if self.n > MAX_NONCE {
                    return Err(NoiseError::NonceExhausted);
                }
                k.open_into(&noise_nonce(self.n), ad, ciphertext, out)?;
                self.n += 1;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for CipherState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CipherState").field("k", &self.k).field("n", &self.n).finish()
    }
}

/// A 32-byte chaining key (secret).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
struct ChainingKey(#[serde(with = "crate::serde_bytes")] [u8; 32]);

/// The chaining key, the handshake hash and the handshake cipher state.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymmetricState {
    cs: CipherState,
    ck: ChainingKey,
    #[serde(with = "crate::serde_bytes")]
    h: [u8; 32],
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`: `h` is the name zero-padded to 32 bytes, or its
    /// SHA-256 when longer; `ck = h`.
    pub fn initialize(protocol_name: &str) -> Self {
        let name = protocol_name.as_bytes();
        let h = if name.len() <= 32 {
            let mut h = [0u8; 32];
            h[..name.len()].copy_from_slice(name);
            h
        } else {
            sha256(&[name])
        };
        Self { cs: CipherState::default(), ck: ChainingKey(h), h }
    }

    /// The handshake hash.
    pub fn handshake_hash(&self) -> &[u8; 32] {
        &self.h
    }

    /// The handshake cipher state (exposed for vectors).
    pub fn cipher_state(&self) -> &CipherState {
        &self.cs
    }

    /// The chaining key bytes (exposed for vectors).
    pub fn chaining_key(&self) -> &[u8; 32] {
        &self.ck.0
    }

    /// `MixHash(data)`: `h = SHA-256(h || data)`.
    pub fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256(&[&self.h, data]);
    }

    /// `MixKey(ikm)`: `ck, k = HKDF(ck, ikm)`, nonce reset.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let [ck, k] = hkdf_blocks::<2>(&self.ck.0, ikm);
        self.ck = ChainingKey(ck);
        self.cs = CipherState::new(CipherKey::from_bytes(k));
    }

    /// `MixKeyAndHash(ikm)`: `ck, th, k = HKDF(ck, ikm)`, `MixHash(th)`, nonce reset.
    pub fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let [ck, mut th, k] = hkdf_blocks::<3>(&self.ck.0, ikm);
        self.ck = ChainingKey(ck);
        self.mix_hash(&th);
        th.zeroize();
        self.cs = CipherState::new(CipherKey::from_bytes(k));
    }

    /// `EncryptAndHash(plaintext)` with AD `h || nametag` (or `h` alone without a nametag);
    /// appends the ciphertext to `out`.
    pub fn encrypt_and_hash(
        &mut self,
        plaintext: &[u8],
        nametag: Option<&MessageNametag>,
        out: &mut Vec<u8>,
    ) -> Result<(), NoiseError> {
        let start = out.len();
        let (ad, ad_len) = self.associated_data(nametag);
        self.cs.encrypt_with_ad(&ad[..ad_len], plaintext, out)?;
        let h = sha256(&[&self.h, &out[start..]]);
        self.h = h;
        Ok(())
    }

    /// `DecryptAndHash(ciphertext)` with AD `h || nametag` (or `h` alone); appends the
    /// plaintext to `out`. On failure nothing changes.
    pub fn decrypt_and_hash(
        &mut self,
        ciphertext: &[u8],
        nametag: Option<&MessageNametag>,
        out: &mut Vec<u8>,
    ) -> Result<(), NoiseError> {
        let (ad, ad_len) = self.associated_data(nametag);
        self.cs.decrypt_with_ad(&ad[..ad_len], ciphertext, out)?;
        self.mix_hash(ciphertext);
        Ok(())
    }

    fn associated_data(&self, nametag: Option<&MessageNametag>) -> ([u8; 48], usize) {
        let mut ad = [0u8; 48];
        ad[..32].copy_from_slice(&self.h);
        match nametag {
            Some(tag) => {
                ad[32..].copy_from_slice(tag.as_bytes());
                (ad, 48)
            }
            None => (ad, 32),
        }
    }

    /// `Split()`: the initiator-to-responder and responder-to-initiator keys.
    pub fn split(&self) -> (CipherKey, CipherKey) {
        let [k1, k2] = hkdf_blocks::<2>(&self.ck.0, &[]);
        (CipherKey::from_bytes(k1), CipherKey::from_bytes(k2))
    }
}

impl std::fmt::Debug for SymmetricState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricState")
            .field("h", &hex::encode(self.h))
            .field("ck", &"<redacted>")
            .field("cs", &self.cs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_up_to_32_bytes_are_padded_longer_ones_hashed() {
        let xx = SymmetricState::initialize("Noise_XX_25519_ChaChaPoly_SHA256");
        assert_eq!(&xx.handshake_hash()[..], b"Noise_XX_25519_ChaChaPoly_SHA256");
        let k1k1 = SymmetricState::initialize("Noise_K1K1_25519_ChaChaPoly_SHA256");
        assert_eq!(k1k1.handshake_hash(), &sha256(&[b"Noise_K1K1_25519_ChaChaPoly_SHA256"]));
    }

    #[test]
    fn failed_decrypt_changes_nothing() {
        let mut a = SymmetricState::initialize("Noise_XX_25519_ChaChaPoly_SHA256");
        a.mix_key(b"shared secret");
        let mut b = a.clone();
        let tag = MessageNametag([3; 16]);
        let mut ct = Vec::new();
        assert!(a.encrypt_and_hash(b"payload", Some(&tag), &mut ct).is_ok());
        ct[2] ^= 0x80;
        let before = b.clone();
        let mut out = Vec::new();
        assert!(b.decrypt_and_hash(&ct, Some(&tag), &mut out).is_err());
        assert_eq!(b, before);
        assert!(out.is_empty());
    }

    #[test]
    fn nametag_is_authenticated() {
        let mut a = SymmetricState::initialize("Noise_XX_25519_ChaChaPoly_SHA256");
        a.mix_key(b"k");
        let mut b = a.clone();
        let mut ct = Vec::new();
        assert!(a.encrypt_and_hash(b"x", Some(&MessageNametag([1; 16])), &mut ct).is_ok());
        let mut out = Vec::new();
        assert!(b.decrypt_and_hash(&ct, Some(&MessageNametag([2; 16])), &mut out).is_err());
        assert!(b.decrypt_and_hash(&ct, Some(&MessageNametag([1; 16])), &mut out).is_ok());
        assert_eq!(out, b"x");
        assert_eq!(a.handshake_hash(), b.handshake_hash());
    }
}
