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
use status_1to1::peer::{Event, KeyExchange, PeerConfig};
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
