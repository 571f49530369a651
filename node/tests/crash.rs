//! Crash test with real processes: a child process runs Alice and Bob, each on its own SQLite
//! store, through a scripted conversation (messages travel through an append-only log file that
//! plays the Waku store), and the parent kills it with SIGKILL at random moments, some in the
//! middle of a commit, and starts it again. On every start the child checks that each store
//! holds the last committed state (or the one after it, when the kill came between the commit
//! and its log line) and it fails if a message is shown twice; at the end the parent checks that
//! every message was delivered and that no AEAD key and nonce sealed two different plaintexts.
//!
//! `cargo test -p status-1to1-node --test crash` runs 200 kill points; `S1TO1_CRASH_KILLS=N`
//! runs N (`docs/storage.md` has the numbers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing
#![allow(clippy::disallowed_methods)] // the IO side: this test times real processes

mod common;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Device, card, new_peer};
use sha2::{Digest, Sha256};
use status_1to1::SeededEntropy;
use status_1to1::crypto::audit;
use status_1to1::peer::{Event, Peer};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1_node::{AppRow, Durability, SqliteStore, Store, StoreKey, load_peer};

const CHILD_DIR: &str = "S1TO1_CRASH_CHILD_DIR";
const MESSAGES: usize = 20;
const NAMES: [&str; 2] = ["alice", "bob"];
const LOG: &str = "log";
const LEDGER: &str = "ledger";

fn store_key() -> StoreKey {
    StoreKey::from_bytes([0x5a; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn append(dir: &Path, name: &str, bytes: &[u8]) {
    let mut f = OpenOptions::new().create(true).append(true).open(dir.join(name)).unwrap();
    f.write_all(bytes).unwrap();
}

/// Messages in the log file: `len (u32 BE) ‖ WakuMessage protobuf`, appended; a record cut by a
/// kill mid-append is lost, as a message the relay never got.
fn read_log(dir: &Path) -> Vec<WakuMessage> {
    let mut bytes = Vec::new();
    if let Ok(mut f) = File::open(dir.join(LOG)) {
        f.read_to_end(&mut bytes).unwrap();
    }
    let mut out = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        let Some(body) = tail.get(..len) else { break };
        out.push(WakuMessage::from_bytes(body).unwrap());
        rest = &tail[len..];
    }
    out
}

fn publish(dir: &Path, messages: &[WakuMessage]) {
    let mut framed = Vec::new();
    for m in messages {
        let bytes = m.to_bytes();
        framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        framed.extend_from_slice(&bytes);
    }
    if !framed.is_empty() {
        append(dir, LOG, &framed);
    }
}

fn digest(peer: &Peer) -> String {
    let mut h = Sha256::new();
    for (k, v) in peer.records().unwrap().iter() {
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    hex(&h.finalize())
}

/// The child's entry point: does nothing unless the parent started this binary as its child.
#[test]
#[ignore = "the child process of `processes_killed_at_random_lose_nothing`"]
fn crash_child() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        let code = match Child::conversation(Path::new(&dir)) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("crash child: {e}");
                3
            }
        };
        std::process::exit(code);
    }
}

/// One of the two devices in the child.
struct Child {
    name: &'static str,
    device: Device<SqliteStore>,
    sent: usize,
    clock: u64,
}

impl Child {
    fn number(store: &SqliteStore, key: &[u8]) -> u64 {
        store.app_row(key).unwrap().map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
    }

    fn open(dir: &Path, k: usize) -> Result<Self, String> {
        let name = NAMES[k];
        let store = SqliteStore::open(&dir.join(format!("{name}.db")), store_key(), Durability::Normal)
            .map_err(|e| format!("{name}: open: {e}"))?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        let mut entropy = SeededEntropy::from_seed(seed);
        let loaded = load_peer(&store).map_err(|e| format!("{name}: load: {e}"))?;
        if let Some(peer) = &loaded {
            let seq = store.load().unwrap().map_or(0, |r| r.seq());
            check_loaded(dir, name, peer, seq)?;
        }
        let peer = loaded.unwrap_or_else(|| new_peer(k as u8 + 1, &mut entropy));
        let (sent, cursor, clock) =
            (Self::number(&store, b"sent"), Self::number(&store, b"cursor"), Self::number(&store, b"clock"));
        let mut device = Device::new(peer, store, entropy);
        device.cursor = cursor as usize;
        let dir = dir.to_path_buf();
        device.on_commit = Some(Box::new(move |done, peer, seq| on_commit(&dir, name, done, peer, seq)));
        Ok(Self { name, device, sent: sent as usize, clock })
    }

