//! secp256k1 keys as status-go uses them: the account key is the identity, public keys travel as
//! 33-byte compressed SEC1 points, Diffie-Hellman is the raw X coordinate (go-ethereum
//! `ecies.GenerateShared`), and signatures are recoverable ECDSA over a Keccak-256 digest
//! (go-ethereum `crypto.Sign`, `R ‖ S ‖ V` with V ∈ {0, 1} and low S).

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::sec1::ToSec1Point;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::hash::keccak256;
use crate::entropy::Entropy;

/// Length of a compressed SEC1 public key, the wire form of every Suite S key.
pub const COMPRESSED_LEN: usize = 33;
/// Length of an uncompressed SEC1 public key (`0x04 ‖ X ‖ Y`), the form of chat ids and topics.
pub const UNCOMPRESSED_LEN: usize = 65;
/// Length of a recoverable signature, `R ‖ S ‖ V`.
pub const SIGNATURE_LEN: usize = 65;

/// A malformed secp256k1 key or signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A public key is not a SEC1 encoding of a point on the curve.
    #[error("not a secp256k1 public key ({0} bytes)")]
    BadPublicKey(usize),
    /// A private key is zero or not below the group order.
    #[error("not a secp256k1 private key")]
    BadSecretKey,
    /// A signature is not 65 bytes, has a recovery byte other than 0 or 1, or recovers no key.
    #[error("not a recoverable secp256k1 signature")]
    BadSignature,
}

/// A secp256k1 public key: the point, and its compressed encoding, by which it compares and
/// hashes.
#[derive(Clone, Copy)]
pub struct PublicKey {
    compressed: [u8; COMPRESSED_LEN],
    point: k256::PublicKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.compressed.hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.compressed.cmp(&other.compressed)
    }
}

impl PublicKey {
    /// Parses a compressed (33-byte, `0x02`/`0x03`) or uncompressed (65-byte, `0x04`) SEC1 key,
    /// refusing anything that does not decode to a point of the curve, and the other SEC1 tags
    /// (identity, hybrid, compact) that go-ethereum does not read.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let standard_tag = match bytes.len() {
            COMPRESSED_LEN => matches!(bytes[0], 0x02 | 0x03),
            UNCOMPRESSED_LEN => bytes[0] == 0x04,
            _ => false,
        };
        if !standard_tag {
            return Err(KeyError::BadPublicKey(bytes.len()));
        }
        let key = k256::PublicKey::from_sec1_bytes(bytes).map_err(|_| KeyError::BadPublicKey(bytes.len()))?;
        Ok(Self::from_k256(&key))
    }

    fn from_k256(point: &k256::PublicKey) -> Self {
        let mut compressed = [0u8; COMPRESSED_LEN];
        compressed.copy_from_slice(point.to_sec1_point(true).as_bytes());
        Self { compressed, point: *point }
    }

    /// The 33-byte compressed encoding (the wire form).
    pub const fn compressed(&self) -> &[u8; COMPRESSED_LEN] {
        &self.compressed
    }

    /// The 65-byte uncompressed encoding `0x04 ‖ X ‖ Y`.
    pub fn uncompressed(&self) -> [u8; UNCOMPRESSED_LEN] {
        let point = self.point.to_sec1_point(false);
        let mut out = [0u8; UNCOMPRESSED_LEN];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// The affine X coordinate, big-endian (status-go's partition number is taken from it).
    pub fn x(&self) -> [u8; 32] {
        let mut x = [0u8; 32];
        x.copy_from_slice(&self.compressed[1..]);
        x
    }

    /// The Ethereum address: the last 20 bytes of `Keccak-256(X ‖ Y)`.
    pub fn address(&self) -> [u8; 20] {
        let digest = keccak256(&self.uncompressed()[1..]);
        let mut address = [0u8; 20];
        address.copy_from_slice(&digest[12..]);
        address
    }

    /// status-go's chat id and 2/ACCOUNT "chat key": `"0x" + hex(uncompressed)`.
    pub fn chat_id(&self) -> String {
        format!("0x{}", hex::encode(self.uncompressed()))
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_bytes::serialize(&self.compressed, serializer)
    }
}

/// Deserializes a compressed key, refusing one that is not on the curve.
impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; COMPRESSED_LEN] = crate::serde_bytes::deserialize(deserializer)?;
        Self::from_sec1(&bytes).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "secp256k1:{}", hex::encode(self.compressed))
    }
}

/// A secp256k1 private key. Zeroized on drop (by `k256`), never printed.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A key from its 32-byte big-endian scalar, refusing zero and values not below the order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_slice(bytes).map(Self).map_err(|_| KeyError::BadSecretKey)
    }

    /// A fresh key: 32 bytes of injected entropy, drawn again in the (2^-128) case that they are
    /// not a valid scalar.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            entropy.fill(bytes.as_mut());
            if let Ok(key) = Self::from_bytes(&bytes) {
                return key;
            }
        }
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_k256(&k256::PublicKey::from(self.0.verifying_key()))
    }

    /// status-go's Diffie-Hellman: the X coordinate of `self · their`, big-endian, unhashed.
    pub fn diffie_hellman(&self, their: &PublicKey) -> SharedX {
        let shared = k256::elliptic_curve::ecdh::diffie_hellman(self.0.as_nonzero_scalar(), their.point.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        SharedX(out)
    }

    /// A recoverable signature of a 32-byte digest (RFC 6979 nonce, low S).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> RecoverableSignature {
        let (signature, recovery) = self.0.sign_prehash_recoverable(digest);
        let mut out = [0u8; SIGNATURE_LEN];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = recovery.to_byte();
        RecoverableSignature(out)
    }

    /// go-ethereum's `crypto.Sign(Keccak256(message), key)`.
    pub fn sign_keccak(&self, message: &[u8]) -> RecoverableSignature {
        self.sign_digest(&keccak256(message))
    }
}

