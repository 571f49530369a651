//! proptest state-machine style test of the peer through its public API: random interleavings
//! of sends, deliveries, drops, duplicates, reordering, restarts from snapshot and own-device
//! additions. After connectivity returns and retries run, every message is delivered exactly
//! once to every device of its recipient that existed when it was sent, never twice anywhere,
//! and every peer restored from a snapshot equals the peer that wrote it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::World;
use proptest::prelude::*;

use status_1to1::peer::{Action, Direction, Event, KeyExchange, Origin, Peer, PeerConfig};

#[derive(Debug, Clone)]
enum Op {
    /// Account `from` (its device `device`) sends to the other account.
    Send { from: usize, device: usize },
    /// Deliver the in-flight message at this position.
    Deliver(usize),
    /// Lose it.
    Drop(usize),
    /// Deliver it and keep a copy in flight.
    Duplicate(usize),
    /// Crash a device and restart it from its last snapshot.
    Restart(usize),
    /// Let time pass (timers fire).
    Wait(u16),
    /// Add a second device to an account, paired with its first.
    AddDevice(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..2, 0usize..2).prop_map(|(from, device)| Op::Send { from, device }),
        6 => any::<usize>().prop_map(Op::Deliver),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => any::<usize>().prop_map(Op::Duplicate),
        1 => (0usize..4).prop_map(Op::Restart),
        2 => (1u16..120).prop_map(Op::Wait),
        1 => (0usize..2).prop_map(Op::AddDevice),
    ]
}

struct Model {
    /// Node indexes of each account's devices.
    accounts: [Vec<usize>; 2],
    /// For each message text: the devices that must get it (recipients at send time).
    expected: BTreeMap<String, BTreeSet<usize>>,
    sent: usize,
}

