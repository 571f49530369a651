//! Byte encodings of the profile (`docs/profile.md` §5.1, §5.5): the tagged key encodings
//! `Encode_ed` and `Encode_x`, the associated data `AD` bound into every AEAD, and the session id.

use serde::{Deserialize, Serialize};

use super::{AD_VERSION, ENCODE_ED_TAG, ENCODE_X_TAG, NO_INSTALLATION, SESSION_ID_DOMAIN};
use crate::crypto::PublicKey;
use crate::crypto::hash::sha256;
use crate::identity::{IdentityKey, InstallationId};

/// Longest installation id the AD can carry (its length is one byte).
pub const MAX_INSTALLATION_ID_LEN: usize = 255;
/// Longest AD: version, two tagged identities, two length-prefixed installation ids.
pub const MAX_AD_LEN: usize = 1 + 33 + 33 + 2 * (1 + MAX_INSTALLATION_ID_LEN);

/// `Encode_ed(IK) = 0xED || Ed25519 public key` (33 bytes).
pub fn encode_ed(key: &IdentityKey) -> [u8; 33] {
    tagged(ENCODE_ED_TAG, key.as_bytes())
}

/// `Encode_x(PK) = 0x05 || X25519 u-coordinate, little-endian` (33 bytes; X3DH §2.1).
pub fn encode_x(key: &PublicKey) -> [u8; 33] {
    tagged(ENCODE_X_TAG, key.as_bytes())
}

fn tagged(tag: u8, key: &[u8; 32]) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = tag;
    out[1..].copy_from_slice(key);
    out
}

/// The associated data of a session or of a no-bundle message:
/// `0x01 || Encode_ed(IK_A) || Encode_ed(IK_B) || u8 len || inst_A || u8 len || inst_B`, where A
/// is the initiator for the whole life of the session, in both directions. Every part has a
/// fixed length or a length prefix, so `AD || header` parses uniquely (DR §3.1).
#[derive(Clone, Copy)]
pub struct AssociatedData {
    bytes: [u8; MAX_AD_LEN],
    len: usize,
}

impl AssociatedData {
    /// Builds the AD. `inst_b = None` encodes the reserved id `"none"` (no-bundle messages).
    pub fn new(
        initiator: &IdentityKey,
        responder: &IdentityKey,
        inst_a: &InstallationId,
        inst_b: Option<&InstallationId>,
    ) -> Self {
        let mut ad = Self { bytes: [0; MAX_AD_LEN], len: 0 };
        ad.push(&[AD_VERSION]);
        ad.push(&encode_ed(initiator));
        ad.push(&encode_ed(responder));
        ad.push_id(inst_a.as_str());
        ad.push_id(inst_b.map_or(NO_INSTALLATION, InstallationId::as_str));
        ad
    }

    fn push_id(&mut self, id: &str) {
        // An `InstallationId` is a 36-byte UUID, so the length always fits in the prefix byte.
        let id = id.as_bytes().get(..MAX_INSTALLATION_ID_LEN).unwrap_or(id.as_bytes());
        self.push(&[id.len() as u8]);
        self.push(id);
    }

    fn push(&mut self, part: &[u8]) {
        if let Some(slot) = self.bytes.get_mut(self.len..self.len + part.len()) {
            slot.copy_from_slice(part);
            self.len += part.len();
        }
    }

    /// The encoded AD.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl std::fmt::Debug for AssociatedData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssociatedData({})", hex::encode(self.as_bytes()))
    }
}

/// A session id: public, stable on both sides, safe to log and to use as a storage key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl SessionId {
    /// `SHA-256("WAKU2-1TO1-v1/SessionId" || Encode_ed(IK_A) || Encode_x(EK_A) ||
    /// Encode_x(SPK_B) || Encode_ed(IK_B))` (profile §5.5).
    pub fn compute(
        initiator: &IdentityKey,
        ephemeral: &PublicKey,
        prekey: &PublicKey,
        responder: &IdentityKey,
    ) -> Self {
        Self(sha256(&[
            SESSION_ID_DOMAIN,
            &encode_ed(initiator),
            &encode_x(ephemeral),
            &encode_x(prekey),
            &encode_ed(responder),
        ]))
    }

    /// Wraps 32 bytes (persistence, vectors).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    #[test]
    fn ad_layout() {
        let a = *IdentityKeyPair::from_seed([1; 32]).public();
        let b = *IdentityKeyPair::from_seed([2; 32]).public();
        let inst = InstallationId::parse("01234567-89ab-4def-8123-456789abcdef").unwrap();
        let ad = AssociatedData::new(&a, &b, &inst, None);
        let expected = [
            vec![1u8, 0xed],
            a.as_bytes().to_vec(),
            vec![0xed],
            b.as_bytes().to_vec(),
            vec![36],
            inst.as_str().as_bytes().to_vec(),
            vec![4],
            b"none".to_vec(),
        ]
        .concat();
        assert_eq!(ad.as_bytes(), &expected[..]);
        assert_eq!(AssociatedData::new(&a, &b, &inst, Some(&inst)).as_bytes().len(), 141);
    }

    #[test]
    fn session_id_separates_every_input() {
        let a = *IdentityKeyPair::from_seed([1; 32]).public();
        let b = *IdentityKeyPair::from_seed([2; 32]).public();
        let (e, s) = (PublicKey::from_bytes([3; 32]), PublicKey::from_bytes([4; 32]));
        let id = SessionId::compute(&a, &e, &s, &b);
        assert_ne!(id, SessionId::compute(&b, &e, &s, &a));
        assert_ne!(id, SessionId::compute(&a, &s, &e, &b));
        assert_eq!(id.to_string().len(), 64);
    }
}