/// Serialized as the 32-byte scalar: only ever into state that is sealed at rest.
impl serde::Serialize for SecretKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_bytes::serialize(&self.to_bytes(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for SecretKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(crate::serde_bytes::deserialize(deserializer)?);
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A Diffie-Hellman output (an X coordinate). Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedX([u8; 32]);

impl SharedX {
    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SharedX {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedX(<redacted>)")
    }
}

/// A recoverable ECDSA signature, `R(32) ‖ S(32) ‖ V(1)` with V ∈ {0, 1}.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecoverableSignature(#[serde(with = "crate::serde_bytes")] [u8; SIGNATURE_LEN]);

impl RecoverableSignature {
    /// Parses 65 bytes. High-S signatures are accepted, as go-ethereum's `SigToPub` accepts them.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; SIGNATURE_LEN] = bytes.try_into().map_err(|_| KeyError::BadSignature)?;
        RecoveryId::from_byte(bytes[64]).filter(|id| !id.is_x_reduced()).ok_or(KeyError::BadSignature)?;
        Ok(Self(bytes))
    }

    /// The 65 bytes.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// The key that made this signature of `digest` (go-ethereum `SigToPub`).
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let signature = Signature::from_slice(&self.0[..64]).map_err(|_| KeyError::BadSignature)?;
        let recovery = RecoveryId::from_byte(self.0[64]).ok_or(KeyError::BadSignature)?;
        let key =
            VerifyingKey::recover_from_prehash(digest, &signature, recovery).map_err(|_| KeyError::BadSignature)?;
        Ok(PublicKey::from_k256(&k256::PublicKey::from(&key)))
    }

    /// The signer of `Keccak-256(message)`.
    pub fn recover_keccak(&self, message: &[u8]) -> Result<PublicKey, KeyError> {
        self.recover(&keccak256(message))
    }
}

impl std::fmt::Debug for RecoverableSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoverableSignature({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(hex_scalar: &str) -> SecretKey {
        let bytes: [u8; 32] = hex::decode(hex_scalar).unwrap().try_into().unwrap();
        SecretKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn diffie_hellman_matches_go_ethereum_shared_key_static() {
        // go-ethereum crypto/ecies/ecies_test.go TestSharedKeyStatic.
        let a = secret("7ebbc6a8358bc76dd73ebc557056702c8cfc34e5cfcd90eb83af0347575fd2ad");
        let b = secret("6a3d6396903245bba5837752b9e0348874e72db0c4e11e9c485a81b4ea4353b9");
        let expected = "167ccc13ac5e8a26b131c3446030c60fbfac6aa8e31149d0869f93626a4cdf62";
        assert_eq!(hex::encode(a.diffie_hellman(&b.public_key()).as_bytes()), expected);
        assert_eq!(hex::encode(b.diffie_hellman(&a.public_key()).as_bytes()), expected);
    }

    #[test]
    fn public_key_forms_agree_and_bad_points_are_refused() {
        // py-evm test_ecies.py pairs this public key with 7ebbc6a8… for the shared key above: it
        // is the public key of 6a3d6396….
        let key = secret("6a3d6396903245bba5837752b9e0348874e72db0c4e11e9c485a81b4ea4353b9").public_key();
        let uncompressed = "0483ede0f19c3c98649265956a4193677b14c338a22de2086a08d84e4446fe37e4e233478259ec90dbeef52f4f6c890f8c38660ec7b61b9d439b8a6d1c323dc025";
        assert_eq!(hex::encode(key.uncompressed()), uncompressed);
        assert_eq!(key.chat_id(), format!("0x{uncompressed}"));
        assert_eq!(PublicKey::from_sec1(key.compressed()), Ok(key));
        let mut off_curve = key.uncompressed();
        off_curve[64] ^= 1;
        assert_eq!(PublicKey::from_sec1(&off_curve), Err(KeyError::BadPublicKey(65)));
        assert_eq!(PublicKey::from_sec1(&[2; 32]), Err(KeyError::BadPublicKey(32)));
        let mut compact = *key.compressed();
        compact[0] = 0x05;
        assert_eq!(PublicKey::from_sec1(&compact), Err(KeyError::BadPublicKey(33)));
        assert!(SecretKey::from_bytes(&[0; 32]).is_err());
        assert!(SecretKey::from_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn signatures_recover_their_signer_and_nothing_else() {
        let key = secret("6a3d6396903245bba5837752b9e0348874e72db0c4e11e9c485a81b4ea4353b9");
        let signature = key.sign_keccak(b"material");
        assert!(signature.as_bytes()[64] <= 1);
        assert_eq!(signature.recover_keccak(b"material"), Ok(key.public_key()));
        assert_ne!(signature.recover_keccak(b"materiaL"), Ok(key.public_key()));
        let mut bad_v = *signature.as_bytes();
        bad_v[64] = 27;
        assert_eq!(RecoverableSignature::from_slice(&bad_v), Err(KeyError::BadSignature));
        assert_eq!(RecoverableSignature::from_slice(&bad_v[..64]), Err(KeyError::BadSignature));
    }
}
