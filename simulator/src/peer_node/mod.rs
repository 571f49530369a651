//! The real peer of the protocol crate ([`status_1to1::peer::Peer`]) on a simulated device.
//!
//! The adapter only translates: simulator events become peer events and peer actions become
//! simulator actions, in the peer's order (what the application sees, then `Persist`, then the
//! network). What a real client does around the peer is done here the way a client would: store
//! queries are split per pubsub topic and paged, the user confirms pairing authcodes that match,
//! and contacts come from the scenario's social graph. Every AEAD encryption the peer performs is
//! read from the protocol crate's audit log and reported as [`Notification::KeyUse`] right after
//! the `Persist` of the state that made it, so the checker sees every key and nonce before any
//! ciphertext made with it can leave.

pub(crate) mod registry;
pub(crate) mod store;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use status_1to1::SeededEntropy;
use status_1to1::crypto::audit;
use status_1to1::identity::InstallationId;
use status_1to1::pairing::PairingError;
use status_1to1::peer::{
    Action, ChangeSet, ContactCard, Delivery, DeliveryConfig, Direction, Event, KeyExchange as PeerKx, Notice, Origin,
    Peer, PeerConfig, PeerError, Snapshot,
};
use status_1to1::ratchet::RatchetError;
use status_1to1::time::Timestamp;

use self::registry::{PAIRING_STALL_MS, Registry, ShownQr};
use self::store::{STORE_RETRY_MS, StoreJobs, StoreStep};
use crate::ids::{DeviceId, UserId};
use crate::node::{
    AppCommand, ClientMode, DeviceSpec, KeyExchange, MessageSource, NodeAction, NodeEvent, NodeFactory, Notification,
    PublishVia, RejectReason, RestoreError, SimNode, Stored,
};
use crate::workload::Directory;

/// Timer token of the peer's own deadline ([`Peer::next_deadline`]).
const TIMER_PEER: u64 = 1;
/// Timer token of the pairing poll (the owner shows a QR, siblings look for one).
const TIMER_PAIRING: u64 = 2;
/// Timer token of store query retries.
const TIMER_STORE: u64 = 3;
/// How often an unpaired device looks at its account's pairing board.
const PAIRING_POLL_MS: u64 = 5_000;

/// A bug planted in the adapter (test builds and the `mutants` feature only can select one), to
/// show that the invariants catch it with real peers too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerMutation {
    /// The correct adapter.
    #[default]
    None,
    /// Reports every delivery twice (the application stores a message twice).
    DeliverTwice,
    /// Publishes ciphertexts (and reports their key uses) before persisting the state that made
    /// them: a crash in between restores an older state that encrypts again under the same key
    /// and nonce.
    PublishBeforePersist,
    /// Loses every fifth change set on its way to the store.
    LoseChangeSet,
}

/// Builds real peers for a scenario.
#[derive(Debug)]
pub struct PeerFactory {
    dir: Rc<Directory>,
    registry: Rc<RefCell<Registry>>,
    max_devices: usize,
    debug: bool,
    mutation: PeerMutation,
}

impl PeerFactory {
    /// A factory over the scenario's directory.
    pub fn new(dir: Rc<Directory>) -> Self {
        let users = (0..dir.user_count() as u32).map(UserId);
        let most = users.map(|u| dir.devices_of(u).len()).max().unwrap_or(1);
        // A debugging aid: print every peer event and its actions to stderr. It only writes,
        // never feeds the simulation, so runs stay deterministic.
        let debug = std::env::var_os("SIM_PEER_DEBUG").is_some();
        Self { dir, registry: Rc::default(), max_devices: most.max(3), debug, mutation: PeerMutation::None }
    }

    /// Plants a bug in every adapter (test builds and the `mutants` feature only).
    #[cfg(any(test, feature = "mutants"))]
    pub fn with_mutation(mut self, mutation: PeerMutation) -> Self {
        self.mutation = mutation;
        self
    }

    fn config(&self, spec: &DeviceSpec) -> PeerConfig {
        PeerConfig {
            preferred_key_exchange: preferred(spec.key_exchange, spec.user),
            // Every device of a user is intended (the checker's `Directory::intended`), so the
            // fan-out cap (54: n = 3) is raised to the largest account of the scenario.
            max_devices: self.max_devices,
            // Retries keep going through the longest fault phase: a simulated hour of faults
            // ends with at most a minute's wait before the next retry.
            delivery: DeliveryConfig { max_backoff: Duration::from_secs(60), max_attempts: 90, ..Default::default() },
            ..PeerConfig::default()
        }
    }

