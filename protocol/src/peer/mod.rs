//! The peer: one sans-IO object per device that negotiates 1:1 chats (55/STATUS-1TO1-CHAT),
//! keeps their sessions, fans messages out to several devices, and never loses a message.
//!
//! Contract (quinn/str0m style): the driver calls [`Peer::handle`] with `now`, an [`Event`] and
//! an [`Entropy`], and carries out the returned [`Action`]s in order. A refused event returns a
//! [`PeerError`] and leaves the peer exactly as it was. Whenever the state changes, the actions
//! are what the application sees, then exactly one [`Action::Persist`], then what goes to the
//! network (see [`action`]): no ciphertext is published from a state a crash could roll back.

pub mod action;
pub mod contacts;
pub mod delivery;
mod derived;
pub mod devices;
pub mod error;
pub mod event;
pub mod frame;
pub mod link;
pub mod noise_intro;
mod noise_path;
mod own_pairing;
mod receive;
pub mod records;
mod requests;
mod send;
mod shared;
pub mod snapshot;
pub mod topics;
mod x3dh_path;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use action::{Action, ContactRequest, Delivery, Direction, FirstText, Notice};
pub use contacts::{Contact, ContactCard, KeyExchange};
pub use delivery::{DeliveryConfig, Device};
pub use devices::OwnDevice;
pub use error::PeerError;
pub use event::{Event, Origin, RequestId};
pub use frame::{Frame, FrameBody, MessageId};
pub use link::NoiseLink;
pub use noise_path::NoiseMultiDevice;
pub use records::{ChangeSet, RECORD_VERSION, RecordError, RecordKey, RecordKind, RecordValue, Records};
pub use snapshot::{Snapshot, SnapshotError};
pub use x3dh_path::ADVERT_BUDGET;

use delivery::{AckQueue, Dedup, Outbox, OutboxEvent};
use devices::{Devices, FlowInput};
use noise_path::NoisePath;

use crate::crypto::hash::hkdf_blocks;
use crate::crypto::{KeyPair, SecretKey};
use crate::entropy::Entropy;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use crate::noise::sessions::TopicPolicy;
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// Tunables of a peer. Persisted with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerConfig {
    /// Application name in Noise session topics (37).
    pub app_name: String,
    /// Application version in Noise session topics (37).
    pub app_version: String,
    /// The key exchange we prefer for new chats.
    pub preferred_key_exchange: KeyExchange,
    /// How Noise session topics evolve (37: fixed, or a new topic per message).
    pub noise_topics: TopicPolicy,
    /// Which 37 multi-device mechanism the Noise path uses.
    pub noise_multi_device: NoiseMultiDevice,
    /// Devices a message fans out to, per identity (54: n = 3).
    pub max_devices: usize,
    /// Retries, acknowledgements and duplicate suppression.
    pub delivery: DeliveryConfig,
    /// How long a handshake may wait for answers.
    pub handshake_timeout: Duration,
    /// Handshakes answered but not completed, at most (oldest dropped): bounds what strangers
    /// can make us store.
    pub max_pending_noise_handshakes: usize,
    /// How far back a store query reaches at start-up.
    pub store_lookback: Duration,
    /// Contact requests held at most (oldest evicted): all that strangers can make us keep.
    pub max_contact_requests: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            app_name: "status-1to1".into(),
            app_version: "1".into(),
            preferred_key_exchange: KeyExchange::Noise,
            noise_topics: TopicPolicy::Fixed,
            noise_multi_device: NoiseMultiDevice::Nm,
            max_devices: 3,
            delivery: DeliveryConfig::default(),
            handshake_timeout: Duration::from_secs(3600),
            max_pending_noise_handshakes: 64,
            store_lookback: Duration::from_secs(24 * 3600),
            max_contact_requests: 32,
        }
    }
}

