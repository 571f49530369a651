//! The no-bundle fallback (`DHHeader`, 53 "payload encrypted with output key of DH exchange";
//! profile §5.8): for first contact when no bundle of the recipient is known, and for bundle
//! adverts (an empty payload next to our bundle).
//!
//! **No forward secrecy.** The key is
//! `HKDF-SHA256(salt = 0x00×32, ikm = 0xFF×32 || DH(EK, IK_B) || DH(IK_A, IK_B), info = "WAKU2-1TO1-v1/NoBundle", L = 44)`
//! (AES-256-GCM key, then nonce): whoever later learns IK_B's secret reads every such message.
//! The static-static term authenticates the sender's identity IK_A to the recipient (as far as
//! a static DH can: someone holding IK_B's secret can also forge messages "from" anyone to B).
//! A fresh EK per message makes key and nonce unique. The AD is the session AD with the
//! recipient installation `"none"`.

use serde::{Deserialize, Serialize};

use super::encoding::AssociatedData;
use super::{INFO_NO_BUNDLE, X3dhError};
use crate::crypto::hash::hkdf_sha256_zero_salt;
use crate::crypto::{KeyPair, PublicKey, SharedSecret, aesgcm};
use crate::entropy::Entropy;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};

/// A message sealed to an identity without a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoBundleMessage {
    /// The sender's identity IK_A (`DHHeader.identity`, a profile addition).
    pub sender: IdentityKey,
    /// The sender's one-message ephemeral key (`DHHeader.key`).
    pub ephemeral: PublicKey,
    /// AES-256-GCM ciphertext and tag.
    #[serde(with = "crate::serde_bytes::vec")]
    pub ciphertext: Vec<u8>,
}

impl NoBundleMessage {
    /// Seals `plaintext` from our identity and installation to `recipient`.
    pub fn seal(
        identity: &IdentityKeyPair,
        installation: &InstallationId,
        recipient: &IdentityKey,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<Self, X3dhError> {
        let ephemeral = KeyPair::generate(entropy);
        let ephemeral_dh = ephemeral.diffie_hellman(recipient.dh_public())?;
        let static_dh = identity.dh_keys().diffie_hellman(recipient.dh_public())?;
        let keys = derive(&ephemeral_dh, &static_dh);
        let ad = AssociatedData::new(identity.public(), recipient, installation, None);
        let mut ciphertext = Vec::new();
        aesgcm::seal_into(&keys.key, &keys.nonce, ad.as_bytes(), plaintext, &mut ciphertext);
        Ok(Self { sender: *identity.public(), ephemeral: *ephemeral.public(), ciphertext })
    }

    /// Opens a message addressed to our identity, sent from installation `sender_installation`
    /// (the `ProtocolMessage` sender field; bound into the AD).
    pub fn open(&self, identity: &IdentityKeyPair, sender_installation: &InstallationId) -> Result<Vec<u8>, X3dhError> {
        if !self.ephemeral.is_canonical() {
            return Err(X3dhError::NonCanonicalKey);
        }
        let ephemeral_dh = identity.dh_keys().diffie_hellman(&self.ephemeral)?;
        let static_dh = identity.dh_keys().diffie_hellman(self.sender.dh_public())?;
        let keys = derive(&ephemeral_dh, &static_dh);
        let ad = AssociatedData::new(&self.sender, identity.public(), sender_installation, None);
        let mut plaintext = Vec::new();
        aesgcm::open_into(&keys.key, &keys.nonce, ad.as_bytes(), &self.ciphertext, &mut plaintext)
            .map_err(|_| X3dhError::AuthenticationFailed)?;
        Ok(plaintext)
    }
}

fn derive(ephemeral_dh: &SharedSecret, static_dh: &SharedSecret) -> crate::ratchet::kdf::AeadKeys {
    let mut okm =
        hkdf_sha256_zero_salt::<44>(&[&[0xff; 32], ephemeral_dh.as_bytes(), static_dh.as_bytes()], INFO_NO_BUNDLE);
    let mut keys = crate::ratchet::kdf::AeadKeys { key: [0; 32], nonce: [0; 12] };
    keys.key.copy_from_slice(&okm[..32]);
    keys.nonce.copy_from_slice(&okm[32..]);
    zeroize::Zeroize::zeroize(&mut okm);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn seal_open_and_binding() {
        let mut e = SeededEntropy::from_u64(31);
        let (alice, bob, eve) =
            (IdentityKeyPair::generate(&mut e), IdentityKeyPair::generate(&mut e), IdentityKeyPair::generate(&mut e));
        let (inst, other) = (InstallationId::generate(&mut e), InstallationId::generate(&mut e));
        let m = NoBundleMessage::seal(&alice, &inst, bob.public(), b"hi", &mut e).unwrap();
        assert_eq!(m.open(&bob, &inst).unwrap(), b"hi");
        assert_eq!(m.open(&bob, &other), Err(X3dhError::AuthenticationFailed));
        assert_eq!(m.open(&eve, &inst), Err(X3dhError::AuthenticationFailed));
        let mut claimed = m.clone();
        claimed.sender = *eve.public();
        assert_eq!(claimed.open(&bob, &inst), Err(X3dhError::AuthenticationFailed));
        let mut weak = m;
        weak.ephemeral = PublicKey::from_bytes([0; 32]);
        assert_eq!(weak.open(&bob, &inst), Err(X3dhError::NonContributory));
    }
}
