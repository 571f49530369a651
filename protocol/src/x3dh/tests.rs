//! Session-level behaviour: X3DH from both sides, replays, binding of identities and
//! installations, the wire envelope, persistence and redaction.

use std::collections::BTreeMap;

use super::*;
use crate::crypto::PublicKey;
use crate::entropy::SeededEntropy;
use crate::identity::{IdentityKeyPair, InstallationId};
use crate::ratchet::RatchetError;
use crate::time::Timestamp;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

struct Device {
    identity: IdentityKeyPair,
    installation: InstallationId,
    prekeys: PrekeyStore,
}

impl Device {
    fn new(e: &mut SeededEntropy) -> Self {
        Self {
            identity: IdentityKeyPair::generate(e),
            installation: InstallationId::generate(e),
            prekeys: PrekeyStore::new(NOW, e),
        }
    }

    fn bundle(&self) -> VerifiedBundle {
        let entries = BTreeMap::from([(self.installation.clone(), self.prekeys.current().signed_prekey())]);
        VerifiedBundle::sign(&self.identity, entries, NOW).unwrap()
    }

    fn initiate(&self, to: &Device, e: &mut SeededEntropy) -> Session {
        initiate(&self.identity, &self.installation, &to.bundle(), &to.installation, e).unwrap()
    }

    fn respond(&self, from: &Device, message: &EncryptedMessage) -> Result<(Session, Vec<u8>), X3dhError> {
        respond(&self.identity, &self.installation, &self.prekeys, NOW, &from.installation, message)
    }
}

fn setup() -> (SeededEntropy, Device, Device) {
    let mut e = SeededEntropy::from_u64(77);
    let (a, b) = (Device::new(&mut e), Device::new(&mut e));
    (e, a, b)
}

fn send(session: Session, plaintext: &[u8], e: &mut SeededEntropy) -> (Session, EncryptedMessage) {
    session.encrypt(plaintext, e).unwrap()
}

#[test]
fn x3dh_from_both_sides_then_the_header_stops_after_the_reply() {
    let (mut e, alice, bob) = setup();
    let session = alice.initiate(&bob, &mut e);
    assert_eq!(session.stage(), &Stage::AwaitingReply { header: session.ratchet_header_for_test() });
    let (session, m0) = send(session, b"m0", &mut e);
    let (a, m1) = send(session, b"m1", &mut e);
    let header = m1.initial.unwrap();
    assert_eq!(header, m0.initial.unwrap(), "the same header on every message until the reply");
    assert_eq!(header.session_id(bob.identity.public()), a.id());
    // Bob receives the second message first: it creates the session and skips n = 0.
    let (b, plaintext) = bob.respond(&alice, &m1).unwrap();
    assert_eq!(plaintext, b"m1");
    assert_eq!((b.id(), b.role(), b.is_confirmed()), (a.id(), Role::Responder, true));
    assert_eq!((b.peer().identity, &b.peer().installation), (*alice.identity.public(), &alice.installation));
    // m0 carries the same header: the session layer finds the session by id and decrypts.
    let (b, plaintext) = b.decrypt(&m0).unwrap();
    assert_eq!(plaintext, b"m0");
    let (b, reply) = send(b, b"reply", &mut e);
    assert!(reply.initial.is_none());
    let (a, plaintext) = a.decrypt(&reply).unwrap();
    assert_eq!((plaintext.as_slice(), a.is_confirmed()), (&b"reply"[..], true));
    let (_, m2) = send(a, b"m2", &mut e);
    assert!(m2.initial.is_none(), "no X3DH header once confirmed");
    assert_eq!(b.decrypt(&m2).unwrap().1, b"m2");
}

