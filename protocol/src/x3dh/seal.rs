//! Sealed envelopes: Suite D's X3DH traffic carried so that a relay learns neither party's
//! identity (`docs/profile.md` §5.15). Every X3DH-path WakuMessage payload is one of:
//!
//! | tag | layout | used for |
//! | --- | --- | --- |
//! | `0x01` | `tag ‖ E(32) ‖ c1(48) ‖ c2` | to one identity, on its partitioned topic |
//! | `0x02` | `tag ‖ nonce(12) ‖ c` | under the negotiated topic's key |
//! | `0x03` | `tag ‖ nonce(12) ‖ c` | our bundle on our partitioned topic |
//!
//! `0x01` is sealed sender in two steps (as Signal's sealed sender): `c1` hides the sender's
//! identity under a key from `DH(E, IK_B)`, and `c2` the body under a key from that and
//! `DH(IK_A, IK_B)`, which authenticates the sender to the recipient (deniably: the recipient
//! could have made it) without a signature. A fresh `E` makes both keys single-use, so the nonces
//! are fixed. `0x02` and `0x03` are AES-256-GCM with a random nonce and the content topic as
//! associated data; `0x03`'s key derives from the publisher's public identity, so only those who
//! know it (its contacts, its own devices) read the bundle, and a passive relay does not.
//! Bodies are padded to a multiple of [`PAD_TO`] bytes.

use zeroize::Zeroizing;

use crate::crypto::hash::hkdf_sha256_zero_salt;
use crate::crypto::{KeyPair, PublicKey, aesgcm};
use crate::entropy::Entropy;
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::ratchet::kdf::AeadKeys;

/// Tag of a message sealed to an identity.
pub const TAG_TO_IDENTITY: u8 = 0x01;
/// Tag of a message under the negotiated topic's key.
pub const TAG_NEGOTIATED: u8 = 0x02;
/// Tag of a bundle publication.
pub const TAG_BUNDLE: u8 = 0x03;
/// Bodies are padded to a multiple of this many bytes (after a 4-byte length).
pub const PAD_TO: usize = 256;
/// HKDF info of the sender-identity key and nonce.
pub const INFO_SEAL_SENDER: &[u8] = b"WAKU2-1TO1-v1/Seal/Sender";
/// HKDF info of the body key and nonce.
pub const INFO_SEAL_BODY: &[u8] = b"WAKU2-1TO1-v1/Seal/Body";
/// HKDF info of a publisher's bundle key.
pub const INFO_SEAL_BUNDLE: &[u8] = b"WAKU2-1TO1-v1/Seal/Bundle";

const E_LEN: usize = 32;
const C1_LEN: usize = 32 + aesgcm::TAG_LEN;
const NONCE_LEN: usize = 12;

/// Why a sealed payload was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Too short, an unknown tag, or a bad length prefix.
    #[error("malformed sealed payload")]
    Malformed,
    /// Not for us, or tampered with: authentication failed.
    #[error("sealed payload did not authenticate")]
    NotForUs,
    /// The sealed sender is not a valid identity key.
    #[error("sealed sender is not a valid identity")]
    BadSender,
    /// A Diffie-Hellman output was all zeros (a small-order key).
    #[error("non-contributory key in sealed payload")]
    NonContributory,
}

/// The kind of a sealed payload, from its tag.
pub fn kind(sealed: &[u8]) -> Option<u8> {
    sealed.first().copied().filter(|t| (TAG_TO_IDENTITY..=TAG_BUNDLE).contains(t))
}

/// Seals `body` from `sender` to `recipient` (tag `0x01`).
pub fn seal_to(
    sender: &IdentityKeyPair,
    recipient: &IdentityKey,
    body: &[u8],
    entropy: &mut dyn Entropy,
) -> Result<Vec<u8>, SealError> {
    let static_dh = static_secret(sender, recipient)?;
    seal_to_with(sender.public(), recipient, &static_dh, body, entropy)
}

