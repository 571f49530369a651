//! The X3DH key agreement without one-time prekeys (X3DH §3.3, profile §5.5):
//! `DH1 = DH(IK_A, SPK_B)`, `DH2 = DH(EK_A, IK_B)`, `DH3 = DH(EK_A, SPK_B)` on the X25519 forms of
//! the identity keys, each refused if non-contributory, and
//! `SK = HKDF-SHA256(salt = 0x00×32, ikm = 0xFF×32 || DH1 || DH2 || DH3, info = "WAKU2-1TO1-v1/X3DH", L = 32)`.

use super::{INFO_X3DH, X3dhError};
use crate::crypto::hash::hkdf_sha256_zero_salt;
use crate::crypto::{KeyPair, PublicKey, SharedSecret};
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::ratchet::RootKey;

/// The X3DH `F` prefix for X25519: 32 bytes of 0xFF (domain separation from XEdDSA, X3DH §2.2).
const F: [u8; 32] = [0xff; 32];

/// The initiator's side: `identity` is IK_A, `ephemeral` is EK_A.
pub fn initiator_secret(
    identity: &IdentityKeyPair,
    ephemeral: &KeyPair,
    peer_identity: &IdentityKey,
    peer_prekey: &PublicKey,
) -> Result<RootKey, X3dhError> {
    let dh1 = identity.dh_keys().diffie_hellman(peer_prekey)?;
    let dh2 = ephemeral.diffie_hellman(peer_identity.dh_public())?;
    let dh3 = ephemeral.diffie_hellman(peer_prekey)?;
    Ok(derive(&dh1, &dh2, &dh3))
}

/// The responder's side: `identity` is IK_B, `prekey` is SPK_B.
pub fn responder_secret(
    identity: &IdentityKeyPair,
    prekey: &KeyPair,
    peer_identity: &IdentityKey,
    peer_ephemeral: &PublicKey,
) -> Result<RootKey, X3dhError> {
    let dh1 = prekey.diffie_hellman(peer_identity.dh_public())?;
    let dh2 = identity.dh_keys().diffie_hellman(peer_ephemeral)?;
    let dh3 = prekey.diffie_hellman(peer_ephemeral)?;
    Ok(derive(&dh1, &dh2, &dh3))
}

fn derive(dh1: &SharedSecret, dh2: &SharedSecret, dh3: &SharedSecret) -> RootKey {
    let sk = hkdf_sha256_zero_salt::<32>(&[&F, dh1.as_bytes(), dh2.as_bytes(), dh3.as_bytes()], INFO_X3DH);
    RootKey::from_bytes(sk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn both_sides_agree_and_small_order_keys_are_refused() {
        let mut e = SeededEntropy::from_u64(21);
        let (alice, bob) = (IdentityKeyPair::generate(&mut e), IdentityKeyPair::generate(&mut e));
        let (ephemeral, prekey) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e));
        let a = initiator_secret(&alice, &ephemeral, bob.public(), prekey.public()).unwrap();
        let b = responder_secret(&bob, &prekey, alice.public(), ephemeral.public()).unwrap();
        assert_eq!(a, b);
        let weak = PublicKey::from_bytes([0; 32]);
        assert_eq!(initiator_secret(&alice, &ephemeral, bob.public(), &weak), Err(X3dhError::NonContributory));
        assert_eq!(responder_secret(&bob, &prekey, alice.public(), &weak), Err(X3dhError::NonContributory));
    }
}
