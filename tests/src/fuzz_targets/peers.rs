//! Whole peers: two accounts (one possibly with a second, paired device) driven through an
//! in-memory Waku by a structured sequence of operations, with the simulator's safety
//! invariants as the oracle.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use status_1to1::identity::{ContactCode, IdentityKeyPair, InstallationId};
use status_1to1::peer::{
    Action, ContactCard, Direction, Event, KeyExchange, MessageId, Origin, Peer, PeerConfig, Records, Snapshot,
};
use status_1to1::waku::WakuMessage;
use status_1to1::{SeededEntropy, Timestamp};

use super::{backend_index, null_crypto, xor_at};

/// One device.
#[derive(Clone)]
pub(super) struct Node {
    pub(super) peer: Peer,
    /// The device's store: its change sets applied in order.
    pub(super) persisted: Records,
    account: usize,
    online: bool,
    timer: Option<Timestamp>,
    /// (sender installation, message id) of every delivery, for the duplicate check.
    delivered_ids: BTreeSet<(InstallationId, MessageId)>,
    /// (direction, body) of every delivery.
    delivered_bodies: BTreeSet<(bool, Vec<u8>)>,
}

/// An in-memory Waku: relay to subscribed online nodes, a store of everything, timers.
#[derive(Clone)]
pub(super) struct World {
    pub(super) now: Timestamp,
    pub(super) nodes: Vec<Node>,
    inflight: Vec<(usize, WakuMessage)>,
    store: Vec<WakuMessage>,
    /// Every body handed to `SendText`.
    sent: BTreeSet<Vec<u8>>,
    /// Whether anything tampered or made up was delivered (with null crypto, forgeries can then
    /// be accepted, so authenticity is not checked after that).
    forged: bool,
    /// Events handled in this run (bounded, so that one input cannot run forever).
    events: usize,
    /// The last pairing QR shown, with its nametag.
    qr: Option<(String, [u8; 16])>,
}

/// Per-run entropy, one stream per node, seeded apart from the fixture's.
struct Entropies(Vec<SeededEntropy>);

impl Entropies {
    fn new(seed: u64, n: usize) -> Self {
        Self((0..n).map(|i| SeededEntropy::from_u64(seed.wrapping_mul(1000).wrapping_add(i as u64))).collect())
    }

    fn get(&mut self, i: usize) -> &mut SeededEntropy {
        while self.0.len() <= i {
            let n = self.0.len() as u64;
            self.0.push(SeededEntropy::from_u64(0x5eed_0000 + n));
        }
        &mut self.0[i]
    }
}

/// Events per run at most: each event with real crypto and the snapshot checks costs up to a
/// few milliseconds, and libFuzzer needs many runs per second.
const EVENT_BUDGET: usize = 160;

impl World {
    fn new() -> Self {
        Self {
            now: Timestamp::from_millis(1_700_000_000_000),
            nodes: Vec::new(),
            inflight: Vec::new(),
            store: Vec::new(),
            sent: BTreeSet::new(),
            forged: false,
            events: 0,
            qr: None,
        }
    }

    fn add(&mut self, account: usize, config: PeerConfig, e: &mut Entropies) -> usize {
        let i = self.nodes.len();
        let identity = IdentityKeyPair::from_seed([account as u8 + 1; 32]);
        let installation = InstallationId::generate(e.get(i));
        self.nodes.push(Node {
            peer: Peer::new(identity, installation, config),
            persisted: Records::default(),
            account,
            online: true,
            timer: None,
            delivered_ids: BTreeSet::new(),
            delivered_bodies: BTreeSet::new(),
        });
        self.event(i, Event::Start, e);
        i
    }

    /// Handles `event` at node `i` and every event its actions cause (store answers), checking
    /// the per-event invariants. Returns whether the first event was accepted.
    fn event(&mut self, i: usize, event: Event, e: &mut Entropies) -> bool {
        let mut queue = vec![(i, event)];
        let mut first = true;
        let mut accepted_first = false;
        while let Some((i, event)) = queue.pop() {
            if self.events >= EVENT_BUDGET {
                break;
            }
            self.events += 1;
            let accepted = self.handle_one(i, event, e, &mut queue);
            if first {
                accepted_first = accepted;
                first = false;
            }
        }
        accepted_first
    }

