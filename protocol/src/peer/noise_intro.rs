//! The introduction carried by message 1 of the 1:1 Noise handshake: who is calling, sealed to
//! the responder, with a proof that the caller holds its identity's static key.
//!
//! XK1's message 1 (`-> e`) is anonymous, so a responder that answered every message 1 would
//! answer anyone: a flood of fresh first messages would make it send one message 2 each. The
//! introduction lets the responder decide before it answers. A contact is answered; a stranger
//! becomes a contact request and is answered only once accepted; a blocked identity is dropped.
//!
//! - `intro = version (1) || e2 (32) || ChaChaPoly(k, nonce 0, ad, body)` where `e2` is a fresh
//!   X25519 key, `k = HKDF(DH(e2, S_r), SEAL_INFO)` and `ad = LABEL || responder || e`, with `e`
//!   the handshake's ephemeral key of the same message 1 (a relay learns nothing of the caller).
//! - `body` is `IntroProto { identity, installation_id, reactivates, proof }`, where
//!   `proof = HMAC(HKDF(DH(S_i, S_r), PROOF_INFO), LABEL || e || e2 || responder || identity ||
//!   installation || reactivates)`. Only the holder of either static key computes it, and it
//!   binds the handshake's `e`: copied onto another message 1 it does not verify.
//!
//! The proof is a gate, not the authentication: message 3 still proves the identity, and the
//! responder checks that it is the one introduced. Holding the responder's own key forges an
//! introduction to that responder only (key compromise), which gets nothing but its answer.

use prost::Message as _;

use crate::crypto::chachapoly;
use crate::crypto::hash::{hkdf_sha256, hmac_sha256};
use crate::crypto::x25519::{KeyPair, PublicKey};
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};

/// Domain label of every input of the introduction.
const LABEL: &[u8] = b"status-1to1/noise-1to1/intro/v1";
/// HKDF info of the sealing key.
const SEAL_INFO: &[u8] = b"status-1to1/noise-1to1/intro/v1/seal";
/// HKDF info of the proof key.
const PROOF_INFO: &[u8] = b"status-1to1/noise-1to1/intro/v1/proof";
/// Version byte of the introduction.
const VERSION: u8 = 1;
/// Longest sealed body accepted (identity, installation id, re-activation id, proof).
const MAX_BODY: usize = 192;

/// Why an introduction was refused (the message 1 is then dropped unanswered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntroError {
    /// Not an introduction of this version, or a field out of shape.
    #[error("introduction malformed")]
    Malformed,
    /// Not sealed to us (or not for this message 1's ephemeral key).
    #[error("introduction does not open")]
    Sealed,
    /// The caller does not hold the identity it names.
    #[error("introduction proof does not verify")]
    Proof,
}

#[derive(Clone, PartialEq, prost::Message)]
struct IntroProto {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
    #[prost(bytes = "vec", tag = "3")]
    reactivates: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    proof: Vec<u8>,
}

/// An opened introduction: the caller's device, and the `ct-id` of the session it re-activates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intro {
    /// The caller's identity.
    pub identity: IdentityKey,
    /// The calling device.
    pub installation: InstallationId,
    /// The `ct-id` of the stale session the handshake re-activates, if any.
    pub reactivates: Option<[u8; 32]>,
}

/// Seals our introduction to `responder` for the message 1 whose ephemeral key is `e`, with the
/// fresh sealing key pair `e2`.
pub fn seal(
    e2: &KeyPair,
    me: &IdentityKeyPair,
    installation: &InstallationId,
    responder: &IdentityKey,
    e: &PublicKey,
    reactivates: Option<[u8; 32]>,
) -> Vec<u8> {
    let reactivates = reactivates.map(|c| c.to_vec()).unwrap_or_default();
    // Both DH fail only for a low-order remote key, which an `IdentityKey` never is; an empty
    // introduction is then refused by the responder like any malformed one.
    let (Ok(seal_dh), Ok(static_dh)) =
        (e2.diffie_hellman(responder.dh_public()), me.dh_keys().diffie_hellman(responder.dh_public()))
    else {
        return Vec::new();
    };
    let mut body = IntroProto {
        identity: me.public().as_bytes().to_vec(),
        installation_id: installation.as_str().to_owned(),
        reactivates,
        proof: Vec::new(),
    };
    body.proof = proof(static_dh.as_bytes(), e, e2.public(), responder, &body).to_vec();
    let key: [u8; 32] = hkdf_sha256(&[], &[seal_dh.as_bytes()], SEAL_INFO);
    let mut out = vec![VERSION];
    out.extend_from_slice(e2.public().as_bytes());
    let mut plain = body.encode_to_vec();
    chachapoly::seal_into(&key, &chachapoly::noise_nonce(0), &ad(responder, e), &plain, &mut out);
    zeroize::Zeroize::zeroize(&mut plain);
    out
}

