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

/// `"0x" + hex(uncompressed) + "-negotiated"`: the name status-go's filter manager gives the
/// negotiated-topic filter shared with `their` key (`NegotiatedTopic`; local, not on the wire).
pub fn negotiated_filter_id(their: &PublicKey) -> String {
    format!("0x{}-negotiated", hex::encode(their.uncompressed()))
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

    /// The negotiated content topic, `content_topic(self.topic())`.
    pub fn content_topic(&self) -> String {
        content_topic(&self.topic())
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn transcript(name: &str) -> Value {
        let path = format!("{}/../vectors/status-go/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn secret(party: &Value) -> SecretKey {
        let bytes = hex::decode(party["identity_private_key"].as_str().unwrap()).unwrap();
        SecretKey::from_bytes(&bytes.try_into().unwrap()).unwrap()
    }

    fn party<'a>(file: &'a Value, name: &Value) -> &'a Value {
        file["parties"].as_array().unwrap().iter().find(|p| p["name"] == *name).unwrap()
    }

    /// From the private keys alone: every party's partitioned topic and content topic, and every
    /// negotiated secret with its topic, content topic and PBKDF2 key, computed from both sides
    /// (status-go's values in the transcripts). Also the filter id of every negotiated send.
    #[test]
    fn status_go_topics_and_negotiated_secrets_are_reproduced() {
        for name in ["session.json", "dh-only.json"] {
            let file = transcript(name);
            for p in file["parties"].as_array().unwrap() {
                let key = secret(p).public_key();
                assert_eq!(partitioned_topic(&key), p["partitioned_topic_string"].as_str().unwrap(), "{name}");
                let topic = content_topic(&partitioned_topic(&key));
                assert_eq!(topic, p["partitioned_content_topic"].as_str().unwrap(), "{name}");
            }
            for n in file["negotiated_secrets"].as_array().unwrap() {
                let (a, b) = (secret(party(&file, &n["between"][0])), secret(party(&file, &n["between"][1])));
                let (ab, ba) = (NegotiatedSecret::new(&a, &b.public_key()), NegotiatedSecret::new(&b, &a.public_key()));
                assert_eq!(ab.as_bytes(), ba.as_bytes());
                assert_eq!(hex::encode(ab.as_bytes()), n["secret"].as_str().unwrap(), "{name}");
                assert_eq!(ab.topic(), n["content_topic_string"].as_str().unwrap(), "{name}");
                assert_eq!(ab.content_topic(), n["content_topic"].as_str().unwrap(), "{name}");
                assert_eq!(hex::encode(ab.key()), n["symmetric_key"].as_str().unwrap(), "{name}");
            }
            let events = file["events"].as_array().unwrap();
            for id in events.iter().filter_map(|e| e["waku"]["transport"]["filter_chat_id"].as_str()) {
                let key = hex::decode(id.trim_start_matches("0x").trim_end_matches("-negotiated")).unwrap();
                assert_eq!(negotiated_filter_id(&PublicKey::from_sec1(&key).unwrap()), id);
            }
        }
    }

    /// The string forms that have no transcript value: status-go's `topic.go` one-liners.
    #[test]
    fn personal_and_contact_code_topics_have_status_go_forms() {
        let file = transcript("session.json");
        let alice = secret(&file["parties"][0]).public_key();
        let hex = hex::encode(alice.uncompressed());
        assert_eq!(personal_topic(&alice), format!("contact-discovery-{hex}"));
        assert_eq!(contact_code_topic(&alice), format!("0x{hex}-contact-code"));
        assert_eq!(contact_code_topic(&alice), format!("{}-contact-code", alice.chat_id()));
        assert_eq!(negotiated_filter_id(&alice), format!("{}-negotiated", alice.chat_id()));
        assert_ne!(topic_key(&contact_code_topic(&alice)), topic_key(&personal_topic(&alice)));
        assert_eq!(PUBSUB_TOPIC, file["constants"]["pubsub_topic"].as_str().unwrap());
        assert_eq!(u64::from(PBKDF2_ITERATIONS), file["constants"]["negotiated_pbkdf2_iterations"].as_u64().unwrap());
        assert_eq!(u64::from(PARTITIONS), file["constants"]["partitions"].as_u64().unwrap());
    }
}