    fn node(&self, spec: &DeviceSpec, peer: Peer, entropy: SeededEntropy) -> PeerNode {
        self.registry.borrow_mut().register(spec.device, peer.installation().clone());
        PeerNode {
            peer,
            entropy,
            spec: spec.clone(),
            dir: Rc::clone(&self.dir),
            registry: Rc::clone(&self.registry),
            online: false,
            next_publish: 0,
            store: StoreJobs::default(),
            armed: None,
            state_bytes: 0,
            debug: self.debug,
            mutation: self.mutation,
        }
    }
}

/// The key exchange `user` prefers: the scenario's, or for `Mixed` one per user by its id.
pub(crate) fn preferred(kx: KeyExchange, user: UserId) -> PeerKx {
    match kx {
        KeyExchange::X3dh => PeerKx::X3dh,
        KeyExchange::Noise => PeerKx::Noise,
        KeyExchange::Mixed if user.0.is_multiple_of(2) => PeerKx::X3dh,
        KeyExchange::Mixed => PeerKx::Noise,
    }
}

/// What a contact's card offers: one key exchange, or both in a mixed scenario.
pub(crate) fn supports(kx: KeyExchange, user: UserId) -> Vec<PeerKx> {
    match kx {
        KeyExchange::Mixed => vec![preferred(kx, user), preferred(kx, UserId(user.0 + 1))],
        _ => vec![preferred(kx, user)],
    }
}

impl NodeFactory for PeerFactory {
    type Node = PeerNode;

    fn create(&mut self, spec: &DeviceSpec, mut entropy: SeededEntropy) -> PeerNode {
        let identity = self.registry.borrow_mut().identity_of(spec.user);
        let installation = InstallationId::generate(&mut entropy);
        let peer = Peer::new(identity, installation, self.config(spec));
        self.node(spec, peer, entropy)
    }

    fn restore(
        &mut self,
        spec: &DeviceSpec,
        stored: &Stored,
        entropy: SeededEntropy,
    ) -> Result<PeerNode, RestoreError> {
        let peer = match stored {
            Stored::Records(records) => Peer::from_records(records).map_err(|e| RestoreError(e.to_string()))?,
            Stored::Snapshot(bytes) => {
                Peer::restore(&Snapshot::from_bytes(bytes.to_vec())).map_err(|e| RestoreError(e.to_string()))?
            }
            Stored::Empty => return Err(RestoreError("nothing stored".into())),
        };
        let mut node = self.node(spec, peer, entropy);
        node.state_bytes = node.peer.stored_bytes();
        Ok(node)
    }
}

/// One simulated device running the real peer.
pub struct PeerNode {
    peer: Peer,
    entropy: SeededEntropy,
    spec: DeviceSpec,
    dir: Rc<Directory>,
    registry: Rc<RefCell<Registry>>,
    online: bool,
    next_publish: u64,
    store: StoreJobs,
    /// The peer deadline the simulator's timer is armed for.
    armed: Option<Timestamp>,
    state_bytes: usize,
    debug: bool,
    mutation: PeerMutation,
}

impl std::fmt::Debug for PeerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerNode").field("device", &self.spec.device).field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl SimNode for PeerNode {
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>) {
        match event {
            NodeEvent::Start { restored } => self.on_start(now, restored, out),
            NodeEvent::Connectivity { online } => {
                self.online = online;
                if online {
                    self.drive(now, Event::Start, out);
                }
            }
            NodeEvent::App(AppCommand::SendText { id, to, body }) => self.send(now, *id, *to, body, out),
            NodeEvent::Message { message, source, .. } => {
                let origin = match source {
                    MessageSource::Relay => Origin::Relay,
                    MessageSource::Filter => Origin::Filter,
                };
                self.drive(now, Event::Received { message: message.clone(), origin }, out);
            }
            NodeEvent::StoreResult { request, result } => {
                let step = self.store.on_result(request, result);
                self.on_store_step(now, step, out);
            }
            NodeEvent::PublishResult { .. } => {}
            NodeEvent::Timer { token: TIMER_PEER } => {
                self.armed = None;
                self.drive(now, Event::Timer, out);
            }
            NodeEvent::Timer { token: TIMER_PAIRING } => self.pairing_poll(now, out),
            NodeEvent::Timer { token: TIMER_STORE } => {
                for (request, attempt, query) in self.store.retry_failed() {
                    out.push(NodeAction::StoreQuery { request, store: attempt, query });
                }
            }
            NodeEvent::Timer { .. } => {}
        }
        self.arm_peer_timer(out);
    }

    fn state_bytes(&self) -> usize {
        self.state_bytes
    }
}

