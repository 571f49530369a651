//! End-to-end behaviour of the two pairing machines (the js-noise transcript checks live in the
//! vectors verifier, `vectors/src/noise/pairing.rs`).

use std::time::Duration;

use super::*;
use crate::crypto::KeyPair;
use crate::entropy::SeededEntropy;
use crate::noise::{Handshake, HandshakeConfig, MessageNametag, PayloadV2, Role};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn at(seconds: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(seconds))
}

struct Pair {
    owner: QrOwner,
    scanner: Scanner,
    entropy: SeededEntropy,
}

fn pair(variant: Variant) -> Pair {
    let mut entropy = SeededEntropy::from_u64(42);
    let config = PairingConfig::new(ContentTopicParams::js_default()).with_variant(variant);
    let owner = QrOwner::new(config.clone(), KeyPair::generate(&mut entropy));
    let scanner = Scanner::new(config, KeyPair::generate(&mut entropy));
    Pair { owner, scanner, entropy }
}

fn published(actions: &[PairingAction]) -> Vec<WakuMessage> {
    actions.iter().filter_map(|a| if let PairingAction::Publish(m) = a { Some(m.clone()) } else { None }).collect()
}

fn authcode(actions: &[PairingAction]) -> Option<Authcode> {
    actions.iter().find_map(|a| if let PairingAction::ShowAuthcode(c) = a { Some(*c) } else { None })
}

fn shown_qr(actions: &[PairingAction]) -> (String, MessageNametag) {
    actions
        .iter()
        .find_map(|a| {
            if let PairingAction::ShowQr { qr, nametag, .. } = a { Some((qr.to_string(), *nametag)) } else { None }
        })
        .expect("ShowQr")
}

fn one(messages: Vec<WakuMessage>) -> WakuMessage {
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.into_iter().next().expect("one message")
}

/// Runs a pairing to completion, checking the order of messages the variant prescribes.
fn run(variant: Variant) -> Pair {
    let mut p = pair(variant);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    let scanned = p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap();
    let b = one(published(&scanned));
    assert_eq!(p.scanner.handle(ScannerEvent::Message(&b), at(1), e), Err(PairingError::UnexpectedNametag), "echo");
    let shown = p.owner.handle(OwnerEvent::Message(&b), at(2), e).unwrap();
    assert_eq!(authcode(&shown), authcode(&scanned), "both devices show the same authcode");
    assert!(authcode(&shown).is_some());
    let (first, second) = match variant {
        Variant::Standard => (
            p.owner.handle(OwnerEvent::ConfirmAuthcode, at(3), e),
            p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(3), e),
        ),
        Variant::NoCamera => (
            p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(3), e),
            p.owner.handle(OwnerEvent::ConfirmAuthcode, at(3), e),
        ),
    };
    let c = one(published(&first.unwrap()));
    assert!(second.unwrap().is_empty());
    let d = match variant {
        Variant::Standard => one(published(&p.scanner.handle(ScannerEvent::Message(&c), at(4), e).unwrap())),
        Variant::NoCamera => one(published(&p.owner.handle(OwnerEvent::Message(&c), at(4), e).unwrap())),
    };
    let last = match variant {
        Variant::Standard => p.owner.handle(OwnerEvent::Message(&d), at(5), e).unwrap(),
        Variant::NoCamera => p.scanner.handle(ScannerEvent::Message(&d), at(5), e).unwrap(),
    };
    assert!(matches!(last.as_slice(), [PairingAction::Paired { .. }]), "{last:?}");
    p
}

fn session_keys(p: &mut Pair) -> (crate::crypto::PublicKey, crate::crypto::PublicKey) {
    let owner_sees = *p.owner.session_mut().expect("owner paired").remote_static();
    let scanner_sees = *p.scanner.session_mut().expect("scanner paired").remote_static();
    (owner_sees, scanner_sees)
}

