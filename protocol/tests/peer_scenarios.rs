//! Scenario tests of the peer through its public API only, over the in-memory network of
//! `common/`: negotiation, delivery with acknowledgements, duplicates, loss and retries,
//! several devices per account, crashes and restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::peer::{Event, KeyExchange, PeerConfig};

fn noise_config() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() }
}

#[test]
fn noise_chat_between_two_single_device_accounts() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let card = w.card(bob, &[KeyExchange::Noise]);
    w.event(alice, Event::AddContact(card)).unwrap();
    let to = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to, body: b"hello bob".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(bob), vec!["hello bob"]);
    assert_eq!(w.nodes[alice].acked.len(), 1, "alice learns bob's device acknowledged");
    let back = *w.nodes[alice].peer.identity();
    w.event(bob, Event::SendText { to: back, body: b"hi alice".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(alice), vec!["hi alice"]);
    assert_eq!(w.nodes[bob].acked.len(), 1);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
    assert_eq!(
        w.nodes[bob].peer.contacts()[&back].chosen,
        Some(KeyExchange::Noise),
        "bob records the negotiated exchange"
    );
}

#[test]
fn every_device_of_the_contact_gets_the_message_exactly_once() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob_phone = w.add(2, 20, noise_config());
    let bob_laptop = w.add(2, 21, noise_config());
    let to = *w.nodes[bob_phone].peer.identity();
    for n in 0..3 {
        w.event(alice, Event::SendText { to, body: format!("m{n}").into_bytes() }).unwrap();
    }
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob_phone), vec!["m0", "m1", "m2"]);
    assert_eq!(w.texts(bob_laptop), vec!["m0", "m1", "m2"]);
    assert_eq!(w.nodes[alice].acked.len(), 3);
}

#[test]
fn loss_is_repaired_by_retries_and_duplicates_are_suppressed() {
    let mut w = World::new();
    w.drop_every = 3;
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let to = *w.nodes[bob].peer.identity();
    for n in 0..10 {
        w.event(alice, Event::SendText { to, body: format!("m{n}").into_bytes() }).unwrap();
        w.settle(Duration::from_secs(5));
    }
    w.drop_every = 0;
    w.settle(Duration::from_secs(3600));
    let mut got = w.texts(bob);
    got.sort();
    assert_eq!(got, (0..10).map(|n| format!("m{n}")).collect::<Vec<_>>(), "every message exactly once");
    assert_eq!(w.nodes[alice].acked.len(), 10);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// A message to a contact that never answers stays open for the handshake window; the timer
/// that fires exactly at the window's end must close it (and the peer must keep asking for
/// timers), not leave a deadline in the past that no timer will ever fire again.
#[test]
fn a_timer_fired_exactly_at_a_deadline_closes_it_and_the_peer_keeps_ticking() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let to = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to, body: b"into the void".to_vec() }).unwrap();
    w.inflight.clear();
    w.settle_timers_only(Duration::from_secs(2 * 24 * 3600));
    assert_eq!(w.nodes[alice].failed, 1, "the message is reported as not delivered");
    let next = w.nodes[alice].peer.next_deadline().expect("bundle republication and prekey rotation");
    assert!(next > w.now, "no deadline is left in the past");
    assert!(w.nodes[alice].timer.is_some(), "a timer is still requested");
}

#[test]
fn a_crash_restores_from_the_last_snapshot_without_redelivery() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let to = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to, body: b"before".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    w.crash_and_restart(bob);
    w.crash_and_restart(alice);
    w.event(alice, Event::SendText { to, body: b"after".to_vec() }).unwrap();
    w.settle(Duration::from_secs(600));
    assert_eq!(w.texts(bob), vec!["before", "after"]);
}

#[test]
fn snapshots_restore_identical_peers() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let to = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to, body: b"x".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    for i in [alice, bob] {
        let snapshot = w.nodes[i].peer.snapshot().unwrap();
        let restored = status_1to1::peer::Peer::restore(&snapshot).unwrap();
        assert_eq!(restored, w.nodes[i].peer);
        let mut bytes = snapshot.as_bytes().to_vec();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert!(status_1to1::peer::Peer::restore(&status_1to1::peer::Snapshot::from_bytes(bytes)).is_err());
    }
}

/// Drives a pairing between two devices of the same account through the public API.
fn pair(w: &mut World, owner: usize, scanner: usize) {
    w.pair(owner, scanner);
}

