//! The store contract against real peers: what a store loads is the peer that wrote it, and
//! everything bad (wrong key, tampering, moved values, truncation, out-of-sequence change sets,
//! a locked database) is a typed error that changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::{Device, card, new_peer};
use status_1to1::SeededEntropy;
use status_1to1::peer::{ChangeSet, Event};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1_node::{Durability, MemoryStore, SqliteStore, Store, StoreError, StoreKey, load_peer};

fn key() -> StoreKey {
    StoreKey::from_bytes([42; 32])
}

/// Alice on `store` and Bob in memory exchange `messages` texts each way.
fn converse<S: Store>(store: S, messages: usize) -> (Device<S>, Device<MemoryStore>) {
    let mut ea = SeededEntropy::from_u64(1);
    let mut eb = SeededEntropy::from_u64(2);
    let mut alice = Device::new(new_peer(1, &mut ea), store, ea);
    let mut bob = Device::new(new_peer(2, &mut eb), MemoryStore::default(), eb);
    let mut log: Vec<WakuMessage> = Vec::new();
    let mut now = Timestamp::from_millis(1_700_000_000_000);
    alice.handle(now, Event::Start, &mut log).unwrap();
    bob.handle(now, Event::Start, &mut log).unwrap();
    alice.handle(now, Event::AddContact(card(&bob.peer)), &mut log).unwrap();
    bob.handle(now, Event::AddContact(card(&alice.peer)), &mut log).unwrap();
    for k in 0..messages {
        let (a, b) = (*alice.peer.identity(), *bob.peer.identity());
        alice.handle(now, Event::SendText { to: b, body: format!("a{k}").into_bytes() }, &mut log).unwrap();
        bob.handle(now, Event::SendText { to: a, body: format!("b{k}").into_bytes() }, &mut log).unwrap();
        for _ in 0..20 {
            now = now.saturating_add(Duration::from_millis(500));
            alice.catch_up(now, &mut log).unwrap();
            bob.catch_up(now, &mut log).unwrap();
            alice.tick(now, &mut log).unwrap();
            bob.tick(now, &mut log).unwrap();
        }
    }
    (alice, bob)
}

fn sqlite(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("peer.db"), key(), Durability::Normal).unwrap()
}

#[test]
fn the_store_loads_the_peer_that_wrote_it_and_its_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _bob) = converse(sqlite(&dir), 5);
    assert!(alice.committed.len() > 10, "a conversation commits many change sets");
    drop(alice.store);
    let reopened = sqlite(&dir);
    let loaded = load_peer(&reopened).unwrap().expect("records");
    assert_eq!(loaded.records().unwrap(), alice.peer.records().unwrap());
    let delivered = reopened.app_rows(b"delivery/").unwrap();
    let mut bodies: Vec<String> = delivered.iter().map(|(_, v)| String::from_utf8(v.clone()).unwrap()).collect();
    bodies.sort();
    assert_eq!(bodies, (0..5).map(|k| format!("b{k}")).collect::<Vec<_>>());
}

#[test]
fn memory_and_sqlite_stores_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (on_disk, _) = converse(sqlite(&dir), 3);
    let (in_memory, _) = converse(MemoryStore::default(), 3);
    assert_eq!(on_disk.store.load().unwrap(), in_memory.store.load().unwrap());
    assert_eq!(on_disk.store.app_rows(b"").unwrap(), in_memory.store.app_rows(b"").unwrap());
}

#[test]
fn an_out_of_sequence_change_set_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let on_disk = SqliteStore::open(&dir.path().join("p.db"), key(), Durability::Full).unwrap();
    for mut store in [Box::new(MemoryStore::default()) as Box<dyn Store>, Box::new(on_disk)] {
        let (alice, _) = converse(MemoryStore::default(), 1);
        let sets = &alice.committed;
        store.commit(&sets[0], &[]).unwrap();
        let before = store.load().unwrap();
        let err = store.commit(&sets[2], &[]).unwrap_err();
        assert!(matches!(err, StoreError::OutOfSequence { last: 1, found: 3 }), "{err:?}");
        assert!(matches!(store.commit(&sets[0], &[]), Err(StoreError::OutOfSequence { .. })), "a repeat");
        assert_eq!(store.load().unwrap(), before);
        store.commit(&sets[1], &[]).unwrap();
    }
}

#[test]
fn a_wrong_key_is_refused_before_anything_loads() {
    let dir = tempfile::tempdir().unwrap();
    drop(converse(sqlite(&dir), 1));
    let other = SqliteStore::open(&dir.path().join("peer.db"), StoreKey::from_bytes([7; 32]), Durability::Normal);
    assert!(matches!(other, Err(StoreError::WrongKey)), "{other:?}");
}

/// Runs SQL on the raw database file, as an attacker or a disk fault would.
fn tamper(dir: &tempfile::TempDir, sql: &str) {
    let conn = rusqlite::Connection::open(dir.path().join("peer.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn tampered_moved_or_missing_values_refuse_the_whole_load() {
    let cases = [
        "UPDATE records SET value = substr(value, 1, length(value) - 1) || x'00' WHERE key = (SELECT key FROM records ORDER BY key LIMIT 1)",
        "UPDATE records SET value = (SELECT value FROM records ORDER BY key DESC LIMIT 1) WHERE key = (SELECT key FROM records ORDER BY key LIMIT 1)",
        "UPDATE records SET value = substr(value, 1, 10) WHERE key = (SELECT key FROM records ORDER BY key LIMIT 1)",
        "UPDATE records SET key = x'ff' || key WHERE key = (SELECT key FROM records ORDER BY key LIMIT 1)",
        "UPDATE app SET value = (SELECT value FROM records LIMIT 1) WHERE key = (SELECT key FROM app LIMIT 1)",
    ];
    for (i, sql) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        drop(converse(sqlite(&dir), 2));
        tamper(&dir, sql);
        let store = sqlite(&dir);
        let loaded = if i == 4 { store.app_rows(b"").map(|_| ()) } else { store.load().map(|_| ()) };
        assert!(matches!(loaded, Err(StoreError::Corrupt(_))), "case {i}: {loaded:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    drop(converse(sqlite(&dir), 2));
    tamper(&dir, "DELETE FROM records WHERE key = (SELECT key FROM records ORDER BY key LIMIT 1)");
    assert!(matches!(load_peer(&sqlite(&dir)), Err(StoreError::Records(_))), "a missing record");
}

#[test]
fn a_truncated_database_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peer.db");
    {
        let (alice, _) = converse(sqlite(&dir), 2);
        drop(alice);
        // Fold the WAL into the main file so that truncating it cuts real pages.
        tamper(&dir, "PRAGMA wal_checkpoint(TRUNCATE);");
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let result = SqliteStore::open(&path, key(), Durability::Normal).and_then(|s| load_peer(&s).map(|_| ()));
    assert!(matches!(result, Err(StoreError::Corrupt(_) | StoreError::Records(_))), "{result:?}");
}

#[test]
fn a_database_locked_by_another_writer_gives_busy() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, _) = converse(MemoryStore::default(), 1);
    let mut store = sqlite(&dir);
    let other = rusqlite::Connection::open(dir.path().join("peer.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let first: &ChangeSet = &alice.committed[0];
    assert!(matches!(store.commit(first, &[]), Err(StoreError::Busy)));
    other.execute_batch("ROLLBACK;").unwrap();
    store.commit(first, &[]).unwrap();
}
