//! Properties of the Noise layer over every pattern: payloads round-trip through handshakes and
//! transport; any mutated wire message is rejected without changing state; the tolerant receiver
//! delivers every message exactly once under loss, duplication and reordering within its window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use proptest::prelude::*;
use status_1to1::SeededEntropy;
use status_1to1::crypto::KeyPair;
use status_1to1::noise::nametag::{MAX_SKIPPED_NAMETAGS, NAMETAG_WINDOW};
use status_1to1::noise::{
    Handshake, HandshakeConfig, HandshakePattern, HandshakeStatus, MessageNametag, PayloadV2, Psk, Role, TransportState,
};

fn pattern() -> impl Strategy<Value = HandshakePattern> {
    proptest::sample::select(HandshakePattern::ALL.to_vec())
}

/// Both sides of `pattern`, configured with keys drawn from `seed`.
fn pair(pattern: HandshakePattern, seed: u64) -> [Handshake; 2] {
    let mut e = SeededEntropy::from_u64(seed);
    let (si, sr, er) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e), KeyPair::generate(&mut e));
    let psk = Psk::from_bytes([9; 32]);
    let base = |role| HandshakeConfig::new(pattern, role).prologue(b"properties".to_vec()).psk(psk.clone());
    // One pre-message ephemeral serves both pairing patterns: WakuPairing's `<- e` is the
    // responder's, WakuPairing2's `-> e` the initiator's; an unused one is never read.
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
    [Handshake::new(init).expect("initiator"), Handshake::new(resp).expect("responder")]
}

/// The side (0 initiator, 1 responder) that writes message `index`.
fn writer(pattern: HandshakePattern, index: usize) -> usize {
    match pattern.messages()[index].direction {
        status_1to1::noise::Direction::InitiatorToResponder => 0,
        status_1to1::noise::Direction::ResponderToInitiator => 1,
    }
}

fn nametag_for(hs: &Handshake, index: usize) -> MessageNametag {
    if index == 0 { MessageNametag([0x42; 16]) } else { hs.next_hkdf_nametag() }
}