#[test]
fn own_devices_pair_and_receive_copies_of_sent_messages() {
    let mut w = World::new();
    let phone = w.add(1, 10, noise_config());
    let laptop = w.add(1, 11, noise_config());
    let bob = w.add(2, 20, noise_config());
    pair(&mut w, phone, laptop);
    let laptop_id = w.nodes[laptop].peer.installation().clone();
    assert!(w.nodes[phone].peer.own_devices()[&laptop_id].enabled, "the phone enabled the laptop");
    let phone_id = w.nodes[phone].peer.installation().clone();
    assert!(w.nodes[laptop].peer.own_devices()[&phone_id].enabled, "the laptop enabled the phone");
    let to = *w.nodes[bob].peer.identity();
    w.event(phone, Event::SendText { to, body: b"sent from the phone".to_vec() }).unwrap();
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["sent from the phone"]);
    let copies: Vec<_> = w.nodes[laptop]
        .delivered
        .iter()
        .filter(|d| d.direction == status_1to1::peer::Direction::OutgoingFromOwnDevice)
        .collect();
    assert_eq!(copies.len(), 1, "the laptop shows the message the phone sent");
    assert_eq!(copies[0].chat, to);
    // Bob's reply reaches both devices of the account.
    let back = *w.nodes[phone].peer.identity();
    w.event(bob, Event::SendText { to: back, body: b"reply".to_vec() }).unwrap();
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(phone), vec!["reply"]);
    assert!(w.texts(laptop).contains(&"reply".to_string()));
}

#[test]
fn a_device_of_another_account_is_not_enabled_by_pairing() {
    let mut w = World::new();
    let mine = w.add(1, 10, noise_config());
    let theirs = w.add(3, 30, noise_config());
    pair(&mut w, mine, theirs);
    assert!(w.nodes[mine].peer.own_devices().is_empty());
    assert!(w.nodes[theirs].peer.own_devices().is_empty());
}

#[test]
fn ending_a_chat_makes_sessions_stale_and_a_new_message_reactivates_them() {
    for public in [true, false] {
        let mut w = World::new();
        let alice = w.add(1, 10, noise_config());
        let bob = w.add(2, 20, noise_config());
        let (a_id, b_id) = (*w.nodes[alice].peer.identity(), *w.nodes[bob].peer.identity());
        w.event(alice, Event::SendText { to: b_id, body: b"one".to_vec() }).unwrap();
        w.settle(Duration::from_secs(60));
        let topics_before = w.nodes[bob].peer.subscriptions().clone();
        w.event(alice, Event::EndChat { with: b_id, public }).unwrap();
        w.settle(Duration::from_secs(60));
        // The chat continues on a new session bound to the stale one.
        w.event(bob, Event::SendText { to: a_id, body: b"two".to_vec() }).unwrap();
        w.settle(Duration::from_secs(600));
        assert_eq!(w.texts(alice), vec!["two"], "public termination: {public}");
        w.event(alice, Event::SendText { to: b_id, body: b"three".to_vec() }).unwrap();
        w.settle(Duration::from_secs(600));
        assert_eq!(w.texts(bob), vec!["one", "three"], "public termination: {public}");
        let topics_after = w.nodes[bob].peer.subscriptions().clone();
        assert!(topics_after.difference(&topics_before).next().is_some(), "the new session has a new topic");
    }
}

#[test]
fn per_message_topic_rotation_delivers_everything() {
    let config = PeerConfig {
        noise_topics: status_1to1::noise::sessions::TopicPolicy::RotatePerMessage { lookahead: 4 },
        ..noise_config()
    };
    let mut w = World::new();
    let alice = w.add(1, 10, config.clone());
    let bob = w.add(2, 20, config);
    let (a_id, b_id) = (*w.nodes[alice].peer.identity(), *w.nodes[bob].peer.identity());
    for n in 0..6 {
        w.event(alice, Event::SendText { to: b_id, body: format!("a{n}").into_bytes() }).unwrap();
        w.event(bob, Event::SendText { to: a_id, body: format!("b{n}").into_bytes() }).unwrap();
        w.settle(Duration::from_secs(30));
    }
    w.settle(Duration::from_secs(3600));
    let mut got = w.texts(bob);
    got.sort();
    assert_eq!(got, (0..6).map(|n| format!("a{n}")).collect::<Vec<_>>());
    let mut got = w.texts(alice);
    got.sort();
    assert_eq!(got, (0..6).map(|n| format!("b{n}")).collect::<Vec<_>>());
    let topics: std::collections::BTreeSet<String> = w.store.iter().map(|m| m.content_topic.clone()).collect();
    assert!(topics.len() > 12, "messages went out on many topics: {}", topics.len());
}