impl PeerNode {
    /// The peer itself (for tests and reports).
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    fn on_start(&mut self, now: Timestamp, restored: bool, out: &mut Vec<NodeAction>) {
        // Subscriptions and timers do not survive a restart; the peer's snapshot remembers them
        // as in place, so the adapter re-establishes them.
        self.armed = None;
        self.store.clear();
        let topics: Vec<String> = self.peer.subscriptions().iter().cloned().collect();
        if !topics.is_empty() {
            out.push(NodeAction::Subscribe { content_topics: topics });
        }
        if !restored {
            self.add_contacts(now, out);
        }
        if self.dir.devices_of(self.spec.user).len() > 1 && !self.all_paired() {
            out.push(NodeAction::SetTimer { token: TIMER_PAIRING, at: now.saturating_add(Duration::from_millis(500)) });
        }
    }

    /// The scenario's contacts, as if the user had scanned each contact's QR code.
    fn add_contacts(&mut self, now: Timestamp, out: &mut Vec<NodeAction>) {
        let dir = Rc::clone(&self.dir);
        for &contact in dir.contacts_of(self.spec.user) {
            let identity = *self.registry.borrow_mut().identity_of(contact).public();
            let card = ContactCard {
                identity,
                supports: supports(self.spec.key_exchange, contact),
                ..ContactCard::identity_only(identity)
            };
            self.drive(now, Event::AddContact(card), out);
        }
    }

    fn send(&mut self, now: Timestamp, id: crate::ids::MessageId, to: UserId, body: &[u8], out: &mut Vec<NodeAction>) {
        let identity = *self.registry.borrow_mut().identity_of(to).public();
        let accepted = self.drive(now, Event::SendText { to: identity, body: body.to_vec() }, out);
        if accepted.is_none() {
            out.push(NodeAction::Notify(Notification::SendRefused { id }));
            return;
        }
        // `Accepted` means "durably queued": it goes right after the Persist of the send.
        let at = out
            .iter()
            .rposition(|a| matches!(a, NodeAction::Persist { .. } | NodeAction::Apply { .. }))
            .map_or(out.len(), |i| i + 1);
        out.insert(at, NodeAction::Notify(Notification::Accepted { id }));
    }

    /// Hands one event to the peer and translates what it returns (and the follow-up events it
    /// causes, such as confirming an authcode). `None` if the peer refused the first event.
    fn drive(&mut self, now: Timestamp, event: Event, out: &mut Vec<NodeAction>) -> Option<()> {
        let mut queue = VecDeque::from([event]);
        let mut first = true;
        let mut result = Some(());
        while let Some(event) = queue.pop_front() {
            let received = matches!(event, Event::Received { .. });
            let _ = audit::take();
            let label = self.debug.then(|| match &event {
                Event::Received { message, .. } => {
                    format!("Received {}", describe_message(message))
                }
                Event::StoreResult { request, messages, next_cursor } => {
                    let listed: Vec<String> = messages.iter().map(describe_message).collect();
                    format!(
                        "StoreResult {request} ({} messages, more: {}) {listed:?}",
                        messages.len(),
                        next_cursor.is_some()
                    )
                }
                _ => format!("{event:?}").chars().take(100).collect::<String>(),
            });
            let handled = self.peer.handle(now, event, &mut self.entropy);
            if let Some(label) = label {
                self.debug_print(now, &label, &handled);
            }
            match handled {
                Ok(actions) => {
                    let start = out.len();
                    self.translate(now, actions, &mut queue, out);
                    self.plant(&mut out[start..]);
                }
                Err(e) => {
                    // Nothing of a refused event leaves the device: its encryptions are void.
                    let _ = audit::take();
                    out.push(NodeAction::Notify(rejection(&e, received)));
                    if first {
                        result = None;
                    }
                }
            }
            first = false;
        }
        result
    }

    /// Applies the planted bug, if any, to the actions of one peer event.
    fn plant(&self, actions: &mut [NodeAction]) {
        if self.mutation != PeerMutation::PublishBeforePersist {
            return;
        }
        let early =
            |a: &NodeAction| matches!(a, NodeAction::Publish { .. } | NodeAction::Notify(Notification::KeyUse { .. }));
        // A stable partition: ciphertexts and their key uses first, everything else after.
        let (mut front, back): (Vec<NodeAction>, Vec<NodeAction>) = actions.iter().cloned().partition(early);
        front.extend(back);
        actions.clone_from_slice(&front);
    }

