//! The Noise layer at the end of its counters: `MAX_NONCE` on reads as on writes, nametag and
//! topic arithmetic near `u64::MAX`, and sessions imported with extreme counters (profile §1.1,
//! §1.6, §4.4). Every refusal is a typed error that leaves the state as it was.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use status_1to1::crypto::chachapoly::{CipherKey, noise_nonce};
use status_1to1::noise::padding::pad_into;
use status_1to1::noise::sessions::{NoiseSession, TopicPolicy};
use status_1to1::noise::symmetric::MAX_NONCE;
use status_1to1::noise::{InboundNametags, NametagSecret, NoiseError, PayloadV2, ProtocolId, Role, TransportState};
use status_1to1::pairing::export::ExportedSession;
use status_1to1::time::Timestamp;

const KEY: [u8; 32] = [0x11; 32];
const NAMETAGS: [u8; 32] = [0x22; 32];
const HASH: [u8; 32] = [0x33; 32];

/// A transport message numbered `index` under `KEY` and `NAMETAGS`, built from the primitives
/// alone (nametag #i, nonce i, PKCS#7, AD = nametag), as a writer without our `MAX_NONCE` would.
fn message_at(index: u64, plaintext: &[u8]) -> Vec<u8> {
    let nametag = NametagSecret::from_bytes(NAMETAGS).nametag(index);
    let mut body = Vec::new();
    pad_into(plaintext, &mut body);
    let tag = CipherKey::from_bytes(KEY).seal_in_place(&noise_nonce(index), nametag.as_bytes(), &mut body);
    body.extend_from_slice(&tag);
    let payload = PayloadV2 {
        message_nametag: nametag,
        protocol_id: ProtocolId::AfterHandshake,
        handshake_message: Vec::new(),
        transport_message: body,
    };
    payload.encode().unwrap()
}

/// One direction of a channel under `KEY` and `NAMETAGS`: `role` writes it when `outbound`.
fn side(role: Role) -> TransportState {
    let other = CipherKey::from_bytes([0x44; 32]);
    let (ours, theirs) = (CipherKey::from_bytes(KEY), NametagSecret::from_bytes(NAMETAGS));
    let unused = NametagSecret::from_bytes([0x55; 32]);
    match role {
        Role::Initiator => TransportState::from_parts(role, HASH, None, ours, other, theirs, unused),
        Role::Responder => TransportState::from_parts(role, HASH, None, other, ours, unused, theirs),
    }
}

#[test]
fn the_forged_messages_are_what_an_honest_writer_sends() {
    let mut writer = side(Role::Initiator).resumed_at(MAX_NONCE, 0);
    assert_eq!(writer.write_message(b"last").unwrap(), message_at(MAX_NONCE, b"last"));
    assert_eq!(writer.write_message(b"past"), Err(NoiseError::NonceExhausted));
    let mut reader = side(Role::Responder).resumed_at(0, MAX_NONCE);
    assert_eq!(reader.read_message(&message_at(MAX_NONCE, b"last")).unwrap(), b"last");
}

#[test]
fn reads_past_max_nonce_are_refused_without_changing_state() {
    // A peer without the js-noise limit (Noise allows 2^64 - 2) sends message MAX_NONCE + 1.
    let past = message_at(MAX_NONCE + 1, b"too far");
    for next in [MAX_NONCE + 1, MAX_NONCE - 3] {
        let mut reader = side(Role::Responder).resumed_at(0, next);
        let before = reader.clone();
        assert_eq!(reader.read_message(&past), Err(NoiseError::NonceExhausted), "reader at {next}");
        assert_eq!(reader, before);
    }
}

#[test]
fn the_nametag_window_ends_below_u64_max() {
    let secret = NametagSecret::from_bytes(NAMETAGS);
    let mut near_end = InboundNametags::starting_at(secret.clone(), u64::MAX - 2);
    let expected = [secret.nametag(u64::MAX - 2), secret.nametag(u64::MAX - 1)];
    assert!(near_end.window().eq(expected.iter()), "indexes u64::MAX - 2 and - 1 only, no repeats");
    near_end.skip(1);
    assert_eq!(near_end.next_index(), u64::MAX - 1);
    assert!(near_end.window().eq(expected[1..].iter()));
    near_end.skip(3);
    assert_eq!(near_end.next_index(), u64::MAX);
    assert_eq!(near_end.window().count(), 0, "no index past u64::MAX - 1 is ever expected");
    let at_end = InboundNametags::starting_at(secret, u64::MAX);
    assert_eq!(at_end.window().count(), 0);
}

#[test]
fn sessions_imported_with_extreme_counters_refuse_every_message() {
    for counter in [MAX_NONCE + 1, u64::MAX - 1, u64::MAX] {
        let mut bytes = *ExportedSession::from_transport(&side(Role::Responder)).as_bytes();
        bytes[64..72].copy_from_slice(&counter.to_le_bytes());
        bytes[136..144].copy_from_slice(&counter.to_le_bytes());
        let imported = ExportedSession::from_slice(&bytes).unwrap();
        let mut transport = imported.to_transport(Role::Responder, None);
        let before = transport.clone();
        assert_eq!(transport.write_message(b"x"), Err(NoiseError::NonceExhausted), "counter {counter}");
        let at_counter = message_at(counter, b"x");
        assert!(transport.read_message(&at_counter).is_err(), "counter {counter}");
        assert_eq!(transport, before);
        let rotating = TopicPolicy::RotatePerMessage { lookahead: 4 };
        let session = NoiseSession::new(transport, "status-1to1", "1", rotating, Timestamp::from_millis(0)).unwrap();
        assert_eq!(session.inbound_topics().len(), 1, "only the base topic: no readable index is left");
    }
}

#[test]
fn a_rotating_session_listens_only_on_readable_indexes() {
    let rotating = TopicPolicy::RotatePerMessage { lookahead: 4 };
    let transport = side(Role::Responder).resumed_at(0, MAX_NONCE - 1);
    let session = NoiseSession::new(transport, "status-1to1", "1", rotating, Timestamp::from_millis(0)).unwrap();
    assert_eq!(session.inbound_topics().len(), 3, "the base topic and those of MAX_NONCE - 1 and MAX_NONCE");
}
