//! Scenario tests of the X3DH path (53/54) through the peer's public API: first contact from a
//! contact code, fan-out to several devices, the negotiated topic, concurrent sessions,
//! re-keying after prekey rotation, the no-bundle fallback, account recovery, the
//! partitioned-devices rule, and the fan-out bound and order.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::peer::{ContactCard, Event, KeyExchange, PeerConfig};

fn x3dh() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::X3dh, ..PeerConfig::default() }
}

fn send(w: &mut World, from: usize, to: usize, text: &str) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: text.as_bytes().to_vec() }).unwrap();
}

#[test]
fn first_contact_from_a_contact_code_then_a_conversation() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob = w.add(2, 20, x3dh());
    let card = w.contact_code_card(bob);
    assert!(card.bundle.is_some() && card.supports.contains(&KeyExchange::X3dh));
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, bob, "hello over x3dh");
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(bob), vec!["hello over x3dh"]);
    send(&mut w, bob, alice, "reply");
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(alice), vec!["reply"]);
    for n in 0..5 {
        send(&mut w, alice, bob, &format!("a{n}"));
        send(&mut w, bob, alice, &format!("b{n}"));
        w.settle(Duration::from_secs(10));
    }
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob).len(), 6);
    assert_eq!(w.texts(alice).len(), 6);
    assert_eq!(w.nodes[alice].peer.contacts()[w.nodes[bob].peer.identity()].chosen, Some(KeyExchange::X3dh));
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
    // After both sides heard from each other, messages use the negotiated topic, not the
    // partitioned topic.
    let last = w.store.iter().rev().find(|m| m.version.is_none()).unwrap();
    let partition = status_1to1::peer::topics::partition_topic(w.nodes[bob].peer.identity());
    let partition_alice = status_1to1::peer::topics::partition_topic(w.nodes[alice].peer.identity());
    assert!(last.content_topic != partition && last.content_topic != partition_alice, "{}", last.content_topic);
}

#[test]
fn first_contact_without_a_bundle_uses_the_no_bundle_message() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob = w.add(2, 20, x3dh());
    let bob_id = *w.nodes[bob].peer.identity();
    w.event(alice, Event::AddContact(ContactCard::identity_only(bob_id))).unwrap();
    send(&mut w, alice, bob, "no bundle yet");
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["no bundle yet"]);
    assert_eq!(w.nodes[alice].acked.len(), 1, "the acknowledgement came back over a real session");
    send(&mut w, alice, bob, "now with forward secrecy");
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["no bundle yet", "now with forward secrecy"]);
}

#[test]
fn messages_fan_out_to_every_device_of_the_contact_and_own_devices_sync() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob_phone = w.add(2, 20, x3dh());
    let bob_laptop = w.add(2, 21, x3dh());
    // Both of Bob's devices write to Alice first, so she learns both installations.
    let alice_card = w.contact_code_card(alice);
    w.event(bob_phone, Event::AddContact(alice_card.clone())).unwrap();
    w.event(bob_laptop, Event::AddContact(alice_card)).unwrap();
    send(&mut w, bob_phone, alice, "from the phone");
    send(&mut w, bob_laptop, alice, "from the laptop");
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(alice).len(), 2);
    send(&mut w, alice, bob_phone, "to every device");
    w.settle(Duration::from_secs(120));
    assert!(w.texts(bob_phone).contains(&"to every device".to_string()));
    assert!(w.texts(bob_laptop).contains(&"to every device".to_string()));
    assert_eq!(w.nodes[alice].acked.len(), 1, "delivered once every targeted device acknowledged");
}

#[test]
fn concurrent_first_contact_converges_and_loses_nothing() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob = w.add(2, 20, x3dh());
    let (a_card, b_card) = (w.contact_code_card(alice), w.contact_code_card(bob));
    w.event(alice, Event::AddContact(b_card)).unwrap();
    w.event(bob, Event::AddContact(a_card)).unwrap();
    // Both start a session before seeing the other's first message.
    send(&mut w, alice, bob, "a0");
    send(&mut w, bob, alice, "b0");
    w.settle(Duration::from_secs(60));
    for n in 1..6 {
        send(&mut w, alice, bob, &format!("a{n}"));
        send(&mut w, bob, alice, &format!("b{n}"));
    }
    w.settle(Duration::from_secs(600));
    let mut got = w.texts(bob);
    got.sort();
    assert_eq!(got, (0..6).map(|n| format!("a{n}")).collect::<Vec<_>>());
    let mut got = w.texts(alice);
    got.sort();
    assert_eq!(got, (0..6).map(|n| format!("b{n}")).collect::<Vec<_>>());
    assert_eq!(w.nodes[alice].peer.unacknowledged() + w.nodes[bob].peer.unacknowledged(), 0);
}

#[test]
fn prekey_rotation_rekeys_the_session() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob = w.add(2, 20, x3dh());
    let card = w.contact_code_card(bob);
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, bob, "before rotation");
    w.settle(Duration::from_secs(60));
    send(&mut w, bob, alice, "ok");
    w.settle(Duration::from_secs(60));
    let sessions_before = w.nodes[alice].peer.bounds().x3dh_sessions;
    // A day later Bob's prekey rotates; his next message carries the new bundle, and Alice's
    // next message to him (already her acknowledgement) runs X3DH on the new prekey.
    w.now = w.now.saturating_add(Duration::from_secs(24 * 3600 + 60));
    w.settle(Duration::from_secs(60));
    send(&mut w, bob, alice, "after rotation");
    w.settle(Duration::from_secs(60));
    send(&mut w, alice, bob, "on a new session");
    w.settle(Duration::from_secs(60));
    assert!(w.nodes[alice].peer.bounds().x3dh_sessions > sessions_before, "Alice started a session on the new prekey");
    assert_eq!(w.texts(bob), vec!["before rotation", "on a new session"]);
    assert_eq!(w.texts(alice), vec!["ok", "after rotation"]);
}

#[test]
fn account_recovery_is_a_new_device_and_a_stale_target_gets_our_bundle() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob_old = w.add(2, 20, x3dh());
    let card = w.contact_code_card(bob_old);
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, bob_old, "to the old device");
    w.settle(Duration::from_secs(60));
    // Bob loses his device and recovers the account on a new one: same identity, new
    // installation, no sessions. Alice's next message is not addressed to it, so it answers
    // with its bundle (54 "Partitioned devices"), and Alice's following messages include it.
    w.nodes[bob_old].online = false;
    let bob_new = w.add(2, 22, x3dh());
    send(&mut w, alice, bob_old, "while recovering");
    w.settle(Duration::from_secs(60));
    send(&mut w, alice, bob_old, "after recovery");
    w.settle(Duration::from_secs(120));
    assert!(w.texts(bob_new).contains(&"after recovery".to_string()), "{:?}", w.texts(bob_new));
}

// The fan-out (54 "Sending messages to a paired group"): at most `max_devices` installations of
// the contact, the most recently active ones, ranked by activity as it changes.

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