    fn debug_print(&self, now: Timestamp, label: &str, result: &Result<Vec<Action>, PeerError>) {
        let installation: String = self.peer.installation().as_str().chars().take(8).collect();
        eprintln!("[{}] d{} (u{} {installation}) <- {label}", now.as_millis(), self.spec.device.0, self.spec.user.0);
        match result {
            Ok(actions) => {
                for a in actions {
                    match a {
                        Action::Publish(m) => eprintln!("    Publish {}", describe_message(m)),
                        Action::QueryStore { .. } => eprintln!("    {a:?}"),
                        _ => eprintln!("    {}", format!("{a:?}").chars().take(160).collect::<String>()),
                    }
                }
            }
            Err(e) => eprintln!("    ERROR {e:?}"),
        }
    }

    fn translate(
        &mut self,
        now: Timestamp,
        actions: Vec<Action>,
        queue: &mut VecDeque<Event>,
        out: &mut Vec<NodeAction>,
    ) {
        for action in actions {
            match action {
                Action::Persist(changes) => self.persist(changes, out),
                Action::Publish(message) => {
                    self.next_publish += 1;
                    let via = match self.spec.mode {
                        ClientMode::Relay => PublishVia::Relay,
                        ClientMode::Light => PublishVia::LightPush,
                    };
                    out.push(NodeAction::Publish { request: self.next_publish, message, via });
                }
                Action::Subscribe(content_topics) => out.push(NodeAction::Subscribe { content_topics }),
                Action::Unsubscribe(content_topics) => out.push(NodeAction::Unsubscribe { content_topics }),
                Action::QueryStore { request, content_topics, start, end, cursor: _ } => {
                    self.query_store(request, &content_topics, start, end, queue, out);
                }
                Action::Deliver(delivery) => self.deliver(&delivery, out),
                // The social graph is symmetric and both sides add each other, so a request
                // comes from a contact only in a race; the user accepts those, as a user would,
                // and leaves anyone else's request unanswered.
                Action::ContactRequest(request) => {
                    let from = self.registry.borrow().user_of(&request.from);
                    if from.is_some_and(|u| self.dir.contacts_of(self.spec.user).contains(&u)) {
                        queue.push_back(Event::AcceptContactRequest(request.from));
                    }
                }
                Action::Notice(Notice::DuplicateSuppressed(_)) => {
                    out.push(NodeAction::Notify(Notification::DuplicateSuppressed));
                }
                Action::Notice(notice) => self.on_notice(&notice),
                Action::ShowPairingQr { qr, nametag, expires_at } => {
                    let shown = ShownQr { qr, nametag, expires_at, scanner: None, shown_at: now };
                    self.registry.borrow_mut().show(self.spec.user, shown);
                }
                // The simulated user compares the two codes; they match unless an attacker sits
                // in the middle, which pairing tests cover (tests/jsnoise_pairing).
                Action::ShowAuthcode(_) => queue.push_back(Event::ConfirmPairing { accept: true }),
                Action::DeliveryFailed { id, .. } => out.push(NodeAction::Notify(Notification::Error {
                    detail: format!("peer gave up on message {id:?}"),
                })),
                // The adapter arms the peer timer itself after every event (see `arm_peer_timer`).
                Action::SetTimer(_) | Action::Queued(_) | Action::Delivered(_) => {}
            }
        }
    }

    /// `Persist`, then the encryptions of the state it stores, then the state's bounds.
    fn persist(&mut self, changes: ChangeSet, out: &mut Vec<NodeAction>) {
        self.state_bytes = self.peer.stored_bytes();
        if !(self.mutation == PeerMutation::LoseChangeSet && changes.seq.is_multiple_of(5)) {
            out.push(NodeAction::Apply { changes });
        }
        for used in audit::take() {
            out.push(NodeAction::Notify(Notification::KeyUse {
                key: used.key,
                nonce: used.nonce,
                plaintext: used.plaintext,
            }));
        }
        let bounds = self.peer.bounds();
        let config = PeerConfig::default();
        let bound = |name, value: usize, limit: usize| {
            NodeAction::Notify(Notification::Bound { name, value: value as u64, limit: limit as u64 })
        };
        out.push(bound("peer.remembered_ids", bounds.remembered_ids, config.delivery.dedup_capacity));
        out.push(bound("peer.pending_handshakes", bounds.pending_handshakes, config.max_pending_noise_handshakes));
        out.push(bound("peer.contact_requests", bounds.contact_requests, config.max_contact_requests));
        out.push(bound("peer.x3dh_contacts", bounds.x3dh_contacts, bounds.contacts));
        out.push(bound("peer.adverts", bounds.adverts, status_1to1::peer::ADVERT_BUDGET));
    }