#[test]
fn n11m_shares_one_session_per_contact_pair_and_relays_through_its_writer() {
    let config = PeerConfig { noise_multi_device: status_1to1::peer::NoiseMultiDevice::N11m, ..noise_config() };
    let mut w = World::new();
    let alice_phone = w.add(1, 10, config.clone());
    let alice_laptop = w.add(1, 11, config.clone());
    let bob_phone = w.add(2, 20, config.clone());
    let bob_laptop = w.add(2, 21, config);
    pair(&mut w, alice_phone, alice_laptop);
    pair(&mut w, bob_phone, bob_laptop);
    let (alice, bob) = (*w.nodes[alice_phone].peer.identity(), *w.nodes[bob_phone].peer.identity());
    // Bob has Alice as a contact on both devices: a contact request accepted on the writer alone
    // would reach only the writer (its other devices mirror the session from then on).
    for device in [bob_phone, bob_laptop] {
        w.event(device, Event::AddContact(status_1to1::peer::ContactCard::identity_only(alice))).unwrap();
    }
    w.event(alice_phone, Event::SendText { to: bob, body: b"hello bob".to_vec() }).unwrap();
    w.settle(Duration::from_secs(300));
    // One session with Bob's account: both of his devices read it.
    assert_eq!(w.texts(bob_phone), vec!["hello bob"]);
    assert_eq!(w.texts(bob_laptop), vec!["hello bob"]);
    // Whichever Bob device is not the session's writer replies through the writer.
    for device in [bob_phone, bob_laptop] {
        w.event(device, Event::SendText { to: alice, body: format!("reply from node {device}").into_bytes() }).unwrap();
        w.settle(Duration::from_secs(300));
    }
    let incoming = |w: &World, i: usize| -> Vec<String> {
        w.nodes[i]
            .delivered
            .iter()
            .filter(|d| d.direction == status_1to1::peer::Direction::Incoming)
            .map(|d| String::from_utf8_lossy(&d.body).to_string())
            .collect()
    };
    for device in [alice_phone, alice_laptop] {
        let mut got = incoming(&w, device);
        got.sort();
        assert_eq!(
            got,
            vec![format!("reply from node {bob_phone}"), format!("reply from node {bob_laptop}")],
            "node {device}"
        );
    }
    // N11M keeps one writable session per contact pair on each side.
    let writable: usize = [bob_phone, bob_laptop].iter().map(|&i| w.nodes[i].peer.bounds().noise_sessions).sum();
    assert!(writable >= 2, "sync sessions and the shared session exist");
}

/// An XK1 initiator's message 1 to `responder`, with a true introduction of `caller`.
fn introduced_first(
    e: &mut status_1to1::SeededEntropy,
    caller: &status_1to1::identity::IdentityKeyPair,
    responder: &status_1to1::identity::IdentityKey,
) -> (status_1to1::noise::Handshake, status_1to1::waku::WakuMessage) {
    use status_1to1::crypto::KeyPair;
    use status_1to1::identity::InstallationId;
    use status_1to1::noise::{Handshake, HandshakeConfig, HandshakePattern, Role};
    use status_1to1::peer::noise_intro;
    use status_1to1::peer::topics::{noise_inbox_nametag, partition_topic};

    let mut prologue = b"status-1to1/noise-1to1/v1".to_vec();
    prologue.extend_from_slice(responder.as_bytes());
    let mut hs = Handshake::new(
        HandshakeConfig::new(HandshakePattern::XK1, Role::Initiator)
            .prologue(prologue)
            .local_static(caller.dh_keys().clone())
            .remote_static(*responder.dh_public()),
    )
    .unwrap();
    let sealing = KeyPair::generate(e);
    let installation = InstallationId::generate(e);
    let first = hs
        .write_message_bound(e, &noise_inbox_nametag(responder), |eph| {
            noise_intro::seal(&sealing, caller, &installation, responder, eph.unwrap(), None)
        })
        .unwrap();
    (hs, status_1to1::waku::WakuMessage::noise(first.encode().unwrap(), partition_topic(responder), 0, false))
}