/// Runs the handshake with `payloads`, returning the wires and the transport states.
fn complete(pattern: HandshakePattern, seed: u64, payloads: &[Vec<u8>]) -> (Vec<PayloadV2>, [TransportState; 2]) {
    let mut sides = pair(pattern, seed);
    let mut e = SeededEntropy::from_u64(seed ^ 0xffff);
    let mut wires = Vec::new();
    for i in 0..pattern.messages().len() {
        let w = writer(pattern, i);
        let tag = nametag_for(&sides[w], i);
        let msg = sides[w].write_message(&mut e, &payloads[i % payloads.len()], &tag).expect("write");
        let got = sides[1 - w].read_message(&msg, &tag).expect("read");
        assert_eq!(got, payloads[i % payloads.len()]);
        wires.push(msg);
    }
    let [a, b] = sides;
    (wires, [a.finalize().expect("complete"), b.finalize().expect("complete")])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn handshakes_and_transport_round_trip(
        pattern in pattern(),
        seed in any::<u64>(),
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 1..4),
        transport in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)), 0..30),
    ) {
        let (_, [mut a, mut b]) = complete(pattern, seed, &payloads);
        prop_assert_eq!(a.handshake_hash(), b.handshake_hash());
        for (from_a, plaintext) in transport {
            let (tx, rx) = if from_a { (&mut a, &mut b) } else { (&mut b, &mut a) };
            let wire = tx.write_message(&plaintext).expect("write");
            prop_assert_eq!(wire.len(), TransportState::wire_len(plaintext.len()));
            prop_assert_eq!(rx.read_message(&wire).expect("read"), plaintext);
        }
    }

    #[test]
    fn a_mutated_handshake_message_fails_now_or_at_the_next_read(
        pattern in pattern(),
        seed in any::<u64>(),
        which in 0usize..4,
        position in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let which = which % pattern.messages().len();
        let mut sides = pair(pattern, seed);
        let mut e = SeededEntropy::from_u64(seed);
        // Play honestly up to message `which`.
        for i in 0..which {
            let w = writer(pattern, i);
            let tag = nametag_for(&sides[w], i);
            let msg = sides[w].write_message(&mut e, b"hi", &tag).expect("write");
            sides[1 - w].read_message(&msg, &tag).expect("read");
        }
        let w = writer(pattern, which);
        let tag = nametag_for(&sides[w], which);
        let honest = sides[w].write_message(&mut e, b"payload", &tag).expect("write");
        let mut bytes = honest.encode().expect("encode");
        let at = position.index(bytes.len());
        bytes[at] ^= flip;
        let reader_before = sides[1 - w].clone();
        let Ok(mutated) = PayloadV2::decode(&bytes) else { return Ok(()) }; // refused by the parser
        match sides[1 - w].read_message(&mutated, &tag) {
            Err(_) => prop_assert_eq!(&sides[1 - w], &reader_before, "a failed read changed the state"),
            Ok(_) => {
                // Only a payload sent before any key is unauthenticated; the next message that
                // flows the other way fails.
                let next = (which + 1..pattern.messages().len()).find(|&i| writer(pattern, i) != w);
                let Some(next) = next else { return Err(TestCaseError::fail("the last message was accepted mutated")) };
                for i in which + 1..next {
                    let tag = nametag_for(&sides[w], i);
                    let m = sides[w].write_message(&mut e, b"more", &tag).expect("write");
                    sides[1 - w].read_message(&m, &tag).expect("read");
                }
                let r = writer(pattern, next);
                let next_tag = nametag_for(&sides[r], next);
                let reply = sides[r].write_message(&mut e, b"reply", &next_tag).expect("write");
                prop_assert!(sides[1 - r].read_message(&reply, &next_tag).is_err(), "the mutation went unnoticed");
            }
        }
    }

    #[test]
    fn a_mutated_transport_message_is_rejected_without_state_change(
        pattern in pattern(),
        seed in any::<u64>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        position in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let (_, [mut a, mut b]) = complete(pattern, seed, &[b"x".to_vec()]);
        let mut wire = a.write_message(&plaintext).expect("write");
        let at = position.index(wire.len());
        wire[at] ^= flip;
        let before = b.clone();
        prop_assert!(b.read_message(&wire).is_err());
        prop_assert_eq!(&b, &before);
    }

    #[test]
    fn skip_ahead_delivers_each_surviving_message_exactly_once(
        seed in any::<u64>(),
        count in 1usize..120,
        drops in proptest::collection::vec(any::<bool>(), 120),
        swaps in proptest::collection::vec((0usize..120, 1usize..NAMETAG_WINDOW), 0..40),
        duplicates in proptest::collection::vec(0usize..120, 0..10),
    ) {
        let (_, [mut a, mut b]) = complete(HandshakePattern::XX, seed, &[vec![]]);
        let sent: Vec<(usize, Vec<u8>)> = (0..count).map(|i| (i, a.write_message(&i.to_le_bytes()).expect("write"))).collect();
        // Reorder by bounded swaps, drop some, duplicate some.
        let mut order: Vec<usize> = (0..count).collect();
        for (i, d) in swaps {
            let (i, j) = (i % count, (i % count + d).min(count - 1));
            order.swap(i, j);
        }
        let mut schedule: Vec<usize> = order.into_iter().filter(|i| !drops[*i]).collect();
        for d in duplicates {
            if let Some(&m) = schedule.get(d % schedule.len().max(1)) { schedule.push(m); }
        }
        let mut model = WindowModel::default();
        let mut delivered = 0;
        for i in schedule {
            let expected = model.accepts(i as u64);
            match b.read_message(&sent[i].1) {
                Ok(plain) => {
                    prop_assert!(expected, "message {} accepted but the model refuses it", i);
                    prop_assert_eq!(plain, i.to_le_bytes().to_vec());
                    delivered += 1;
                }
                Err(_) => prop_assert!(!expected, "message {} refused but the model accepts it", i),
            }
        }
        prop_assert_eq!(delivered, model.delivered.len());
    }
}

/// A reference model of the tolerant receiver: a window of `NAMETAG_WINDOW` upcoming indexes
/// and the last `MAX_SKIPPED_NAMETAGS` skipped ones; everything else (replays, too far ahead,
/// skipped too long ago) is refused.
#[derive(Default)]
struct WindowModel {
    next: u64,
    skipped: std::collections::VecDeque<u64>,
    delivered: std::collections::BTreeSet<u64>,
}