    /// A plaintext for the user. Copies of our own messages from our other devices are not
    /// deliveries to an intended recipient, so the checker does not see them.
    fn deliver(&mut self, delivery: &Delivery, out: &mut Vec<NodeAction>) {
        if delivery.direction != Direction::Incoming {
            return;
        }
        let registry = self.registry.borrow();
        let (Some(from_user), Some(from_device)) =
            (registry.user_of(&delivery.from), registry.device_of(&delivery.from_installation))
        else {
            let detail = format!("delivery from an unknown sender {:?}", delivery.from_installation);
            return out.push(NodeAction::Notify(Notification::Error { detail }));
        };
        let delivered = Notification::Delivered { from_user, from_device, body: delivery.body.clone() };
        if self.mutation == PeerMutation::DeliverTwice {
            out.push(NodeAction::Notify(delivered.clone()));
        }
        out.push(NodeAction::Notify(delivered));
    }

    fn on_notice(&mut self, notice: &Notice) {
        let owner = self.is_owner();
        let mut registry = self.registry.borrow_mut();
        match notice {
            Notice::OwnDevicePaired(installation) if owner => {
                if let Some(device) = registry.device_of(installation) {
                    registry.confirm(device);
                }
                registry.clear(self.spec.user);
            }
            Notice::PairingAborted(_) => registry.clear(self.spec.user),
            _ => {}
        }
    }

    fn query_store(
        &mut self,
        request: u64,
        topics: &[String],
        start: Timestamp,
        end: Timestamp,
        queue: &mut VecDeque<Event>,
        out: &mut Vec<NodeAction>,
    ) {
        for (id, query) in self.store.start(&self.spec, request, topics, start, end) {
            out.push(NodeAction::StoreQuery { request: id, store: 0, query });
        }
        if let Some(messages) = self.store.take_if_complete(request) {
            queue.push_back(Event::StoreResult { request, messages, next_cursor: None });
        }
    }

    fn on_store_step(&mut self, now: Timestamp, step: StoreStep, out: &mut Vec<NodeAction>) {
        match step {
            StoreStep::Wait => {}
            StoreStep::Query(request, query) => out.push(NodeAction::StoreQuery { request, store: 0, query }),
            StoreStep::RetryLater => out.push(NodeAction::SetTimer {
                token: TIMER_STORE,
                at: now.saturating_add(Duration::from_millis(STORE_RETRY_MS)),
            }),
            StoreStep::Complete(request, messages) => {
                self.drive(now, Event::StoreResult { request, messages, next_cursor: None }, out);
            }
        }
    }

    fn arm_peer_timer(&mut self, out: &mut Vec<NodeAction>) {
        let next = self.peer.next_deadline();
        if next != self.armed {
            self.armed = next;
            match next {
                Some(at) => out.push(NodeAction::SetTimer { token: TIMER_PEER, at }),
                None => out.push(NodeAction::CancelTimer { token: TIMER_PEER }),
            }
        }
    }

    /// The account's first device shows the pairing QR; the others pair with it one at a time.
    fn is_owner(&self) -> bool {
        self.dir.devices_of(self.spec.user).first() == Some(&self.spec.device)
    }

    /// Whether this device is paired with every device it should be: the owner with all its
    /// siblings; a sibling with the owner, on both sides (the last pairing message can be lost,
    /// leaving only the sibling paired; it then scans the owner's next QR).
    fn all_paired(&self) -> bool {
        let registry = self.registry.borrow();
        let own = self.peer.own_devices();
        let paired = |d: &DeviceId| registry.installation_of(*d).is_some_and(|i| own.contains_key(i));
        let devices = self.dir.devices_of(self.spec.user);
        if self.is_owner() {
            devices.iter().skip(1).all(paired)
        } else {
            devices.first().is_some_and(paired) && registry.is_confirmed(self.spec.device)
        }
    }

    /// Siblings the owner's peer does not know (never paired, or lost in a crash).
    fn forget_unpaired_siblings(&self) {
        let mut registry = self.registry.borrow_mut();
        let own = self.peer.own_devices();
        for &sibling in self.dir.devices_of(self.spec.user).iter().skip(1) {
            if !registry.installation_of(sibling).is_some_and(|i| own.contains_key(i)) {
                registry.unconfirm(sibling);
            }
        }
    }

