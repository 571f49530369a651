//! Content topics of the peer: every identity's partitioned inbox (54: 5000 partitions), and
//! the Noise handshake inbox nametag. Topics are Status's Waku v2 form for legacy 4-byte topics,
//! `/waku/1/0x{keccak256(name)[0..4]}/rfc26` (23/WAKU2-TOPICS "bridged" form, status-go
//! `wakuv2/common/topic.go`).

use sha3::{Digest, Keccak256};

use crate::crypto::hash::sha256;
use crate::identity::IdentityKey;
use crate::noise::MessageNametag;

/// Number of partitions of the contact-discovery topics (54 "Discovery of pre-key bundles").
pub const PARTITIONS: u32 = 5000;

/// The 4-byte Waku v1 topic of a topic name: the first 4 bytes of Keccak-256.
pub fn topic_bytes(name: &str) -> [u8; 4] {
    let digest = Keccak256::digest(name.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The Waku v2 content topic of a topic name.
pub fn content_topic(name: &str) -> String {
    format!("/waku/1/0x{}/rfc26", hex::encode(topic_bytes(name)))
}

/// The partition of an identity: its 32 key bytes as a big-endian integer modulo 5000
/// (Horner's rule; 54 reduces the secp256k1 X coordinate the same way).
pub fn partition(identity: &IdentityKey) -> u32 {
    identity.as_bytes().iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % PARTITIONS)
}

/// The partitioned content topic where an identity receives first contact and bundles.
pub fn partition_topic(identity: &IdentityKey) -> String {
    content_topic(&format!("contact-discovery-{}", partition(identity)))
}

/// The nametag of the first Noise handshake message to `identity`: lets its devices find
/// handshake requests among the traffic of a shared partition topic.
pub fn noise_inbox_nametag(identity: &IdentityKey) -> MessageNametag {
    let digest = sha256(&[b"status-1to1/noise-inbox/v1", identity.as_bytes()]);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&digest[..16]);
    MessageNametag(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    #[test]
    fn keccak_topic_matches_known_value() {
        // Keccak-256("") = c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470.
        assert_eq!(hex::encode(topic_bytes("")), "c5d24601");
        assert_eq!(content_topic(""), "/waku/1/0xc5d24601/rfc26");
    }

    #[test]
    fn partition_is_the_big_endian_key_modulo_5000() {
        for seed in 0..20u8 {
            let id = *IdentityKeyPair::from_seed([seed; 32]).public();
            // Independent check with 128-bit arithmetic on the two halves.
            let bytes = id.as_bytes();
            let hi = u128::from_be_bytes(bytes[..16].try_into().unwrap());
            let lo = u128::from_be_bytes(bytes[16..].try_into().unwrap());
            let two_128_mod = u128::MAX % 5000 + 1; // 2^128 mod 5000 (the sum stays below 5000)
            let expected = ((hi % 5000) * two_128_mod + lo % 5000) % 5000;
            assert_eq!(u128::from(partition(&id)), expected);
            assert!(partition_topic(&id).starts_with("/waku/1/0x"));
        }
    }
}
