//! Identity keys: Ed25519 for signatures, with the X25519 key derived from it for
//! Diffie-Hellman (`../shared/research/x3dh-ratchet.md` §4.1; eprint 2021/509 covers using one
//! key for both). Received keys are validated once, when parsed: the point must decompress and
//! must not have small order; signatures are verified with `verify_strict`.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::ZeroizeOnDrop;

use crate::crypto::{KeyPair, PublicKey, SecretKey};
use crate::entropy::Entropy;

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed 0x01).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// The multibase prefix of base58btc.
const BASE58BTC_PREFIX: char = 'z';

/// Why a key, chat key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The 32 bytes are not the encoding of a curve point.
    #[error("identity key is not a valid Ed25519 point")]
    InvalidPoint,
    /// The point has small order: it would make every Diffie-Hellman output predictable.
    #[error("identity key is a weak (small-order) point")]
    WeakKey,
    /// The signature does not verify (strict verification).
    #[error("signature does not verify")]
    BadSignature,
    /// A chat key that does not start with the base58btc multibase prefix `z`.
    #[error("chat key must start with 'z' (multibase base58btc)")]
    ChatKeyPrefix,
    /// A chat key whose body is not base58.
    #[error("chat key is not valid base58")]
    ChatKeyEncoding,
    /// A chat key that is not a multicodec ed25519-pub key of 32 bytes.
    #[error("chat key is not a multicodec ed25519-pub key")]
    ChatKeyCodec,
}

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "crate::serde_bytes")] pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// A validated identity public key, with its X25519 counterpart computed once at parse time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "IdentityKeyRepr", into = "IdentityKeyRepr")]
pub struct IdentityKey {
    ed: [u8; 32],
    dh: PublicKey,
}

#[derive(Serialize, Deserialize)]
struct IdentityKeyRepr(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl TryFrom<IdentityKeyRepr> for IdentityKey {
    type Error = IdentityError;
    fn try_from(repr: IdentityKeyRepr) -> Result<Self, IdentityError> {
        Self::from_bytes(&repr.0)
    }
}

impl From<IdentityKey> for IdentityKeyRepr {
    fn from(key: IdentityKey) -> Self {
        Self(key.ed)
    }
}

impl IdentityKey {
    /// Parses and validates 32 Ed25519 public key bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, IdentityError> {
        let vk = VerifyingKey::from_bytes(bytes).map_err(|_| IdentityError::InvalidPoint)?;
        if vk.is_weak() {
            return Err(IdentityError::WeakKey);
        }
        Ok(Self { ed: *bytes, dh: PublicKey::from_bytes(vk.to_montgomery().to_bytes()) })
    }

    /// Parses a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdentityError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| IdentityError::InvalidPoint)?;
        Self::from_bytes(&array)
    }

    /// The Ed25519 public key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.ed
    }

    /// The derived X25519 public key (the birationally equivalent Montgomery point).
    pub const fn dh_public(&self) -> &PublicKey {
        &self.dh
    }

    /// Verifies `signature` over `message` strictly (no malleable or small-order components).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        let vk = VerifyingKey::from_bytes(&self.ed).map_err(|_| IdentityError::InvalidPoint)?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        vk.verify_strict(message, &sig).map_err(|_| IdentityError::BadSignature)
    }

    /// The chat key: multibase base58btc of the multicodec ed25519-pub key, e.g. `z6Mk…`
    /// (2/STATUS-ACCOUNT "Public Key Serialization", with the ed25519 codec in place of secp256k1).
    pub fn to_chat_key(&self) -> String {
        let mut raw = Vec::with_capacity(34);
        raw.extend_from_slice(&ED25519_MULTICODEC);
        raw.extend_from_slice(&self.ed);
        format!("{BASE58BTC_PREFIX}{}", bs58::encode(raw).into_string())
    }

    /// Parses a chat key; only the canonical form produced by [`Self::to_chat_key`] is accepted.
    pub fn from_chat_key(text: &str) -> Result<Self, IdentityError> {
        let body = text.strip_prefix(BASE58BTC_PREFIX).ok_or(IdentityError::ChatKeyPrefix)?;
        let raw = bs58::decode(body).into_vec().map_err(|_| IdentityError::ChatKeyEncoding)?;
        let key = raw.strip_prefix(&ED25519_MULTICODEC[..]).ok_or(IdentityError::ChatKeyCodec)?;
        let key: [u8; 32] = key.try_into().map_err(|_| IdentityError::ChatKeyCodec)?;
        let parsed = Self::from_bytes(&key)?;
        if parsed.to_chat_key() != text {
            return Err(IdentityError::ChatKeyEncoding);
        }
        Ok(parsed)
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdentityKey({})", self.to_chat_key())
    }
}

impl std::fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_chat_key())
    }
}