    fn handle_one(&mut self, i: usize, event: Event, e: &mut Entropies, queue: &mut Vec<(usize, Event)>) -> bool {
        let now = self.now;
        let before = self.nodes[i].peer.clone();
        let result = self.nodes[i].peer.handle(now, event, e.get(i));
        let node = &mut self.nodes[i];
        let actions = match result {
            Ok(actions) => actions,
            Err(_) => {
                assert!(node.peer == before, "a refused event changed the peer");
                return false;
            }
        };
        if node.peer != before {
            assert_persist_ordering(&actions);
        }
        let check_authenticity = !(null_crypto() && self.forged);
        for action in actions {
            let node = &mut self.nodes[i];
            match action {
                Action::Persist(changes) => {
                    node.persisted.apply(&changes).expect("change sets come in sequence");
                    // Loading costs a signature check per stored bundle: after every fourth
                    // change set here, and on every restart (see `PeerOp::Restart`).
                    if self.events.is_multiple_of(4) {
                        let restored = Peer::from_records(&node.persisted).expect("the stored records load");
                        assert!(restored == node.peer, "the stored records load a different peer");
                    }
                }
                Action::Publish(message) => {
                    self.store.push(message.clone());
                    for (j, n) in self.nodes.iter().enumerate() {
                        if n.online && n.peer.subscriptions().contains(&message.content_topic) {
                            self.inflight.push((j, message.clone()));
                        }
                    }
                }
                Action::Deliver(d) => {
                    assert!(
                        node.delivered_ids.insert((d.from_installation.clone(), d.id)),
                        "message {:?} from {} delivered twice to one device",
                        d.id,
                        d.from_installation
                    );
                    if check_authenticity {
                        assert!(self.sent.contains(&d.body), "delivered a plaintext nobody sent");
                        let incoming = d.direction == Direction::Incoming;
                        assert!(node.delivered_bodies.insert((incoming, d.body.clone())), "a text was delivered twice");
                        if incoming {
                            assert_ne!(&d.from, node.peer.identity(), "an incoming message from ourselves");
                        } else {
                            assert_eq!(&d.from, node.peer.identity(), "a sync copy from another account");
                        }
                    }
                }
                Action::SetTimer(at) => node.timer = Some(at),
                // The user accepts every contact request.
                Action::ContactRequest(request) => queue.push((i, Event::AcceptContactRequest(request.from))),
                Action::ShowPairingQr { qr, nametag, .. } => self.qr = Some((qr, nametag)),
                Action::QueryStore { request, content_topics, start, end, .. } => {
                    let messages = self
                        .store
                        .iter()
                        .filter(|m| content_topics.contains(&m.content_topic))
                        .filter(|m| {
                            let t = Timestamp::from_nanos_i64(m.timestamp.unwrap_or(0));
                            t >= start && t <= end
                        })
                        .take(50)
                        .cloned()
                        .collect();
                    queue.push((i, Event::StoreResult { request, messages, next_cursor: None }));
                }
                _ => {}
            }
        }
        true
    }

