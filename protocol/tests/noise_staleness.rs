//! 37/WAKU2-NOISE-SESSIONS staleness through the public `Peer` API: per-message session-id
//! rotation marks the ids of earlier messages stale publicly, and in N11M a session one device
//! marks stale is stale on our other devices too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::World;
use sha2::{Digest, Sha256};
use status_1to1::noise::sessions::{TERMINATION_MAGIC, TopicPolicy};
use status_1to1::peer::{Device, Event, KeyExchange, NoiseLink, NoiseMultiDevice, PeerConfig};
use status_1to1::waku::WakuMessage;

fn noise_config() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() }
}

/// The ct-id a session topic names (`/{app}/{version}/wakunoise/1/sessions/{ct-id}/proto`).
fn ct_id_of(topic: &str) -> Option<&str> {
    topic.split('/').nth(6).filter(|_| topic.contains("/wakunoise/1/sessions/"))
}

/// The public terminations in `store`: (position, topic, token), read with the spec's layout.
fn terminations(store: &[WakuMessage]) -> Vec<(usize, String, Vec<u8>)> {
    store
        .iter()
        .enumerate()
        .filter(|(_, m)| m.version.unwrap_or(0) == 0)
        .filter_map(|(i, m)| {
            let token = m.payload.strip_prefix(TERMINATION_MAGIC)?;
            Some((i, m.content_topic.clone(), token.to_vec()))
        })
        .collect()
}

#[test]
fn rotation_publicly_marks_the_ids_of_earlier_messages_stale() {
    let config = PeerConfig { noise_topics: TopicPolicy::RotatePerMessage { lookahead: 4 }, ..noise_config() };
    let mut w = World::new();
    let alice = w.add(1, 10, config.clone());
    let bob = w.add(2, 20, config);
    let (a_id, b_id) = (*w.nodes[alice].peer.identity(), *w.nodes[bob].peer.identity());
    for n in 0..5 {
        w.event(alice, Event::SendText { to: b_id, body: format!("a{n}").into_bytes() }).unwrap();
        w.settle(Duration::from_secs(30));
        w.event(bob, Event::SendText { to: a_id, body: format!("b{n}").into_bytes() }).unwrap();
        w.settle(Duration::from_secs(30));
    }
    w.settle(Duration::from_secs(600));
    assert_eq!(w.texts(bob), (0..5).map(|n| format!("a{n}")).collect::<Vec<_>>());
    assert_eq!(w.texts(alice), (0..5).map(|n| format!("b{n}")).collect::<Vec<_>>());

    // Topics of session messages (version 2, after the handshake), first use per topic.
    let mut noise_topics: Vec<(usize, String)> = Vec::new();
    for (i, m) in w.store.iter().enumerate() {
        if m.version == Some(2) && !noise_topics.iter().any(|(_, t)| *t == m.content_topic) {
            noise_topics.push((i, m.content_topic.clone()));
        }
    }
    let stale = terminations(&w.store);
    assert!(stale.len() >= 8, "ids of earlier messages are terminated as the chat goes on: {}", stale.len());
    let mut terminated = BTreeSet::new();
    for (at, topic, token) in &stale {
        let ct_id = ct_id_of(topic).expect("a session topic");
        // ct-id = SHA-256(token), token = SHA-256(session-id): only a party could publish it.
        assert_eq!(hex::encode(Sha256::digest(token)), ct_id.to_string(), "the token opens the topic");
        let used = noise_topics.iter().find(|(_, t)| t == topic).expect("the id of a message that was sent");
        assert!(used.0 < *at, "an id is marked stale after its message");
        terminated.insert(topic.clone());
    }
    let last = noise_topics.last().expect("messages were sent").1.clone();
    assert!(!terminated.contains(&last), "the latest message's id is not stale yet");
    let session_topics = noise_topics.iter().filter(|(_, t)| ct_id_of(t).is_some()).count();
    assert!(terminated.len() >= 8 && terminated.len() < session_topics, "{} of {session_topics}", terminated.len());
}

/// Alice's phone and laptop (paired, N11M) and Bob's phone; Alice's phone writes the shared
/// session with Bob, her laptop mirrors it.
fn n11m_world() -> (World, [usize; 3], Device) {
    let config = PeerConfig { noise_multi_device: NoiseMultiDevice::N11m, ..noise_config() };
    let mut w = World::new();
    let phone = w.add(1, 10, config.clone());
    let laptop = w.add(1, 11, config.clone());
    let bob = w.add(2, 20, config);
    w.pair(phone, laptop);
    let bob_id = *w.nodes[bob].peer.identity();
    w.event(phone, Event::SendText { to: bob_id, body: b"hello bob".to_vec() }).unwrap();
    w.settle(Duration::from_secs(300));
    assert_eq!(w.texts(bob), vec!["hello bob"]);
    let bob_device = Device { identity: bob_id, installation: w.nodes[bob].peer.installation().clone() };
    assert_eq!(w.nodes[phone].peer.noise_link(&bob_device), Some(NoiseLink::Active));
    assert_eq!(w.nodes[laptop].peer.noise_mirror(&bob_device), Some(NoiseLink::Active), "the laptop mirrors it");
    (w, [phone, laptop, bob], bob_device)
}

#[test]
fn n11m_a_session_our_writer_ends_is_stale_on_our_other_devices() {
    for public in [false, true] {
        let (mut w, [phone, laptop, _], bob_device) = n11m_world();
        w.event(phone, Event::EndChat { with: bob_device.identity, public }).unwrap();
        w.settle(Duration::from_secs(120));
        assert_eq!(w.nodes[phone].peer.noise_link(&bob_device), Some(NoiseLink::Stale));
        assert_eq!(w.nodes[laptop].peer.noise_mirror(&bob_device), Some(NoiseLink::Stale), "public: {public}");
    }
}

#[test]
fn n11m_a_termination_from_the_contact_reaches_every_device_of_ours() {
    let (mut w, [phone, laptop, bob], bob_device) = n11m_world();
    let alice = *w.nodes[phone].peer.identity();
    // The writer is offline: the laptop reads Bob's private termination on its mirror.
    w.nodes[phone].online = false;
    w.event(bob, Event::EndChat { with: alice, public: false }).unwrap();
    w.settle(Duration::from_secs(120));
    assert_eq!(w.nodes[laptop].peer.noise_mirror(&bob_device), Some(NoiseLink::Stale));
    // Back online (without a store query), the writer learns it from the laptop's repeated
    // state_sync.
    w.nodes[phone].online = true;
    w.settle(Duration::from_secs(600));
    assert_eq!(w.nodes[phone].peer.noise_link(&bob_device), Some(NoiseLink::Stale));
}

#[test]
fn a_public_termination_makes_the_session_stale_on_the_other_side() {
    let mut w = World::new();
    let alice = w.add(1, 10, noise_config());
    let bob = w.add(2, 20, noise_config());
    let b_id = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to: b_id, body: b"one".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    let alice_device =
        Device { identity: *w.nodes[alice].peer.identity(), installation: w.nodes[alice].peer.installation().clone() };
    assert_eq!(w.nodes[bob].peer.noise_link(&alice_device), Some(NoiseLink::Active));
    w.event(alice, Event::EndChat { with: b_id, public: true }).unwrap();
    let heard = w.inflight.iter().filter(|(to, m, _)| *to == bob && m.payload.starts_with(TERMINATION_MAGIC)).count();
    assert_eq!(heard, 1, "one public termination, heard by bob");
    w.settle(Duration::from_secs(60));
    assert_eq!(w.nodes[bob].peer.noise_link(&alice_device), Some(NoiseLink::Stale));
}