#[test]
fn both_variants_pair_and_authenticate_the_static_keys() {
    for variant in [Variant::Standard, Variant::NoCamera] {
        let mut p = run(variant);
        let (owner_sees, scanner_sees) = session_keys(&mut p);
        assert_eq!(&owner_sees, p.scanner.static_key_for_tests().public());
        assert_eq!(&scanner_sees, p.owner.static_key_for_tests().public());
        let hash_owner = *p.owner.session_mut().unwrap().transport().handshake_hash();
        assert_eq!(&hash_owner, p.scanner.session_mut().unwrap().transport().handshake_hash());
    }
}

#[test]
fn secure_transfer_flows_both_ways_and_ignores_echoes() {
    for variant in [Variant::Standard, Variant::NoCamera] {
        let mut p = run(variant);
        let e = &mut p.entropy;
        let to_scanner = one(published(&p.owner.handle(OwnerEvent::Send(b"from owner"), at(6), e).unwrap()));
        assert_eq!(
            p.owner.handle(OwnerEvent::Message(&to_scanner), at(6), e),
            Err(PairingError::Noise(crate::noise::NoiseError::NametagNotFound))
        );
        let got = p.scanner.handle(ScannerEvent::Message(&to_scanner), at(6), e).unwrap();
        assert_eq!(got, vec![PairingAction::Received(b"from owner".to_vec())]);
        let to_owner = one(published(&p.scanner.handle(ScannerEvent::Send(b"from scanner"), at(7), e).unwrap()));
        let got = p.owner.handle(OwnerEvent::Message(&to_owner), at(7), e).unwrap();
        assert_eq!(got, vec![PairingAction::Received(b"from scanner".to_vec())]);
    }
}

#[test]
fn message_c_that_arrives_before_the_confirmation_waits_for_it() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    let b = one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap()));
    p.owner.handle(OwnerEvent::Message(&b), at(1), e).unwrap();
    let c = one(published(&p.owner.handle(OwnerEvent::ConfirmAuthcode, at(2), e).unwrap()));
    assert_eq!(p.scanner.handle(ScannerEvent::Message(&c), at(2), e), Ok(vec![]));
    assert!(matches!(p.scanner.state(), PairingState::AwaitingConfirmation { early, .. } if early.len() == 1));
    let done = p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(3), e).unwrap();
    let d = one(published(&done));
    assert!(matches!(done.last(), Some(PairingAction::Paired { .. })));
    assert!(matches!(
        p.owner.handle(OwnerEvent::Message(&d), at(3), e).unwrap().as_slice(),
        [PairingAction::Paired { .. }]
    ));
}

#[test]
fn rejected_authcode_aborts_both_sides() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    let b = one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap()));
    p.owner.handle(OwnerEvent::Message(&b), at(1), e).unwrap();
    let rejected = p.owner.handle(OwnerEvent::RejectAuthcode, at(2), e).unwrap();
    assert_eq!(rejected, vec![PairingAction::Aborted(AbortReason::AuthcodeRejected)]);
    assert_eq!(p.owner.state(), &PairingState::Aborted(AbortReason::AuthcodeRejected));
    assert!(p.owner.handle(OwnerEvent::ConfirmAuthcode, at(2), e).is_err(), "no way back");
}

#[test]
fn expired_qr_is_refused_and_a_new_one_is_fresh() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let first = p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap();
    assert!(first.contains(&PairingAction::SetTimer(at(30))), "default lifetime is 30 s");
    let (qr, nametag) = shown_qr(&first);
    let b = one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap()));
    let late = p.owner.handle(OwnerEvent::Message(&b), at(30), e).unwrap();
    assert_eq!(late, vec![PairingAction::Aborted(AbortReason::QrExpired)]);
    let (qr2, nametag2) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(31), e).unwrap());
    let (old, new) = (PairingQr::parse(&qr).unwrap(), PairingQr::parse(&qr2).unwrap());
    assert_ne!(old.ephemeral_key(), new.ephemeral_key());
    assert_ne!(old.commitment(), new.commitment());
    assert_ne!(nametag, nametag2);
    assert_eq!(
        p.owner.handle(OwnerEvent::Message(&b), at(32), e),
        Err(PairingError::UnexpectedNametag),
        "old QR's message"
    );
    let timed_out = p.owner.handle(OwnerEvent::Tick, at(61), e).unwrap();
    assert_eq!(timed_out, vec![PairingAction::Aborted(AbortReason::QrExpired)]);
}