    /// Fires due timers (of online nodes) up to `now`.
    fn fire_timers(&mut self, e: &mut Entropies) {
        for _ in 0..16 {
            let next = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.online)
                .filter_map(|(i, n)| n.timer.map(|t| (t, i)))
                .min();
            match next {
                Some((t, i)) if t <= self.now => {
                    self.nodes[i].timer = None;
                    self.event(i, Event::Timer, e);
                }
                _ => break,
            }
        }
    }

    /// Delivers everything in flight and fires timers for `max`, within the event budget.
    fn settle(&mut self, max: Duration, e: &mut Entropies) {
        let deadline = self.now.saturating_add(max);
        while self.events < EVENT_BUDGET {
            if !self.inflight.is_empty() {
                let (j, m) = self.inflight.remove(0);
                self.now = self.now.saturating_add(Duration::from_millis(50));
                if self.nodes[j].online {
                    self.event(j, Event::Received { message: m, origin: Origin::Relay }, e);
                }
                continue;
            }
            let next = self.nodes.iter().filter(|n| n.online).filter_map(|n| n.timer).min();
            match next {
                Some(t) if t <= deadline => {
                    self.now = self.now.max(t);
                    self.fire_timers(e);
                }
                _ => break,
            }
        }
    }

    fn card(&self, i: usize) -> ContactCard {
        let code = self.nodes[i].peer.contact_code(self.now).expect("contact code");
        ContactCard::from_contact_code(&ContactCode::parse(&code.to_string()).expect("contact code round trip"))
    }

    /// Pairs a new device of `account` with its first device.
    fn add_device(&mut self, account: usize, config: PeerConfig, e: &mut Entropies) {
        let first = self.nodes.iter().position(|n| n.account == account).expect("the account exists");
        let new = self.add(account, config, e);
        self.qr = None;
        self.event(first, Event::StartPairing, e);
        let (qr, nametag) = self.qr.take().expect("a pairing QR");
        self.event(new, Event::ScanPairingQr { qr, nametag }, e);
        self.settle(Duration::from_secs(1), e);
        self.event(first, Event::ConfirmPairing { accept: true }, e);
        self.event(new, Event::ConfirmPairing { accept: true }, e);
        self.settle(Duration::from_secs(5), e);
        assert!(self.nodes[first].peer.own_devices().values().any(|d| d.enabled), "the pairing completed");
    }
}

fn config(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

/// The starting worlds: X3DH on both sides, Noise on both sides, or mixed preferences, each
/// with or without a second (paired) device of the first account. Built once per backend.
pub(super) fn worlds() -> &'static [World] {
    static WORLDS: [OnceLock<Vec<World>>; 2] = [OnceLock::new(), OnceLock::new()];
    WORLDS[backend_index()].get_or_init(|| {
        let mut worlds = Vec::new();
        for (ka, kb) in [
            (KeyExchange::X3dh, KeyExchange::X3dh),
            (KeyExchange::Noise, KeyExchange::Noise),
            (KeyExchange::X3dh, KeyExchange::Noise),
        ] {
            for second_device in [false, true] {
                let mut e = Entropies::new(1, 3);
                let mut w = World::new();
                let a = w.add(0, config(ka), &mut e);
                let b = w.add(1, config(kb), &mut e);
                if ka == KeyExchange::X3dh || kb == KeyExchange::X3dh {
                    let (ca, cb) = (w.card(a), w.card(b));
                    assert!(w.event(a, Event::AddContact(cb), &mut e));
                    assert!(w.event(b, Event::AddContact(ca), &mut e));
                }
                if second_device {
                    w.add_device(0, config(ka), &mut e);
                }
                w.events = 0;
                worlds.push(w);
            }
        }
        worlds
    })
}

#[derive(Debug, Arbitrary)]
enum PeerOp {
    /// A device sends a new text to the other account.
    Send { from: u8 },
    /// Delivers the in-flight message at this position.
    Deliver(u16),
    /// Loses it.
    Drop(u16),
    /// Delivers it and keeps a copy in flight.
    Duplicate(u16),
    /// Swaps two in-flight messages.
    Reorder(u16, u16),
    /// Crashes a device and restarts it from its store.
    Restart(u8),
    /// A device goes offline (it misses relay traffic) or comes back (and catches up from store).
    Toggle(u8),
    /// Time passes; due timers fire.
    Wait(u16),
    /// Delivers an in-flight message with bytes of its payload flipped.
    Tamper { index: u16, at: u16, mask: Vec<u8> },
    /// Delivers made-up payload bytes on a topic the node listens on (version 2).
    Inject { node: u8, topic: u8, payload: Vec<u8> },
    /// Delivers an arbitrary WakuMessage encoding, re-addressed to a topic the node listens on.
    InjectWaku { node: u8, topic: u8, bytes: Vec<u8> },
    /// A device ends its chats with the other account.
    EndChat { node: u8, public: bool },
    /// Checks that a device's snapshot restores an equal peer.
    Snapshot(u8),
}

