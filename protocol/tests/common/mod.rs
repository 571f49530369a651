//! A tiny in-memory Waku for scenario tests: published messages reach every subscribed peer (the
//! sender too, as on a relay), a store keeps everything, timers fire in time order, and a peer
//! can crash and restart from the records its change sets wrote to its store. Deterministic.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use status_1to1::SeededEntropy;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::peer::{
    Action, ContactCard, Delivery, Event, KeyExchange, Origin, Peer, PeerConfig, RecordKind, Records,
};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;

pub struct Node {
    pub peer: Peer,
    pub entropy: SeededEntropy,
    /// The node's store: every change set it returned, applied in order.
    pub persisted: Records,
    /// Bytes of every change set returned, by record kind.
    pub written: BTreeMap<RecordKind, usize>,
    pub delivered: Vec<Delivery>,
    pub acked: Vec<status_1to1::peer::MessageId>,
    pub failed: usize,
    pub timer: Option<Timestamp>,
    pub online: bool,
    pub errors: usize,
    /// Contact requests shown to this device's user.
    pub requests: Vec<status_1to1::peer::ContactRequest>,
    /// Whether the user accepts every contact request at once (true unless a test says not).
    pub accepts_requests: bool,
}

/// One `Peer::handle` call that succeeded, with the peer before and after (see `World::history`).
pub struct Step {
    pub node: usize,
    pub event: &'static str,
    pub before: Peer,
    pub after: Peer,
}

/// The name of an event's variant.
pub fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Start => "Start",
        Event::SendText { .. } => "SendText",
        Event::Received { .. } => "Received",
        Event::StoreResult { .. } => "StoreResult",
        Event::Timer => "Timer",
        Event::AddContact(_) => "AddContact",
        Event::RemoveOwnDevice(_) => "RemoveOwnDevice",
        Event::StartPairing => "StartPairing",
        Event::ScanPairingQr { .. } => "ScanPairingQr",
        Event::ConfirmPairing { .. } => "ConfirmPairing",
        Event::EndChat { .. } => "EndChat",
        Event::AcceptContactRequest(_) => "AcceptContactRequest",
        Event::DeclineContactRequest(_) => "DeclineContactRequest",
        Event::BlockContact(_) => "BlockContact",
    }
}

/// Decides whether one delivery is lost: `(recipient node, publisher node, message)`.
pub type DropFilter = Box<dyn FnMut(usize, usize, &WakuMessage) -> bool>;
/// Decides whether a publication stays out of the store: `(publisher node, message)`.
pub type ArchiveFilter = Box<dyn FnMut(usize, &WakuMessage) -> bool>;

pub struct World {
    /// When set, every successful event is recorded with the peer before and after it.
    pub history: Option<Vec<Step>>,
    pub now: Timestamp,
    pub nodes: Vec<Node>,
    /// Deliveries in flight: `(recipient node, message, publisher node)`.
    pub inflight: VecDeque<(usize, WakuMessage, usize)>,
    pub store: Vec<WakuMessage>,
    /// Drop every n-th message delivery (0 = none).
    pub drop_every: usize,
    /// Drops a delivery when it returns true: `(recipient node, publisher node, message)`.
    pub drop_if: Option<DropFilter>,
    /// Keeps a publication out of the store when it returns true: `(publisher node, message)`.
    pub unarchived_if: Option<ArchiveFilter>,
    pub deliveries: usize,
}

impl World {
    pub fn new() -> Self {
        Self {
            history: None,
            now: Timestamp::from_millis(1_700_000_000_000),
            nodes: Vec::new(),
            inflight: VecDeque::new(),
            store: Vec::new(),
            drop_every: 0,
            drop_if: None,
            unarchived_if: None,
            deliveries: 0,
        }
    }

    /// Adds a device of account `account_seed` and starts it.
    pub fn add(&mut self, account_seed: u8, device_seed: u64, config: PeerConfig) -> usize {
        let mut entropy = SeededEntropy::from_u64(device_seed);
        let identity = IdentityKeyPair::from_seed([account_seed; 32]);
        let installation = InstallationId::generate(&mut entropy);
        let peer = Peer::new(identity, installation, config);
        self.nodes.push(Node {
            peer,
            entropy,
            persisted: Records::default(),
            written: BTreeMap::new(),
            delivered: vec![],
            acked: vec![],
            failed: 0,
            timer: None,
            online: true,
            errors: 0,
            requests: vec![],
            accepts_requests: true,
        });
        let i = self.nodes.len() - 1;
        self.event(i, Event::Start).expect("start");
        i
    }