impl WindowModel {
    fn accepts(&mut self, i: u64) -> bool {
        if self.delivered.contains(&i) {
            return false;
        }
        if (self.next..self.next + NAMETAG_WINDOW as u64).contains(&i) {
            for s in self.next..i {
                if self.skipped.len() == MAX_SKIPPED_NAMETAGS {
                    self.skipped.pop_front();
                }
                self.skipped.push_back(s);
            }
            self.next = i + 1;
        } else if let Some(pos) = self.skipped.iter().position(|&s| s == i) {
            self.skipped.remove(pos);
        } else {
            return false;
        }
        self.delivered.insert(i)
    }
}

#[test]
fn strict_policy_behaves_like_js_noise() {
    use status_1to1::noise::{NoiseError, ReceivePolicy};
    let (_, [mut a, b]) = complete(HandshakePattern::XX, 1, &[vec![]]);
    let mut b = b.with_policy(ReceivePolicy::Strict);
    let m0 = a.write_message(b"m0").expect("write");
    let m1 = a.write_message(b"m1").expect("write");
    assert_eq!(b.read_message(&m1), Err(NoiseError::NametagAhead { position: 1 }));
    assert_eq!(b.read_message(&m0).expect("m0"), b"m0");
    assert_eq!(b.read_message(&m1).expect("m1"), b"m1");
    assert_eq!(b.read_message(&m1), Err(NoiseError::NametagNotFound));
}

#[test]
fn turn_order_and_completion_are_enforced() {
    use status_1to1::noise::NoiseError;
    let [mut init, mut resp] = pair(HandshakePattern::XX, 3);
    let mut e = SeededEntropy::from_u64(3);
    let tag = MessageNametag([1; 16]);
    assert!(matches!(
        resp.write_message(&mut e, b"", &tag),
        Err(NoiseError::WrongTurn { status: HandshakeStatus::ReadNext })
    ));
    let msg = init.write_message(&mut e, b"", &tag).expect("write");
    assert!(matches!(
        init.write_message(&mut e, b"", &tag),
        Err(NoiseError::WrongTurn { status: HandshakeStatus::ReadNext })
    ));
    let before_echo = init.clone();
    assert!(init.read_message(&msg, &tag).is_err(), "our own echoed message is refused");
    assert_eq!(init, before_echo);
    assert_eq!(init.clone().finalize().err(), Some(NoiseError::HandshakeNotComplete));
    resp.read_message(&msg, &tag).expect("read");
    let before = resp.clone();
    assert!(resp.read_message(&msg, &tag).is_err(), "a replayed first message is refused");
    assert_eq!(resp, before);
}

#[test]
fn missing_keys_are_reported_before_the_first_message() {
    use status_1to1::noise::{NoiseError, Role};
    let no_static = HandshakeConfig::new(HandshakePattern::XX, Role::Initiator);
    assert_eq!(Handshake::new(no_static).err(), Some(NoiseError::MissingKey("local static")));
    let mut e = SeededEntropy::from_u64(1);
    let no_psk =
        HandshakeConfig::new(HandshakePattern::XXpsk0, Role::Initiator).local_static(KeyPair::generate(&mut e));
    assert_eq!(Handshake::new(no_psk).err(), Some(NoiseError::MissingKey("pre-shared key")));
    let no_remote =
        HandshakeConfig::new(HandshakePattern::XK1, Role::Initiator).local_static(KeyPair::generate(&mut e));
    assert_eq!(Handshake::new(no_remote).err(), Some(NoiseError::MissingKey("remote static")));
}

#[test]
fn states_survive_serde_exactly() {
    let [init, _] = pair(HandshakePattern::WakuPairing, 5);
    let json = serde_json::to_string(&init).expect("serialize");
    let back: Handshake = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, init);
    let (_, [t, _]) = complete(HandshakePattern::XK1, 5, &[vec![1]]);
    let json = serde_json::to_string(&t).expect("serialize");
    let back: TransportState = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, t);
}
