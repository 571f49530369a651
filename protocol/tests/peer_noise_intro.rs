//! What a Noise message 1 can make the responder send, through the public API: message 1 is
//! anonymous in XK1, so the introduction it carries decides whether it is answered at all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::crypto::KeyPair;
use status_1to1::noise::{HandshakePattern, NoisePublicKey, PayloadV2, ProtocolId};
use status_1to1::peer::topics::partition_topic;
use status_1to1::peer::{Action, Event, KeyExchange, Origin, PeerConfig, PeerError};
use status_1to1::waku::WakuMessage;
use status_1to1::{SeededEntropy, Timestamp};

fn noise() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() }
}

/// Node `from` adds `to` and writes to it; returns the handshake message 1 it published.
fn first_message(w: &mut World, from: usize, to: usize) -> WakuMessage {
    let card = w.contact_code_card(to);
    w.event(from, Event::AddContact(card)).unwrap();
    let to_id = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to: to_id, body: b"hi".to_vec() }).unwrap();
    let topic = partition_topic(&to_id);
    w.store
        .iter()
        .rev()
        .find(|m| m.content_topic == topic && is_message_1(m))
        .cloned()
        .expect("a message 1 on the responder's partition topic")
}

fn is_message_1(m: &WakuMessage) -> bool {
    m.noise_payload().ok().and_then(|p| PayloadV2::decode(p).ok()).is_some_and(|p| {
        p.protocol_id == ProtocolId::Handshake(HandshakePattern::XK1) && p.handshake_message.len() == 1
    })
}

/// Hands `message` to node `i` at `now`; returns what it published, or its error.
fn deliver(w: &mut World, i: usize, now: Timestamp, message: WakuMessage) -> Result<usize, PeerError> {
    let node = &mut w.nodes[i];
    let actions = node.peer.handle(now, Event::Received { message, origin: Origin::Relay }, &mut node.entropy)?;
    Ok(actions.iter().filter(|a| matches!(a, Action::Publish(_))).count())
}

/// Bob knows Alice; returns the world, Bob, and Alice's message 1 to him.
fn contact_writes() -> (World, usize, WakuMessage) {
    let mut w = World::new();
    let alice = w.add(1, 10, noise());
    let bob = w.add(2, 20, noise());
    let card = w.contact_code_card(alice);
    w.event(bob, Event::AddContact(card)).unwrap();
    let first = first_message(&mut w, alice, bob);
    (w, bob, first)
}

#[test]
fn a_stranger_flood_of_first_messages_gets_no_answer() {
    let mut w = World::new();
    let bob = w.add(2, 20, noise());
    w.nodes[bob].accepts_requests = false;
    let mut firsts = Vec::new();
    for n in 0..40u8 {
        let stranger = w.add(100 + n, 1000 + u64::from(n), noise());
        firsts.push(first_message(&mut w, stranger, bob));
    }
    let now = w.now;
    let answers: usize = firsts.into_iter().map(|m| deliver(&mut w, bob, now, m).unwrap()).sum();
    assert_eq!(answers, 0, "bob answered strangers' message 1s");
    let bounds = w.nodes[bob].peer.bounds();
    assert_eq!(bounds.contact_requests, PeerConfig::default().max_contact_requests.min(40));
    assert_eq!((bounds.noise_sessions, bounds.contacts), (0, 0));
}

#[test]
fn a_contacts_first_message_is_answered_and_its_replays_only_a_few_times() {
    let (mut w, bob, first) = contact_writes();
    let start = w.now;
    assert_eq!(deliver(&mut w, bob, start, first.clone()), Ok(1), "a contact is answered");
    // A replayer repeats it every second for the hour the handshake is kept: the answers come
    // 10 s, 20 s, 40 s... apart, at 10, 30, 70, 150, 310, 630, 1270 and 2550 s.
    let mut answered_at = Vec::new();
    for s in 1..3600u64 {
        if deliver(&mut w, bob, start.saturating_add(Duration::from_secs(s)), first.clone()).unwrap() > 0 {
            answered_at.push(s);
        }
    }
    assert_eq!(answered_at, [10, 30, 70, 150, 310, 630, 1270, 2550], "repeated answers to one message 1");
}

#[test]
fn an_introduction_moved_onto_another_ephemeral_key_is_refused() {
    let (mut w, bob, first) = contact_writes();
    // Mallory keeps Alice's introduction but starts her own handshake (a fresh `e`), hoping to
    // be answered as Alice over and over.
    let mut payload = PayloadV2::decode(first.noise_payload().unwrap()).unwrap();
    let mallory_e = KeyPair::generate(&mut SeededEntropy::from_u64(66));
    payload.handshake_message = vec![NoisePublicKey::Clear(*mallory_e.public())];
    let forged = WakuMessage { payload: payload.encode().unwrap(), ..first.clone() };
    let now = w.now;
    let before = w.nodes[bob].peer.snapshot();
    assert_eq!(deliver(&mut w, bob, now, forged), Err(PeerError::NotForUs));
    assert_eq!(w.nodes[bob].peer.snapshot(), before, "a refused message 1 changes nothing");
    // A message 1 without an introduction at all is refused the same way.
    let mut bare = PayloadV2::decode(first.noise_payload().unwrap()).unwrap();
    bare.transport_message = PayloadV2::decode(first.noise_payload().unwrap()).unwrap().transport_message[..1].to_vec();
    let bare = WakuMessage { payload: bare.encode().unwrap(), ..first };
    assert!(deliver(&mut w, bob, now, bare).is_err());
}

#[test]
fn an_accepted_noise_request_is_answered_and_its_text_delivered() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise());
    let bob = w.add(2, 20, noise());
    w.nodes[bob].accepts_requests = false;
    let card = w.contact_code_card(bob);
    w.event(alice, Event::AddContact(card)).unwrap();
    let bob_id = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to: bob_id, body: b"knock knock".to_vec() }).unwrap();
    w.settle(Duration::from_secs(30));
    let alice_id = *w.nodes[alice].peer.identity();
    assert_eq!(w.nodes[bob].requests.len(), 1);
    assert_eq!((w.nodes[bob].requests[0].from, w.nodes[bob].requests[0].first.clone()), (alice_id, None));
    w.event(bob, Event::AcceptContactRequest(alice_id)).unwrap();
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["knock knock"]);
}
