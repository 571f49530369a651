//! The transition tables behind `docs/state-machines.md` checked against the code: each real
//! machine is driven through scripted and randomized runs (with forged, replayed, corrupted and
//! late inputs), every step it takes must be a row of its table and every row must be taken, and
//! every refused input must leave the machine as it was. Then the rendered diagrams are pinned
//! by insta snapshots and the document is regenerated and compared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use status_1to1::crypto::KeyPair;
use status_1to1::diagram::{self, Coverage, Machine, OUTSIDE};
use status_1to1::entropy::{Entropy, SeededEntropy};
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::noise::sessions::{self, NoiseSession, TopicPolicy, parse_public_termination};
use status_1to1::noise::{Handshake, HandshakeConfig, HandshakePattern, MessageNametag, PayloadV2, Psk, Role};
use status_1to1::pairing::{
    self, ContentTopicParams, OwnerEvent, PairingAction, PairingConfig, PairingQr, PairingState, QrOwner, Scanner,
    ScannerEvent, Variant,
};
use status_1to1::peer::delivery::{self, DeliveryConfig, Device, Outbox};
use status_1to1::peer::{Event, Frame, FrameBody, KeyExchange, MessageId, NoiseLink, PeerConfig, contacts};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1::x3dh::{self, EncryptedMessage, PrekeyStore, Session, VerifiedBundle};
use status_1to1::{noise, ratchet};

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// A uniform choice in `0..n` drawn from the run's entropy.
fn pick(e: &mut SeededEntropy, n: usize) -> usize {
    let mut b = [0u8; 4];
    e.fill(&mut b);
    u32::from_le_bytes(b) as usize % n
}

fn chance(e: &mut SeededEntropy, percent: usize) -> bool {
    pick(e, 100) < percent
}

fn assert_covered(coverage: &Coverage) {
    if let Err(problems) = coverage.check() {
        panic!("{problems}");
    }
}

// ---------------------------------------------------------------------------------------------
// Noise handshake

fn handshake_configs(pattern: HandshakePattern, e: &mut SeededEntropy) -> (HandshakeConfig, HandshakeConfig) {
    let (is, rs) = (KeyPair::generate(e), KeyPair::generate(e));
    let (ie, re) = (KeyPair::generate(e), KeyPair::generate(e));
    let psk = Psk::from_bytes([7; 32]);
    let mut i = HandshakeConfig::new(pattern, Role::Initiator)
        .prologue(b"p".to_vec())
        .local_static(is.clone())
        .psk(psk.clone());
    let mut r =
        HandshakeConfig::new(pattern, Role::Responder).prologue(b"p".to_vec()).local_static(rs.clone()).psk(psk);
    match pattern {
        HandshakePattern::K1K1 => {
            i = i.remote_static(*rs.public());
            r = r.remote_static(*is.public());
        }
        HandshakePattern::XK1 => i = i.remote_static(*rs.public()),
        HandshakePattern::WakuPairing => {
            r = r.local_ephemeral(re.clone());
            i = i.remote_ephemeral(*re.public());
        }
        HandshakePattern::WakuPairing2 => {
            i = i.local_ephemeral(ie.clone());
            r = r.remote_ephemeral(*ie.public());
        }
        _ => {}
    }
    (i, r)
}

/// Reads `message` into `reader`, first trying a corrupted copy and a wrong nametag (refused,
/// nothing changes), and records the step.
fn read_checked(c: &mut Coverage, reader: &mut Handshake, message: &PayloadV2, tag: &MessageNametag) {
    let before = reader.clone();
    let mut forged = message.clone();
    if let Some(last) = forged.transport_message.last_mut() {
        *last ^= 1;
    }
    assert!(reader.read_message(&forged, tag).is_err());
    assert!(reader.read_message(message, &MessageNametag([0xee; 16])).is_err());
    assert_eq!(*reader, before, "a refused read changes nothing");
    let from = reader.status().name();
    reader.read_message(message, tag).expect("genuine message reads");
    c.observe(from, "read_message", reader.status().name());
}

#[test]
fn noise_handshake_table_matches_every_pattern_and_role() {
    let mut c = Coverage::new(&noise::handshake::STATE_MACHINE);
    let mut e = SeededEntropy::from_u64(1);
    for pattern in HandshakePattern::ALL {
        let (ic, rc) = handshake_configs(pattern, &mut e);
        let mut sides = [Handshake::new(ic).unwrap(), Handshake::new(rc).unwrap()];
        for side in &sides {
            c.observe(OUTSIDE, "new", side.status().name());
        }
        while sides[0].status() != noise::HandshakeStatus::Complete {
            let w = usize::from(sides[0].status() != noise::HandshakeStatus::WriteNext);
            let before = sides[1 - w].clone();
            assert!(sides[1 - w].write_message(&mut e, b"x", &MessageNametag([1; 16])).is_err(), "not its turn");
            assert!(sides[1 - w].clone().finalize().is_err());
            assert_eq!(sides[1 - w], before);
            let tag = MessageNametag([pick(&mut e, 256) as u8; 16]);
            let from = sides[w].status().name();
            let message = sides[w].write_message(&mut e, b"payload", &tag).unwrap();
            c.observe(from, "write_message", sides[w].status().name());
            read_checked(&mut c, &mut sides[1 - w], &message, &tag);
        }
        for side in sides {
            assert_eq!(side.status(), noise::HandshakeStatus::Complete, "{pattern:?}");
            side.finalize().unwrap();
            c.observe("Complete", "finalize", "Transport");
        }
    }
    assert_covered(&c);
}