/// This device: the account identity, the installation id, and the device's own static key
/// (used for pairing, so pairing reveals nothing about the account key).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Me {
    identity: IdentityKeyPair,
    installation: InstallationId,
    device_key: KeyPair,
    /// Our partitioned inbox topic (a Keccak-256 and a format), wanted on every event.
    #[serde(skip)]
    partition_topic: derived::Derived<String>,
}

impl Me {
    fn new(identity: IdentityKeyPair, installation: InstallationId) -> Self {
        // Derived rather than drawn so that `Peer::new` needs no entropy; unique per installation.
        let mut ikm = identity.seed().to_vec();
        ikm.extend_from_slice(installation.as_str().as_bytes());
        let [secret] = hkdf_blocks::<1>(b"status-1to1/device-key/v1", &ikm);
        zeroize::Zeroize::zeroize(&mut ikm);
        let device_key = KeyPair::from_secret(SecretKey::from_bytes(secret));
        Self { identity, installation, device_key, partition_topic: derived::Derived::default() }
    }

    /// Our partitioned inbox topic, computed once.
    fn partition_topic(&self) -> &str {
        self.partition_topic.get_or_init(|| topics::partition_topic(self.identity.public()))
    }
}

/// Everything a peer remembers, as records ([`records`]).
#[derive(Clone, PartialEq, Eq)]
struct PeerState {
    config: PeerConfig,
    me: Me,
    contacts: BTreeMap<IdentityKey, Contact>,
    /// Strangers' first messages awaiting the application's answer.
    requests: requests::Requests,
    /// Identities whose messages are dropped.
    blocked: BTreeSet<IdentityKey>,
    devices: Devices,
    noise: NoisePath,
    x3dh: x3dh_path::X3dhPath,
    outbox: Outbox,
    /// Messages whose contact had no known device yet: newly established devices join them.
    open: BTreeMap<MessageId, (IdentityKey, Timestamp)>,
    dedup: Dedup,
    acks: AckQueue,
    subscriptions: BTreeSet<String>,
    store_queries: BTreeMap<RequestId, StoreQuery>,
    next_request: RequestId,
    last_online: Option<Timestamp>,
    timer: Option<Timestamp>,
}

/// A store query in progress (to ask for the next page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoreQuery {
    topics: Vec<String>,
    start: Timestamp,
    end: Timestamp,
}

/// What a handler needs: time, entropy, identity, configuration, and where actions go.
pub(crate) struct Ctx<'a> {
    now: Timestamp,
    entropy: &'a mut dyn Entropy,
    me: &'a Me,
    config: &'a PeerConfig,
    actions: &'a mut Vec<Action>,
}

impl Ctx<'_> {
    fn publish(&mut self, message: WakuMessage) {
        self.actions.push(Action::Publish(message));
    }

    /// Publishes a stored message again with the current time: 14/WAKU2-MESSAGE timestamps are
    /// the publishing time, and store nodes refuse messages stamped outside their ±20 s window.
    fn republish(&mut self, message: &WakuMessage) {
        let mut again = message.clone();
        again.timestamp = Some(self.now.as_nanos_i64());
        self.publish(again);
    }
}

/// One device's chat endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Peer {
    state: PeerState,
    /// The records as of the last change set we returned: the next one is the difference.
    persisted: Records,
}

impl Peer {
    /// A new device of `identity` with installation id `installation`.
    pub fn new(identity: IdentityKeyPair, installation: InstallationId, config: PeerConfig) -> Self {
        Self {
            state: PeerState {
                config,
                me: Me::new(identity, installation),
                contacts: BTreeMap::new(),
                requests: requests::Requests::default(),
                blocked: BTreeSet::new(),
                devices: Devices::default(),
                noise: NoisePath::default(),
                x3dh: x3dh_path::X3dhPath::default(),
                outbox: Outbox::default(),
                open: BTreeMap::new(),
                dedup: Dedup::default(),
                acks: AckQueue::default(),
                subscriptions: BTreeSet::new(),
                store_queries: BTreeMap::new(),
                next_request: 1,
                last_online: None,
                timer: None,
            },
            persisted: Records::default(),
        }
    }

