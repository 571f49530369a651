//! The X3DH fan-out through the peer's public API (54 "Sending messages to a paired group"): a
//! message reaches at most `max_devices` installations of the contact, the most recently active
//! ones, and the ranking follows activity as it changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::peer::{Event, KeyExchange, PeerConfig};

fn x3dh() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::X3dh, ..PeerConfig::default() }
}

fn send(w: &mut World, from: usize, to: usize, text: &str) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: text.as_bytes().to_vec() }).unwrap();
}

/// Node `device` writes to `to` while its `siblings` are offline (so that nothing they answer
/// to the message counts as their activity), and everything settles; the clock then moves on a
/// minute, so each write is a distinct moment of activity.
fn write_alone(w: &mut World, device: usize, siblings: &[usize], to: usize, text: &str) {
    let others: Vec<usize> = siblings.iter().copied().filter(|s| *s != device).collect();
    for &other in &others {
        w.nodes[other].online = false;
    }
    send(w, device, to, text);
    w.settle(Duration::from_secs(30));
    for &other in &others {
        w.nodes[other].online = true;
    }
    w.now = w.now.saturating_add(Duration::from_secs(60));
}

/// Which of `devices` were delivered `text`.
fn reached(w: &World, devices: &[usize], text: &str) -> Vec<usize> {
    devices.iter().copied().filter(|d| w.texts(*d).iter().any(|t| t == text)).collect()
}

#[test]
fn a_message_reaches_the_most_recently_active_devices_up_to_the_bound() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    assert_eq!(x3dh().max_devices, 3);
    // Four unpaired devices of Bob's account, one more than the fan-out bound.
    let mut bob: Vec<usize> = (0..4).map(|n| w.add(2, 20 + n, x3dh())).collect();
    // Ranked by installation id, so the activity order below differs from the id order: a
    // fan-out that kept the first ids (no ranking) or the least active would choose otherwise.
    bob.sort_by(|a, b| w.nodes[*a].peer.installation().cmp(w.nodes[*b].peer.installation()));
    let card = w.contact_code_card(alice);
    for &device in &bob {
        w.event(device, Event::AddContact(card.clone())).unwrap();
    }
    // Activity, least recent first: the smallest id, the largest, then the two between.
    for (n, &device) in [bob[0], bob[3], bob[1], bob[2]].iter().enumerate() {
        write_alone(&mut w, device, &bob, alice, &format!("from device {n}"));
    }
    assert_eq!(w.texts(alice).len(), 4, "Alice learned all four installations");

    send(&mut w, alice, bob[2], "first");
    w.settle(Duration::from_secs(120));
    assert_eq!(reached(&w, &bob, "first"), vec![bob[1], bob[2], bob[3]], "the least active device is left out");
    assert_eq!(w.nodes[alice].acked.len(), 1, "every targeted device acknowledged");

    // Activity changes the ranking: three devices write again, the one left out among them;
    // the fourth (last heard from with its acknowledgement of "first") is now the least active.
    for (n, &device) in [bob[1], bob[0], bob[3]].iter().enumerate() {
        write_alone(&mut w, device, &bob, alice, &format!("again {n}"));
    }
    send(&mut w, alice, bob[2], "second");
    w.settle(Duration::from_secs(120));
    assert_eq!(reached(&w, &bob, "second"), vec![bob[0], bob[1], bob[3]]);
    assert_eq!(w.nodes[alice].acked.len(), 2);
}
