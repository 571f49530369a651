//! What a steady message costs the store: the bytes of the change sets each side returns for
//! one message and its acknowledgement, with 1 and with 64 contacts, which must be the same
//! (`--nocapture` prints them by record kind; `docs/storage.md` has the table).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::World;
use status_1to1::peer::{Event, KeyExchange, PeerConfig, RecordKind};

fn config(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

fn say(w: &mut World, from: usize, to: usize) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: vec![0x61; 256] }).unwrap();
    w.settle(Duration::from_secs(60));
}

/// Alice (node 0) and Bob (node 1) after a few messages each way, both also chatting with
/// `others` other accounts, and every retry and timer settled.
fn established(kx: KeyExchange, others: usize) -> World {
    let mut w = World::new();
    let alice = w.add(1, 10, config(kx));
    let bob = w.add(2, 20, config(kx));
    let more: Vec<usize> = (0..others).map(|k| w.add(10 + k as u8, 100 + k as u64, config(kx))).collect();
    w.introduce(alice, bob, kx);
    for &i in &more {
        for me in [alice, bob] {
            w.introduce(me, i, kx);
            say(&mut w, me, i);
            say(&mut w, i, me);
        }
    }
    for _ in 0..3 {
        say(&mut w, alice, bob);
        say(&mut w, bob, alice);
    }
    w.settle(Duration::from_secs(3600));
    w
}

/// Bytes each of Alice and Bob writes, by record kind, for one message from Alice to Bob,
/// Bob's acknowledgement and every timer they set, over ten minutes.
fn steady_message(kx: KeyExchange, others: usize) -> [BTreeMap<RecordKind, usize>; 2] {
    let mut w = established(kx, others);
    for n in &mut w.nodes {
        n.written.clear();
    }
    say(&mut w, 0, 1);
    w.settle(Duration::from_secs(600));
    assert_eq!(w.nodes[1].delivered.last().map(|d| d.body.len()), Some(256), "the message arrived");
    [w.nodes[0].written.clone(), w.nodes[1].written.clone()]
}

fn total(by_kind: &BTreeMap<RecordKind, usize>) -> usize {
    by_kind.values().sum()
}

/// A steady message's bytes per side with 1 and with 64 contacts.
fn measure(kx: KeyExchange) -> [(usize, usize); 2] {
    let one = steady_message(kx, 0);
    let many = steady_message(kx, 63);
    let sides = ["sender", "recipient"];
    let mut out = [(0, 0); 2];
    for (k, side) in sides.iter().enumerate() {
        eprintln!(
            "{kx:?} {side}: 1 contact {} B {:?}; 64 contacts {} B {:?}",
            total(&one[k]),
            one[k],
            total(&many[k]),
            many[k]
        );
        out[k] = (total(&one[k]), total(&many[k]));
    }
    out
}

/// Flat in contacts: the same records, give or take a varint byte per counter.
fn check_flat(kx: KeyExchange) {
    for (one, many) in measure(kx) {
        assert!(one > 0, "{kx:?}: a steady message persisted nothing");
        assert!(many <= one + 8, "{kx:?}: {one} B at 1 contact but {many} B at 64");
    }
}

#[test]
fn a_steady_x3dh_message_writes_the_same_records_whatever_the_contacts() {
    check_flat(KeyExchange::X3dh);
}

#[test]
fn a_steady_noise_message_writes_the_same_records_whatever_the_contacts() {
    check_flat(KeyExchange::Noise);
}