    /// `a` and `b` add each other as contacts over `kx` (X3DH from contact codes with bundles).
    pub fn introduce(&mut self, a: usize, b: usize, kx: KeyExchange) {
        let (card_a, card_b) = match kx {
            KeyExchange::X3dh => (self.contact_code_card(a), self.contact_code_card(b)),
            _ => (self.card(a, &[kx]), self.card(b, &[kx])),
        };
        self.event(a, Event::AddContact(card_b)).expect("add contact");
        self.event(b, Event::AddContact(card_a)).expect("add contact");
    }

    pub fn card(&self, i: usize, supports: &[KeyExchange]) -> ContactCard {
        ContactCard { identity: *self.nodes[i].peer.identity(), supports: supports.to_vec(), bundle: None }
    }

    pub fn event(&mut self, i: usize, event: Event) -> Result<(), status_1to1::peer::PeerError> {
        let now = self.now;
        let node = &mut self.nodes[i];
        let tracing = std::env::var_os("WORLD_TRACE").is_some();
        let label = if tracing { format!("{event:?}").chars().take(60).collect::<String>() } else { String::new() };
        let name = event_name(&event);
        let before = self.history.is_some().then(|| node.peer.clone());
        match node.peer.handle(now, event, &mut node.entropy) {
            Ok(actions) => {
                if let (Some(history), Some(before)) = (self.history.as_mut(), before) {
                    history.push(Step { node: i, event: name, before, after: self.nodes[i].peer.clone() });
                }
                if tracing {
                    let summary: Vec<String> =
                        actions.iter().map(|a| format!("{a:?}").chars().take(90).collect()).collect();
                    eprintln!("[{}] node {i} <- {label}\n    {}", now.as_millis(), summary.join("\n    "));
                }
                self.apply(i, actions);
                Ok(())
            }
            Err(e) => {
                if tracing {
                    eprintln!("[{}] node {i} <- {label}: ERROR {e}", now.as_millis());
                }
                self.nodes[i].errors += 1;
                Err(e)
            }
        }
    }

    pub fn apply_public(&mut self, i: usize, actions: Vec<Action>) {
        self.apply(i, actions);
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        // Store answers (and the user's answers to contact requests) are handed over after the
        // whole list is carried out, as a network would:
        // answering inside the loop would let a later `SetTimer` of the list overwrite the
        // timer the answer's own handling set.
        let mut answers = Vec::new();
        for action in actions {
            match action {
                Action::Persist(changes) => {
                    let node = &mut self.nodes[i];
                    for (key, value) in &changes.writes {
                        let bytes = key.as_bytes().len() + value.as_ref().map_or(0, |v| v.len());
                        *node.written.entry(key.kind()).or_default() += bytes;
                    }
                    node.persisted.apply(&changes).expect("change sets arrive in order")
                }
                Action::Publish(m) => {
                    if !self.unarchived_if.as_mut().is_some_and(|skip| skip(i, &m)) {
                        self.store.push(m.clone());
                    }
                    for (j, n) in self.nodes.iter().enumerate() {
                        if n.online && n.peer.subscriptions().contains(&m.content_topic) {
                            self.inflight.push_back((j, m.clone(), i));
                        }
                    }
                }
                Action::Deliver(d) => self.nodes[i].delivered.push(d),
                Action::ContactRequest(request) => {
                    if self.nodes[i].accepts_requests {
                        answers.push(Event::AcceptContactRequest(request.from));
                    }
                    self.nodes[i].requests.push(request);
                }
                Action::Delivered(id) => self.nodes[i].acked.push(id),
                Action::DeliveryFailed { .. } => self.nodes[i].failed += 1,
                Action::SetTimer(at) => self.nodes[i].timer = Some(at),
                Action::QueryStore { request, content_topics, start, end, cursor: _ } => {
                    let messages: Vec<WakuMessage> = self
                        .store
                        .iter()
                        .filter(|m| content_topics.contains(&m.content_topic))
                        .filter(|m| {
                            let t = Timestamp::from_nanos_i64(m.timestamp.unwrap_or(0));
                            t >= start && t <= end
                        })
                        .cloned()
                        .collect();
                    answers.push(Event::StoreResult { request, messages, next_cursor: None });
                }
                Action::Subscribe(_)
                | Action::Unsubscribe(_)
                | Action::Queued(_)
                | Action::Notice(_)
                | Action::ShowPairingQr { .. }
                | Action::ShowAuthcode(_) => {}
            }
        }
        for answer in answers {
            let _ = self.event(i, answer);
        }
    }