/// `DH(IK_A, IK_B)`, the static part of a sealed sender's body key: the same for every message
/// of a pair, so a caller may keep it (it is secret).
pub fn static_secret(me: &IdentityKeyPair, other: &IdentityKey) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let dh = me.dh_keys().diffie_hellman(other.dh_public()).map_err(|_| SealError::NonContributory)?;
    Ok(Zeroizing::new(*dh.as_bytes()))
}

/// [`seal_to`] with the static secret of the pair already known.
pub fn seal_to_with(
    sender: &IdentityKey,
    recipient: &IdentityKey,
    static_dh: &[u8; 32],
    body: &[u8],
    entropy: &mut dyn Entropy,
) -> Result<Vec<u8>, SealError> {
    let ephemeral = KeyPair::generate(entropy);
    let e = *ephemeral.public();
    let dh1 = ephemeral.diffie_hellman(recipient.dh_public()).map_err(|_| SealError::NonContributory)?;
    let mut out = vec![TAG_TO_IDENTITY];
    out.extend_from_slice(e.as_bytes());
    let sender_keys = derive(&[dh1.as_bytes()], INFO_SEAL_SENDER);
    let ad1 = [&[TAG_TO_IDENTITY][..], e.as_bytes(), recipient.as_bytes()].concat();
    aesgcm::seal_into(&sender_keys.key, &sender_keys.nonce, &ad1, sender.as_bytes(), &mut out);
    let body_keys = derive(&[dh1.as_bytes(), static_dh], INFO_SEAL_BODY);
    let ad2 = [&ad1[..], &out[1 + E_LEN..]].concat();
    aesgcm::seal_into(&body_keys.key, &body_keys.nonce, &ad2, &pad(body), &mut out);
    Ok(out)
}

/// Opens a `0x01` payload addressed to `me`: the proven sender and the body.
pub fn open_from(me: &IdentityKeyPair, sealed: &[u8]) -> Result<(IdentityKey, Vec<u8>), SealError> {
    open_from_with(me, sealed, &|_| None)
}

/// A known sender: its parsed key and the static secret with us.
pub type KnownSender = (IdentityKey, Zeroizing<[u8; 32]>);

/// [`open_from`] that asks `known` for a sender's parsed key and static secret before computing
/// them (a point decompression and a Diffie-Hellman per message otherwise).
pub fn open_from_with(
    me: &IdentityKeyPair,
    sealed: &[u8],
    known: &dyn Fn(&[u8; 32]) -> Option<KnownSender>,
) -> Result<(IdentityKey, Vec<u8>), SealError> {
    if sealed.len() < 1 + E_LEN + C1_LEN + aesgcm::TAG_LEN || sealed[0] != TAG_TO_IDENTITY {
        return Err(SealError::Malformed);
    }
    let (e, rest) = sealed[1..].split_at(E_LEN);
    let (c1, c2) = rest.split_at(C1_LEN);
    let e = PublicKey::from_slice(e).ok_or(SealError::Malformed)?;
    let dh1 = me.dh_keys().diffie_hellman(&e).map_err(|_| SealError::NonContributory)?;
    let sender_keys = derive(&[dh1.as_bytes()], INFO_SEAL_SENDER);
    let ad1 = [&[TAG_TO_IDENTITY][..], e.as_bytes(), me.public().as_bytes()].concat();
    let mut sender = Vec::with_capacity(32);
    aesgcm::open_into(&sender_keys.key, &sender_keys.nonce, &ad1, c1, &mut sender).map_err(|_| SealError::NotForUs)?;
    let sender_bytes: [u8; 32] = sender.as_slice().try_into().map_err(|_| SealError::BadSender)?;
    let (sender, dh2) = match known(&sender_bytes) {
        Some(known) => known,
        None => {
            let sender = IdentityKey::from_bytes(&sender_bytes).map_err(|_| SealError::BadSender)?;
            (sender, static_secret(me, &sender)?)
        }
    };
    let body_keys = derive(&[dh1.as_bytes(), dh2.as_ref()], INFO_SEAL_BODY);
    let ad2 = [&ad1[..], c1].concat();
    let mut padded = Vec::with_capacity(c2.len());
    aesgcm::open_into(&body_keys.key, &body_keys.nonce, &ad2, c2, &mut padded).map_err(|_| SealError::NotForUs)?;
    Ok((sender, unpad(&padded)?))
}

