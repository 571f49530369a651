//! X25519 key pairs over `x25519-dalek`, with zeroizing, redacted secret types.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CryptoError;
use crate::entropy::Entropy;

/// An X25519 public key: the 32-byte little-endian u-coordinate, used as is on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl PublicKey {
    /// Wraps 32 raw bytes. Any 32 bytes are a valid u-coordinate; small-order points are
    /// caught when a Diffie-Hellman output turns out non-contributory.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 wire bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses a 32-byte slice.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Whether these bytes are the canonical encoding of a u-coordinate: bit 255 clear and the
    /// value below p = 2^255 - 19. X25519 masks bit 255 and reduces modulo p, so every other
    /// encoding is an alias of a canonical one with the same Diffie-Hellman outputs; keys whose
    /// encoding is hashed or compared (session ids) must be canonical. Keys generated here always
    /// are.
    pub fn is_canonical(&self) -> bool {
        let b = &self.0;
        let high_bit = b[31] & 0x80 != 0;
        // Values p ..= 2^255 - 1: 0xed..=0xff, then thirty 0xff bytes, then 0x7f.
        let at_least_p = b[31] == 0x7f && b[1..31].iter().all(|&x| x == 0xff) && b[0] >= 0xed;
        !high_bit && !at_least_p
    }

    /// Whether this u-coordinate is a point of small order on Curve25519 or its twist, i.e. one
    /// whose Diffie-Hellman output is all zeros for every secret. Checked against the complete
    /// list of such encodings (libsodium `has_small_order`: 0, 1, the two order-8 points, p-1,
    /// p, p+1), with bit 255 ignored as X25519 ignores it. Costs no scalar multiplication, so
    /// received prekeys can be refused before anything is stored; every DH still checks its
    /// output as well.
    pub fn is_low_order(&self) -> bool {
        let mut masked = self.0;
        masked[31] &= 0x7f;
        LOW_ORDER_POINTS.iter().any(|point| bool::from(subtle::ConstantTimeEq::ct_eq(&masked[..], &point[..])))
    }
}

/// The u-coordinates (bit 255 clear) of the small-order points of Curve25519 and its twist.
const LOW_ORDER_POINTS: [[u8; 32]; 7] = {
    const fn le(first: [u8; 8], middle: u8, last: u8) -> [u8; 32] {
        let mut out = [middle; 32];
        let mut i = 0;
        while i < 8 {
            out[i] = first[i];
            i += 1;
        }
        out[31] = last;
        out
    }
    [
        le([0, 0, 0, 0, 0, 0, 0, 0], 0, 0),
        le([1, 0, 0, 0, 0, 0, 0, 0], 0, 0),
        [
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
            0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
        ],
        [
            0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44,
            0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
        ],
        le([0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0xff, 0x7f),
        le([0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0xff, 0x7f),
        le([0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0xff, 0x7f),
    ]
};

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

/// An X25519 secret scalar, kept unclamped exactly as generated (clamping happens inside the
/// scalar multiplication, as in js-noise and OpenSSL).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct SecretKey(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl SecretKey {
    /// Wraps 32 secret bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Draws a fresh secret from injected entropy.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self(entropy.bytes32())
    }

    /// The secret bytes (for persistence and vectors only).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The matching public key (one scalar multiplication: cache it, see [`KeyPair`]).
    pub fn public_key(&self) -> PublicKey {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }

    /// X25519 with `remote`, refusing an all-zero (non-contributory) output.
    pub fn diffie_hellman(&self, remote: &PublicKey) -> Result<SharedSecret, CryptoError> {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(remote.0));
        if !shared.was_contributory() {
            return Err(CryptoError::NonContributory);
        }
        Ok(SharedSecret(shared.to_bytes()))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The output of one Diffie-Hellman operation.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    /// Wraps 32 bytes as a DH output (test vectors, which give DH outputs as inputs to KDFs).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 shared bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// A secret key together with its public key, computed once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl KeyPair {
    /// Derives the public key of `secret`.
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// Generates a key pair from injected entropy.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_secret(SecretKey::generate(entropy))
    }

    /// The secret half.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// X25519 with `remote`, refusing a non-contributory output.
    pub fn diffie_hellman(&self, remote: &PublicKey) -> Result<SharedSecret, CryptoError> {
        #[cfg(fuzzing)]
        if super::null::is_enabled() {
            return super::null::diffie_hellman(&self.public, remote);
        }
        self.secret.diffie_hellman(remote)
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public).field("secret", &self.secret).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let v = hex::decode(s).unwrap_or_default();
        v.try_into().unwrap_or([0; 32])
    }

    #[test]
    fn rfc7748_section_6_1_vectors() {
        // Alice's and Bob's keys from RFC 7748 §6.1, checked independently of this crate.
        let a = SecretKey::from_bytes(hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        let b = SecretKey::from_bytes(hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        assert_eq!(
            hex::encode(a.public_key().as_bytes()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        let shared = a.diffie_hellman(&b.public_key()).map(|s| *s.as_bytes());
        assert_eq!(
            shared.map(hex::encode),
            Ok("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742".to_string())
        );
    }

    #[test]
    fn canonical_encodings_are_below_p_with_bit_255_clear() {
        let p_minus_1 = LOW_ORDER_POINTS[4];
        assert!(PublicKey::from_bytes(p_minus_1).is_canonical());
        assert!(!PublicKey::from_bytes(LOW_ORDER_POINTS[5]).is_canonical(), "p");
        let mut top = [0xff; 32];
        top[31] = 0x7f;
        assert!(!PublicKey::from_bytes(top).is_canonical(), "2^255 - 1");
        let mut high = [0u8; 32];
        high[31] = 0x80;
        assert!(!PublicKey::from_bytes(high).is_canonical(), "bit 255");
        let mut e = crate::entropy::SeededEntropy::from_u64(3);
        for _ in 0..64 {
            assert!(KeyPair::generate(&mut e).public().is_canonical());
        }
    }

    #[test]
    fn small_order_point_is_refused() {
        let a = SecretKey::from_bytes([7; 32]);
        assert_eq!(a.diffie_hellman(&PublicKey::from_bytes([0; 32])).err(), Some(CryptoError::NonContributory));
    }

    #[test]
    fn every_listed_low_order_point_gives_a_zero_output_and_random_keys_are_not_listed() {
        let secret = SecretKey::from_bytes([0x42; 32]);
        for point in LOW_ORDER_POINTS {
            for high_bit in [0u8, 0x80] {
                let mut bytes = point;
                bytes[31] |= high_bit;
                let key = PublicKey::from_bytes(bytes);
                assert!(key.is_low_order(), "{key:?}");
                assert_eq!(secret.diffie_hellman(&key).err(), Some(CryptoError::NonContributory), "{key:?}");
            }
        }
        let mut e = crate::entropy::SeededEntropy::from_u64(9);
        for _ in 0..64 {
            assert!(!KeyPair::generate(&mut e).public().is_low_order());
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        let pair = KeyPair::from_secret(SecretKey::from_bytes([0xab; 32]));
        let text = format!("{pair:?}");
        assert!(!text.contains("abababab"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