    /// Delivers everything in flight and fires due timers until quiet or `max` of virtual time.
    pub fn settle(&mut self, max: Duration) {
        let deadline = self.now.saturating_add(max);
        loop {
            while let Some((j, m, from)) = self.inflight.pop_front() {
                self.deliveries += 1;
                if self.drop_every > 0 && self.deliveries.is_multiple_of(self.drop_every) {
                    continue;
                }
                if self.drop_if.as_mut().is_some_and(|drop| drop(j, from, &m)) {
                    continue;
                }
                if self.nodes[j].online {
                    self.now = self.now.saturating_add(Duration::from_millis(50));
                    let _ = self.event(j, Event::Received { message: m, origin: Origin::Relay });
                }
            }
            let next = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.online)
                .filter_map(|(i, n)| n.timer.map(|t| (t, i)))
                .min();
            match next {
                Some((t, i)) if t <= deadline => {
                    self.now = self.now.max(t);
                    self.nodes[i].timer = None;
                    let _ = self.event(i, Event::Timer);
                }
                _ => break,
            }
        }
    }

    /// Fires due timers up to `max` ahead without delivering anything in flight.
    pub fn settle_timers_only(&mut self, max: Duration) {
        let deadline = self.now.saturating_add(max);
        loop {
            let next = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.online)
                .filter_map(|(i, n)| n.timer.map(|t| (t, i)))
                .min();
            match next {
                Some((t, i)) if t <= deadline => {
                    self.now = self.now.max(t);
                    self.nodes[i].timer = None;
                    let _ = self.event(i, Event::Timer);
                }
                _ => break,
            }
        }
        self.now = deadline;
    }

    /// Crashes node `i` (losing everything not persisted) and restarts it from its store.
    pub fn crash_and_restart(&mut self, i: usize) {
        assert!(self.nodes[i].persisted.seq() > 0, "something was persisted");
        self.nodes[i].peer = Peer::from_records(&self.nodes[i].persisted).expect("records load");
        self.nodes[i].timer = None;
        let _ = self.event(i, Event::Start);
        if let Some(t) = self.nodes[i].peer.next_deadline() {
            self.nodes[i].timer = Some(t);
        }
    }

    /// Pairs two devices of the same account through the public API (both users confirm).
    pub fn pair(&mut self, owner: usize, scanner: usize) {
        let mut qr = None;
        let now = self.now;
        let node = &mut self.nodes[owner];
        let actions = node.peer.handle(now, Event::StartPairing, &mut node.entropy).unwrap();
        for a in &actions {
            if let Action::ShowPairingQr { qr: text, nametag, .. } = a {
                qr = Some((text.clone(), *nametag));
            }
        }
        self.apply(owner, actions);
        let (text, nametag) = qr.expect("a QR is shown");
        self.event(scanner, Event::ScanPairingQr { qr: text, nametag }).unwrap();
        self.settle(Duration::from_secs(1));
        self.event(owner, Event::ConfirmPairing { accept: true }).unwrap();
        self.event(scanner, Event::ConfirmPairing { accept: true }).unwrap();
        self.settle(Duration::from_secs(30));
    }

    /// The card node `i` shows in its contact code (with its X3DH bundle).
    pub fn contact_code_card(&self, i: usize) -> ContactCard {
        let code = self.nodes[i].peer.contact_code(self.now).expect("contact code");
        let parsed = status_1to1::identity::ContactCode::parse(&code.to_string()).expect("round trip");
        ContactCard::from_contact_code(&parsed)
    }

    pub fn texts(&self, i: usize) -> Vec<String> {
        self.nodes[i].delivered.iter().map(|d| String::from_utf8_lossy(&d.body).to_string()).collect()
    }
}
