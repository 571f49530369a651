//! Fuzz target bodies, shared by the cargo-fuzz binaries in `fuzz/` and by the property tests and
//! regression replays that run them under plain `cargo test`. Each body panics (through an
//! assertion) only when an invariant breaks: the input itself may be anything.

use status_1to1::SeededEntropy;
use status_1to1::crypto::KeyPair;
use status_1to1::noise::{
    Handshake, HandshakeConfig, HandshakePattern, MessageNametag, PayloadV2, PayloadV2Ref, Psk, Role, TransportState,
};

/// PayloadV2: the parser never panics; what it accepts re-encodes to exactly the input, and the
/// borrowed and owned parsers agree.
pub fn payload_v2(data: &[u8]) {
    let borrowed = PayloadV2Ref::parse(data);
    let owned = PayloadV2::decode(data);
    assert_eq!(borrowed.map(|p| p.to_owned()), owned.clone());
    if let Ok(p) = owned {
        assert_eq!(p.encode().as_deref(), Ok(data), "accepted input must be canonical");
    }
}

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

/// The side (0 initiator, 1 responder) that writes message `index` of `pattern`.
fn writer(pattern: HandshakePattern, index: usize) -> usize {
    match pattern.messages().get(index).map(|m| m.direction) {
        Some(status_1to1::noise::Direction::ResponderToInitiator) => 1,
        _ => 0,
    }
}

fn nametag(hs: &Handshake, index: usize) -> MessageNametag {
    if index == 0 { MessageNametag([0x42; 16]) } else { hs.next_hkdf_nametag() }
}

/// Noise handshakes: the first byte picks a pattern and a step; the reader of that step is fed
/// the rest as a PayloadV2 (under the expected nametag, so parsing and tokens are reached). It
/// must never panic, and a refused message must leave the state exactly as it was.
pub fn noise_handshake(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let pattern = HandshakePattern::ALL[usize::from(selector) % HandshakePattern::ALL.len()];
    let step = usize::from(selector / 8) % pattern.messages().len();
    let mut sides = handshake_pair(pattern);
    let mut entropy = SeededEntropy::from_u64(u64::from(selector));
    for i in 0..step {
        let w = writer(pattern, i);
        let tag = nametag(&sides[w], i);
        let Ok(msg) = sides[w].write_message(&mut entropy, b"fuzz", &tag) else { unreachable!("honest write") };
        if sides[1 - w].read_message(&msg, &tag).is_err() {
            unreachable!("honest read");
        }
    }
    let reader = 1 - writer(pattern, step);
    let tag = nametag(&sides[reader], step);
    let mut bytes = tag.0.to_vec();
    bytes.extend_from_slice(rest);
    if let Ok(message) = PayloadV2::decode(&bytes) {
        let before = sides[reader].clone();
        if sides[reader].read_message(&message, &tag).is_err() {
            assert!(sides[reader] == before, "a refused handshake message changed the state");
        }
    }
}

/// Noise transport: an established session reads arbitrary bytes (and, if the first byte is odd,
/// a genuine message with the input XORed in). Nothing panics; a refused message changes nothing.
pub fn noise_transport(data: &[u8]) {
    let [mut a, mut b] = handshake_pair(HandshakePattern::XX);
    let mut entropy = SeededEntropy::from_u64(1);
    for i in 0..3 {
        let w = i % 2;
        let tag = nametag([&a, &b][w], i);
        let (writer, reader) = if w == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        let Ok(msg) = writer.write_message(&mut entropy, b"", &tag) else { unreachable!("honest write") };
        if reader.read_message(&msg, &tag).is_err() {
            unreachable!("honest read");
        }
    }
    let (Ok(mut a), Ok(mut b)): (Result<TransportState, _>, Result<TransportState, _>) = (a.finalize(), b.finalize())
    else {
        unreachable!("complete")
    };
    let input = match data.first() {
        Some(first) if first % 2 == 1 => {
            let Ok(mut genuine) = a.write_message(b"genuine message") else { unreachable!("honest write") };
            for (g, d) in genuine.iter_mut().zip(&data[1..]) {
                *g ^= d;
            }
            genuine
        }
        _ => data.to_vec(),
    };
    let before = b.clone();
    match b.read_message(&input) {
        Ok(plain) => assert!(
            data.first().is_some_and(|f| f % 2 == 1)
                && data[1..].iter().all(|&d| d == 0)
                && plain == b"genuine message"
        ),
        Err(_) => assert!(b == before, "a refused transport message changed the state"),
    }
}