/// Opens an introduction to us (`me`) carried by the message 1 whose ephemeral key is `e`, and
/// checks its proof. Costs two X25519 operations.
pub fn open(me: &IdentityKeyPair, e: &PublicKey, intro: &[u8]) -> Result<Intro, IntroError> {
    let (version, rest) = intro.split_first().ok_or(IntroError::Malformed)?;
    if *version != VERSION || rest.len() < 32 + chachapoly::TAG_LEN || rest.len() > 32 + MAX_BODY {
        return Err(IntroError::Malformed);
    }
    let (e2, sealed) = rest.split_at(32);
    let e2 = PublicKey::from_slice(e2).ok_or(IntroError::Malformed)?;
    let seal_dh = me.dh_keys().diffie_hellman(&e2).map_err(|_| IntroError::Malformed)?;
    let key: [u8; 32] = hkdf_sha256(&[], &[seal_dh.as_bytes()], SEAL_INFO);
    let mut plain = Vec::with_capacity(sealed.len());
    chachapoly::open_into(&key, &chachapoly::noise_nonce(0), &ad(me.public(), e), sealed, &mut plain)
        .map_err(|_| IntroError::Sealed)?;
    let body = IntroProto::decode(plain.as_slice()).map_err(|_| IntroError::Malformed)?;
    let identity = IdentityKey::from_slice(&body.identity).map_err(|_| IntroError::Malformed)?;
    let installation = InstallationId::parse(&body.installation_id).map_err(|_| IntroError::Malformed)?;
    let reactivates = match body.reactivates.len() {
        0 => None,
        _ => Some(<[u8; 32]>::try_from(body.reactivates.as_slice()).map_err(|_| IntroError::Malformed)?),
    };
    let static_dh = me.dh_keys().diffie_hellman(identity.dh_public()).map_err(|_| IntroError::Malformed)?;
    let expected = proof(static_dh.as_bytes(), e, &e2, me.public(), &body);
    if !constant_time_eq(&expected, &body.proof) {
        return Err(IntroError::Proof);
    }
    Ok(Intro { identity, installation, reactivates })
}

fn ad(responder: &IdentityKey, e: &PublicKey) -> Vec<u8> {
    [LABEL, responder.as_bytes(), e.as_bytes()].concat()
}

fn proof(static_dh: &[u8; 32], e: &PublicKey, e2: &PublicKey, responder: &IdentityKey, body: &IntroProto) -> [u8; 32] {
    let key: [u8; 32] = hkdf_sha256(&[], &[static_dh], PROOF_INFO);
    hmac_sha256(
        &key,
        &[
            LABEL,
            e.as_bytes(),
            e2.as_bytes(),
            responder.as_bytes(),
            &body.identity,
            body.installation_id.as_bytes(),
            &body.reactivates,
        ],
    )
}

fn constant_time_eq(a: &[u8; 32], b: &[u8]) -> bool {
    b.len() == 32 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn setup() -> (SeededEntropy, IdentityKeyPair, IdentityKeyPair, PublicKey, InstallationId) {
        let mut entropy = SeededEntropy::from_seed([7; 32]);
        let caller = IdentityKeyPair::generate(&mut entropy);
        let callee = IdentityKeyPair::generate(&mut entropy);
        let e = *KeyPair::generate(&mut entropy).public();
        let installation = InstallationId::generate(&mut entropy);
        (entropy, caller, callee, e, installation)
    }

    #[test]
    fn the_responder_learns_the_caller_and_nobody_else_can_open_it() {
        let (mut entropy, caller, callee, e, installation) = setup();
        let intro = seal(&KeyPair::generate(&mut entropy), &caller, &installation, callee.public(), &e, Some([9; 32]));
        let opened = open(&callee, &e, &intro).unwrap();
        assert_eq!(opened, Intro { identity: *caller.public(), installation, reactivates: Some([9; 32]) });
        let third = IdentityKeyPair::generate(&mut entropy);
        assert_eq!(open(&third, &e, &intro), Err(IntroError::Sealed));
        assert!(!intro.windows(32).any(|w| w == caller.public().as_bytes()), "the caller is not in clear");
    }

    #[test]
    fn an_introduction_copied_onto_another_ephemeral_key_is_refused() {
        let (mut entropy, caller, callee, e, installation) = setup();
        let intro = seal(&KeyPair::generate(&mut entropy), &caller, &installation, callee.public(), &e, None);
        let other_e = *KeyPair::generate(&mut entropy).public();
        assert_eq!(open(&callee, &other_e, &intro), Err(IntroError::Sealed));
    }

    #[test]
    fn a_claimed_identity_without_its_key_fails_the_proof() {
        // A forger who knows the responder's public key can seal anything; it cannot compute
        // the static DH of the identity it claims.
        let (mut entropy, caller, callee, e, installation) = setup();
        let forger = IdentityKeyPair::generate(&mut entropy);
        let mut intro = seal(&KeyPair::generate(&mut entropy), &forger, &installation, callee.public(), &e, None);
        // Re-seal the forger's body with the caller's identity swapped in.
        let e2 = KeyPair::generate(&mut entropy);
        let dh = e2.diffie_hellman(callee.public().dh_public()).unwrap();
        let key: [u8; 32] = hkdf_sha256(&[], &[dh.as_bytes()], SEAL_INFO);
        let body = IntroProto {
            identity: caller.public().as_bytes().to_vec(),
            installation_id: installation.as_str().to_owned(),
            reactivates: Vec::new(),
            proof: vec![0; 32],
        };
        intro.truncate(1);
        intro.extend_from_slice(e2.public().as_bytes());
        chachapoly::seal_into(
            &key,
            &chachapoly::noise_nonce(0),
            &ad(callee.public(), &e),
            &body.encode_to_vec(),
            &mut intro,
        );
        assert_eq!(open(&callee, &e, &intro), Err(IntroError::Proof));
    }

    #[test]
    fn malformed_introductions_are_refused_without_panic() {
        let (mut entropy, caller, callee, e, installation) = setup();
        let intro = seal(&KeyPair::generate(&mut entropy), &caller, &installation, callee.public(), &e, None);
        for cut in 0..intro.len() {
            assert!(open(&callee, &e, &intro[..cut]).is_err(), "prefix {cut}");
        }
        let mut flipped = intro.clone();
        flipped[0] = 2;
        assert_eq!(open(&callee, &e, &flipped), Err(IntroError::Malformed));
        assert_eq!(open(&callee, &e, &[1; 400]), Err(IntroError::Malformed));
    }
}
