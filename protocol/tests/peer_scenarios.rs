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