/// An account's identity: the Ed25519 signing key, its public key and the derived X25519 pair.
///
/// Secrets zeroize on drop through their own types (`SigningKey`, [`SecretKey`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "IdentitySeed", into = "IdentitySeed")]
pub struct IdentityKeyPair {
    signing: SigningKey,
    public: IdentityKey,
    dh: KeyPair,
}

/// The persisted form: the 32-byte Ed25519 seed, from which everything else is derived.
#[derive(Serialize, Deserialize, ZeroizeOnDrop)]
struct IdentitySeed(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl TryFrom<IdentitySeed> for IdentityKeyPair {
    type Error = IdentityError;
    fn try_from(seed: IdentitySeed) -> Result<Self, IdentityError> {
        Ok(Self::from_seed(seed.0))
    }
}

impl From<IdentityKeyPair> for IdentitySeed {
    fn from(pair: IdentityKeyPair) -> Self {
        Self(pair.signing.to_bytes())
    }
}

impl IdentityKeyPair {
    /// The identity with Ed25519 seed `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let vk = signing.verifying_key();
        let public = IdentityKey { ed: vk.to_bytes(), dh: PublicKey::from_bytes(vk.to_montgomery().to_bytes()) };
        let dh = KeyPair::from_secret(SecretKey::from_bytes(signing.to_scalar_bytes()));
        Self { signing, public, dh }
    }

    /// A fresh identity from injected entropy.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        Self::from_seed(entropy.bytes32())
    }

    /// The public identity.
    pub const fn public(&self) -> &IdentityKey {
        &self.public
    }

    /// The derived X25519 key pair (its public half equals `public().dh_public()`).
    pub const fn dh_keys(&self) -> &KeyPair {
        &self.dh
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }

    /// The Ed25519 seed (for persistence and vectors only).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }
}

impl PartialEq for IdentityKeyPair {
    fn eq(&self, other: &Self) -> bool {
        self.public == other.public && self.dh == other.dh
    }
}

impl Eq for IdentityKeyPair {}

impl std::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityKeyPair").field("public", &self.public).field("secret", &"<redacted>").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn rfc8032_test_1_public_key_and_signature() {
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let pair = IdentityKeyPair::from_seed(seed.try_into().unwrap());
        assert_eq!(
            hex::encode(pair.public().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = pair.sign(b"");
        assert_eq!(
            hex::encode(sig.0),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(pair.public().verify(b"", &sig), Ok(()));
        assert_eq!(pair.public().verify(b"x", &sig), Err(IdentityError::BadSignature));
    }

    #[test]
    fn derived_dh_keys_agree_across_identities() {
        let mut e = SeededEntropy::from_u64(3);
        let (a, b) = (IdentityKeyPair::generate(&mut e), IdentityKeyPair::generate(&mut e));
        assert_eq!(a.dh_keys().public(), a.public().dh_public());
        let ab = a.dh_keys().diffie_hellman(b.public().dh_public()).unwrap();
        let ba = b.dh_keys().diffie_hellman(a.public().dh_public()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
    }

    #[test]
    fn weak_and_invalid_points_are_refused() {
        // The identity point (y = 1) has small order.
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        assert_eq!(IdentityKey::from_bytes(&identity_point), Err(IdentityError::WeakKey));
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(IdentityKey::from_bytes(&off_curve), Err(IdentityError::InvalidPoint));
    }

    #[test]
    fn chat_key_round_trips_and_is_strict() {
        let pair = IdentityKeyPair::from_seed([9; 32]);
        let text = pair.public().to_chat_key();
        assert!(text.starts_with("z6Mk"), "{text}");
        assert_eq!(IdentityKey::from_chat_key(&text), Ok(*pair.public()));
        assert_eq!(IdentityKey::from_chat_key(&text[1..]), Err(IdentityError::ChatKeyPrefix));
        assert_eq!(IdentityKey::from_chat_key("z0OIl"), Err(IdentityError::ChatKeyEncoding));
        let secp_style = format!("z{}", bs58::encode([0xe7, 0x01, 2, 3]).into_string());
        assert_eq!(IdentityKey::from_chat_key(&secp_style), Err(IdentityError::ChatKeyCodec));
    }

    #[test]
    fn serde_round_trip_validates_and_redacts() {
        let pair = IdentityKeyPair::from_seed([4; 32]);
        let json = serde_json::to_string(pair.public()).unwrap();
        assert_eq!(serde_json::from_str::<IdentityKey>(&json).unwrap(), *pair.public());
        assert!(serde_json::from_str::<IdentityKey>(&format!("\"01{}\"", "00".repeat(31))).is_err());
        let restored: IdentityKeyPair = serde_json::from_str(&serde_json::to_string(&pair).unwrap()).unwrap();
        assert_eq!(restored, pair);
        assert!(!format!("{pair:?}").contains("0404"));
    }
}