#[test]
fn configurable_lifetime_and_handshake_timeout() {
    let mut entropy = SeededEntropy::from_u64(5);
    let config = PairingConfig::new(ContentTopicParams::js_default()).with_qr_lifetime(Duration::from_secs(5));
    let mut owner = QrOwner::new(config.clone(), KeyPair::generate(&mut entropy));
    let mut scanner = Scanner::new(config, KeyPair::generate(&mut entropy));
    let (qr, nametag) = shown_qr(&owner.handle(OwnerEvent::ExposeQr, at(0), &mut entropy).unwrap());
    assert_eq!(owner.handle(OwnerEvent::Tick, at(4), &mut entropy), Ok(vec![]));
    let b = one(published(&scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(4), &mut entropy).unwrap()));
    assert!(owner.handle(OwnerEvent::Message(&b), at(4), &mut entropy).is_ok(), "within 5 s");
    let late = scanner.handle(ScannerEvent::ConfirmAuthcode, at(4 + 60), &mut entropy).unwrap();
    assert_eq!(late, vec![PairingAction::Aborted(AbortReason::TimedOut)]);
}

#[test]
fn wrong_application_or_version_aborts_the_scanner() {
    let mut entropy = SeededEntropy::from_u64(6);
    let other = PairingConfig::new(ContentTopicParams::new("other-app", "0.1", "10").unwrap());
    let mut owner = QrOwner::new(other, KeyPair::generate(&mut entropy));
    let mut scanner =
        Scanner::new(PairingConfig::new(ContentTopicParams::js_default()), KeyPair::generate(&mut entropy));
    let (qr, nametag) = shown_qr(&owner.handle(OwnerEvent::ExposeQr, at(0), &mut entropy).unwrap());
    let actions = scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(0), &mut entropy).unwrap();
    assert!(matches!(actions.as_slice(), [PairingAction::Aborted(AbortReason::WrongApplication { .. })]));
    assert!(published(&actions).is_empty(), "nothing is sent for a foreign QR");
    assert_eq!(
        scanner.handle(ScannerEvent::Scan { qr: "garbage", nametag }, at(0), &mut entropy),
        Err(PairingError::Qr(QrError::FieldCount(1)))
    );
}

#[test]
fn a_small_order_key_in_the_qr_aborts_with_invalid_key() {
    let mut entropy = SeededEntropy::from_u64(7);
    let config = PairingConfig::new(ContentTopicParams::js_default());
    let mut scanner = Scanner::new(config, KeyPair::generate(&mut entropy));
    let qr = PairingQr::new(
        ContentTopicParams::js_default(),
        crate::crypto::PublicKey::from_bytes([0; 32]),
        Commitment::from_bytes([1; 32]),
    );
    let actions = scanner
        .handle(ScannerEvent::Scan { qr: &qr.to_string(), nametag: MessageNametag([3; 16]) }, at(0), &mut entropy)
        .unwrap();
    assert_eq!(actions, vec![PairingAction::Aborted(AbortReason::InvalidKey)]);
}

#[test]
fn a_front_running_attacker_makes_the_authcodes_differ_and_cannot_finish() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    // The attacker saw the QR and its nametag and sends its own message b first, with its own key.
    let mut mallory = Scanner::new(PairingConfig::new(ContentTopicParams::js_default()), KeyPair::generate(e));
    let forged = mallory.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap();
    let owner_code = authcode(&p.owner.handle(OwnerEvent::Message(&one(published(&forged))), at(1), e).unwrap());
    let scanned = p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap();
    let genuine_b = one(published(&scanned));
    assert_eq!(p.owner.handle(OwnerEvent::Message(&genuine_b), at(1), e), Err(PairingError::UnexpectedNametag));
    assert_ne!(owner_code, authcode(&scanned), "the users see different codes");
    // Even if the owner's user confirms by mistake, the genuine scanner cannot accept message c.
    let c = one(published(&p.owner.handle(OwnerEvent::ConfirmAuthcode, at(2), e).unwrap()));
    p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(2), e).unwrap();
    let before = p.scanner.state().clone();
    assert_eq!(p.scanner.handle(ScannerEvent::Message(&c), at(3), e), Err(PairingError::UnexpectedNametag));
    assert_eq!(p.scanner.state(), &before);
}