#[test]
fn a_replayed_initial_message_maps_to_the_existing_session_and_is_refused_as_duplicate() {
    let (mut e, alice, bob) = setup();
    let (_, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let (b, _) = bob.respond(&alice, &m0).unwrap();
    let id = m0.initial.unwrap().session_id(bob.identity.public());
    assert_eq!(id, b.id(), "the session layer finds the existing session before creating anything");
    let before = b.clone();
    let mut b2 = b.clone();
    assert_eq!(b2.decrypt_in_place(&m0), Err(RatchetError::DuplicateMessage { n: 0 }));
    assert!(b2 == before);
}

#[test]
fn relabelled_installations_and_swapped_identities_fail_to_authenticate() {
    let (mut e, alice, bob) = setup();
    let mallory = Device::new(&mut e);
    let (_, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    // The ProtocolMessage sender field claims another installation: the AD differs.
    assert_eq!(bob.respond(&mallory, &m0).map(|_| ()), Err(X3dhError::Ratchet(RatchetError::AuthenticationFailed)));
    // A different identity in the X3DH header changes the DHs and the AD.
    let mut forged = m0.clone();
    forged.initial.as_mut().unwrap().identity = *mallory.identity.public();
    assert_eq!(bob.respond(&alice, &forged).map(|_| ()), Err(X3dhError::Ratchet(RatchetError::AuthenticationFailed)));
}

#[test]
fn respond_refusals() {
    let (mut e, alice, bob) = setup();
    let (_, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let mut no_header = m0.clone();
    no_header.initial = None;
    assert_eq!(bob.respond(&alice, &no_header).map(|_| ()), Err(X3dhError::MissingInitialHeader));
    let mut wrong_id = m0.clone();
    wrong_id.bundle_id = PublicKey::from_bytes([9; 32]);
    assert_eq!(bob.respond(&alice, &wrong_id).map(|_| ()), Err(X3dhError::BundleIdMismatch));
    let stranger = Device::new(&mut e);
    assert_eq!(stranger.respond(&alice, &m0).map(|_| ()), Err(X3dhError::UnknownPrekey));
    let mut weak = m0.clone();
    weak.initial.as_mut().unwrap().ephemeral = PublicKey::from_bytes([0; 32]);
    assert_eq!(bob.respond(&alice, &weak).map(|_| ()), Err(X3dhError::NonContributory));
    let no_prekey = initiate(&alice.identity, &alice.installation, &bob.bundle(), &alice.installation, &mut e);
    assert!(matches!(no_prekey, Err(X3dhError::NoPrekeyForInstallation(_))));
}

#[test]
fn a_session_refuses_messages_of_other_sessions_without_changing() {
    let (mut e, alice, bob) = setup();
    let (a1, m1) = send(alice.initiate(&bob, &mut e), b"1", &mut e);
    let (_, m2) = send(alice.initiate(&bob, &mut e), b"2", &mut e);
    let (b1, _) = bob.respond(&alice, &m1).unwrap();
    let mut b = b1.clone();
    assert_eq!(b.decrypt_in_place(&m2), Err(RatchetError::WrongSession));
    let mut other_bundle = m1.clone();
    other_bundle.bundle_id = PublicKey::from_bytes([1; 32]);
    assert_eq!(b.decrypt_in_place(&other_bundle), Err(RatchetError::WrongSession));
    assert!(b == b1);
    // Concurrent initiation: Bob's own initial message is not for Alice's initiated session.
    let (_, from_bob) = send(bob.initiate(&alice, &mut e), b"x", &mut e);
    let mut a = a1.clone();
    assert_eq!(a.decrypt_in_place(&from_bob), Err(RatchetError::WrongSession));
    assert!(a == a1);
}

#[test]
fn prekeys_superseded_within_retention_still_open_initial_messages() {
    let (mut e, alice, mut bob) = setup();
    let old_bundle = bob.bundle();
    let later = Timestamp::from_millis(NOW.as_millis() + 2 * 24 * 3600 * 1000);
    assert_eq!(bob.prekeys.rotate_if_due(later, &mut e), Ok(true));
    let session = initiate(&alice.identity, &alice.installation, &old_bundle, &bob.installation, &mut e).unwrap();
    let (_, m0) = send(session, b"old prekey", &mut e);
    let opened = respond(&bob.identity, &bob.installation, &bob.prekeys, later, &alice.installation, &m0);
    assert_eq!(opened.unwrap().1, b"old prekey");
    let too_late = Timestamp::from_millis(later.as_millis() + 31 * 24 * 3600 * 1000);
    let opened = respond(&bob.identity, &bob.installation, &bob.prekeys, too_late, &alice.installation, &m0);
    assert_eq!(opened.map(|_| ()), Err(X3dhError::UnknownPrekey));
}

#[test]
fn envelope_round_trip_and_recipient_selection() {
    let (mut e, alice, bob) = setup();
    let (_, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let advert =
        NoBundleMessage::seal(&alice.identity, &alice.installation, bob.identity.public(), b"", &mut e).unwrap();
    let mut envelope = Envelope::new(alice.installation.clone());
    envelope.bundles.push(alice.bundle().to_proto());
    envelope.payloads.insert(Recipient::Installation(bob.installation.clone()), Payload::Ratchet(m0.clone()));
    envelope.payloads.insert(Recipient::Any, Payload::NoBundle(advert.clone()));
    let decoded = Envelope::decode(&envelope.encode()).unwrap();
    assert_eq!(decoded, envelope);
    assert_eq!(decoded.payload_for(&bob.installation), Some(&Payload::Ratchet(m0)));
    assert_eq!(decoded.payload_for(&alice.installation), Some(&Payload::NoBundle(advert.clone())));
    assert_eq!(advert.open(&bob.identity, &decoded.sender).unwrap(), b"");
    assert!(VerifiedBundle::verify_from(&decoded.bundles[0], alice.identity.public()).is_ok());
}

#[test]
fn envelope_decoding_refusals() {
    let (mut e, alice, bob) = setup();
    let (_, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let mut envelope = Envelope::new(alice.installation.clone());
    envelope.payloads.insert(Recipient::Installation(bob.installation.clone()), Payload::Ratchet(m0));
    let good = envelope.to_proto();
    let decode = |p: &crate::proto::ProtocolMessage| Envelope::decode(&prost::Message::encode_to_vec(p));
    let entry = |p: &mut crate::proto::ProtocolMessage| p.encrypted_message.values_mut().next().unwrap().clone();
    let mut p = good.clone();
    p.installation_id = "me".into();
    assert_eq!(decode(&p), Err(DecodeError::SenderInstallation("me".into())));
    let mut p = good.clone();
    let value = entry(&mut p);
    p.encrypted_message.insert("everyone".into(), value);
    assert_eq!(decode(&p), Err(DecodeError::Recipient("everyone".into())));
    let mut p = good.clone();
    p.encrypted_message.values_mut().for_each(|v| v.dh_header = Some(Default::default()));
    assert_eq!(decode(&p), Err(DecodeError::ConflictingHeaders));
    let mut p = good.clone();
    p.encrypted_message.values_mut().for_each(|v| v.dr_header = None);
    assert_eq!(decode(&p), Err(DecodeError::NoHeader));
    let mut p = good.clone();
    p.encrypted_message.values_mut().for_each(|v| v.dr_header.as_mut().unwrap().key.pop().map(|_| ()).unwrap());
    assert_eq!(decode(&p), Err(DecodeError::KeyLength { field: "DRHeader.key", len: 31 }));
    let mut p = good;
    p.encrypted_message.values_mut().for_each(|v| v.x3dh_header.as_mut().unwrap().identity = vec![0; 32]);
    assert!(matches!(decode(&p), Err(DecodeError::Identity(_))));
    assert!(matches!(Envelope::decode(&[0xff]), Err(DecodeError::Protobuf(_))));
}

#[test]
fn serde_snapshots_restore_exactly_and_continue_identically() {
    let conversation = |restore: bool| {
        let (mut e, alice, bob) = setup();
        let (mut a, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
        let (mut b, _) = bob.respond(&alice, &m0).unwrap();
        let mut wire = Vec::new();
        for i in 0..8u8 {
            if restore {
                let json = serde_json::to_string(&a).unwrap();
                let restored: Session = serde_json::from_str(&json).unwrap();
                assert!(restored == a);
                a = restored;
                b = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            }
            if i % 3 == 2 {
                let (next, m) = send(a, &[i], &mut e);
                b = b.decrypt(&m).unwrap().0;
                a = next;
                wire.push(m);
            } else {
                let (next, m) = send(b, &[i], &mut e);
                a = a.decrypt(&m).unwrap().0;
                b = next;
                wire.push(m);
            }
        }
        wire
    };
    assert_eq!(conversation(false), conversation(true));
}

#[test]
fn a_refused_encryption_returns_the_session_unchanged() {
    let (mut e, alice, bob) = setup();
    let session = alice.initiate(&bob, &mut e);
    let mut json = serde_json::to_value(&session).unwrap();
    json["ratchet"]["sending"]["Active"]["n"] = serde_json::json!(u32::MAX);
    let exhausted: Session = serde_json::from_value(json).unwrap();
    let error = exhausted.clone().encrypt(b"x", &mut e).unwrap_err();
    assert_eq!(error.reason, RatchetError::ChainExhausted);
    assert!(*error.session == exhausted);
}

#[test]
fn debug_output_is_pinned_and_shows_no_secret() {
    let (mut e, alice, bob) = setup();
    let (a, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let (b, _) = bob.respond(&alice, &m0).unwrap();
    let (b, _) = send(b, b"reply", &mut e);
    let text = format!("{b:#?}\n{a:#?}\n{:#?}", bob.prekeys);
    for secret in [
        serde_json::to_value(&b).unwrap()["ratchet"]["root"].as_str().unwrap().to_owned(),
        serde_json::to_value(&a).unwrap()["ratchet"]["sending"]["Active"]["chain"].as_str().unwrap().to_owned(),
        hex::encode(bob.prekeys.current().pair().secret().to_bytes()),
        hex::encode(bob.identity.seed()),
    ] {
        assert!(!text.contains(&secret), "secret {secret} printed");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn an_established_session_fits_in_a_kibibyte() {
    let (mut e, alice, bob) = setup();
    let (a, m0) = send(alice.initiate(&bob, &mut e), b"m0", &mut e);
    let (b, _) = bob.respond(&alice, &m0).unwrap();
    let (b, reply) = send(b, b"reply", &mut e);
    let (a, _) = a.decrypt(&reply).unwrap();
    // Heap: two 36-byte installation ids and the receiving-chain records (56 bytes each,
    // reserved for five); no skipped keys here (48 bytes each when there are).
    for session in [&a, &b] {
        assert_eq!(session.ratchet().stored_skipped_keys(), 0);
        assert!(session.ratchet().receiving_chains() <= crate::ratchet::MAX_RECEIVING_CHAINS);
    }
    let heap = 2 * 36 + crate::ratchet::MAX_RECEIVING_CHAINS * 56;
    let inline = std::mem::size_of::<Session>();
    assert!(inline + heap <= 1024, "{inline} inline + {heap} heap");
}

impl Session {
    fn ratchet_header_for_test(&self) -> InitialHeader {
        match self.stage() {
            Stage::AwaitingReply { header } => *header,
            Stage::Confirmed => panic!("confirmed"),
        }
    }
}

/// X25519 ignores bit 255 of a u-coordinate (and reduces values ≥ p), so a received ephemeral
/// key with that bit flipped gives the same Diffie-Hellman outputs under another encoding. The
/// encoding of EK_A is hashed into the session id, so without a check `respond` would start a
/// second session from a replayed first message; a no-bundle message would open under two
/// encodings. Found by the `x3dh` fuzz target (`fuzz/regressions/x3dh/`).
#[test]
fn a_non_canonical_ephemeral_key_is_refused() {
    let flip = |key: &PublicKey| {
        let mut bytes = *key.as_bytes();
        bytes[31] ^= 0x80;
        PublicKey::from_bytes(bytes)
    };
    let (mut e, alice, bob) = setup();
    let (_, first) = send(alice.initiate(&bob, &mut e), b"first", &mut e);
    assert!(bob.respond(&alice, &first).is_ok());
    let mut replayed = first.clone();
    let initial = replayed.initial.as_mut().unwrap();
    initial.ephemeral = flip(&initial.ephemeral);
    assert_ne!(
        replayed.initial.unwrap().session_id(bob.identity.public()),
        first.initial.unwrap().session_id(bob.identity.public())
    );
    assert_eq!(bob.respond(&alice, &replayed).err(), Some(X3dhError::NonCanonicalKey));

    let sealed =
        NoBundleMessage::seal(&alice.identity, &alice.installation, bob.identity.public(), b"sealed", &mut e).unwrap();
    assert_eq!(sealed.open(&bob.identity, &alice.installation).unwrap(), b"sealed");
    let flipped = NoBundleMessage { ephemeral: flip(&sealed.ephemeral), ..sealed };
    assert_eq!(flipped.open(&bob.identity, &alice.installation).err(), Some(X3dhError::NonCanonicalKey));
}