// ---------------------------------------------------------------------------------------------
// Noise sessions

fn session_pair(e: &mut SeededEntropy, policy: TopicPolicy) -> (NoiseSession, NoiseSession) {
    let (ic, rc) = handshake_configs(HandshakePattern::XK1, e);
    let (mut a, mut b) = (Handshake::new(ic).unwrap(), Handshake::new(rc).unwrap());
    for i in 0..3 {
        let tag = a.next_hkdf_nametag();
        let (w, r) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        let m = w.write_message(e, b"", &tag).unwrap();
        r.read_message(&m, &tag).unwrap();
    }
    let a = NoiseSession::new(a.finalize().unwrap(), "status-1to1", "1", policy, T0).unwrap();
    let b = NoiseSession::new(b.finalize().unwrap(), "status-1to1", "1", policy, T0).unwrap();
    let stale_after = Duration::from_secs(60);
    (a.with_stale_after(stale_after), b.with_stale_after(stale_after))
}

/// One random operation on session `me` of `sessions`, whose peer is the other one.
fn session_step(
    c: &mut Coverage,
    e: &mut SeededEntropy,
    sessions: &mut [NoiseSession; 2],
    inboxes: &mut [Vec<WakuMessage>; 2],
    now: &mut Timestamp,
) {
    let me = pick(e, 2);
    let before = sessions[me].clone();
    let from = before.state().name();
    let event = match pick(e, 13) {
        0..=3 => match sessions[me].send(&[pick(e, 256) as u8], *now) {
            Ok(m) => {
                inboxes[1 - me].push(m);
                "send"
            }
            Err(_) => {
                assert_eq!(sessions[me], before, "a refused send changes nothing");
                return;
            }
        },
        4..=7 => {
            let inbox = &mut inboxes[me];
            if inbox.is_empty() {
                return;
            }
            let i = pick(e, inbox.len());
            let mut m = if chance(e, 80) { inbox.remove(i) } else { inbox[i].clone() };
            if chance(e, 15)
                && let Some(byte) = m.payload.last_mut()
            {
                *byte ^= 1;
            }
            if sessions[me].receive(&m, *now).is_err() {
                assert_eq!(sessions[me], before, "a refused message changes nothing");
                return;
            }
            "receive"
        }
        8 => {
            if let Some(public) = sessions[me].terminate(chance(e, 50), *now) {
                let token = parse_public_termination(&public).expect("a termination message");
                let peer = sessions[1 - me].clone();
                let from = peer.state().name();
                sessions[1 - me].on_termination(&token, *now);
                c.observe(from, "on_termination", sessions[1 - me].state().name());
            }
            "terminate"
        }
        9 => {
            let token = if chance(e, 50) { sessions[1 - me].private_termination() } else { [pick(e, 256) as u8; 32] };
            sessions[me].on_termination(&token, *now);
            "on_termination"
        }
        10 => {
            *now = now.saturating_add(Duration::from_secs(if chance(e, 85) { 5 } else { 61 }));
            sessions[me].check_silence(*now);
            "check_silence"
        }
        11 => {
            if !chance(e, 20) {
                return;
            }
            let token = if chance(e, 50) { sessions[me].private_termination() } else { [pick(e, 256) as u8; 32] };
            let before = sessions[me].clone();
            if sessions[me].mark_stale_from_own_device(&token, *now).is_err() {
                assert_eq!(sessions[me], before, "a wrong token changes nothing");
            }
            "mark_stale_from_own_device"
        }
        _ => {
            if chance(e, 30) {
                // A burst nobody answers, as while the peer is away.
                for _ in 0..sessions::MAX_UNANSWERED {
                    let from = sessions[me].state().name();
                    let Ok(m) = sessions[me].send(b"unanswered", *now) else { break };
                    inboxes[1 - me].push(m);
                    c.observe(from, "send", sessions[me].state().name());
                }
            }
            let from = sessions[me].state().name();
            sessions[me].mark_unanswered(*now);
            c.observe(from, "mark_unanswered", sessions[me].state().name());
            return;
        }
    };
    c.observe(from, event, sessions[me].state().name());
}