fn config_for(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

/// Pairs a new device of `account` with its first device over a lossless exchange (the QR is
/// out of band; the pairing messages themselves are not what this test stresses).
fn add_device(w: &mut World, m: &mut Model, account: usize, kx: KeyExchange) {
    if m.accounts[account].len() >= 2 {
        return;
    }
    let first = m.accounts[account][0];
    let saved = std::mem::take(&mut w.inflight);
    let new = w.add(account as u8 + 1, 100 + account as u64, config_for(kx));
    let now = w.now;
    let node = &mut w.nodes[first];
    let Ok(actions) = node.peer.handle(now, Event::StartPairing, &mut node.entropy) else { return };
    let qr = actions.iter().find_map(|a| {
        if let Action::ShowPairingQr { qr, nametag, .. } = a { Some((qr.clone(), *nametag)) } else { None }
    });
    w.apply_public(first, actions);
    let Some((qr, nametag)) = qr else {
        w.inflight.extend(saved);
        return;
    };
    let _ = w.event(new, Event::ScanPairingQr { qr, nametag });
    w.settle(Duration::from_secs(1));
    let _ = w.event(first, Event::ConfirmPairing { accept: true });
    let _ = w.event(new, Event::ConfirmPairing { accept: true });
    w.settle(Duration::from_secs(5));
    w.inflight.extend(saved);
    assert!(w.nodes[first].peer.own_devices().values().any(|d| d.enabled), "the pairing completed");
    m.accounts[account].push(new);
}

/// Runs `ops` with both accounts preferring `kx` (`mixed`: one prefers each; they converge).
fn run(ops: Vec<Op>, kx: KeyExchange, mixed: bool) {
    let mut w = World::new();
    let other = if mixed { KeyExchange::Noise } else { kx };
    let a = w.add(1, 10, config_for(kx));
    let b = w.add(2, 20, config_for(other));
    if kx == KeyExchange::X3dh {
        // The contact exchange of 55: each side scanned the other's contact code.
        let (ca, cb) = (w.contact_code_card(a), w.contact_code_card(b));
        w.event(a, Event::AddContact(cb)).unwrap();
        w.event(b, Event::AddContact(ca)).unwrap();
    }
    let mut m = Model { accounts: [vec![a], vec![b]], expected: BTreeMap::new(), sent: 0 };
    for op in ops {
        match op {
            Op::Send { from, device } => {
                let Some(&sender) = m.accounts[from].get(device % m.accounts[from].len()) else { continue };
                let to_account = 1 - from;
                let to = *w.nodes[m.accounts[to_account][0]].peer.identity();
                let text = format!("m{}", m.sent);
                m.sent += 1;
                if w.event(sender, Event::SendText { to, body: text.clone().into_bytes() }).is_ok() {
                    m.expected.insert(text, m.accounts[to_account].iter().copied().collect());
                }
            }
            Op::Deliver(k) | Op::Duplicate(k) if !w.inflight.is_empty() => {
                let k = k % w.inflight.len();
                let (j, message, _) =
                    if matches!(op, Op::Duplicate(_)) { w.inflight[k].clone() } else { w.inflight.remove(k).unwrap() };
                w.now = w.now.saturating_add(Duration::from_millis(100));
                let _ = w.event(j, Event::Received { message, origin: Origin::Relay });
            }
            Op::Drop(k) if !w.inflight.is_empty() => {
                let k = k % w.inflight.len();
                w.inflight.remove(k);
            }
            Op::Restart(i) if i < w.nodes.len() => {
                let restored = Peer::restore(&w.nodes[i].peer.snapshot().unwrap()).unwrap();
                assert_eq!(restored, w.nodes[i].peer, "a snapshot restores an identical peer");
                // The change sets applied in order to an empty store are the peer's records,
                // and loading them gives back the peer that wrote them.
                assert_eq!(w.nodes[i].peer.records().unwrap(), w.nodes[i].persisted);
                assert_eq!(Peer::from_records(&w.nodes[i].persisted).unwrap(), w.nodes[i].peer);
                w.crash_and_restart(i);
            }
            Op::Wait(secs) => {
                let saved = std::mem::take(&mut w.inflight);
                w.settle_timers_only(Duration::from_secs(u64::from(secs)));
                let produced = std::mem::replace(&mut w.inflight, saved);
                w.inflight.extend(produced);
            }
            Op::AddDevice(account) => add_device(&mut w, &mut m, account, kx),
            _ => {}
        }
    }
    // Connectivity returns: everything in flight arrives, retries run until quiet.
    w.settle(Duration::from_secs(6 * 3600));
    check(&w, &m);
}

fn check(w: &World, m: &Model) {
    for (i, node) in w.nodes.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for d in node.delivered.iter().filter(|d| d.direction == Direction::Incoming) {
            let text = String::from_utf8_lossy(&d.body).to_string();
            assert!(seen.insert(text.clone()), "device {i} got {text} twice");
            assert!(m.expected.contains_key(&text), "device {i} got {text}, which nobody sent");
        }
        for (text, recipients) in &m.expected {
            if recipients.contains(&i) {
                assert!(seen.contains(text), "device {i} never got {text}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_message_reaches_every_intended_device_exactly_once(
        ops in proptest::collection::vec(op(), 0..60),
        kx in proptest::sample::select(vec![KeyExchange::Noise, KeyExchange::X3dh]),
        mixed in any::<bool>(),
    ) {
        run(ops, kx, mixed);
    }
}

#[test]
fn a_hand_picked_hard_schedule() {
    use Op::*;
    let ops = vec![
        Send { from: 0, device: 0 },
        Drop(0),
        Send { from: 1, device: 0 },
        Restart(0),
        Duplicate(0),
        Deliver(1),
        AddDevice(1),
        Send { from: 0, device: 0 },
        Wait(30),
        Deliver(0),
        Restart(1),
    ];
    for (kx, mixed) in [(KeyExchange::Noise, false), (KeyExchange::X3dh, false), (KeyExchange::X3dh, true)] {
        run(ops.clone(), kx, mixed);
    }
}

#[test]
fn regression_message_sent_from_a_second_device_before_the_recipient_pairs() {
    use Op::*;
    run(
        vec![
            AddDevice(0),
            Send { from: 0, device: 1 },
            AddDevice(1),
            Deliver(477695662921975),
            Drop(10919850339637835782),
            Deliver(1011077402853712),
            Deliver(7068083256677967229),
            Deliver(15858825603322009107),
        ],
        KeyExchange::Noise,
        false,
    );
}

#[test]
fn regression_x3dh_own_device_added_before_first_contact() {
    use Op::*;
    let ops = vec![
        AddDevice(0),
        Send { from: 0, device: 0 },
        Drop(27541),
        Send { from: 0, device: 0 },
        Deliver(12591561321662654817),
        Deliver(661017111262841627),
        Send { from: 0, device: 1 },
        Deliver(14933332602367579382),
        Wait(63),
        Deliver(9234976793447124729),
        Drop(12365293883354017155),
        Wait(101),
        Wait(106),
        Send { from: 1, device: 1 },
    ];
    run(ops, KeyExchange::X3dh, false);
}

#[test]
fn regression_mixed_preferences_with_a_new_device() {
    use Op::*;
    let ops = vec![Send { from: 1, device: 0 }, AddDevice(1), Send { from: 1, device: 1 }, Drop(13772404932575612494)];
    run(ops, KeyExchange::X3dh, true);
}
