//! Waku topics of 1:1 chat (54 "Discovery of pre-key bundles", "Negotiated topic"; profile §5.9),
//! for Ed25519 identities.
//!
//! A topic string becomes 4 bytes as `Keccak-256(utf8(s))[..4]` (the Waku v1 convention) and a
//! content topic as `/waku/1/0x<8 hex>/rfc26` (status-go `wakuv2/common/topic.go`).

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{INFO_TOPIC, INFO_TOPIC_KEY};
use crate::crypto::hash::{hkdf_sha256_zero_salt, keccak256, pbkdf2_sha256_32};
use crate::crypto::{CryptoError, SharedSecret};
use crate::identity::{IdentityKey, IdentityKeyPair};

/// Number of partitioned discovery topics (54).
pub const PARTITIONS: u16 = 5000;
/// PBKDF2 iterations of the contact-code topic key: status-go's 65356 (sic, not 65536).
pub const CONTACT_CODE_PBKDF2_ITERATIONS: u32 = 65_356;

/// `Keccak-256(utf8(topic))[..4]`.
pub fn topic_bytes(topic: &str) -> [u8; 4] {
    let digest = keccak256(topic.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The Waku v2 content topic of a topic string: `/waku/1/0x<hex of topic_bytes>/rfc26`.
pub fn content_topic(topic: &str) -> String {
    format!("/waku/1/0x{}/rfc26", hex::encode(topic_bytes(topic)))
}

/// `int_be(IK bytes) mod 5000`, by Horner's rule (status-go takes the secp256k1 X coordinate).
pub fn partition(identity: &IdentityKey) -> u16 {
    let modulus = u32::from(PARTITIONS);
    let rest = identity.as_bytes().iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % modulus);
    // The remainder is below 5000.
    rest as u16
}

/// The partitioned discovery topic of an identity: `"contact-discovery-" + decimal(partition)`.
pub fn partitioned_topic(identity: &IdentityKey) -> String {
    format!("contact-discovery-{}", partition(identity))
}

/// The contact-code topic where an identity publishes its bundle: `"0x" + hex(IK) + "-contact-code"`.
pub fn contact_code_topic(identity: &IdentityKey) -> String {
    format!("0x{}-contact-code", hex::encode(identity.as_bytes()))
}

/// The Waku symmetric key of the contact-code topic: `PBKDF2-HMAC-SHA256(topic string, salt = "",
/// 65356, 32)`. Anyone who knows the identity can compute it; it is not a secret.
pub fn contact_code_key(identity: &IdentityKey) -> [u8; 32] {
    pbkdf2_sha256_32(contact_code_topic(identity).as_bytes(), b"", CONTACT_CODE_PBKDF2_ITERATIONS)
}

/// The static-static secret of two identities, `s = X25519(IK_me, IK_them)`, from which the
/// negotiated topic and its Waku key derive. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct NegotiatedSecret([u8; 32]);

impl NegotiatedSecret {
    /// Computes `s`, refusing a non-contributory result. Both sides get the same value.
    pub fn new(ours: &IdentityKeyPair, theirs: &IdentityKey) -> Result<Self, CryptoError> {
        let shared: SharedSecret = ours.dh_keys().diffie_hellman(theirs.dh_public())?;
        Ok(Self(*shared.as_bytes()))
    }

    /// `s` (test vectors only).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The topic string: `hex(HKDF-SHA256(salt = 0x00×32, ikm = s, info = "WAKU2-1TO1-v1/Topic", 32))`.
    pub fn topic(&self) -> String {
        hex::encode(hkdf_sha256_zero_salt::<32>(&[&self.0], INFO_TOPIC))
    }

    /// The negotiated content topic, `content_topic(self.topic())`.
    pub fn content_topic(&self) -> String {
        content_topic(&self.topic())
    }

    /// The Waku symmetric key of the negotiated topic:
    /// `HKDF-SHA256(salt = 0x00×32, ikm = s, info = "WAKU2-1TO1-v1/TopicKey", 32)` (status-go runs
    /// PBKDF2 over the hex secret; HKDF suffices for a uniformly random input).
    pub fn waku_key(&self) -> WakuKey {
        WakuKey(hkdf_sha256_zero_salt::<32>(&[&self.0], INFO_TOPIC_KEY))
    }
}

impl std::fmt::Debug for NegotiatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NegotiatedSecret(<redacted>)")
    }
}

/// A Waku payload symmetric key (26/WAKU2-PAYLOAD). Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct WakuKey([u8; 32]);

impl WakuKey {
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for WakuKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WakuKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::waku::ContentTopic;

    #[test]
    fn partition_matches_big_integer_arithmetic() {
        // Ed25519 seed 0x01×32 has public key 8a88e3dd…6f5c; int.from_bytes(key, "big") % 5000
        // = 340, computed independently with Python.
        let id = *IdentityKeyPair::from_seed([1; 32]).public();
        assert_eq!(hex::encode(&id.as_bytes()[..4]), "8a88e3dd");
        assert_eq!(partition(&id), 340);
        assert_eq!(partitioned_topic(&id), "contact-discovery-340");
    }

    #[test]
    fn content_topics_parse_and_negotiated_secrets_agree() {
        let (a, b) = (IdentityKeyPair::from_seed([1; 32]), IdentityKeyPair::from_seed([2; 32]));
        let topic = content_topic("contact-discovery-42");
        assert!(ContentTopic::parse(&topic).is_ok(), "{topic}");
        assert_eq!(topic.len(), "/waku/1/0x12345678/rfc26".len());
        let (ab, ba) = (NegotiatedSecret::new(&a, b.public()).unwrap(), NegotiatedSecret::new(&b, a.public()).unwrap());
        assert_eq!(ab.topic(), ba.topic());
        assert_eq!(ab.waku_key(), ba.waku_key());
        assert_ne!(ab.topic(), hex::encode(ab.waku_key().as_bytes()));
        assert_eq!(format!("{ab:?} {:?}", ab.waku_key()), "NegotiatedSecret(<redacted>) WakuKey(<redacted>)");
    }
}