/// Message 3 of a Noise handshake names the initiator's identity; the responder accepts it only
/// if it is the identity message 1 introduced and its X25519 key is the static key the
/// handshake proved. A contact who claims to be someone else gets nothing: the event is
/// refused and the peer is unchanged.
#[test]
fn a_handshake_whose_message_3_claims_another_identity_is_refused() {
    use status_1to1::identity::IdentityKeyPair;
    use status_1to1::noise::PayloadV2;
    use status_1to1::peer::topics::partition_topic;
    use status_1to1::peer::{ContactCard, Origin, PeerError};
    use status_1to1::waku::WakuMessage;

    let mut w = World::new();
    let bob = w.add(2, 20, noise_config());
    let bob_identity = *w.nodes[bob].peer.identity();
    let mallory_keys = IdentityKeyPair::from_seed([66; 32]);
    w.event(bob, Event::AddContact(ContactCard::identity_only(*mallory_keys.public()))).unwrap();
    let claimed = *IdentityKeyPair::from_seed([1; 32]).public();
    let mut e = status_1to1::SeededEntropy::from_u64(99);
    let (mut mallory, first) = introduced_first(&mut e, &mallory_keys, &bob_identity);
    w.event(bob, Event::Received { message: first, origin: Origin::Relay }).unwrap();
    let (_, second, _) = w.inflight.pop_back().expect("bob answers his contact's message 1");
    let second = PayloadV2::decode(second.noise_payload().unwrap()).unwrap();
    let tag = mallory.next_hkdf_nametag();
    mallory.read_message(&second, &tag).unwrap();
    // HelloProto { identity = 1: bytes, installation_id = 2: string }, claiming someone else.
    let mut hello = vec![0x0a, 32];
    hello.extend_from_slice(claimed.as_bytes());
    let installation = status_1to1::identity::InstallationId::generate(&mut e);
    hello.extend_from_slice(&[0x12, u8::try_from(installation.as_str().len()).unwrap()]);
    hello.extend_from_slice(installation.as_str().as_bytes());
    let tag = mallory.next_hkdf_nametag();
    let third = mallory.write_message(&mut e, &hello, &tag).unwrap();
    let third = WakuMessage::noise(third.encode().unwrap(), partition_topic(&bob_identity), 0, false);
    let before = w.nodes[bob].peer.clone();
    let refused = w.event(bob, Event::Received { message: third, origin: Origin::Relay });
    assert_eq!(refused, Err(PeerError::IdentityMismatch(claimed)));
    assert!(w.nodes[bob].peer == before, "a refused handshake changes nothing");
    assert_eq!(w.nodes[bob].peer.bounds().noise_sessions, 0, "no session is opened");
}

/// What we keep for handshakes we answered (contacts' message 1s) is bounded, oldest dropped,
/// and a replayed message 1 gets the same answer instead of a new entry.
#[test]
fn answered_handshakes_are_bounded() {
    use status_1to1::identity::IdentityKeyPair;
    use status_1to1::peer::{ContactCard, Origin};

    let mut w = World::new();
    let config = PeerConfig { max_pending_noise_handshakes: 8, ..noise_config() };
    let bob = w.add(2, 20, config);
    let bob_identity = *w.nodes[bob].peer.identity();
    let mut e = status_1to1::SeededEntropy::from_u64(7);
    let mut firsts = Vec::new();
    for n in 0..20u8 {
        let contact = IdentityKeyPair::from_seed([100 + n; 32]);
        w.event(bob, Event::AddContact(ContactCard::identity_only(*contact.public()))).unwrap();
        let (_, first) = introduced_first(&mut e, &contact, &bob_identity);
        w.event(bob, Event::Received { message: first.clone(), origin: Origin::Relay }).unwrap();
        firsts.push(first);
    }
    assert_eq!(w.nodes[bob].peer.bounds().pending_handshakes, 8, "capped, oldest dropped");
    w.inflight.clear();
    w.now = w.now.saturating_add(std::time::Duration::from_secs(10));
    let last = firsts.last().cloned().unwrap();
    w.event(bob, Event::Received { message: last, origin: Origin::Relay }).unwrap();
    assert_eq!(w.nodes[bob].peer.bounds().pending_handshakes, 8, "a replay adds nothing");
    assert_eq!(w.inflight.len(), 1, "a replay gets the same answer again");
}