    fn conversation(dir: &Path) -> Result<(), String> {
        let mut sides = [Self::open(dir, 0)?, Self::open(dir, 1)?];
        let start = sides.iter().map(|s| s.clock).max().unwrap_or(0).max(1_700_000_000_000);
        let mut now = Timestamp::from_millis(start + 1_000);
        let cards = [card(&sides[0].device.peer), card(&sides[1].device.peer)];
        for k in 0..2 {
            sides[k].step(dir, now, |d, log| d.handle(now, Event::Start, log))?;
            if sides[k].device.peer.contacts().is_empty() {
                let card = cards[1 - k].clone();
                sides[k].step(dir, now, |d, log| d.handle(now, Event::AddContact(card), log))?;
            }
        }
        for round in 0..20_000u32 {
            now = now.saturating_add(Duration::from_millis(250));
            for k in 0..2 {
                sides[k].step(dir, now, |d, log| d.catch_up(now, log).and_then(|()| d.tick(now, log)))?;
                if round % 4 == k as u32 {
                    sides[k].send_next(dir, now, cards[1 - k].identity)?;
                }
            }
            let delivered = |s: &Child| s.device.store.app_rows(b"delivery/").unwrap().len();
            if sides.iter().all(|s| s.sent == MESSAGES && delivered(s) == MESSAGES) {
                return Ok(());
            }
        }
        let state: Vec<String> = sides
            .iter()
            .map(|s| {
                let delivered = s.device.store.app_rows(b"delivery/").unwrap().len();
                format!("{}: sent {}, delivered {delivered}, {:?}", s.name, s.sent, s.device.peer.bounds())
            })
            .collect();
        Err(format!("the conversation did not finish: {}", state.join("; ")))
    }

    /// Runs one or more peer events on the current log, then publishes what they produced.
    fn step(
        &mut self,
        dir: &Path,
        _now: Timestamp,
        run: impl FnOnce(&mut Device<SqliteStore>, &mut Vec<WakuMessage>) -> Result<(), status_1to1_node::StoreError>,
    ) -> Result<(), String> {
        let mut log = read_log(dir);
        let before = log.len();
        run(&mut self.device, &mut log).map_err(|e| format!("{}: {e}", self.name))?;
        publish(dir, &log[before..]);
        if self.device.duplicates > 0 {
            return Err(format!("{}: a message was shown twice", self.name));
        }
        Ok(())
    }

    fn send_next(&mut self, dir: &Path, now: Timestamp, to: status_1to1::identity::IdentityKey) -> Result<(), String> {
        if self.sent == MESSAGES {
            return Ok(());
        }
        let body = format!("{}-{}", self.name, self.sent).into_bytes();
        let counter = ((self.sent + 1) as u64).to_be_bytes().to_vec();
        self.device.pending = vec![AppRow { key: b"sent".to_vec(), value: Some(counter) }];
        self.step(dir, now, |d, log| d.handle(now, Event::SendText { to, body }, log))?;
        self.device.pending.clear();
        self.sent += 1;
        Ok(())
    }
}

/// Marks commits for the parent (`b` begin, `c` done, on stdout) and, once committed, logs the
/// change set's digest and the AEAD uses of the event before anything is published.
fn on_commit(dir: &Path, name: &str, done: bool, peer: &Peer, seq: u64) {
    let mut out = std::io::stdout().lock();
    out.write_all(if done { b"c" } else { b"b" }).unwrap();
    out.flush().unwrap();
    if !done {
        return;
    }
    append(dir, &format!("commits-{name}"), format!("{seq} {}\n", digest(peer)).as_bytes());
    let uses: String =
        audit::take().iter().map(|u| format!("{} {} {}\n", hex(&u.key), hex(&u.nonce), hex(&u.plaintext))).collect();
    append(dir, LEDGER, uses.as_bytes());
}