/// Seals `body` under a symmetric key (tag `0x02` or `0x03`), bound to `content_topic`.
pub fn seal_symmetric(tag: u8, key: &[u8; 32], content_topic: &str, body: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    entropy.fill(&mut nonce);
    let mut out = vec![tag];
    out.extend_from_slice(&nonce);
    let ad = [&[tag][..], content_topic.as_bytes()].concat();
    aesgcm::seal_into(key, &nonce, &ad, &pad(body), &mut out);
    out
}

/// Opens a `0x02`/`0x03` payload.
pub fn open_symmetric(key: &[u8; 32], content_topic: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let tag = kind(sealed).filter(|&t| t != TAG_TO_IDENTITY).ok_or(SealError::Malformed)?;
    if sealed.len() < 1 + NONCE_LEN + aesgcm::TAG_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
    let ad = [&[tag][..], content_topic.as_bytes()].concat();
    let mut padded = Vec::with_capacity(ciphertext.len());
    aesgcm::open_into(key, &nonce, &ad, ciphertext, &mut padded).map_err(|_| SealError::NotForUs)?;
    unpad(&padded)
}

/// The key of a publisher's bundle posts: public, derived from its identity.
pub fn bundle_key(publisher: &IdentityKey) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(hkdf_sha256_zero_salt::<32>(&[publisher.as_bytes()], INFO_SEAL_BUNDLE))
}

/// `HKDF-SHA256(salt = 0x00×32, ikm = 0xFF×32 ‖ ikm…, info, 44)`: an AES-256-GCM key and nonce.
fn derive(ikm: &[&[u8]], info: &[u8]) -> AeadKeys {
    let parts: Vec<&[u8]> = std::iter::once(&[0xffu8; 32][..]).chain(ikm.iter().copied()).collect();
    let okm = Zeroizing::new(hkdf_sha256_zero_salt::<44>(&parts, info));
    let mut keys = AeadKeys { key: [0; 32], nonce: [0; 12] };
    keys.key.copy_from_slice(&okm[..32]);
    keys.nonce.copy_from_slice(&okm[32..]);
    keys
}

/// `LE32(len) ‖ body ‖ zeros` to a multiple of [`PAD_TO`].
fn pad(body: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = 4 + body.len();
    let mut padded = Zeroizing::new(Vec::with_capacity(len.div_ceil(PAD_TO) * PAD_TO));
    padded.extend_from_slice(&(body.len() as u32).to_le_bytes());
    padded.extend_from_slice(body);
    padded.resize(len.div_ceil(PAD_TO) * PAD_TO, 0);
    padded
}

