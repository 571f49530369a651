//! A Suite S device (the status-go wire) in the simulator: a [`statusgo::Endpoint`] with
//! datasync, driven the way a Status client drives it.
//!
//! The endpoint sends every text through MVDS and sends it again until each installation it is
//! for has acknowledged it ([`statusgo::datasync`]). Around it, this adapter does what the
//! client does: contacts' bundles come from their contact codes (the scenario's registry, read
//! again before each send, as a user rescans a code), the store is queried on start, on
//! reconnect and every minute from the last check (status-go's mailserver cycle), and the state
//! is persisted before anything it encrypted is published.
//!
//! Not modelled: sync between a user's own devices (status-go pairs them and copies sent
//! messages; the checker owes nothing to the sender's siblings), and the encryption audit (Suite
//! S's AES-CTR and AES-GCM keys are not reported as `KeyUse`; its nonces are random, not
//! counters).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use status_1to1::SeededEntropy;
use status_1to1::statusgo::datasync::{MAX_OUTSTANDING, MAX_OWED_ACKS};
use status_1to1::statusgo::endpoint::{Endpoint, EndpointError, Received};
use status_1to1::statusgo::installation::HandleError;
use status_1to1::statusgo::ratchet::RatchetError;
use status_1to1::statusgo::{Bundle, Installation, PublicKey, SecretKey};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;

use crate::ids::{DeviceId, MessageId, UserId};
use crate::node::{
    AppCommand, ClientMode, DeviceSpec, NodeAction, NodeEvent, NodeFactory, Notification, PublishVia, RejectReason,
    RestoreError, SimNode, Stored,
};
use crate::peer_node::store::{STORE_RETRY_MS, StoreJobs, StoreStep};
use crate::workload::Directory;

/// Timer token of the datasync deadline.
const TIMER_DATASYNC: u64 = 1;
/// Timer token of the store cycle.
const TIMER_STORE_CYCLE: u64 = 2;
/// Timer token of store query retries.
const TIMER_STORE_RETRY: u64 = 3;
/// How often an online device asks the store what it missed.
const STORE_CYCLE_MS: u64 = 60_000;
/// How far before the last check a store query reaches: senders' clocks are skewed and
/// messages reach the store late.
const STORE_OVERLAP_MS: u64 = 60_000;
/// The retransmission gap's cap in the simulation.
const MAX_RETRY_NS: i64 = 60_000_000_000;

/// The account key of a Suite S user: fixed per user, so every device of the user and the
/// registry derive the same key.
fn account_key(user: UserId) -> SecretKey {
    SecretKey::generate(&mut SeededEntropy::from_u64(0x5375_6974_6553_0000 ^ u64::from(user.0)))
}

/// What the scenario knows of Suite S devices: each one's latest bundle (its contact code) and
/// who is who.
#[derive(Debug, Default)]
pub struct StatusRegistry {
    bundles: BTreeMap<DeviceId, Bundle>,
    installations: BTreeMap<String, DeviceId>,
    users: BTreeMap<PublicKey, UserId>,
}

impl StatusRegistry {
    fn register(&mut self, spec: &DeviceSpec, installation_id: &str, key: PublicKey) {
        self.installations.insert(installation_id.to_owned(), spec.device);
        self.users.insert(key, spec.user);
    }
}

/// Builds Suite S devices.
#[derive(Debug)]
pub struct StatusFactory {
    dir: Rc<Directory>,
    registry: Rc<RefCell<StatusRegistry>>,
    fan_out: usize,
}

impl StatusFactory {
    /// A factory over the scenario's directory.
    pub fn new(dir: Rc<Directory>) -> Self {
        // Every device of a user is intended (the checker's `Directory::intended`), so status-go's
        // fan-out of 3 is raised to the largest account of the scenario, as for our peer.
        let users = (0..dir.user_count() as u32).map(UserId);
        let fan_out = users.map(|u| dir.devices_of(u).len()).max().unwrap_or(1).max(3);
        Self { dir, registry: Rc::default(), fan_out }
    }

    fn node(&self, spec: &DeviceSpec, endpoint: Endpoint, entropy: SeededEntropy, last_check: Timestamp) -> StatusNode {
        let key = account_key(spec.user).public_key();
        let id = endpoint.installation_id().to_owned();
        self.registry.borrow_mut().register(spec, &id, key);
        StatusNode {
            endpoint,
            entropy,
            spec: spec.clone(),
            dir: Rc::clone(&self.dir),
            registry: Rc::clone(&self.registry),
            last_check,
            subscribed: BTreeSet::new(),
            store: StoreJobs::default(),
            catch_ups: 0,
            next_publish: 0,
            armed: None,
            state_bytes: 0,
            debug: std::env::var_os("SIM_PEER_DEBUG").is_some(),
        }
    }
}

