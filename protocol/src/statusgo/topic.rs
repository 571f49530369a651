//! status-go's topics for secp256k1 identities (`protocol/transport/topic.go`): the partitioned
//! discovery topic, the personal and contact-code topics, and the negotiated topic with its
//! PBKDF2 key. Content topics are `/waku/1/0x<Keccak-256(topic)[..4]>/rfc26` as for Suite D.

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::keys::{PublicKey, SecretKey};
use crate::crypto::hash::pbkdf2_sha256_32;
pub use crate::x3dh::topic::{PARTITIONS, content_topic, topic_bytes};

/// status-go's pubsub topic: cluster 16, shard 32 (`messaging/waku/shard.go`).
pub const PUBSUB_TOPIC: &str = "/waku/2/rs/16/32";
/// PBKDF2 iterations of topic keys: status-go's 65356 (sic).
pub const PBKDF2_ITERATIONS: u32 = 65_356;

/// `X mod 5000`, X the affine X coordinate read big-endian.
pub fn partition(identity: &PublicKey) -> u16 {
    let rest = identity.x().iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % u32::from(PARTITIONS));
    // Below 5000.
    rest as u16
}

/// `"contact-discovery-" + decimal(partition)`: where first messages to `identity` go.
pub fn partitioned_topic(identity: &PublicKey) -> String {
    format!("contact-discovery-{}", partition(identity))
}

/// `"contact-discovery-" + hex(uncompressed)`: the personal topic.
pub fn personal_topic(identity: &PublicKey) -> String {
    format!("contact-discovery-{}", hex::encode(identity.uncompressed()))
}

/// `"0x" + hex(uncompressed) + "-contact-code"`: where `identity` publishes its bundle.
pub fn contact_code_topic(identity: &PublicKey) -> String {
    format!("0x{}-contact-code", hex::encode(identity.uncompressed()))
}

/// A topic's Waku symmetric key: `PBKDF2-HMAC-SHA256(topic string, salt = "", 65356, 32)`
/// (wakuv2 `AddSymKeyFromPassword`).
pub fn topic_key(topic: &str) -> [u8; 32] {
    pbkdf2_sha256_32(topic.as_bytes(), b"", PBKDF2_ITERATIONS)
}

/// The static-static secret of two identities (the raw X of their ECDH), from which the
/// negotiated topic and its key derive. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct NegotiatedSecret([u8; 32]);

impl NegotiatedSecret {
    /// Both sides get the same secret (status-go `sharedsecret.Generate`).
    pub fn new(ours: &SecretKey, theirs: &PublicKey) -> Self {
        Self(*ours.diffie_hellman(theirs).as_bytes())
    }

    /// The secret (test vectors only).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The topic string: the lowercase hex of the secret.
    pub fn topic(&self) -> String {
        hex::encode(self.0)
    }

    /// The Waku key: PBKDF2 of the topic string.
    pub fn key(&self) -> [u8; 32] {
        topic_key(&self.topic())
    }
}

impl std::fmt::Debug for NegotiatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NegotiatedSecret(<redacted>)")
    }
}