    /// Loads a peer from its records, as a store holds them after applying its change sets
    /// (refused whole if anything is missing, malformed or extra).
    pub fn from_records(records: &Records) -> Result<Self, RecordError> {
        Ok(Self { state: PeerState::from_records(records)?, persisted: records.clone() })
    }

    /// Every record of the current state, numbered as the last change set returned.
    pub fn records(&self) -> Result<Records, RecordError> {
        let rows = self.state.to_records().map_err(|_| RecordError::Inconsistent("the state does not encode"))?;
        Ok(Records::from_rows(self.persisted.seq(), rows))
    }

    /// Bytes of the records last returned in a change set (what a store holds for this peer).
    pub fn stored_bytes(&self) -> usize {
        self.persisted.bytes()
    }

    /// Restores a peer from a snapshot (refused whole if corrupted).
    pub fn restore(snapshot: &Snapshot) -> Result<Self, SnapshotError> {
        Ok(Self::from_records(&snapshot.decode_records()?)?)
    }

    /// The current state as a snapshot: its records, framed and checksummed.
    pub fn snapshot(&self) -> Result<Snapshot, SnapshotError> {
        Snapshot::encode_records(&self.records()?)
    }

    /// Our identity.
    pub fn identity(&self) -> &IdentityKey {
        self.state.me.identity.public()
    }

    /// Our installation id.
    pub fn installation(&self) -> &InstallationId {
        &self.state.me.installation
    }

    /// The contacts.
    pub fn contacts(&self) -> &BTreeMap<IdentityKey, Contact> {
        &self.state.contacts
    }

    /// Our other devices.
    pub fn own_devices(&self) -> &BTreeMap<InstallationId, OwnDevice> {
        &self.state.devices.own
    }

    /// The content topics this device listens on.
    pub fn subscriptions(&self) -> &BTreeSet<String> {
        &self.state.subscriptions
    }

    /// Messages not yet acknowledged by every intended device.
    pub fn unacknowledged(&self) -> usize {
        self.state.outbox.unacknowledged()
    }

    /// Sizes of the bounded collections, for invariant checks.
    pub fn bounds(&self) -> PeerBounds {
        let (x3dh_contacts, x3dh_installations, adverts) = self.state.x3dh.counts();
        PeerBounds {
            contacts: self.state.contacts.len(),
            contact_requests: self.state.requests.len(),
            blocked: self.state.blocked.len(),
            x3dh_contacts,
            x3dh_installations,
            adverts,
            noise_sessions: self.state.noise.session_count(),
            x3dh_sessions: self.state.x3dh.session_count(),
            pending_handshakes: self.state.noise.pending_handshakes(),
            remembered_ids: self.state.dedup.len(),
            outbox: self.state.outbox.len(),
        }
    }