impl NodeFactory for StatusFactory {
    type Node = StatusNode;

    fn create(&mut self, spec: &DeviceSpec, mut entropy: SeededEntropy) -> StatusNode {
        let identity = account_key(spec.user);
        let id = Installation::generate_id(&mut entropy);
        let installation = Installation::new(identity.clone(), id).with_fan_out(self.fan_out);
        // Retransmissions back off to at most a minute, as the peer's do here: the liveness check
        // comes six minutes after the faults end.
        let endpoint =
            Endpoint::new(identity, installation, format!("user {}", spec.user.0)).with_max_retry(MAX_RETRY_NS);
        self.node(spec, endpoint, entropy, Timestamp::from_millis(0))
    }

    fn restore(
        &mut self,
        spec: &DeviceSpec,
        stored: &Stored,
        entropy: SeededEntropy,
    ) -> Result<StatusNode, RestoreError> {
        let Stored::Snapshot(bytes) = stored else { return Err(RestoreError("no snapshot stored".into())) };
        let (check, state) = bytes.split_at_checked(8).ok_or_else(|| RestoreError("truncated snapshot".into()))?;
        let last_check = Timestamp::from_millis(u64::from_le_bytes(check.try_into().unwrap_or_default()));
        let endpoint = Endpoint::from_bytes(state).map_err(|e| RestoreError(e.to_string()))?;
        let mut node = self.node(spec, endpoint, entropy, last_check);
        node.state_bytes = bytes.len();
        Ok(node)
    }
}

/// One simulated Suite S device.
pub struct StatusNode {
    endpoint: Endpoint,
    entropy: SeededEntropy,
    spec: DeviceSpec,
    dir: Rc<Directory>,
    registry: Rc<RefCell<StatusRegistry>>,
    /// Local time of the last store catch-up (persisted: a restart catches up from it).
    last_check: Timestamp,
    subscribed: BTreeSet<String>,
    store: StoreJobs,
    /// The id of the last catch-up (each is one job of `store`, split per shard and paged).
    catch_ups: u64,
    next_publish: u64,
    armed: Option<Timestamp>,
    state_bytes: usize,
    /// A debugging aid (`SIM_PEER_DEBUG`): print what the endpoint reads and sends to stderr.
    /// It only writes, never feeds the simulation.
    debug: bool,
}

impl std::fmt::Debug for StatusNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusNode").field("device", &self.spec.device).finish_non_exhaustive()
    }
}

impl SimNode for StatusNode {
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>) {
        match event {
            NodeEvent::Start { restored } => self.on_start(now, restored, out),
            NodeEvent::Connectivity { online: true } => {
                self.endpoint.retry_now(now.as_nanos_i64());
                self.catch_up(now, out);
                self.commit(now, Vec::new(), out);
            }
            NodeEvent::Connectivity { online: false } | NodeEvent::PublishResult { .. } => {}
            NodeEvent::App(AppCommand::SendText { id, to, body }) => self.send(now, *id, *to, body, out),
            NodeEvent::Message { message, .. } => {
                let notes = self.receive(message);
                self.commit(now, notes, out);
            }
            NodeEvent::StoreResult { request, result } => {
                let step = self.store.on_result(request, result);
                self.on_store_step(now, step, out);
            }
            NodeEvent::Timer { token: TIMER_DATASYNC } => {
                self.armed = None;
                self.commit(now, Vec::new(), out);
            }
            NodeEvent::Timer { token: TIMER_STORE_CYCLE } => {
                self.learn_contacts();
                self.catch_up(now, out);
                out.push(NodeAction::SetTimer { token: TIMER_STORE_CYCLE, at: later(now, STORE_CYCLE_MS) });
            }
            NodeEvent::Timer { token: TIMER_STORE_RETRY } => {
                for (request, attempt, query) in self.store.retry_failed() {
                    out.push(NodeAction::StoreQuery { request, store: attempt, query });
                }
            }
            NodeEvent::Timer { .. } => {}
        }
        self.arm_datasync_timer(now, out);
    }

    fn state_bytes(&self) -> usize {
        self.state_bytes
    }
}