#[test]
fn noise_session_table_matches_random_conversations() {
    let mut c = Coverage::new(&sessions::STATE_MACHINE);
    let mut e = SeededEntropy::from_u64(2);
    for run in 0..40 {
        let policy = if run % 2 == 0 { TopicPolicy::Fixed } else { TopicPolicy::RotatePerMessage { lookahead: 3 } };
        let (a, b) = session_pair(&mut e, policy);
        c.observe(OUTSIDE, "new", a.state().name());
        c.observe(OUTSIDE, "new", b.state().name());
        let mut sessions = [a, b];
        let mut inboxes = [Vec::new(), Vec::new()];
        let mut now = T0;
        for _ in 0..40 {
            session_step(&mut c, &mut e, &mut sessions, &mut inboxes, &mut now);
        }
    }
    assert_covered(&c);
}

// ---------------------------------------------------------------------------------------------
// Device pairing

struct Pairing {
    owner: QrOwner,
    scanner: Scanner,
    owner_cov: Coverage,
    scanner_cov: Coverage,
    to_owner: Vec<WakuMessage>,
    to_scanner: Vec<WakuMessage>,
    qr: Option<(String, MessageNametag)>,
    now: Timestamp,
    e: SeededEntropy,
}

fn published(actions: &[PairingAction]) -> impl Iterator<Item = WakuMessage> + '_ {
    actions.iter().filter_map(|a| if let PairingAction::Publish(m) = a { Some(m.clone()) } else { None })
}

impl Pairing {
    fn new(variant: Variant, seed: u64) -> Self {
        let mut e = SeededEntropy::from_u64(seed);
        let config = PairingConfig::new(ContentTopicParams::js_default()).with_variant(variant);
        let owner = QrOwner::new(config.clone(), KeyPair::generate(&mut e));
        let scanner = Scanner::new(config, KeyPair::generate(&mut e));
        let mut owner_cov = Coverage::new(&pairing::owner::STATE_MACHINE);
        let mut scanner_cov = Coverage::new(&pairing::scanner::STATE_MACHINE);
        owner_cov.observe(OUTSIDE, "new", owner.state().name());
        scanner_cov.observe(OUTSIDE, "new", scanner.state().name());
        let (to_owner, to_scanner, qr) = (Vec::new(), Vec::new(), None);
        Self { owner, scanner, owner_cov, scanner_cov, to_owner, to_scanner, qr, now: T0, e }
    }

    fn owner(&mut self, event: OwnerEvent<'_>) {
        let before = self.owner.clone();
        match self.owner.handle(event, self.now, &mut self.e) {
            Ok(actions) => {
                self.owner_cov.observe(before.state().name(), event.name(), self.owner.state().name());
                self.to_scanner.extend(published(&actions));
                for a in &actions {
                    if let PairingAction::ShowQr { qr, nametag, .. } = a {
                        self.qr = Some((qr.to_string(), *nametag));
                    }
                }
            }
            Err(_) => assert_eq!(self.owner, before, "a refused event changes nothing"),
        }
    }

    fn scanner(&mut self, event: ScannerEvent<'_>) {
        let before = self.scanner.clone();
        match self.scanner.handle(event, self.now, &mut self.e) {
            Ok(actions) => {
                self.scanner_cov.observe(before.state().name(), event.name(), self.scanner.state().name());
                self.to_owner.extend(published(&actions));
            }
            Err(_) => assert_eq!(self.scanner, before, "a refused event changes nothing"),
        }
    }

    fn take(e: &mut SeededEntropy, queue: &mut Vec<WakuMessage>) -> Option<WakuMessage> {
        if queue.is_empty() {
            return None;
        }
        let i = pick(e, queue.len());
        Some(if chance(e, 85) { queue.remove(i) } else { queue[i].clone() })
    }

    fn deliver_all(&mut self) {
        while !self.to_owner.is_empty() || !self.to_scanner.is_empty() {
            for m in std::mem::take(&mut self.to_owner) {
                self.owner(OwnerEvent::Message(&m));
            }
            for m in std::mem::take(&mut self.to_scanner) {
                self.scanner(ScannerEvent::Message(&m));
            }
        }
    }

    /// A pairing without loss or attacker, then one message each way on the channel.
    fn happy_path(&mut self) {
        self.owner(OwnerEvent::ExposeQr);
        let (qr, nametag) = self.qr.clone().unwrap();
        self.scanner(ScannerEvent::Scan { qr: &qr, nametag });
        for _ in 0..3 {
            self.deliver_all();
            self.owner(OwnerEvent::ConfirmAuthcode);
            self.scanner(ScannerEvent::ConfirmAuthcode);
        }
        self.deliver_all();
        assert_eq!((self.owner.state().name(), self.scanner.state().name()), ("Paired", "Paired"));
        self.owner(OwnerEvent::Send(b"to scanner"));
        self.scanner(ScannerEvent::Send(b"to owner"));
        self.deliver_all();
    }