#[test]
fn a_swapped_qr_commitment_is_detected_before_any_static_key_leaves() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    let genuine = PairingQr::parse(&qr).unwrap();
    let swapped = PairingQr::new(genuine.params().clone(), *genuine.ephemeral_key(), Commitment::from_bytes([9; 32]));
    let b =
        one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &swapped.to_string(), nametag }, at(1), e).unwrap()));
    let before = p.owner.state().clone();
    assert!(
        matches!(p.owner.handle(OwnerEvent::Message(&b), at(1), e), Err(PairingError::Noise(_))),
        "the prologue differs"
    );
    assert_eq!(p.owner.state(), &before);
}

/// The spec's attack with a compromised QR ephemeral key: Mallory completes message b's handshake
/// state like the owner would, then sends her own static key in message c. The scanner's
/// commitment check against the QR catches it before the scanner reveals its own static key.
#[test]
fn a_substituted_static_key_fails_the_commitment_check() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let exposed = p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap();
    let (qr, nametag) = shown_qr(&exposed);
    let PairingState::ShowingQr(exposure) = p.owner.state().clone() else { panic!("showing") };
    let b = one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap()));
    let mut mallory = Handshake::new(
        HandshakeConfig::new(crate::noise::HandshakePattern::WakuPairing, Role::Responder)
            .prologue(qr.as_bytes())
            .local_static(KeyPair::generate(e))
            .local_ephemeral(exposure.ephemeral_for_tests().clone()),
    )
    .unwrap();
    let payload_b = PayloadV2::decode(b.noise_payload().unwrap()).unwrap();
    mallory.read_message(&payload_b, &nametag).unwrap();
    let tag = mallory.next_hkdf_nametag();
    let forged_c = mallory.write_message(e, &[5; 32], &tag).unwrap();
    let topic = ContentTopicParams::js_default().content_topic().to_owned();
    let c = WakuMessage::noise(forged_c.encode().unwrap(), topic, 0, true);
    p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(2), e).unwrap();
    let result = p.scanner.handle(ScannerEvent::Message(&c), at(2), e).unwrap();
    assert_eq!(result, vec![PairingAction::Aborted(AbortReason::CommitmentMismatch)]);
    assert!(published(&result).is_empty(), "message d (our static key) is never sent");
}

#[test]
fn exported_session_round_trips_and_continues_the_channel() {
    let mut p = run(Variant::Standard);
    let e = &mut p.entropy;
    let first = one(published(&p.scanner.handle(ScannerEvent::Send(b"one"), at(6), e).unwrap()));
    p.owner.handle(OwnerEvent::Message(&first), at(6), e).unwrap();
    let exported = p.owner.session_mut().unwrap().export();
    assert_eq!(exported.as_bytes().len(), EXPORTED_SESSION_LEN);
    assert_eq!(format!("{exported:?}"), "ExportedSession(<redacted>)");
    // Transfer the session over the paired channel itself, then import it on "another device".
    let carried = one(published(&p.owner.handle(OwnerEvent::Send(exported.as_bytes()), at(7), e).unwrap()));
    let received = p.scanner.handle(ScannerEvent::Message(&carried), at(7), e).unwrap();
    let [PairingAction::Received(bytes)] = received.as_slice() else { panic!("{received:?}") };
    let imported = ExportedSession::from_slice(bytes).unwrap();
    assert_eq!(&imported, &exported);
    let original = p.owner.session_mut().unwrap().transport().clone();
    let mut copy = imported.to_transport(Role::Responder, original.remote_static().copied());
    // The original sent one message (the export itself) after exporting; the copy resumes where the
    // export was taken, so its next message uses the nametag and nonce the original used then.
    assert_eq!(copy.sent() + 1, original.sent());
    let second = one(published(&p.scanner.handle(ScannerEvent::Send(b"two"), at(8), e).unwrap()));
    assert_eq!(copy.read_message(second.noise_payload().unwrap()).unwrap(), b"two");
    assert_eq!(ExportedSession::from_slice(&[0; 175]), Err(ExportLengthError(175)));
}