    /// When the peer next needs [`Event::Timer`].
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let s = &self.state;
        [
            s.outbox.next_deadline(),
            s.acks.next_deadline(),
            s.noise.next_deadline(s.config.handshake_timeout),
            s.open.values().map(|(_, t)| *t).min(),
            s.devices.flow_timer,
            s.x3dh.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Handles one event at time `now`. On error nothing changed.
    pub fn handle(
        &mut self,
        now: Timestamp,
        event: Event,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<Action>, PeerError> {
        let saved = self.state.clone();
        let mut actions = Vec::new();
        let result = self
            .dispatch(now, event, entropy, &mut actions)
            .and_then(|()| self.share_stale_sessions(now, entropy, &mut actions));
        if let Err(e) = result {
            self.state = saved;
            return Err(e);
        }
        self.sync_subscriptions(&mut actions);
        self.sync_timer(&mut actions);
        if self.state != saved || self.persisted.seq() == 0 {
            let changes = self.change_set(&saved)?;
            if !changes.writes.is_empty() {
                actions = order_around_persist(actions, changes);
            }
        }
        Ok(actions)
    }

    /// The records this event changed (from `before`, the state before it), applied to our
    /// copy of what the store holds. The first change set writes every record.
    fn change_set(&mut self, before: &PeerState) -> Result<ChangeSet, PeerError> {
        let encode_failed = PeerError::InvalidContact("state cannot be encoded");
        let changes = if self.persisted.seq() == 0 {
            let target = self.state.to_records().map_err(|_| encode_failed.clone())?;
            self.persisted.changes_to(&target)
        } else {
            let writes = self.state.changed_records(before, &self.persisted).map_err(|_| encode_failed.clone())?;
            self.persisted.next(writes)
        };
        self.persisted.apply(&changes).map_err(|_| encode_failed)?;
        Ok(changes)
    }

    fn dispatch(
        &mut self,
        now: Timestamp,
        event: Event,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        match event {
            Event::Start => self.on_start(now, entropy, actions),
            Event::SendText { to, body } => self.send_text(now, to, body, entropy, actions),
            Event::Received { message, .. } => self.on_received(now, &message, entropy, actions),
            Event::StoreResult { request, messages, next_cursor } => {
                self.on_store_result(now, request, messages, next_cursor, entropy, actions)
            }
            Event::Timer => self.on_timer(now, entropy, actions),
            Event::AddContact(card) => self.add_contact(now, card, entropy, actions),
            Event::RemoveOwnDevice(installation) => self.remove_own_device(now, &installation),
            Event::StartPairing => self.start_pairing(now, entropy, actions),
            Event::ScanPairingQr { qr, nametag } => self.scan_pairing_qr(now, &qr, nametag, entropy, actions),
            Event::ConfirmPairing { accept } => self.pairing_input(now, FlowInput::Confirm(accept), entropy, actions),
            Event::EndChat { with, public } => self.end_chat(now, &with, public, entropy, actions),
            Event::AcceptContactRequest(identity) => {
                if self.admit(now, &identity, entropy, actions)? {
                    Ok(())
                } else {
                    Err(PeerError::NoContactRequest(identity))
                }
            }
            Event::DeclineContactRequest(identity) => {
                self.state.requests.take(&identity).map(drop).ok_or(PeerError::NoContactRequest(identity))
            }
            Event::BlockContact(identity) => self.block(&identity),
        }
    }

    fn ctx<'a>(
        state: &'a mut PeerState,
        now: Timestamp,
        entropy: &'a mut dyn Entropy,
        actions: &'a mut Vec<Action>,
    ) -> (Ctx<'a>, &'a mut NoisePath) {
        let PeerState { me, config, noise, .. } = state;
        (Ctx { now, entropy, me, config, actions }, noise)
    }

    /// Like [`Self::ctx`], for the X3DH path, with the enabled own installations it signs for.
    fn ctx_x3dh<'a>(
        state: &'a mut PeerState,
        now: Timestamp,
        entropy: &'a mut dyn Entropy,
        actions: &'a mut Vec<Action>,
    ) -> (Ctx<'a>, &'a mut x3dh_path::X3dhPath, BTreeSet<InstallationId>) {
        let enabled = state.devices.enabled().cloned().collect();
        let PeerState { me, config, x3dh, .. } = state;
        (Ctx { now, entropy, me, config, actions }, x3dh, enabled)
    }

    /// Keeps our prekeys rotated and our bundle published (54).
    fn maintain_x3dh(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let (mut ctx, x3dh, enabled) = Self::ctx_x3dh(&mut self.state, now, entropy, actions);
        x3dh.maintain(&mut ctx)?;
        x3dh.publish_if_due(&mut ctx, &enabled)
    }