    /// One random step: user actions, deliveries (with replays and echoes), time passing.
    fn step(&mut self) {
        match pick(&mut self.e, 40) {
            0..=1 => self.owner(OwnerEvent::ExposeQr),
            2..=4 => {
                if let Some((qr, nametag)) = self.qr.clone() {
                    self.scanner(ScannerEvent::Scan { qr: &qr, nametag });
                }
            }
            5..=12 => {
                if let Some(m) = Self::take(&mut self.e, &mut self.to_owner) {
                    self.owner(OwnerEvent::Message(&m));
                }
            }
            13..=20 => {
                if let Some(m) = Self::take(&mut self.e, &mut self.to_scanner) {
                    self.scanner(ScannerEvent::Message(&m));
                }
            }
            21..=23 => self.owner(OwnerEvent::ConfirmAuthcode),
            24..=26 => self.scanner(ScannerEvent::ConfirmAuthcode),
            27 => self.owner(OwnerEvent::RejectAuthcode),
            28 => self.scanner(ScannerEvent::RejectAuthcode),
            29..=30 => {
                self.now = self.now.saturating_add(Duration::from_secs(1));
                self.owner(OwnerEvent::Tick);
                self.scanner(ScannerEvent::Tick);
            }
            31 => self.now = self.now.saturating_add(Duration::from_secs(61)),
            32..=34 => self.owner(OwnerEvent::Send(b"to scanner")),
            35..=37 => self.scanner(ScannerEvent::Send(b"to owner")),
            38 if chance(&mut self.e, 50) => self.owner(OwnerEvent::Cancel),
            38 => self.scanner(ScannerEvent::Cancel),
            _ => {
                // Echoes: each side hears its own messages on the shared topic.
                if let Some(m) = self.to_scanner.first().cloned() {
                    self.owner(OwnerEvent::Message(&m));
                }
            }
        }
    }
}

/// Message b written like a scanner would, with `payload` in place of the commitment.
fn forged_message_b(
    variant: Variant,
    qr: &str,
    nametag: MessageNametag,
    payload: &[u8],
    e: &mut SeededEntropy,
) -> WakuMessage {
    let qr = PairingQr::parse(qr).unwrap();
    let role = if variant.owner_role() == Role::Initiator { Role::Responder } else { Role::Initiator };
    let mut hs = Handshake::new(
        HandshakeConfig::new(variant.pattern(), role)
            .prologue(qr.prologue())
            .local_static(KeyPair::generate(e))
            .remote_ephemeral(*qr.ephemeral_key()),
    )
    .unwrap();
    let b = hs.write_message(e, payload, &nametag).unwrap();
    WakuMessage::noise(b.encode().unwrap(), qr.params().content_topic(), 0, true)
}

/// The last static-key message, written from a copy of the other side's handshake state after
/// reading `previous`, opening nothing: what someone holding that state could send.
fn forged_last_message(
    exchange: &pairing::Exchange,
    previous: Option<&PayloadV2>,
    e: &mut SeededEntropy,
) -> WakuMessage {
    let mut forger = exchange.handshake().clone();
    if let Some(previous) = previous {
        let tag = forger.next_hkdf_nametag();
        forger.read_message(previous, &tag).unwrap();
    }
    let tag = forger.next_hkdf_nametag();
    let forged = forger.write_message(e, &[0; 32], &tag).unwrap();
    WakuMessage::noise(forged.encode().unwrap(), exchange.content_topic(), 0, true)
}

/// The rows only an attacker reaches: a foreign QR, a malformed commitment, a static key that
/// does not open its commitment (each role, in the variant where it reads the last message).
fn pairing_attacks(p: &mut Pairing, variant: Variant) {
    let other = PairingConfig::new(ContentTopicParams::new("other-app", "0.1", "10").unwrap());
    let mut foreign = QrOwner::new(other, KeyPair::generate(&mut p.e));
    let shown = foreign.handle(OwnerEvent::ExposeQr, p.now, &mut p.e).unwrap();
    let Some(PairingAction::ShowQr { qr, nametag, .. }) = shown.first() else { panic!("ShowQr") };
    let foreign_qr = qr.to_string();
    p.scanner(ScannerEvent::Scan { qr: &foreign_qr, nametag: *nametag });
    p.scanner(ScannerEvent::Scan { qr: &foreign_qr, nametag: *nametag });
    assert_eq!(p.scanner.state().name(), "Aborted");

    p.owner(OwnerEvent::ExposeQr);
    let (qr, nametag) = p.qr.clone().unwrap();
    let malformed = forged_message_b(variant, &qr, nametag, &[1; 5], &mut p.e);
    p.owner(OwnerEvent::Message(&malformed));
    assert_eq!(p.owner.state(), &PairingState::Aborted(pairing::AbortReason::MalformedCommitment));

    p.owner(OwnerEvent::ExposeQr);
    let (qr, nametag) = p.qr.clone().unwrap();
    p.to_owner.clear();
    p.to_scanner.clear();
    p.scanner(ScannerEvent::Scan { qr: &qr, nametag });
    let b = p.to_owner.pop().unwrap();
    p.owner(OwnerEvent::Message(&b));
    match variant {
        Variant::Standard => {
            // The owner sends c and waits for d; d forged from the scanner's state does not open b.
            p.owner(OwnerEvent::ConfirmAuthcode);
            p.scanner(ScannerEvent::ConfirmAuthcode);
            let c = PayloadV2::decode(p.to_scanner[0].noise_payload().unwrap()).unwrap();
            let PairingState::AwaitingPeerStatic(exchange) = p.scanner.state().clone() else {
                panic!("scanner waits for c: {:?}", p.scanner.state().name())
            };
            let d = forged_last_message(&exchange, Some(&c), &mut p.e);
            p.owner(OwnerEvent::Message(&d));
            assert_eq!(p.owner.state(), &PairingState::Aborted(pairing::AbortReason::CommitmentMismatch));
        }
        Variant::NoCamera => {
            // The scanner sends c and waits for d; d forged from the owner's state does not open the QR.
            p.scanner(ScannerEvent::ConfirmAuthcode);
            let c = p.to_owner.pop().unwrap();
            p.owner(OwnerEvent::Message(&c));
            let c = PayloadV2::decode(c.noise_payload().unwrap()).unwrap();
            let PairingState::AwaitingConfirmation { exchange, .. } = p.owner.state().clone() else {
                panic!("owner keeps c early: {:?}", p.owner.state().name())
            };
            let d = forged_last_message(&exchange, Some(&c), &mut p.e);
            p.scanner(ScannerEvent::Message(&d));
            assert_eq!(p.scanner.state(), &PairingState::Aborted(pairing::AbortReason::CommitmentMismatch));
        }
    }
}

