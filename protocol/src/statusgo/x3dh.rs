//! status-go's X3DH (`protocol/encryption/x3dh.go`): no one-time prekeys, and
//! `SK = Keccak-256(DH1 ‖ DH2 ‖ DH3)` over raw X coordinates, with no KDF salt, info or AD.

use zeroize::Zeroizing;

use super::keys::{PublicKey, SecretKey};
use crate::crypto::hash::keccak256;

/// The initiator's SK: `DH1 = DH(IK_A, SPK_B)`, `DH2 = DH(EK_A, IK_B)`, `DH3 = DH(EK_A, SPK_B)`.
pub fn initiator_secret(
    identity: &SecretKey,
    ephemeral: &SecretKey,
    their_identity: &PublicKey,
    their_signed_pre_key: &PublicKey,
) -> Zeroizing<[u8; 32]> {
    derive([
        identity.diffie_hellman(their_signed_pre_key),
        ephemeral.diffie_hellman(their_identity),
        ephemeral.diffie_hellman(their_signed_pre_key),
    ])
}

/// The responder's SK, the same value from the other side: `DH(SPK_B, IK_A)`, `DH(IK_B, EK_A)`,
/// `DH(SPK_B, EK_A)`.
pub fn responder_secret(
    identity: &SecretKey,
    signed_pre_key: &SecretKey,
    their_identity: &PublicKey,
    their_ephemeral: &PublicKey,
) -> Zeroizing<[u8; 32]> {
    derive([
        signed_pre_key.diffie_hellman(their_identity),
        identity.diffie_hellman(their_ephemeral),
        signed_pre_key.diffie_hellman(their_ephemeral),
    ])
}

fn derive(dhs: [super::keys::SharedX; 3]) -> Zeroizing<[u8; 32]> {
    let mut input = Zeroizing::new([0u8; 96]);
    for (chunk, dh) in input.chunks_exact_mut(32).zip(&dhs) {
        chunk.copy_from_slice(dh.as_bytes());
    }
    Zeroizing::new(keccak256(input.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_go_x3dh_known_answer() {
        // status-go protocol/encryption/x3dh_test.go: the ASCII strings "0"*32 … "3"*32 as scalars.
        let key = |c: u8| SecretKey::from_bytes(&[c; 32]).unwrap();
        let (alice_identity, alice_ephemeral, bob_identity, bob_prekey) = (key(b'0'), key(b'1'), key(b'2'), key(b'3'));
        let expected = "a4e923d0af8fe78a056363be20e71c0a58e569ea8fc1f79289eca10d9f68133a";
        let active =
            initiator_secret(&alice_identity, &alice_ephemeral, &bob_identity.public_key(), &bob_prekey.public_key());
        let passive =
            responder_secret(&bob_identity, &bob_prekey, &alice_identity.public_key(), &alice_ephemeral.public_key());
        assert_eq!(hex::encode(active.as_ref()), expected);
        assert_eq!(hex::encode(passive.as_ref()), expected);
    }
}
