//! Noise handshakes (all six patterns, both roles) and transport, driven by structured sequences
//! of honest, mutated, replayed and made-up messages.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use status_1to1::SeededEntropy;
use status_1to1::crypto::KeyPair;
use status_1to1::noise::{
    Handshake, HandshakeConfig, HandshakePattern, HandshakeStatus, MessageNametag, PayloadV2, Psk, Role, TransportState,
};

use super::{backend_index, null_crypto, xor_at};

/// The nametag of the first handshake message (out of band in WakuPairing; fixed here).
const FIRST_NAMETAG: MessageNametag = MessageNametag([0x42; 16]);

/// Both sides of a handshake with fixed keys, as a fuzzer's starting point.
fn handshake_pair(pattern: HandshakePattern) -> [Handshake; 2] {
    let mut e = SeededEntropy::from_u64(7);
    let (si, sr, er) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e), KeyPair::generate(&mut e));
    let base = |role| HandshakeConfig::new(pattern, role).prologue(b"fuzz".to_vec()).psk(Psk::from_bytes([1; 32]));
    // One pre-message ephemeral serves both pairing patterns (an unused one is never read).
    let init = base(Role::Initiator)
        .local_static(si.clone())
        .remote_static(*sr.public())
        .local_ephemeral(er.clone())
        .remote_ephemeral(*er.public());
    let resp = base(Role::Responder)
        .local_static(sr)
        .remote_static(*si.public())
        .local_ephemeral(er.clone())
        .remote_ephemeral(*er.public());
    match (Handshake::new(init), Handshake::new(resp)) {
        (Ok(a), Ok(b)) => [a, b],
        _ => unreachable!("fixed configurations are complete"),
    }
}

/// The nametag a side expects on (or writes on) its next handshake message.
fn expected_nametag(hs: &Handshake) -> MessageNametag {
    if hs.message_index() == 0 { FIRST_NAMETAG } else { hs.next_hkdf_nametag() }
}

#[derive(Debug, Arbitrary)]
enum HandshakeOp {
    /// The side whose turn it is writes a message with this payload (kept for later delivery).
    Write { payload: Vec<u8> },
    /// Delivers a written message to its reader, with `mask` XORed into its bytes from `at`.
    Deliver { index: u8, at: u16, mask: Vec<u8> },
    /// Feeds made-up bytes to a side, as a PayloadV2 (re-tagged with the nametag it expects if
    /// `expected_tag`).
    Inject { to_initiator: bool, expected_tag: bool, bytes: Vec<u8> },
}

/// A written message: its reader (0 initiator, 1 responder), its position in the pattern, its
/// bytes and its payload.
struct Sent {
    reader: usize,
    index: usize,
    bytes: Vec<u8>,
    payload: Vec<u8>,
}

/// Noise handshakes: the first byte picks one of the six patterns, the rest is a sequence of
/// writes, deliveries (genuine, mutated, replayed, out of turn) and injections to either side.
/// Invariants: a refused message leaves the reader exactly as it was; a side whose turn it is
/// always manages to write; a genuine message delivered in order is accepted with its payload;
/// with real crypto, when both sides complete they hold the same handshake hash and their
/// transport states talk to each other.
pub fn noise_handshake(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.arbitrary::<u8>() else { return };
    let pattern = HandshakePattern::ALL[usize::from(selector) % HandshakePattern::ALL.len()];
    let mut sides = handshake_pair(pattern);
    let mut entropy = SeededEntropy::from_u64(u64::from(selector));
    let mut sent: Vec<Sent> = Vec::new();
    // Whether the transcripts may differ: some accepted message was not the genuine next one.
    let mut diverged = false;
    let mut ops = 0;
    // Stop at the end of the input (`arbitrary` would go on producing default values).
    while !u.is_empty() {
        let Ok(op) = u.arbitrary::<HandshakeOp>() else { break };
        ops += 1;
        if ops > 24 {
            break;
        }
        match op {
            HandshakeOp::Write { payload } => {
                let Some(w) = (0..2).find(|&i| sides[i].status() == HandshakeStatus::WriteNext) else { continue };
                let tag = expected_nametag(&sides[w]);
                let index = sides[w].message_index();
                let before = sides[w].clone();
                match sides[w].write_message(&mut entropy, &payload, &tag) {
                    Ok(message) => {
                        let bytes = message.encode().expect("a written message encodes");
                        sent.push(Sent { reader: 1 - w, index, bytes, payload });
                    }
                    Err(e) => {
                        assert!(sides[w] == before, "a refused write changed the state");
                        assert!(payload.len() > 60_000, "an honest write failed: {e}");
                    }
                }
            }
            HandshakeOp::Deliver { index, at, mask } => {
                let Some(message) = sent.get(usize::from(index) % sent.len().max(1)) else { continue };
                let mut bytes = message.bytes.clone();
                let mutated = xor_at(&mut bytes, usize::from(at), &mask);
                let genuine_next = !mutated
                    && !diverged
                    && sides[message.reader].status() == HandshakeStatus::ReadNext
                    && sides[message.reader].message_index() == message.index;
                let payload = message.payload.clone();
                let reader = message.reader;
                let accepted = read(&mut sides[reader], &bytes);
                if genuine_next {
                    assert_eq!(accepted.as_deref(), Some(payload.as_slice()), "a genuine message in order was refused");
                } else if accepted.is_some() && mutated {
                    diverged = true;
                }
            }
            HandshakeOp::Inject { to_initiator, expected_tag, mut bytes } => {
                let reader = if to_initiator { 0 } else { 1 };
                if expected_tag && bytes.len() >= 16 {
                    bytes[..16].copy_from_slice(&expected_nametag(&sides[reader]).0);
                }
                if read(&mut sides[reader], &bytes).is_some() {
                    diverged = true;
                }
            }
        }
    }
    if sides.iter().all(|s| s.status() == HandshakeStatus::Complete) && !null_crypto() {
        assert_eq!(sides[0].handshake_hash(), sides[1].handshake_hash(), "both sides completed different handshakes");
        let [a, b] = sides;
        let (Ok(mut a), Ok(mut b)) = (a.finalize(), b.finalize()) else { panic!("a complete handshake finalizes") };
        let pair = [&mut a, &mut b];
        for from in 0..2 {
            let message = pair[from].write_message(b"after the handshake").expect("transport write");
            assert_eq!(pair[1 - from].read_message(&message).as_deref(), Ok(&b"after the handshake"[..]));
        }
    }
}