impl StatusNode {
    fn on_start(&mut self, now: Timestamp, restored: bool, out: &mut Vec<NodeAction>) {
        self.armed = None;
        self.subscribed.clear();
        self.store.clear();
        self.advertise(now);
        self.learn_contacts();
        if restored {
            self.catch_up(now, out);
        } else {
            self.last_check = now;
        }
        out.push(NodeAction::SetTimer { token: TIMER_STORE_CYCLE, at: later(now, STORE_CYCLE_MS) });
        self.commit(now, Vec::new(), out);
    }

    /// Puts our current bundle in the registry: our contact code, as contacts scan it.
    fn advertise(&mut self, now: Timestamp) {
        if let Ok(bundle) = self.endpoint.installation().bundle(now.as_nanos_i64(), &mut self.entropy) {
            self.registry.borrow_mut().bundles.insert(self.spec.device, bundle);
        }
    }

    /// Reads every contact's codes again: devices appear, and prekeys rotate.
    fn learn_contacts(&mut self) {
        for contact in self.dir.contacts_of(self.spec.user).to_vec() {
            self.learn_bundles(contact);
        }
    }

    /// Reads the contact codes of `user`'s devices.
    fn learn_bundles(&mut self, user: UserId) {
        let registry = self.registry.borrow();
        for device in self.dir.devices_of(user) {
            if let Some(bundle) = registry.bundles.get(device) {
                self.endpoint.add_bundle(bundle);
            }
        }
    }

    fn send(&mut self, now: Timestamp, id: MessageId, to: UserId, body: &[u8], out: &mut Vec<NodeAction>) {
        self.learn_bundles(to);
        let text = String::from_utf8_lossy(body);
        match self.endpoint.send_chat(&account_key(to).public_key(), &text, now.as_nanos_i64()) {
            Ok(_) => {
                self.commit(now, Vec::new(), out);
                // "Accepted" means durably queued: right after the Persist of the send.
                let at = out.iter().position(|a| matches!(a, NodeAction::Persist { .. })).map_or(out.len(), |i| i + 1);
                out.insert(at, NodeAction::Notify(Notification::Accepted { id }));
            }
            Err(e) => {
                out.push(NodeAction::Notify(Notification::Error { detail: e.to_string() }));
                out.push(NodeAction::Notify(Notification::SendRefused { id }));
            }
        }
    }

    /// Reads one message; what the application sees, or why it was dropped.
    fn receive(&mut self, message: &WakuMessage) -> Vec<Notification> {
        let result = self.endpoint.receive(message, &mut self.entropy);
        if self.debug {
            let outcome = match &result {
                Ok(r) => format!(
                    "{} new {:?}, {} settled",
                    r.messages.len(),
                    r.messages.iter().map(|m| m.chat.text.get(14..30).unwrap_or("").to_owned()).collect::<Vec<_>>(),
                    r.settled.len()
                ),
                Err(e) => format!("refused: {e}"),
            };
            eprintln!(
                "d{} <- {} {}: {outcome}",
                self.spec.device.0,
                message.content_topic,
                message.timestamp.unwrap_or(0) / 1_000_000
            );
        }
        match result {
            Ok(received) => self.deliveries(&received),
            Err(e) => vec![rejection(&e)],
        }
    }

    fn deliveries(&self, received: &Received) -> Vec<Notification> {
        let registry = self.registry.borrow();
        received
            .messages
            .iter()
            .map(|m| match (registry.users.get(&m.from), registry.installations.get(&m.installation_id)) {
                (Some(&from_user), Some(&from_device)) => {
                    Notification::Delivered { from_user, from_device, body: m.chat.text.clone().into_bytes() }
                }
                _ => Notification::Error { detail: format!("delivery from unknown {}", m.installation_id) },
            })
            .collect()
    }

    /// Asks the store for what arrived on our topics since the last check.
    fn catch_up(&mut self, now: Timestamp, out: &mut Vec<NodeAction>) {
        let start = self.last_check.saturating_sub(Duration::from_millis(STORE_OVERLAP_MS));
        let topics = self.endpoint.subscriptions();
        // Catch-ups still paging carry on: dropping one would leave its window unread.
        self.catch_ups += 1;
        for (request, query) in self.store.start(&self.spec, self.catch_ups, &topics, start, now) {
            out.push(NodeAction::StoreQuery { request, store: 0, query });
        }
        self.last_check = now;
    }

