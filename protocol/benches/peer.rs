//! The peer object: one message through the full send path (`Event::SendText` → frame, session
//! lookup, encryption, envelope, topic, snapshot) and the full receive path (`Event::Received` →
//! topic, envelope, session lookup, decryption, dedup, acknowledgement, snapshot), next to the
//! bare session encrypt + decrypt it wraps, for both key exchanges and for a sender that holds
//! sessions with many contacts.
//!
//! Every iteration starts from a clone of the same established pair (clone not timed), so the
//! state does not grow across iterations.
//!
//! `cargo bench -p status-1to1 --bench peer`

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // bench set-up: a failure is a broken bench

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use status_1to1::SeededEntropy;
use status_1to1::peer::{Action, Event, KeyExchange, Origin, Peer, PeerConfig};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;

mod common;
#[path = "../tests/common/mod.rs"]
mod world;

use world::World;

fn config(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

/// Alice and Bob after a message each way, Alice also chatting with `contacts` other accounts.
fn established(kx: KeyExchange, contacts: usize) -> (Peer, Peer, Timestamp) {
    let mut w = World::new();
    let alice = w.add(1, 10, config(kx));
    let bob = w.add(2, 20, config(kx));
    let others: Vec<usize> = (0..contacts).map(|k| w.add(10 + k as u8, 100 + k as u64, config(kx))).collect();
    for &i in [bob].iter().chain(&others) {
        w.introduce(alice, i, kx);
        say(&mut w, alice, i);
        say(&mut w, i, alice);
        w.settle(Duration::from_secs(120));
    }
    say(&mut w, alice, bob);
    w.settle(Duration::from_secs(600));
    let now = w.now;
    (w.nodes[alice].peer.clone(), w.nodes[bob].peer.clone(), now)
}

fn say(w: &mut World, from: usize, to: usize) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: b"hi".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
}

/// The messages of `actions` that `to` listens to.
fn published_to(actions: Vec<Action>, to: &Peer) -> Vec<WakuMessage> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Publish(m) if to.subscriptions().contains(&m.content_topic) => Some(m),
            _ => None,
        })
        .collect()
}

fn send(alice: &mut Peer, bob: &Peer, now: Timestamp, body: &[u8], entropy: &mut SeededEntropy) -> Vec<WakuMessage> {
    let event = Event::SendText { to: *bob.identity(), body: body.to_vec() };
    published_to(alice.handle(now, event, entropy).expect("send"), bob)
}

fn receive(bob: &mut Peer, now: Timestamp, messages: &[WakuMessage], entropy: &mut SeededEntropy) -> usize {
    let mut delivered = 0;
    for message in messages {
        let event = Event::Received { message: message.clone(), origin: Origin::Relay };
        let actions = bob.handle(now, event, entropy).expect("receive");
        delivered += actions.iter().filter(|a| matches!(a, Action::Deliver(_))).count();
    }
    delivered
}

/// One 256-byte message from Alice through Bob's receive path.
fn round_trip(alice: &mut Peer, bob: &mut Peer, now: Timestamp, entropy: &mut SeededEntropy) -> usize {
    let messages = send(alice, bob, now, black_box(&[0x61u8; 256]), entropy);
    receive(bob, now, &messages, entropy)
}

fn paths(c: &mut Criterion, kx: KeyExchange, contacts: usize) {
    let name = format!("peer/{kx:?}/contacts_{}", contacts + 1);
    let mut g = common::group(c, &name);
    let (alice, bob, now) = established(kx, contacts);
    let mut entropy = SeededEntropy::from_u64(5);
    let body = [0x61u8; 256];
    let later = now.saturating_add(Duration::from_millis(10));
    // Settled: Bob's acknowledgement was the last message, so Alice's next one is a DH step.
    g.bench_function("dh_step/send_and_receive_256", |b| {
        b.iter_batched_ref(
            || (alice.clone(), bob.clone()),
            |(a, b)| round_trip(a, b, later, &mut entropy),
            BatchSize::SmallInput,
        )
    });
    // One more message from Alice (its acknowledgement not yet sent): the next is on her chain.
    let (mut alice, mut bob) = (alice, bob);
    let first = send(&mut alice, &bob, later, &body, &mut entropy);
    assert_eq!(receive(&mut bob, later, &first, &mut entropy), 1, "bob reads alice");
    g.bench_function("steady/send_256", |b| {
        b.iter_batched_ref(
            || alice.clone(),
            |a| send(a, &bob, later, black_box(&body), &mut entropy),
            BatchSize::SmallInput,
        )
    });
    let messages = send(&mut alice.clone(), &bob, later, &body, &mut entropy);
    g.bench_function("steady/receive_256", |b| {
        b.iter_batched_ref(|| bob.clone(), |b| receive(b, later, &messages, &mut entropy), BatchSize::SmallInput)
    });
    g.bench_function("steady/send_and_receive_256", |b| {
        b.iter_batched_ref(
            || (alice.clone(), bob.clone()),
            |(a, b)| round_trip(a, b, later, &mut entropy),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("snapshot", |b| b.iter(|| black_box(&alice).snapshot().map(|s| s.as_bytes().len())));
    g.finish();
}

fn peer(c: &mut Criterion) {
    for kx in [KeyExchange::X3dh, KeyExchange::Noise] {
        for contacts in [0, 15, 63] {
            paths(c, kx, contacts);
        }
    }
}

criterion_group!(benches, peer);
criterion_main!(benches);
