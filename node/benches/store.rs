//! Time to commit a steady message's change set (the send on Alice's side and the receive on
//! Bob's), in memory and in SQLite with `synchronous=NORMAL` and `FULL`, beside the protocol cost
//! in `protocol/benches/peer.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use status_1to1::SeededEntropy;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::peer::{Action, ChangeSet, ContactCard, Event, KeyExchange, Origin, Peer, PeerConfig};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1_node::{AppRow, Durability, MemoryStore, SqliteStore, Store, StoreKey};

fn peer(seed: u8, entropy: &mut SeededEntropy) -> Peer {
    let config = PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() };
    Peer::new(IdentityKeyPair::from_seed([seed; 32]), InstallationId::generate(entropy), config)
}

/// Runs `event`, returning the change set (applied to `sets`) and what was published.
fn run(
    p: &mut Peer,
    now: Timestamp,
    event: Event,
    e: &mut SeededEntropy,
    sets: &mut Vec<ChangeSet>,
) -> Vec<WakuMessage> {
    let mut out = Vec::new();
    for a in p.handle(now, event, e).unwrap_or_default() {
        match a {
            Action::Persist(c) => sets.push(c),
            Action::Publish(m) => out.push(m),
            _ => {}
        }
    }
    out
}

/// Every change set of a settled Noise conversation, then those of one more message: the send
/// on Alice's side and the receive on Bob's.
fn conversation() -> (Vec<ChangeSet>, ChangeSet, Vec<ChangeSet>, ChangeSet) {
    let (mut ea, mut eb) = (SeededEntropy::from_u64(1), SeededEntropy::from_u64(2));
    let (mut alice, mut bob) = (peer(1, &mut ea), peer(2, &mut eb));
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let mut now = Timestamp::from_millis(1_700_000_000_000);
    let card = |p: &Peer| ContactCard { identity: *p.identity(), supports: vec![KeyExchange::Noise], bundle: None };
    let (ca, cb) = (card(&alice), card(&bob));
    let mut wire = run(&mut alice, now, Event::AddContact(cb), &mut ea, &mut sa);
    wire.extend(run(&mut bob, now, Event::AddContact(ca), &mut eb, &mut sb));
    for k in 0..8 {
        let to = *bob.identity();
        wire.extend(run(&mut alice, now, Event::SendText { to, body: vec![k; 256] }, &mut ea, &mut sa));
        for _ in 0..6 {
            now = now.saturating_add(Duration::from_secs(2));
            for m in std::mem::take(&mut wire) {
                let ev = || Event::Received { message: m.clone(), origin: Origin::Relay };
                if bob.subscriptions().contains(&m.content_topic) {
                    wire.extend(run(&mut bob, now, ev(), &mut eb, &mut sb));
                }
                if alice.subscriptions().contains(&m.content_topic) {
                    wire.extend(run(&mut alice, now, ev(), &mut ea, &mut sa));
                }
            }
            wire.extend(run(&mut alice, now, Event::Timer, &mut ea, &mut sa));
            wire.extend(run(&mut bob, now, Event::Timer, &mut eb, &mut sb));
        }
    }
    let send = sa.pop().unwrap();
    let receive = sb.pop().unwrap();
    (sa, send, sb, receive)
}

fn delivery() -> Vec<AppRow> {
    vec![AppRow { key: b"delivery/0123456789abcdef".to_vec(), value: Some(vec![0x61; 256]) }]
}

fn bench_store<S: Store>(c: &mut Criterion, name: &str, mut open: impl FnMut() -> S) {
    let (history_a, send, history_b, receive) = conversation();
    let mut g = c.benchmark_group(format!("store/{name}"));
    g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (label, history, last, app) in
        [("steady_send", &history_a, &send, vec![]), ("steady_receive", &history_b, &receive, delivery())]
    {
        let mut store = open();
        for set in history {
            store.commit(set, &[]).unwrap();
        }
        // Commit the same change set over and over on copies of the sequence number: re-number it
        // each time so the store accepts it.
        let mut next = last.clone();
        g.bench_function(label, |b| {
            b.iter_batched_ref(
                || {
                    let set = next.clone();
                    next.seq += 1;
                    set
                },
                |set| store.commit(set, &app).unwrap(),
                BatchSize::SmallInput,
            )
        });
        eprintln!("{name}/{label}: {} writes, {} bytes", last.writes.len(), last.bytes());
    }
    g.finish();
}

fn stores(c: &mut Criterion) {
    bench_store(c, "memory", MemoryStore::default);
    for (name, durability) in [("sqlite_normal", Durability::Normal), ("sqlite_full", Durability::Full)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.db");
        bench_store(c, name, || {
            let _ = std::fs::remove_file(&path);
            SqliteStore::open(&path, StoreKey::from_bytes([1; 32]), durability).unwrap()
        });
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