/// The store holds the last committed state, or the one after it.
fn check_loaded(dir: &Path, name: &str, peer: &Peer, seq: u64) -> Result<(), String> {
    let path = dir.join(format!("commits-{name}"));
    let mut log = std::fs::read_to_string(&path).unwrap_or_default();
    if !log.is_empty() && !log.ends_with('\n') {
        // A kill in the middle of appending the last line: drop the torn line.
        log.truncate(log.rfind('\n').map_or(0, |i| i + 1));
        std::fs::write(&path, &log).unwrap();
    }
    let Some((logged, logged_digest)) = log.lines().last().and_then(|l| l.split_once(' ')) else { return Ok(()) };
    let logged: u64 = logged.parse().map_err(|_| "bad commit log")?;
    if seq == logged + 1 {
        // Killed between the commit and its log line: log it now.
        append(dir, &format!("commits-{name}"), format!("{seq} {}\n", digest(peer)).as_bytes());
        Ok(())
    } else if seq == logged && digest(peer) == logged_digest {
        Ok(())
    } else {
        Err(format!("{name}: the store holds change set {seq}, the last committed was {logged}"))
    }
}

/// A small deterministic generator for the kill schedule.
struct Schedule(u64);

impl Schedule {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + self.0 % max
    }
}

struct Outcome {
    exited: Option<i32>,
    mid_commit: bool,
    stderr: String,
}

fn run_child(dir: &Path, kill_after: Option<Duration>) -> Outcome {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(after) = kill_after {
        let deadline = Instant::now() + after;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill(); // SIGKILL on Unix
    }
    let status = child.wait().unwrap();
    let mut marks = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut marks).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let last_mark = marks.iter().rev().find(|b| matches!(b, b'b' | b'c'));
    Outcome { exited: status.code(), mid_commit: status.code().is_none() && last_mark == Some(&b'b'), stderr }
}

/// No (key, nonce) sealed two different plaintexts.
fn check_ledger(dir: &Path) -> usize {
    let ledger = std::fs::read_to_string(dir.join(LEDGER)).unwrap_or_default();
    let mut seen: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for line in ledger.lines() {
        let mut parts = line.split(' ');
        let (Some(key), Some(nonce), Some(plaintext)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let earlier = *seen.entry((key, nonce)).or_insert(plaintext);
        assert_eq!(earlier, plaintext, "key {key} and nonce {nonce} sealed two plaintexts");
    }
    seen.len()
}

/// What one conversation under kills showed.
#[derive(Default)]
struct Tally {
    kills: usize,
    mid_commit: usize,
    uses: usize,
}

/// Runs one conversation to its end, killing the child up to `budget` times on the way, and
/// checks what it left.
fn killed_conversation(schedule: &mut Schedule, budget: usize) -> Tally {
    let dir = tempfile::tempdir().unwrap();
    let mut tally = Tally::default();
    while tally.kills < budget {
        let outcome = run_child(dir.path(), Some(Duration::from_millis(schedule.next_ms(40))));
        match outcome.exited {
            None => tally.kills += 1,
            Some(0) => break,
            Some(code) => panic!("child failed ({code}) after {} kills: {}", tally.kills, outcome.stderr),
        }
        tally.mid_commit += usize::from(outcome.mid_commit);
    }
    let last = run_child(dir.path(), None);
    assert_eq!(last.exited, Some(0), "the conversation finishes after {} kills: {}", tally.kills, last.stderr);
    for name in NAMES {
        let store = SqliteStore::open(&dir.path().join(format!("{name}.db")), store_key(), Durability::Normal).unwrap();
        assert_eq!(store.app_rows(b"delivery/").unwrap().len(), MESSAGES, "{name} got every message once");
    }
    tally.uses = check_ledger(dir.path());
    tally
}

#[test]
fn processes_killed_at_random_lose_nothing() {
    let kills: usize = std::env::var("S1TO1_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let started = Instant::now();
    let mut schedule = Schedule(0x9e37_79b9_7f4a_7c15);
    let (mut total, mut conversations) = (Tally::default(), 0);
    while total.kills < kills {
        let t = killed_conversation(&mut schedule, kills - total.kills);
        total.kills += t.kills;
        total.mid_commit += t.mid_commit;
        total.uses += t.uses;
        conversations += 1;
    }
    eprintln!(
        "crash test: {} kills ({} inside a commit) over {conversations} conversations of {} messages, \
         {} AEAD uses checked, {:.1} s",
        total.kills,
        total.mid_commit,
        2 * MESSAGES,
        total.uses,
        started.elapsed().as_secs_f64()
    );
    assert!(total.mid_commit > 0, "some kills land inside a commit");
}