#[test]
fn pairing_tables_match_random_pairings_and_attacks() {
    let mut owner = Coverage::new(&pairing::owner::STATE_MACHINE);
    let mut scanner = Coverage::new(&pairing::scanner::STATE_MACHINE);
    let mut merged = Vec::new();
    for (run, variant) in [Variant::Standard, Variant::NoCamera].into_iter().cycle().take(200).enumerate() {
        let mut p = Pairing::new(variant, 100 + run as u64);
        if run < 2 {
            p.happy_path();
            let mut attacked = Pairing::new(variant, 900 + run as u64);
            pairing_attacks(&mut attacked, variant);
            merged.push((attacked.owner_cov, attacked.scanner_cov));
        }
        for _ in 0..60 {
            p.step();
        }
        merged.push((p.owner_cov, p.scanner_cov));
    }
    for (o, s) in &merged {
        owner.merge(o);
        scanner.merge(s);
    }
    assert_covered(&owner);
    assert_covered(&scanner);
}

// ---------------------------------------------------------------------------------------------
// X3DH sessions and the ratchet's sending half

struct X3dhRun {
    stage: Coverage,
    sending: Coverage,
    e: SeededEntropy,
}

impl X3dhRun {
    fn observe(&mut self, before: Option<&Session>, event: &str, after: &Session) {
        let (stage, sending) = before.map_or((OUTSIDE, OUTSIDE), |s| (s.stage().name(), s.ratchet().sending().name()));
        self.stage.observe(stage, event, after.stage().name());
        let ratchet_event = match event {
            "initiate" => "initiator",
            "respond" => "responder",
            other => other,
        };
        self.sending.observe(sending, ratchet_event, after.ratchet().sending().name());
    }

    fn encrypt(&mut self, session: &mut Session) -> EncryptedMessage {
        let before = session.clone();
        let (next, message) = before.clone().encrypt(b"hi", &mut self.e).unwrap();
        self.observe(Some(&before), "encrypt", &next);
        *session = next;
        message
    }

    /// Decrypts (a corrupted copy first, refused without a change); a refusal changes nothing.
    fn decrypt(&mut self, session: &mut Session, message: &EncryptedMessage) {
        let before = session.clone();
        let mut forged = message.clone();
        forged.ciphertext[0] ^= 1;
        assert!(session.decrypt_in_place(&forged).is_err());
        assert_eq!(*session, before, "a refused message changes nothing");
        match session.decrypt_in_place(message) {
            Ok(_) => self.observe(Some(&before), "decrypt", session),
            Err(_) => assert_eq!(*session, before, "a refused message changes nothing"),
        }
    }
}