    fn pairing_poll(&mut self, now: Timestamp, out: &mut Vec<NodeAction>) {
        if self.all_paired() {
            return;
        }
        out.push(NodeAction::SetTimer {
            token: TIMER_PAIRING,
            at: now.saturating_add(Duration::from_millis(PAIRING_POLL_MS)),
        });
        if !self.online {
            return;
        }
        let user = self.spec.user;
        if !self.is_owner() {
            let claimed = self.registry.borrow_mut().claim(user, self.spec.device);
            if let Some(shown) = claimed {
                let _ = self.drive(now, Event::ScanPairingQr { qr: shown.qr, nametag: shown.nametag }, out);
            }
            return;
        }
        self.forget_unpaired_siblings();
        // Only the owner judges a QR stale: it is the owner's clock that stamped it.
        let shown = self.registry.borrow().board(user).cloned();
        let stalled = shown.as_ref().is_some_and(|s| {
            s.expires_at <= now || now.saturating_sub(Duration::from_millis(PAIRING_STALL_MS)) > s.shown_at
        });
        if shown.is_none() || stalled {
            self.registry.borrow_mut().clear(user);
            let _ = self.drive(now, Event::StartPairing, out);
        }
    }
}

/// How a refused input is reported: inputs from the network are rejections (the checker counts
/// them), anything else is an error of the application's request.
fn rejection(error: &PeerError, received: bool) -> Notification {
    if !received {
        return Notification::Error { detail: error.to_string() };
    }
    let reason = match error {
        // A copy of a message already decrypted (relay and store, or a duplicated path).
        PeerError::Ratchet(RatchetError::DuplicateMessage { .. }) => return Notification::DuplicateSuppressed,
        PeerError::Waku(_) | PeerError::Frame(_) => RejectReason::Malformed,
        PeerError::NotForUs
        | PeerError::UnknownTopic(_)
        | PeerError::UnknownContact(_)
        | PeerError::IdentityMismatch(_)
        | PeerError::SelfMessage
        // A pairing message that is not the flow's next one (our own echo, or another flow's).
        | PeerError::Pairing(PairingError::UnexpectedNametag) => RejectReason::Misaddressed,
        _ => RejectReason::Unauthenticated,
    };
    Notification::Rejected { reason }
}

/// For the debug print: a message's topic, first payload bytes (a Noise nametag, shared by every
/// answer to one message), a digest that tells payloads apart and, for X3DH, its parties.
fn describe_message(message: &status_1to1::waku::WakuMessage) -> String {
    use sha2::Digest as _;
    let head = &message.payload[..message.payload.len().min(8)];
    let digest = hex::encode(&sha2::Sha256::digest(&message.payload)[..4]);
    format!("{} {head:02x?} #{digest}{}", message.content_topic, describe_x3dh(message))
}

/// For the debug print: an X3DH envelope's sender, the installations its bundles list and its
/// recipients (first 8 characters of each installation id). Envelopes are sealed; the debug
/// print opens those sealed to an identity with every account key of the first 256 users (it
/// only writes, never feeds the simulation).
fn describe_x3dh(message: &status_1to1::waku::WakuMessage) -> String {
    use status_1to1::x3dh::{Envelope, Recipient, seal};
    if message.version.is_some() {
        return String::new();
    }
    let opened = (0..256u32).find_map(|u| seal::open_from(&registry::account_key(UserId(u)), &message.payload).ok());
    let Some((sealed_by, body)) = opened else { return " x3dh (sealed)".into() };
    let Ok(envelope) = Envelope::decode(&body) else { return String::new() };
    let short = |s: &str| s.chars().take(8).collect::<String>();
    let bundles: Vec<String> = envelope
        .bundles
        .iter()
        .map(|b| b.signed_pre_keys.keys().map(|k| short(k)).collect::<Vec<_>>().join("+"))
        .collect();
    let to: Vec<String> = envelope
        .payloads
        .keys()
        .map(|r| match r {
            Recipient::Installation(i) => short(i.as_str()),
            Recipient::Any => "any".into(),
        })
        .collect();
    let from = format!("{}/{}", &sealed_by.to_chat_key()[..12], short(envelope.sender.as_str()));
    format!(" x3dh from {from} bundles [{}] to [{}]", bundles.join(", "), to.join(", "))
}