#[test]
fn debug_output_redacts_secrets() {
    let p = run(Variant::Standard);
    let text = format!("{:?} {:?}", p.owner, p.scanner);
    let secret = hex::encode(p.owner.static_key_for_tests().secret().to_bytes());
    assert!(!text.contains(&secret), "static secret leaked");
    assert!(text.contains("<redacted>"));
}

#[test]
fn a_restart_after_a_deadline_announces_the_abort_then_starts_over() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap();
    let again = p.owner.handle(OwnerEvent::ExposeQr, at(40), e).unwrap();
    assert_eq!(again.first(), Some(&PairingAction::Aborted(AbortReason::QrExpired)));
    assert!(matches!(again.get(1), Some(PairingAction::ShowQr { expires_at, .. }) if *expires_at == at(70)));
    let (qr, nametag) = shown_qr(&again);
    p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(41), e).unwrap();
    let before = p.scanner.state().clone();
    let bad = p.scanner.handle(ScannerEvent::Scan { qr: "not a qr", nametag }, at(200), e);
    assert_eq!(bad, Err(PairingError::Qr(QrError::FieldCount(1))));
    assert_eq!(p.scanner.state(), &before, "a refused input changes nothing, not even the expiry");
    let rescan = p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(200), e).unwrap();
    assert_eq!(rescan.first(), Some(&PairingAction::Aborted(AbortReason::TimedOut)));
    assert_eq!(published(&rescan).len(), 1);
}

#[test]
fn a_shown_qr_does_not_print_its_secrets() {
    let mut p = pair(Variant::NoCamera);
    p.owner.handle(OwnerEvent::ExposeQr, at(0), &mut p.entropy).unwrap();
    let PairingState::ShowingQr(exposure) = p.owner.state().clone() else { panic!("showing") };
    let text = format!("{:?}", p.owner);
    assert!(!text.contains(&hex::encode(exposure.ephemeral_for_tests().secret().to_bytes())), "ephemeral secret");
    assert!(!text.contains(&hex::encode(exposure.nonce_for_tests().as_bytes())), "commitment nonce");
}

/// Device B's check: a message d whose payload does not open the commitment B received in
/// message b aborts B's side. (The forger here replays A's own handshake state, as someone who
/// compromised A's ephemeral key could, but opens with a different value.)
#[test]
fn a_message_d_that_does_not_open_message_b_commitment_aborts_the_owner() {
    let mut p = pair(Variant::Standard);
    let e = &mut p.entropy;
    let (qr, nametag) = shown_qr(&p.owner.handle(OwnerEvent::ExposeQr, at(0), e).unwrap());
    let b = one(published(&p.scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, at(1), e).unwrap()));
    p.owner.handle(OwnerEvent::Message(&b), at(1), e).unwrap();
    let c = one(published(&p.owner.handle(OwnerEvent::ConfirmAuthcode, at(2), e).unwrap()));
    p.scanner.handle(ScannerEvent::ConfirmAuthcode, at(2), e).unwrap();
    let PairingState::AwaitingPeerStatic(exchange) = p.scanner.state().clone() else { panic!("waiting for c") };
    let mut forger = exchange.handshake().clone();
    let tag_c = forger.next_hkdf_nametag();
    forger.read_message(&PayloadV2::decode(c.noise_payload().unwrap()).unwrap(), &tag_c).unwrap();
    let tag_d = forger.next_hkdf_nametag();
    let forged_d = forger.write_message(e, &[0; 32], &tag_d).unwrap();
    let topic = ContentTopicParams::js_default().content_topic().to_owned();
    let d = WakuMessage::noise(forged_d.encode().unwrap(), topic, 0, true);
    let result = p.owner.handle(OwnerEvent::Message(&d), at(3), e).unwrap();
    assert_eq!(result, vec![PairingAction::Aborted(AbortReason::CommitmentMismatch)]);
}