#[test]
fn x3dh_session_and_ratchet_tables_match_random_conversations() {
    let mut run = X3dhRun {
        stage: Coverage::new(&x3dh::SESSION_STATE_MACHINE),
        sending: Coverage::new(&ratchet::SENDING_STATE_MACHINE),
        e: SeededEntropy::from_u64(3),
    };
    for _ in 0..25 {
        let e = &mut run.e;
        let (alice, alice_device) = (IdentityKeyPair::generate(e), InstallationId::generate(e));
        let (bob, bob_device) = (IdentityKeyPair::generate(e), InstallationId::generate(e));
        let prekeys = PrekeyStore::new(T0, e);
        let entries = BTreeMap::from([(bob_device.clone(), prekeys.current().signed_prekey())]);
        let bundle =
            VerifiedBundle::verify_from(&VerifiedBundle::sign(&bob, entries, T0).unwrap().to_proto(), bob.public())
                .unwrap();
        let mut a = x3dh::initiate(&alice, &alice_device, &bundle, &bob_device, e).unwrap();
        run.observe(None, "initiate", &a);
        let mut b: Option<Session> = None;
        let (mut to_a, mut to_b): (Vec<EncryptedMessage>, Vec<EncryptedMessage>) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            match pick(&mut run.e, 4) {
                0 => to_b.push(run.encrypt(&mut a)),
                1 => {
                    if let Some(b) = b.as_mut() {
                        to_a.push(run.encrypt(b));
                    }
                }
                2 if !to_b.is_empty() => {
                    let i = pick(&mut run.e, to_b.len());
                    let m = if chance(&mut run.e, 80) { to_b.remove(i) } else { to_b[i].clone() };
                    match b.as_mut() {
                        Some(b) => run.decrypt(b, &m),
                        None => {
                            let (session, _) =
                                x3dh::respond(&bob, &bob_device, &prekeys, T0, &alice_device, &m).unwrap();
                            run.observe(None, "respond", &session);
                            b = Some(session);
                        }
                    }
                }
                3 if !to_a.is_empty() => {
                    let i = pick(&mut run.e, to_a.len());
                    let m = if chance(&mut run.e, 80) { to_a.remove(i) } else { to_a[i].clone() };
                    run.decrypt(&mut a, &m);
                }
                _ => {}
            }
        }
    }
    assert_covered(&run.stage);
    assert_covered(&run.sending);
}

// ---------------------------------------------------------------------------------------------
// The outbox

/// Every (message, device) pair of `ids` and `devices`.
fn pairs(ids: &[MessageId], devices: &[Device]) -> Vec<(MessageId, Device)> {
    ids.iter().flat_map(|id| devices.iter().map(move |d| (*id, d.clone()))).collect()
}

fn target_state(outbox: &Outbox, id: &MessageId, device: &Device) -> &'static str {
    outbox.messages().get(id).and_then(|m| m.targets.get(device)).map_or(OUTSIDE, delivery::TargetState::name)
}

#[test]
fn outbox_table_matches_random_sends_acks_and_retries() {
    let mut c = Coverage::new(&delivery::STATE_MACHINE);
    let mut e = SeededEntropy::from_u64(4);
    let config = DeliveryConfig { max_attempts: 3, ..DeliveryConfig::default() };
    let devices: Vec<Device> = (1..=3u8)
        .map(|i| Device {
            identity: *IdentityKeyPair::from_seed([i; 32]).public(),
            installation: InstallationId::generate(&mut e),
        })
        .collect();
    let mut outbox = Outbox::default();
    let mut ids: Vec<MessageId> = Vec::new();
    let mut now = T0;
    for n in 0..600u32 {
        let before = outbox.clone();
        let (event, touched): (&str, Vec<(MessageId, Device)>) = match pick(&mut e, 7) {
            0 | 1 => {
                let mut bytes = [0u8; 16];
                bytes[..4].copy_from_slice(&n.to_le_bytes());
                let frame = Frame { id: MessageId(bytes), sent_at_ms: 0, body: FrameBody::Text(vec![1]) };
                ids.push(frame.id);
                if chance(&mut e, 30) {
                    outbox.enqueue_open(&frame);
                    ("enqueue", Vec::new())
                } else {
                    let targets: Vec<Device> = devices.iter().filter(|_| chance(&mut e, 60)).cloned().collect();
                    outbox.enqueue(&frame, targets);
                    ("enqueue", pairs(&[frame.id], &devices))
                }
            }
            _ if ids.is_empty() => continue,
            2 => {
                let (id, d) = (ids[pick(&mut e, ids.len())], devices[pick(&mut e, 3)].clone());
                outbox.add_target(&id, d.clone());
                ("add_target", vec![(id, d)])
            }
            3 | 4 => {
                let (id, d) = (ids[pick(&mut e, ids.len())], devices[pick(&mut e, 3)].clone());
                outbox.mark_sent(&id, &d, now, &config);
                ("mark_sent", vec![(id, d)])
            }
            5 => {
                let (id, d) = (ids[pick(&mut e, ids.len())], devices[pick(&mut e, 3)].clone());
                outbox.acknowledge(&id, &d);
                ("acknowledge", vec![(id, d)])
            }
            _ => {
                now = now.saturating_add(Duration::from_secs(if chance(&mut e, 70) { 5 } else { 700 }));
                let _ = outbox.due(now, &config);
                ("due", pairs(&ids, &devices))
            }
        };
        for (id, d) in pairs(&ids, &devices) {
            let (from, to) = (target_state(&before, &id, &d), target_state(&outbox, &id, &d));
            if touched.contains(&(id, d.clone())) {
                if (from, to) != (OUTSIDE, OUTSIDE) {
                    c.observe(from, event, to);
                }
            } else {
                assert_eq!(from, to, "{event} changed another target");
            }
        }
    }
    assert_covered(&c);
}

// ---------------------------------------------------------------------------------------------
// Negotiation, through the peer