    /// Our contact code: identity, installation and (after the first start) our prekey bundle.
    pub fn contact_code(&self, now: Timestamp) -> Result<crate::identity::ContactCode, PeerError> {
        let me = &self.state.me;
        let code = crate::identity::ContactCode::new(*me.identity.public(), me.installation.clone());
        match self.state.x3dh.bundle_bytes(&me.identity, &me.installation, now) {
            Some(bundle) => code
                .with_prekey_bundle(bundle)
                .map_err(|_| PeerError::InvalidContact("bundle too large for a contact code")),
            None => Ok(code),
        }
    }

    fn on_start(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        self.maintain_x3dh(now, entropy, actions)?;
        let start = match self.state.last_online {
            Some(t) => t.saturating_sub(Duration::from_secs(60)),
            None => now.saturating_sub(self.state.config.store_lookback),
        };
        self.state.last_online = Some(now);
        let mut topics: Vec<String> = self.desired_topics().into_iter().collect();
        topics.sort();
        for chunk in topics.chunks(10) {
            self.query_store(chunk.to_vec(), start, now, None, actions);
        }
        Ok(())
    }

    fn query_store(
        &mut self,
        topics: Vec<String>,
        start: Timestamp,
        end: Timestamp,
        cursor: Option<Vec<u8>>,
        actions: &mut Vec<Action>,
    ) {
        let request = self.state.next_request;
        self.state.next_request += 1;
        actions.push(Action::QueryStore { request, content_topics: topics.clone(), start, end, cursor });
        self.state.store_queries.insert(request, StoreQuery { topics, start, end });
    }