/// Whole peers: the first byte picks a starting world (key exchanges, second device), the rest
/// is a sequence of [`PeerOp`]s. Invariants, after every event: a refused event leaves the peer
/// equal to before; a changed state is persisted first and the snapshot restores an equal peer;
/// no message id from one device is delivered twice to a device; with real crypto (or before
/// anything forged was delivered) every delivered plaintext was sent, no text is delivered twice
/// to one device, and incoming messages come from the other account.
pub fn peers(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.arbitrary::<u8>() else { return };
    let all = worlds();
    let mut w = all[usize::from(selector) % all.len()].clone();
    let mut e = Entropies::new(2 + u64::from(selector), w.nodes.len());
    let mut counter = 0usize;
    let mut ops = 0;
    // Stop at the end of the input (`arbitrary` would go on producing default values).
    while !u.is_empty() {
        let Ok(op) = u.arbitrary::<PeerOp>() else { break };
        ops += 1;
        if ops > 40 || w.events >= EVENT_BUDGET {
            break;
        }
        let n = w.nodes.len();
        match op {
            PeerOp::Send { from } => {
                let i = usize::from(from) % n;
                let other = 1 - w.nodes[i].account;
                let Some(to) = w.nodes.iter().find(|n| n.account == other).map(|n| *n.peer.identity()) else {
                    continue;
                };
                let body = format!("m{counter}").into_bytes();
                counter += 1;
                w.sent.insert(body.clone());
                w.event(i, Event::SendText { to, body }, &mut e);
            }
            PeerOp::Deliver(k) | PeerOp::Duplicate(k) if !w.inflight.is_empty() => {
                let k = usize::from(k) % w.inflight.len();
                let (j, message) =
                    if matches!(op, PeerOp::Duplicate(_)) { w.inflight[k].clone() } else { w.inflight.remove(k) };
                w.now = w.now.saturating_add(Duration::from_millis(100));
                if w.nodes[j].online {
                    w.event(j, Event::Received { message, origin: Origin::Relay }, &mut e);
                }
            }
            PeerOp::Drop(k) if !w.inflight.is_empty() => {
                let k = usize::from(k) % w.inflight.len();
                w.inflight.remove(k);
            }
            PeerOp::Reorder(a, b) if !w.inflight.is_empty() => {
                let len = w.inflight.len();
                w.inflight.swap(usize::from(a) % len, usize::from(b) % len);
            }
            PeerOp::Restart(i) => {
                let i = usize::from(i) % n;
                if w.nodes[i].persisted.seq() == 0 {
                    continue;
                }
                let restored = Peer::from_records(&w.nodes[i].persisted).expect("the stored records load");
                assert!(restored == w.nodes[i].peer, "the stored records are not the current state");
                w.nodes[i].peer = restored;
                w.nodes[i].timer = None;
                w.event(i, Event::Start, &mut e);
                w.nodes[i].timer = w.nodes[i].peer.next_deadline();
            }
            PeerOp::Toggle(i) => {
                let i = usize::from(i) % n;
                w.nodes[i].online = !w.nodes[i].online;
                if w.nodes[i].online {
                    w.event(i, Event::Start, &mut e);
                } else {
                    w.inflight.retain(|(j, _)| *j != i);
                }
            }
            PeerOp::Wait(secs) => {
                w.now = w.now.saturating_add(Duration::from_secs(u64::from(secs.max(1))));
                w.fire_timers(&mut e);
            }
            PeerOp::Tamper { index, at, mask } if !w.inflight.is_empty() => {
                let k = usize::from(index) % w.inflight.len();
                let (j, mut message) = w.inflight[k].clone();
                if xor_at(&mut message.payload, usize::from(at), &mask) && w.nodes[j].online {
                    w.forged = true;
                    w.event(j, Event::Received { message, origin: Origin::Relay }, &mut e);
                }
            }
            PeerOp::Inject { node, topic, payload } => {
                let j = usize::from(node) % n;
                let Some(topic) = pick_topic(&w, j, topic) else { continue };
                let message = WakuMessage::noise(payload, topic, w.now.as_nanos_i64(), false);
                w.forged = true;
                w.event(j, Event::Received { message, origin: Origin::Relay }, &mut e);
            }
            PeerOp::InjectWaku { node, topic, bytes } => {
                let j = usize::from(node) % n;
                let Ok(mut message) = WakuMessage::from_bytes(&bytes) else { continue };
                if let Some(topic) = pick_topic(&w, j, topic) {
                    message.content_topic = topic;
                }
                w.forged = true;
                w.event(j, Event::Received { message, origin: Origin::Store }, &mut e);
            }
            PeerOp::EndChat { node, public } => {
                let i = usize::from(node) % n;
                let other = 1 - w.nodes[i].account;
                let Some(with) = w.nodes.iter().find(|n| n.account == other).map(|n| *n.peer.identity()) else {
                    continue;
                };
                w.event(i, Event::EndChat { with, public }, &mut e);
            }
            PeerOp::Snapshot(i) => {
                let peer = &w.nodes[usize::from(i) % n].peer;
                let snapshot = peer.snapshot().expect("a peer encodes");
                let restored = Peer::restore(&snapshot).expect("a fresh snapshot restores");
                assert!(restored == *peer, "a snapshot restores a different peer");
                assert_eq!(restored.snapshot().expect("encodes"), snapshot, "a restored peer re-encodes differently");
            }
            _ => {}
        }
    }
    for node in &mut w.nodes {
        node.online = true;
    }
    w.settle(Duration::from_secs(600), &mut e);
}