fn config(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

/// Two accounts preferring `a` and `b`; `cards` adds each as the other's contact first (the card
/// lists the contact's preferred exchange), `concurrent` makes both send before anything travels.
fn negotiation_run(c: &mut Coverage, a: KeyExchange, b: KeyExchange, cards: bool, concurrent: bool) {
    use KeyExchange::{Noise, X3dh};
    let mut w = common::World::new();
    let (na, nb) = (w.add(1, 11, config(a)), w.add(2, 22, config(b)));
    w.history = Some(Vec::new());
    if cards {
        let (card_a, card_b) = (w.card(na, &[X3dh, Noise]), w.card(nb, &[X3dh, Noise]));
        w.event(na, Event::AddContact(card_b)).unwrap();
        w.event(nb, Event::AddContact(card_a)).unwrap();
    }
    let (ia, ib) = (*w.nodes[na].peer.identity(), *w.nodes[nb].peer.identity());
    w.event(na, Event::SendText { to: ib, body: b"hello".to_vec() }).unwrap();
    if concurrent {
        w.event(nb, Event::SendText { to: ia, body: b"hi".to_vec() }).unwrap();
    }
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(nb), vec!["hello"], "the chat works whatever was negotiated");
    for step in w.history.take().unwrap_or_default() {
        let (before, after) = (step.before.contacts(), step.after.contacts());
        for identity in before.keys().chain(after.keys()) {
            let state = |m: &BTreeMap<_, contacts::Contact>| {
                m.get(identity).map_or(OUTSIDE, contacts::Contact::negotiation_state)
            };
            let (from, to) = (state(before), state(after));
            if from != to {
                c.observe(from, step.event, to);
            }
        }
    }
    let chosen = |n: usize, who| w.nodes[n].peer.contacts()[&who].chosen;
    assert_eq!(chosen(na, ib), chosen(nb, ia), "both sides agree");
}

#[test]
fn negotiation_table_matches_the_peer() {
    use KeyExchange::{Noise, X3dh};
    let mut c = Coverage::new(&contacts::NEGOTIATION);
    for (a, b, cards, concurrent) in [
        (X3dh, X3dh, false, false),
        (Noise, Noise, false, false),
        (X3dh, Noise, true, false),
        (Noise, Noise, true, false),
        (Noise, X3dh, false, true),
    ] {
        negotiation_run(&mut c, a, b, cards, concurrent);
    }
    assert_covered(&c);
}

// ---------------------------------------------------------------------------------------------
// The Noise link with a device, through the peer

/// Records every change of a Noise link seen in the world's history, then starts a new history.
fn record_links(c: &mut Coverage, w: &mut common::World) {
    let devices: Vec<Device> = w
        .nodes
        .iter()
        .map(|n| Device { identity: *n.peer.identity(), installation: n.peer.installation().clone() })
        .collect();
    for step in w.history.replace(Vec::new()).unwrap_or_default() {
        for device in &devices {
            let state = |p: &status_1to1::peer::Peer| p.noise_link(device).map_or(OUTSIDE, NoiseLink::name);
            let (from, to) = (state(&step.before), state(&step.after));
            if from != to {
                c.observe(from, step.event, to);
            }
        }
    }
}

/// Two Noise accounts with history on, and each one's device as the other sees it.
fn noise_pair() -> (common::World, usize, usize, Device) {
    let mut w = common::World::new();
    let (alice, bob) = (w.add(1, 11, config(KeyExchange::Noise)), w.add(2, 22, config(KeyExchange::Noise)));
    w.history = Some(Vec::new());
    let bob_device =
        Device { identity: *w.nodes[bob].peer.identity(), installation: w.nodes[bob].peer.installation().clone() };
    (w, alice, bob, bob_device)
}

fn send(w: &mut common::World, from: usize, to: usize, body: &str) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: body.as_bytes().to_vec() }).unwrap();
}

/// Delivers in-flight messages one by one until `node`'s link with `device` is `state`.
fn deliver_until(w: &mut common::World, node: usize, device: &Device, state: NoiseLink) {
    while w.nodes[node].peer.noise_link(device) != Some(state) {
        let (j, message, _) = w.inflight.pop_front().expect("the state is reached before the network is quiet");
        let _ = w.event(j, Event::Received { message, origin: status_1to1::peer::Origin::Relay });
    }
}

