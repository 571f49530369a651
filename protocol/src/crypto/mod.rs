//! Cryptographic building blocks shared by the Noise and X3DH layers: X25519 keys,
//! ChaCha20-Poly1305, AES-256-GCM, SHA-256, HMAC/HKDF-SHA256 and Keccak-256. Secrets zeroize on
//! drop and never print.

pub mod aesgcm;
#[cfg(feature = "audit")]
pub mod audit;
pub mod chachapoly;
pub mod hash;
#[cfg(fuzzing)]
pub mod null;
pub mod x25519;

pub use x25519::{KeyPair, PublicKey, SecretKey, SharedSecret};

/// A failure of a cryptographic primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A Diffie-Hellman output was all zeros: the peer's public key has small order.
    #[error("Diffie-Hellman output is not contributory (the remote public key has small order)")]
    NonContributory,
    /// An AEAD ciphertext failed authentication.
    #[error("authenticated decryption failed")]
    DecryptFailed,
    /// A ciphertext is shorter than the authentication tag.
    #[error("ciphertext of {0} bytes is shorter than the 16-byte tag")]
    CiphertextTooShort(usize),
}