fn pick_topic(w: &World, node: usize, pick: u8) -> Option<String> {
    let subscriptions = w.nodes[node].peer.subscriptions();
    subscriptions.iter().nth(usize::from(pick) % subscriptions.len().max(1)).cloned()
}

/// Genuine snapshots of peers in various states (fresh, started with contacts, paired, after a
/// conversation over either key exchange), for the snapshot target.
pub(super) fn sample_snapshots() -> &'static [Snapshot] {
    static SNAPSHOTS: [OnceLock<Vec<Snapshot>>; 2] = [OnceLock::new(), OnceLock::new()];
    SNAPSHOTS[backend_index()].get_or_init(|| {
        let mut out = Vec::new();
        let fresh = Peer::new(
            IdentityKeyPair::from_seed([9; 32]),
            InstallationId::generate(&mut SeededEntropy::from_u64(9)),
            PeerConfig::default(),
        );
        out.push(fresh.snapshot().expect("encodes"));
        for (index, world) in worlds().iter().enumerate() {
            let mut w = world.clone();
            let mut e = Entropies::new(77 + index as u64, w.nodes.len());
            for from in 0..w.nodes.len() {
                let other = 1 - w.nodes[from].account;
                let to = *w.nodes.iter().find(|n| n.account == other).expect("two accounts").peer.identity();
                let body = format!("sample {from}").into_bytes();
                w.sent.insert(body.clone());
                w.event(from, Event::SendText { to, body }, &mut e);
            }
            w.settle(Duration::from_secs(60), &mut e);
            for node in &w.nodes {
                out.push(node.peer.snapshot().expect("encodes"));
            }
        }
        out
    })
}

/// A state change comes with exactly one `Persist`; what the application sees comes before it (it
/// commits with the snapshot) and nothing reaches the network before it (no ciphertext leaves
/// ahead of the state that produced it).
pub(crate) fn assert_persist_ordering(actions: &[Action]) {
    let persists: Vec<usize> =
        actions.iter().enumerate().filter(|(_, a)| matches!(a, Action::Persist(_))).map(|(i, _)| i).collect();
    assert_eq!(persists.len(), 1, "a state change needs exactly one Persist");
    let (before, after) = actions.split_at(persists[0]);
    assert!(!before.iter().any(is_network_action), "a network action came before Persist");
    assert!(!after.iter().skip(1).any(|a| !is_network_action(a)), "an application action came after Persist");
}

fn is_network_action(action: &Action) -> bool {
    matches!(
        action,
        Action::Publish(_)
            | Action::Subscribe(_)
            | Action::Unsubscribe(_)
            | Action::QueryStore { .. }
            | Action::SetTimer(_)
    )
}