/// One handshake read with the reader's expected nametag; a refusal must change nothing.
fn read(reader: &mut Handshake, bytes: &[u8]) -> Option<Vec<u8>> {
    let message = PayloadV2::decode(bytes).ok()?;
    let before = reader.clone();
    match reader.read_message(&message, &expected_nametag(reader)) {
        Ok(payload) => Some(payload),
        Err(_) => {
            assert!(*reader == before, "a refused handshake message changed the state");
            None
        }
    }
}

/// A completed XX handshake's transport states, built once per backend.
fn transport_pair() -> [TransportState; 2] {
    static PAIRS: [OnceLock<[TransportState; 2]>; 2] = [OnceLock::new(), OnceLock::new()];
    PAIRS[backend_index()]
        .get_or_init(|| {
            let [mut a, mut b] = handshake_pair(HandshakePattern::XX);
            let mut entropy = SeededEntropy::from_u64(1);
            for i in 0..3 {
                let (writer, reader) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
                let tag = expected_nametag(writer);
                let msg = writer.write_message(&mut entropy, b"", &tag).expect("honest write");
                reader.read_message(&msg, &tag).expect("honest read");
            }
            [a.finalize().expect("complete"), b.finalize().expect("complete")]
        })
        .clone()
}

#[derive(Debug, Arbitrary)]
enum TransportOp {
    /// A side writes a message.
    Send { from_initiator: bool, payload: Vec<u8> },
    /// A written message is delivered (maybe again, maybe late) with `mask` XORed in from `at`.
    Deliver { index: u8, at: u16, mask: Vec<u8> },
    /// Made-up bytes to a side (re-tagged with one of its expected nametags if `tag` is set).
    Inject { to_initiator: bool, tag: Option<u8>, bytes: Vec<u8> },
}

/// Noise transport: an established XX session, then sends, deliveries in any order (genuine,
/// mutated, replayed) and made-up messages in both directions. Invariants: nothing panics; a
/// refused message changes nothing; a genuine message is accepted at most once and yields its
/// plaintext; with real crypto a mutated or made-up message is never accepted.
pub fn noise_transport(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut sides = transport_pair();
    // (reader, bytes, plaintext, delivered)
    let mut sent: Vec<(usize, Vec<u8>, Vec<u8>, bool)> = Vec::new();
    let mut ops = 0;
    // Stop at the end of the input (`arbitrary` would go on producing default values).
    while !u.is_empty() {
        let Ok(op) = u.arbitrary::<TransportOp>() else { break };
        ops += 1;
        if ops > 48 {
            break;
        }
        match op {
            TransportOp::Send { from_initiator, payload } => {
                let w = if from_initiator { 0 } else { 1 };
                let before = sides[w].clone();
                match sides[w].write_message(&payload) {
                    Ok(bytes) => sent.push((1 - w, bytes, payload, false)),
                    Err(_) => assert!(sides[w] == before, "a refused write changed the state"),
                }
            }
            TransportOp::Deliver { index, at, mask } => {
                let len = sent.len();
                let Some((reader, bytes, plaintext, delivered)) = sent.get_mut(usize::from(index) % len.max(1)) else {
                    continue;
                };
                let mut bytes = bytes.clone();
                let mutated = xor_at(&mut bytes, usize::from(at), &mask);
                let before = sides[*reader].clone();
                match sides[*reader].read_message(&bytes) {
                    Ok(plain) => {
                        if !null_crypto() {
                            assert!(!mutated, "a mutated transport message was accepted");
                            assert_eq!(&plain, plaintext);
                            assert!(!*delivered, "a transport message was accepted twice");
                        }
                        *delivered = true;
                    }
                    Err(_) => assert!(sides[*reader] == before, "a refused transport message changed the state"),
                }
            }
            TransportOp::Inject { to_initiator, tag, mut bytes } => {
                let r = if to_initiator { 0 } else { 1 };
                if let Some(k) = tag
                    && bytes.len() >= 16
                {
                    let window: Vec<MessageNametag> = sides[r].inbound_nametags().window().copied().collect();
                    if let Some(t) = window.get(usize::from(k) % window.len().max(1)) {
                        bytes[..16].copy_from_slice(&t.0);
                    }
                }
                let before = sides[r].clone();
                match sides[r].read_message(&bytes) {
                    Ok(_) => assert!(
                        null_crypto() || sent.iter().any(|(reader, b, _, _)| *reader == r && *b == bytes),
                        "a made-up transport message was accepted"
                    ),
                    Err(_) => assert!(sides[r] == before, "a refused transport message changed the state"),
                }
            }
        }
    }
}
