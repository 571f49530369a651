//! Content topics of the peer: every identity's partitioned inbox and the Noise handshake
//! inbox nametag.

use crate::crypto::hash::sha256;
use crate::identity::IdentityKey;
use crate::noise::MessageNametag;

/// The partitioned content topic where an identity receives first contact, bundles and Noise
/// handshakes (54: 5000 partitions; the topic helpers live in [`crate::x3dh::topic`]).
pub fn partition_topic(identity: &IdentityKey) -> String {
    crate::x3dh::topic::content_topic(&crate::x3dh::topic::partitioned_topic(identity))
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
    fn the_partition_is_the_big_endian_key_modulo_5000() {
        for seed in 0..20u8 {
            let id = *IdentityKeyPair::from_seed([seed; 32]).public();
            // Independent check with 128-bit arithmetic on the two halves.
            let bytes = id.as_bytes();
            let hi = u128::from_be_bytes(bytes[..16].try_into().unwrap());
            let lo = u128::from_be_bytes(bytes[16..].try_into().unwrap());
            let two_128_mod = u128::MAX % 5000 + 1; // 2^128 mod 5000 (the sum stays below 5000)
            let expected = ((hi % 5000) * two_128_mod + lo % 5000) % 5000;
            assert_eq!(u128::from(crate::x3dh::topic::partition(&id)), expected);
            assert!(partition_topic(&id).starts_with("/waku/1/0x"));
        }
    }

    #[test]
    fn inbox_nametags_differ_per_identity() {
        let a = *IdentityKeyPair::from_seed([1; 32]).public();
        let b = *IdentityKeyPair::from_seed([2; 32]).public();
        assert_ne!(noise_inbox_nametag(&a), noise_inbox_nametag(&b));
    }
}