#[test]
fn noise_link_table_matches_the_peer() {
    let mut c = Coverage::new(&status_1to1::peer::link::STATE_MACHINE);
    // Establish, terminate (publicly, then privately), re-activate from the other side.
    for public in [true, false] {
        let (mut w, alice, bob, _) = noise_pair();
        send(&mut w, alice, bob, "one");
        w.settle(Duration::from_secs(60));
        let with = *w.nodes[bob].peer.identity();
        w.event(alice, Event::EndChat { with, public }).unwrap();
        w.settle(Duration::from_secs(60));
        send(&mut w, bob, alice, "two");
        w.settle(Duration::from_secs(600));
        assert_eq!(w.texts(alice), vec!["two"]);
        record_links(&mut c, &mut w);
    }
    // Terminated, and gone silent, before the responder was heard from; silence once established.
    let (mut w, alice, bob, bob_device) = noise_pair();
    send(&mut w, alice, bob, "one");
    deliver_until(&mut w, alice, &bob_device, NoiseLink::Unconfirmed);
    let with = bob_device.identity;
    w.event(alice, Event::EndChat { with, public: true }).unwrap();
    record_links(&mut c, &mut w);
    let (mut w, alice, bob, bob_device) = noise_pair();
    send(&mut w, alice, bob, "one");
    deliver_until(&mut w, alice, &bob_device, NoiseLink::Unconfirmed);
    w.inflight.clear();
    w.settle_timers_only(Duration::from_secs(31 * 24 * 3600));
    assert_eq!(w.nodes[alice].peer.noise_link(&bob_device), Some(NoiseLink::Stale));
    record_links(&mut c, &mut w);
    let (mut w, alice, bob, bob_device) = noise_pair();
    send(&mut w, alice, bob, "one");
    w.settle(Duration::from_secs(60));
    w.settle_timers_only(Duration::from_secs(31 * 24 * 3600));
    assert_eq!(w.nodes[alice].peer.noise_link(&bob_device), Some(NoiseLink::Stale));
    record_links(&mut c, &mut w);
    // The responder's first message runs its own (discovery) handshake, which completes next
    // to the session it already has.
    let (mut w, alice, bob, _) = noise_pair();
    send(&mut w, alice, bob, "one");
    w.settle(Duration::from_secs(60));
    send(&mut w, bob, alice, "two");
    w.settle(Duration::from_secs(60));
    assert_eq!((w.texts(alice), w.texts(bob)), (vec!["two".to_owned()], vec!["one".to_owned()]));
    record_links(&mut c, &mut w);
    // Both start at once: concurrent handshakes converge on one session.
    let (mut w, alice, bob, _) = noise_pair();
    send(&mut w, alice, bob, "one");
    send(&mut w, bob, alice, "two");
    w.settle(Duration::from_secs(600));
    assert_eq!((w.texts(alice), w.texts(bob)), (vec!["two".to_owned()], vec!["one".to_owned()]));
    record_links(&mut c, &mut w);
    // A device of our own: paired, then removed.
    let mut w = common::World::new();
    let (phone, laptop) = (w.add(1, 10, config(KeyExchange::Noise)), w.add(1, 11, config(KeyExchange::Noise)));
    w.history = Some(Vec::new());
    w.pair(phone, laptop);
    let installation = w.nodes[laptop].peer.installation().clone();
    w.event(phone, Event::RemoveOwnDevice(installation)).unwrap();
    record_links(&mut c, &mut w);
    assert_covered(&c);
}

// ---------------------------------------------------------------------------------------------
// The rendered diagrams and the document

/// Every machine, in document order. The list lives here, above the machines, rather than in
/// `diagram` (which each machine imports for its table's types).
const MACHINES: &[&Machine] = &[
    &contacts::NEGOTIATION,
    &noise::handshake::STATE_MACHINE,
    &noise::sessions::STATE_MACHINE,
    &status_1to1::peer::link::STATE_MACHINE,
    &pairing::owner::STATE_MACHINE,
    &pairing::scanner::STATE_MACHINE,
    &x3dh::SESSION_STATE_MACHINE,
    &ratchet::SENDING_STATE_MACHINE,
    &delivery::STATE_MACHINE,
];

#[test]
fn the_diagram_module_imports_no_machine() {
    // Each machine imports `diagram` for its table's types; the arrows must run one way.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/diagram.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let imports: Vec<&str> = source.lines().filter(|l| l.contains("crate::") || l.contains("super::")).collect();
    assert!(imports.iter().all(|l| l.trim_start().starts_with("use super::*")), "{imports:?}");
}

#[test]
fn labels_are_safe_in_mermaid_and_states_are_identifiers() {
    for machine in MACHINES {
        assert!(!machine.transitions.is_empty(), "{}", machine.id);
        for t in machine.transitions {
            for text in [t.event, t.guard] {
                assert!(!text.contains([':', ';', '#', '{', '}', '|', '\n']), "{}: {text:?}", machine.id);
            }
            for state in [t.from, t.to] {
                let identifier = state.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                assert!(state == OUTSIDE || identifier, "{}: state {state:?}", machine.id);
            }
        }
    }
}

#[test]
fn every_diagram_is_pinned_by_a_snapshot() {
    for machine in MACHINES {
        insta::assert_snapshot!(machine.id, diagram::mermaid(machine));
    }
}

#[test]
fn docs_state_machines_md_is_generated_from_the_tables() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/state-machines.md");
    let expected = diagram::document(MACHINES);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/state-machines.md differs from the transition tables; regenerate it with\n    \
         UPDATE_DOCS=1 cargo test -p status-1to1 --test state_machines\nand review the diff"
    );
}