    fn add_contact(
        &mut self,
        now: Timestamp,
        card: ContactCard,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if card.identity == *self.identity() {
            return Err(PeerError::InvalidContact("our own identity"));
        }
        // Adding an identity unblocks it, and accepts its pending request.
        self.state.blocked.remove(&card.identity);
        self.admit(now, &card.identity, entropy, actions)?;
        if let Some(bundle) = &card.bundle {
            self.state.x3dh.learn_bundle_bytes(&card.identity, bundle)?;
        }
        match self.state.contacts.get_mut(&card.identity) {
            Some(existing) => {
                for kx in card.supports {
                    if !existing.supports.contains(&kx) {
                        existing.supports.push(kx);
                    }
                }
            }
            None => {
                self.state.contacts.insert(card.identity, Contact::from_card(&card));
            }
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if self.state.devices.flow_timer.is_some_and(|t| t <= now) {
            self.state.devices.flow_timer = None;
            if self.state.devices.flow.is_some() {
                self.pairing_input(now, FlowInput::Tick, entropy, actions)?;
            }
        }
        self.maintain_x3dh(now, entropy, actions)?;
        self.flush_acks(now, entropy, actions)?;
        let (due, gave_up) = self.state.outbox.due(now, &self.state.config.delivery);
        for event in gave_up {
            if let OutboxEvent::GaveUp(id, device) = event {
                actions.push(Action::DeliveryFailed {
                    id,
                    identity: device.identity,
                    installation: Some(device.installation),
                });
            }
        }
        for (id, device, frame) in due {
            self.send_to_device(now, &device, &id, &frame, entropy, actions)?;
        }
        for (id, identity, frame) in self.state.outbox.due_blind(now, &self.state.config.delivery) {
            self.send_blind(now, &id, &identity, &frame, entropy, actions)?;
        }
        let expired: Vec<(MessageId, IdentityKey)> =
            self.state.open.iter().filter(|(_, (_, until))| *until <= now).map(|(id, (who, _))| (*id, *who)).collect();
        for (id, identity) in expired {
            self.state.open.remove(&id);
            if self.state.outbox.close_open(&id) {
                actions.push(Action::DeliveryFailed { id, identity, installation: None });
            }
        }
        let timeout = self.state.config.handshake_timeout;
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        if let Some(query) = noise.on_timer(&mut ctx, timeout) {
            self.query_answers(now, query, actions);
        }
        Ok(())
    }

    /// Asks the store for answers to our repeated Noise messages 1 (at most 10 content topics
    /// per query, as at start).
    fn query_answers(&mut self, now: Timestamp, query: noise_path::AnswerQuery, actions: &mut Vec<Action>) {
        let mut topics = query.topics;
        topics.sort();
        for chunk in topics.chunks(10) {
            self.query_store(chunk.to_vec(), query.since, now, None, actions);
        }
    }

    /// Every topic this device should listen on now.
    fn desired_topics(&self) -> BTreeSet<String> {
        let mut topics = BTreeSet::new();
        topics.insert(self.state.me.partition_topic().to_owned());
        self.state.noise.topics(&mut topics);
        self.state.x3dh.topics(&self.state.me.identity, &mut topics);
        topics.extend(self.state.devices.flow_topic.clone());
        topics
    }

    fn sync_subscriptions(&mut self, actions: &mut Vec<Action>) {
        let desired = self.desired_topics();
        let added: Vec<String> = desired.difference(&self.state.subscriptions).cloned().collect();
        let removed: Vec<String> = self.state.subscriptions.difference(&desired).cloned().collect();
        if !added.is_empty() {
            actions.push(Action::Subscribe(added));
        }
        if !removed.is_empty() {
            actions.push(Action::Unsubscribe(removed));
        }
        self.state.subscriptions = desired;
    }

    fn sync_timer(&mut self, actions: &mut Vec<Action>) {
        let next = self.next_deadline();
        if next != self.state.timer {
            self.state.timer = next;
            if let Some(at) = next {
                actions.push(Action::SetTimer(at));
            }
        }
    }
}

/// Puts what the application sees (deliveries, contact requests, receipts, notices) before `Persist` and what goes
/// to the network after it. The application's own records commit together with the snapshot (a
/// crash before it rolls both back, and the message is received again); no ciphertext leaves
/// before the state that produced it is stored.
fn order_around_persist(actions: Vec<Action>, changes: ChangeSet) -> Vec<Action> {
    let (mut ordered, network): (Vec<Action>, Vec<Action>) = actions.into_iter().partition(|a| {
        matches!(
            a,
            Action::Deliver(_)
                | Action::ContactRequest(_)
                | Action::Delivered(_)
                | Action::DeliveryFailed { .. }
                | Action::Queued(_)
                | Action::Notice(_)
                | Action::ShowPairingQr { .. }
                | Action::ShowAuthcode(_)
        )
    });
    ordered.push(Action::Persist(changes));
    ordered.extend(network);
    ordered
}

/// Sizes of a peer's bounded collections. What input (rather than the application) can grow:
/// `contact_requests` (at most `max_contact_requests`), `pending_handshakes`, `adverts` (at most
/// 16), `remembered_ids`; `x3dh_contacts` never exceeds `contacts`, which only the application
/// grows (adding, sending, accepting), and `x3dh_installations` is at most 16 per X3DH contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerBounds {
    /// Contacts (added, written to, or accepted by the application).
    pub contacts: usize,
    /// Contact requests held.
    pub contact_requests: usize,
    /// Blocked identities (only the application adds them).
    pub blocked: usize,
    /// Identities the X3DH path keeps state for (contacts only).
    pub x3dh_contacts: usize,
    /// Installations the X3DH path maps to an identity.
    pub x3dh_installations: usize,
    /// Identities adverted our bundle within the advert interval.
    pub adverts: usize,
    /// Noise sessions, archived included.
    pub noise_sessions: usize,
    /// X3DH sessions, superseded included.
    pub x3dh_sessions: usize,
    /// Handshakes in flight.
    pub pending_handshakes: usize,
    /// Message ids remembered for duplicate suppression.
    pub remembered_ids: usize,
    /// Messages not fully acknowledged.
    pub outbox: usize,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("identity", self.identity())
            .field("installation", self.installation())
            .field("contacts", &self.state.contacts.len())
            .field("bounds", &self.bounds())
            .finish_non_exhaustive()
    }
}