    fn on_store_step(&mut self, now: Timestamp, step: StoreStep, out: &mut Vec<NodeAction>) {
        match step {
            StoreStep::Wait => {}
            StoreStep::Query(request, query) => out.push(NodeAction::StoreQuery { request, store: 0, query }),
            StoreStep::RetryLater => {
                out.push(NodeAction::SetTimer { token: TIMER_STORE_RETRY, at: later(now, STORE_RETRY_MS) });
            }
            StoreStep::Complete(_, messages) => {
                let notes = messages.iter().flat_map(|m| self.receive(m)).collect();
                self.commit(now, notes, out);
            }
        }
    }

    /// The order every change goes out in: what the application sees, the state persisted,
    /// new subscriptions, then what datasync has due (encrypted from the persisted state, so a
    /// crash can never make us encrypt it again differently), then the state's bounds.
    fn commit(&mut self, now: Timestamp, notes: Vec<Notification>, out: &mut Vec<NodeAction>) {
        let due = match self.endpoint.poll(now.as_nanos_i64(), &mut self.entropy) {
            Ok(due) => due,
            Err(e) => {
                out.push(NodeAction::Notify(Notification::Error { detail: e.to_string() }));
                Vec::new()
            }
        };
        out.extend(notes.into_iter().map(NodeAction::Notify));
        self.persist(out);
        self.subscribe_new(out);
        for message in due {
            if self.debug {
                eprintln!("[{}] d{} -> {}", now.as_millis(), self.spec.device.0, message.content_topic);
            }
            self.publish(message, out);
        }
        let datasync = self.endpoint.datasync();
        let bound = |name, value: usize, limit: usize| {
            NodeAction::Notify(Notification::Bound { name, value: value as u64, limit: limit as u64 })
        };
        out.push(bound("status.outstanding", datasync.outstanding(), MAX_OUTSTANDING));
        out.push(bound("status.owed_acks", datasync.owed_acks(), MAX_OWED_ACKS));
    }

    fn persist(&mut self, out: &mut Vec<NodeAction>) {
        match self.endpoint.to_bytes() {
            Ok(state) => {
                let snapshot = [&self.last_check.as_millis().to_le_bytes()[..], &state].concat();
                self.state_bytes = snapshot.len();
                out.push(NodeAction::Persist { snapshot });
            }
            Err(e) => out.push(NodeAction::Notify(Notification::Error { detail: e.to_string() })),
        }
    }

    fn subscribe_new(&mut self, out: &mut Vec<NodeAction>) {
        let new: Vec<String> =
            self.endpoint.subscriptions().into_iter().filter(|t| !self.subscribed.contains(t)).collect();
        if !new.is_empty() {
            self.subscribed.extend(new.iter().cloned());
            out.push(NodeAction::Subscribe { content_topics: new });
        }
    }

    fn publish(&mut self, message: WakuMessage, out: &mut Vec<NodeAction>) {
        self.next_publish += 1;
        let via = match self.spec.mode {
            ClientMode::Relay => PublishVia::Relay,
            ClientMode::Light => PublishVia::LightPush,
        };
        out.push(NodeAction::Publish { request: self.next_publish, message, via });
    }

    fn arm_datasync_timer(&mut self, now: Timestamp, out: &mut Vec<NodeAction>) {
        let next = self.endpoint.next_deadline(now.as_nanos_i64()).map(Timestamp::from_nanos_i64);
        if next != self.armed {
            self.armed = next;
            match next {
                Some(at) => out.push(NodeAction::SetTimer { token: TIMER_DATASYNC, at }),
                None => out.push(NodeAction::CancelTimer { token: TIMER_DATASYNC }),
            }
        }
    }
}

fn later(now: Timestamp, ms: u64) -> Timestamp {
    now.saturating_add(Duration::from_millis(ms))
}

/// How a refused message is reported. A copy of a message already read finds its ratchet key
/// gone: that is a duplicate, not an attack.
fn rejection(error: &EndpointError) -> Notification {
    let reason = match error {
        EndpointError::Handle(HandleError::Ratchet(RatchetError::KeyGone { .. }) | HandleError::Replayed) => {
            return Notification::DuplicateSuppressed;
        }
        EndpointError::NotForUs | EndpointError::Handle(HandleError::DeviceNotFound) => RejectReason::Misaddressed,
        EndpointError::Malformed => RejectReason::Malformed,
        _ => RejectReason::Unauthenticated,
    };
    Notification::Rejected { reason }
}