fn unpad(padded: &[u8]) -> Result<Vec<u8>, SealError> {
    let (len, rest) = padded.split_first_chunk::<4>().ok_or(SealError::Malformed)?;
    let len = u32::from_le_bytes(*len) as usize;
    rest.get(..len).map(<[u8]>::to_vec).ok_or(SealError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;

    fn parties(entropy: &mut SeededEntropy) -> (IdentityKeyPair, IdentityKeyPair, IdentityKeyPair) {
        (IdentityKeyPair::generate(entropy), IdentityKeyPair::generate(entropy), IdentityKeyPair::generate(entropy))
    }

    #[test]
    fn sealed_to_an_identity_opens_only_there_and_proves_the_sender() {
        let mut entropy = SeededEntropy::from_u64(1);
        let (alice, bob, eve) = parties(&mut entropy);
        let sealed = seal_to(&alice, bob.public(), b"envelope", &mut entropy).unwrap();
        assert_eq!(sealed.len(), 1 + 32 + 48 + PAD_TO + 16);
        assert!(!sealed.windows(32).any(|w| w == alice.public().as_bytes() || w == bob.public().as_bytes()));
        assert_eq!(open_from(&bob, &sealed).unwrap(), (*alice.public(), b"envelope".to_vec()));
        assert_eq!(open_from(&eve, &sealed), Err(SealError::NotForUs));
        for index in [0, 1, 40, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[index] ^= 1;
            assert!(open_from(&bob, &tampered).is_err(), "byte {index}");
        }
        assert_eq!(open_from(&bob, &sealed[..80]), Err(SealError::Malformed));
    }

    /// `seal_to` with a claimed sender in `c1` and the forger's own static key in the body key.
    fn forge(
        forger: &IdentityKeyPair,
        claimed: &IdentityKey,
        recipient: &IdentityKey,
        entropy: &mut SeededEntropy,
    ) -> Vec<u8> {
        let ephemeral = KeyPair::generate(entropy);
        let e = *ephemeral.public();
        let dh1 = ephemeral.diffie_hellman(recipient.dh_public()).unwrap();
        let dh2 = forger.dh_keys().diffie_hellman(recipient.dh_public()).unwrap();
        let mut out = vec![TAG_TO_IDENTITY];
        out.extend_from_slice(e.as_bytes());
        let sender_keys = derive(&[dh1.as_bytes()], INFO_SEAL_SENDER);
        let ad1 = [&[TAG_TO_IDENTITY][..], e.as_bytes(), recipient.as_bytes()].concat();
        aesgcm::seal_into(&sender_keys.key, &sender_keys.nonce, &ad1, claimed.as_bytes(), &mut out);
        let body_keys = derive(&[dh1.as_bytes(), dh2.as_bytes()], INFO_SEAL_BODY);
        let ad2 = [&ad1[..], &out[1 + E_LEN..]].concat();
        aesgcm::seal_into(&body_keys.key, &body_keys.nonce, &ad2, &pad(b"forged"), &mut out);
        out
    }

    #[test]
    fn a_sender_cannot_claim_an_identity_whose_secret_it_lacks() {
        let mut entropy = SeededEntropy::from_u64(2);
        let (alice, bob, eve) = parties(&mut entropy);
        // The forging code itself is sound: claiming her own identity, Eve's message opens.
        let honest = forge(&eve, eve.public(), bob.public(), &mut entropy);
        assert_eq!(open_from(&bob, &honest).unwrap(), (*eve.public(), b"forged".to_vec()));
        // Claiming Alice, c1 opens (Eve knows E) but the body key needs DH(IK_A, IK_B).
        let forged = forge(&eve, alice.public(), bob.public(), &mut entropy);
        assert_eq!(open_from(&bob, &forged), Err(SealError::NotForUs));
    }

    #[test]
    fn symmetric_seals_bind_the_topic_and_the_key() {
        let mut entropy = SeededEntropy::from_u64(3);
        let key = [5u8; 32];
        let sealed = seal_symmetric(TAG_NEGOTIATED, &key, "/waku/1/0x01020304/rfc26", &[7; 300], &mut entropy);
        assert_eq!(sealed.len(), 1 + 12 + 2 * PAD_TO + 16);
        assert_eq!(open_symmetric(&key, "/waku/1/0x01020304/rfc26", &sealed).unwrap(), vec![7; 300]);
        assert_eq!(open_symmetric(&key, "/waku/1/0x01020305/rfc26", &sealed), Err(SealError::NotForUs));
        assert_eq!(open_symmetric(&[6; 32], "/waku/1/0x01020304/rfc26", &sealed), Err(SealError::NotForUs));
        let mut retagged = sealed.clone();
        retagged[0] = TAG_BUNDLE;
        assert_eq!(open_symmetric(&key, "/waku/1/0x01020304/rfc26", &retagged), Err(SealError::NotForUs));
        assert_eq!(open_symmetric(&key, "t", &[TAG_TO_IDENTITY; 40]), Err(SealError::Malformed));
    }
}
