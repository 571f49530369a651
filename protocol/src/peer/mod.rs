//! The peer: one sans-IO object per device that negotiates 1:1 chats (55/STATUS-1TO1-CHAT),
//! keeps their sessions, fans messages out to several devices, and never loses a message.
//!
//! Contract (quinn/str0m style): the driver calls [`Peer::handle`] with `now`, an [`Event`] and
//! an [`Entropy`], and carries out the returned [`Action`]s in order. A refused event returns a
//! [`PeerError`] and leaves the peer exactly as it was. Whenever the state changes, the first
//! action is [`Action::Persist`]: storing it before the rest guarantees that no ciphertext is
//! published, and no plaintext delivered, from a state a crash could roll back.

pub mod action;
pub mod contacts;
pub mod delivery;
pub mod devices;
pub mod error;
pub mod event;
pub mod frame;
mod noise_path;
pub mod snapshot;
pub mod topics;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use action::{Action, Delivery, Direction, Notice};
pub use contacts::{Contact, ContactCard, KeyExchange};
pub use delivery::{DeliveryConfig, Device};
pub use devices::OwnDevice;
pub use error::PeerError;
pub use event::{Event, Origin, RequestId};
pub use frame::{Frame, FrameBody, MessageId};
pub use snapshot::{Snapshot, SnapshotError};

use delivery::{AckQueue, Dedup, Outbox, OutboxEvent};
use devices::{Devices, FlowInput, PairingFlow};
use noise_path::{NoiseInput, NoisePath};

use crate::crypto::hash::hkdf_blocks;
use crate::crypto::{KeyPair, SecretKey};
use crate::entropy::Entropy;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use crate::noise::sessions::TopicPolicy;
use crate::pairing::{ContentTopicParams, PairingAction, PairingConfig, QrOwner, Scanner};
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
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            app_name: "status-1to1".into(),
            app_version: "1".into(),
            preferred_key_exchange: KeyExchange::Noise,
            noise_topics: TopicPolicy::Fixed,
            max_devices: 3,
            delivery: DeliveryConfig::default(),
            handshake_timeout: Duration::from_secs(3600),
            max_pending_noise_handshakes: 64,
            store_lookback: Duration::from_secs(24 * 3600),
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
}

impl Me {
    fn new(identity: IdentityKeyPair, installation: InstallationId) -> Self {
        // Derived rather than drawn so that `Peer::new` needs no entropy; unique per installation.
        let mut ikm = identity.seed().to_vec();
        ikm.extend_from_slice(installation.as_str().as_bytes());
        let [secret] = hkdf_blocks::<1>(b"status-1to1/device-key/v1", &ikm);
        zeroize::Zeroize::zeroize(&mut ikm);
        Self { identity, installation, device_key: KeyPair::from_secret(SecretKey::from_bytes(secret)) }
    }
}

/// Everything a peer remembers (what a snapshot holds).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PeerState {
    config: PeerConfig,
    me: Me,
    contacts: BTreeMap<IdentityKey, Contact>,
    devices: Devices,
    noise: NoisePath,
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
}

/// One device's chat endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Peer {
    state: PeerState,
}

impl Peer {
    /// A new device of `identity` with installation id `installation`.
    pub fn new(identity: IdentityKeyPair, installation: InstallationId, config: PeerConfig) -> Self {
        Self {
            state: PeerState {
                config,
                me: Me::new(identity, installation),
                contacts: BTreeMap::new(),
                devices: Devices::default(),
                noise: NoisePath::default(),
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
        }
    }

    /// Restores a peer from a snapshot (refused whole if corrupted).
    pub fn restore(snapshot: &Snapshot) -> Result<Self, SnapshotError> {
        Ok(Self { state: snapshot.decode()? })
    }

    /// The current state as a snapshot.
    pub fn snapshot(&self) -> Result<Snapshot, SnapshotError> {
        Snapshot::encode(&self.state)
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
        PeerBounds {
            noise_sessions: self.state.noise.session_count(),
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
        let result = self.dispatch(now, event, entropy, &mut actions);
        if let Err(e) = result {
            self.state = saved;
            return Err(e);
        }
        self.sync_subscriptions(&mut actions);
        self.sync_timer(&mut actions);
        if self.state != saved {
            let snapshot = self.snapshot().map_err(|_| PeerError::InvalidContact("state cannot be encoded"))?;
            actions.insert(0, Action::Persist(snapshot));
        }
        Ok(actions)
    }

    fn dispatch(
        &mut self,
        now: Timestamp,
        event: Event,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        match event {
            Event::Start => self.on_start(now, actions),
            Event::SendText { to, body } => self.send_text(now, to, body, entropy, actions),
            Event::Received { message, .. } => self.on_received(now, &message, entropy, actions),
            Event::StoreResult { request, messages, next_cursor } => {
                self.on_store_result(now, request, messages, next_cursor, entropy, actions)
            }
            Event::Timer => self.on_timer(now, entropy, actions),
            Event::AddContact(card) => self.add_contact(card),
            Event::RemoveOwnDevice(installation) => self.remove_own_device(&installation),
            Event::StartPairing => self.start_pairing(now, entropy, actions),
            Event::ScanPairingQr { qr, nametag } => self.scan_pairing_qr(now, &qr, nametag, entropy, actions),
            Event::ConfirmPairing { accept } => self.pairing_input(now, FlowInput::Confirm(accept), entropy, actions),
            Event::EndChat { with, public } => self.end_chat(now, &with, public, entropy, actions),
        }
    }

    /// Ends the Noise sessions with every device of `with` (37 termination, public or private).
    fn end_chat(
        &mut self,
        now: Timestamp,
        with: &IdentityKey,
        public: bool,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let terminate = |sid: &crate::noise::sessions::SessionId| {
            Frame {
                id: MessageId(id),
                sent_at_ms: now.as_millis(),
                body: FrameBody::Terminate(sid.termination_token()),
            }
            .encode()
        };
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        let ended = noise.end_sessions(&mut ctx, with, public, terminate)?;
        if ended == 0 {
            return Err(PeerError::UnknownContact(*with));
        }
        Ok(())
    }

    fn pairing_config(&self) -> Result<PairingConfig, PeerError> {
        let c = &self.state.config;
        let params = ContentTopicParams::new(&c.app_name, &c.app_version, "0")
            .map_err(|_| PeerError::InvalidContact("application name or version unusable in a topic"))?;
        Ok(PairingConfig::new(params))
    }

    /// Shows a pairing QR for a new device of ours (WAKU2-DEVICE-PAIRING, QR owner).
    fn start_pairing(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let owner = QrOwner::new(self.pairing_config()?, self.state.me.device_key.clone());
        self.state.devices.flow = Some(PairingFlow::Owner(owner));
        self.state.devices.flow_topic = None;
        let result = match &mut self.state.devices.flow {
            Some(PairingFlow::Owner(o)) => o.handle(crate::pairing::OwnerEvent::ExposeQr, now, entropy),
            _ => Ok(Vec::new()),
        };
        self.on_pairing_actions(now, result?, entropy, actions)
    }

    /// Pairs with a device of ours that shows a QR (scanner).
    fn scan_pairing_qr(
        &mut self,
        now: Timestamp,
        qr: &str,
        nametag: [u8; 16],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let mut scanner = Scanner::new(self.pairing_config()?, self.state.me.device_key.clone());
        let event = crate::pairing::ScannerEvent::Scan { qr, nametag: crate::noise::MessageNametag(nametag) };
        let result = scanner.handle(event, now, entropy)?;
        self.state.devices.flow = Some(PairingFlow::Scanner(scanner));
        self.state.devices.flow_topic = None;
        self.on_pairing_actions(now, result, entropy, actions)
    }

    fn pairing_input(
        &mut self,
        now: Timestamp,
        input: FlowInput<'_>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let flow = self.state.devices.flow.as_mut().ok_or(PeerError::NoPairing)?;
        let result = flow.handle(input, now, entropy)?;
        self.on_pairing_actions(now, result, entropy, actions)
    }

    /// Carries out what the pairing state machine asked for.
    fn on_pairing_actions(
        &mut self,
        now: Timestamp,
        result: Vec<PairingAction>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        for action in result {
            match action {
                PairingAction::ShowQr { qr, nametag, expires_at } => {
                    actions.push(Action::ShowPairingQr { qr: qr.to_string(), nametag: nametag.0, expires_at })
                }
                PairingAction::Subscribe(topic) => self.state.devices.flow_topic = Some(topic),
                PairingAction::Publish(message) => actions.push(Action::Publish(message)),
                PairingAction::ShowAuthcode(code) => actions.push(Action::ShowAuthcode(code.digits())),
                PairingAction::SetTimer(at) => self.state.devices.flow_timer = Some(at),
                PairingAction::Paired { .. } => self.on_paired(now, entropy, actions)?,
                PairingAction::Received(_) => {}
                PairingAction::Aborted(reason) => {
                    actions.push(Action::Notice(Notice::PairingAborted(format!("{reason:?}"))));
                    self.end_pairing();
                }
            }
        }
        Ok(())
    }

    fn end_pairing(&mut self) {
        self.state.devices.flow = None;
        self.state.devices.flow_topic = None;
        self.state.devices.flow_timer = None;
    }

    /// The pairing completed: move the channel to a 37 session and say who we are on it.
    fn on_paired(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let Some(paired) = self.state.devices.flow.as_ref().and_then(PairingFlow::take_session) else { return Ok(()) };
        self.end_pairing();
        let c = &self.state.config;
        let session = crate::noise::sessions::NoiseSession::new(
            paired.into_transport(),
            &c.app_name,
            &c.app_version,
            c.noise_topics,
            now,
        )?;
        let hello = self.hello_frame(now, entropy);
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.add_pending_own(&mut ctx, session, hello)
    }

    fn hello_frame(&self, now: Timestamp, entropy: &mut dyn Entropy) -> Vec<u8> {
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let me = &self.state.me;
        let body = FrameBody::DeviceHello { identity: *me.identity.public(), installation: me.installation.clone() };
        Frame { id: MessageId(id), sent_at_ms: now.as_millis(), body }.encode()
    }

    /// The first frame on a freshly paired channel: the other device's hello.
    fn on_pending_own_frame(
        &mut self,
        now: Timestamp,
        index: usize,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let frame = Frame::decode(plaintext)?;
        let FrameBody::DeviceHello { identity, installation } = frame.body else { return Err(PeerError::NotForUs) };
        if identity != *self.identity() || installation == self.state.me.installation {
            self.state.noise.drop_pending(index);
            actions.push(Action::Notice(Notice::PairingAborted("the paired device belongs to another account".into())));
            return Ok(());
        }
        let device = Device { identity, installation: installation.clone() };
        let hello = self.hello_frame(now, entropy);
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.promote_pending(&mut ctx, index, device.clone());
        // Answer once on the promoted session, in case our own hello was lost.
        noise.send(&mut ctx, &device, &hello)?;
        self.state.devices.own.insert(installation.clone(), OwnDevice { paired_at: now, enabled: true });
        actions.push(Action::Notice(Notice::OwnDevicePaired(installation)));
        Ok(())
    }

    fn remove_own_device(&mut self, installation: &InstallationId) -> Result<(), PeerError> {
        let device = self.state.devices.own.get_mut(installation).ok_or(PeerError::NoPairing)?;
        device.enabled = false;
        let device = Device { identity: *self.identity(), installation: installation.clone() };
        self.state.noise.forget_device(&device);
        Ok(())
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

    fn on_start(&mut self, now: Timestamp, actions: &mut Vec<Action>) -> Result<(), PeerError> {
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

    fn on_store_result(
        &mut self,
        now: Timestamp,
        request: RequestId,
        messages: Vec<WakuMessage>,
        next_cursor: Option<Vec<u8>>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let query = self.state.store_queries.remove(&request).ok_or(PeerError::UnexpectedStoreResult(request))?;
        for message in messages {
            // A stored message that is not ours (or a duplicate) is expected on shared topics.
            let before = self.state.clone();
            let mut local = Vec::new();
            match self.on_received(now, &message, entropy, &mut local) {
                Ok(()) => actions.extend(local),
                Err(_) => self.state = before,
            }
        }
        if let Some(cursor) = next_cursor {
            self.query_store(query.topics, query.start, query.end, Some(cursor), actions);
        }
        Ok(())
    }

    fn add_contact(&mut self, card: ContactCard) -> Result<(), PeerError> {
        if card.identity == *self.identity() {
            return Err(PeerError::InvalidContact("our own identity"));
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

    fn send_text(
        &mut self,
        now: Timestamp,
        to: IdentityKey,
        body: Vec<u8>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if to == *self.identity() {
            return Err(PeerError::SelfMessage);
        }
        if body.len() > frame::MAX_BODY_LEN {
            return Err(PeerError::BodyTooLarge(body.len()));
        }
        let preferred = self.state.config.preferred_key_exchange;
        let contact = self
            .state
            .contacts
            .entry(to)
            .or_insert_with(|| Contact::from_card(&ContactCard { identity: to, supports: vec![] }));
        let kx = contact.negotiate(preferred);
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let frame = Frame { id: MessageId(id), sent_at_ms: now.as_millis(), body: FrameBody::Text(body) };
        actions.push(Action::Queued(frame.id));
        self.sync_to_own_devices(now, &to, &frame, entropy, actions)?;
        match kx {
            KeyExchange::Noise | KeyExchange::X3dh => self.send_frame_noise(now, &to, &frame, entropy, actions),
        }
    }

    /// Sends a copy of a message we sent to every enabled device of ours (37 NM sync sessions).
    fn sync_to_own_devices(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        sent: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let FrameBody::Text(body) = &sent.body else { return Ok(()) };
        let me = *self.identity();
        let targets: Vec<Device> = self
            .state
            .devices
            .enabled()
            .map(|installation| Device { identity: me, installation: installation.clone() })
            .filter(|d| self.state.noise.devices_of(&me).contains(d))
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let copy = Frame {
            id: MessageId(id),
            sent_at_ms: sent.sent_at_ms,
            body: FrameBody::SentSync { to: *to, body: body.clone() },
        };
        self.state.outbox.enqueue(&copy, targets.iter().cloned());
        for device in targets {
            self.send_to_device(now, &device, &copy.id, &copy.encode(), entropy, actions)?;
        }
        Ok(())
    }

    /// Queues `frame` for every active device of `to` and sends it to them; while a discovery
    /// handshake runs (at first contact, then daily) devices that answer it join the message.
    fn send_frame_noise(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        frame: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let devices = self.state.noise.devices_of(to);
        self.state.outbox.enqueue(frame, devices.iter().cloned());
        let stale = if devices.is_empty() { self.state.noise.stale_devices_of(to) } else { Vec::new() };
        let discover = self.state.noise.discovering(to, now);
        if discover || !stale.is_empty() {
            let until = now.saturating_add(self.state.config.handshake_timeout);
            self.state.open.insert(frame.id, (*to, until));
            self.state.outbox.enqueue_open(frame);
            let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
            if discover {
                noise.start(&mut ctx, to)?;
            }
            // 37: a stale session is not re-opened; a new handshake binds it through its prologue.
            for (ct_id, sid) in &stale {
                noise.reactivate(&mut ctx, to, *ct_id, sid)?;
            }
        }
        for device in devices {
            self.send_to_device(now, &device, &frame.id, &frame.encode(), entropy, actions)?;
        }
        Ok(())
    }

    /// Encrypts a queued frame for one device and records the send.
    fn send_to_device(
        &mut self,
        now: Timestamp,
        device: &Device,
        id: &MessageId,
        frame: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        if noise.send(&mut ctx, device, frame)? {
            self.state.outbox.mark_sent(id, device, now, &self.state.config.delivery);
        }
        Ok(())
    }

    fn on_received(
        &mut self,
        now: Timestamp,
        message: &WakuMessage,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if !self.state.subscriptions.contains(&message.content_topic) {
            return Err(PeerError::UnknownTopic(message.content_topic.clone()));
        }
        if self.state.devices.flow_topic.as_deref() == Some(message.content_topic.as_str()) {
            return self.pairing_input(now, FlowInput::Message(message), entropy, actions);
        }
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        match noise.on_message(&mut ctx, message)? {
            NoiseInput::PendingOwnFrame(index, plaintext) => {
                self.on_pending_own_frame(now, index, &plaintext, entropy, actions)
            }
            NoiseInput::HandshakeStep => Ok(()),
            NoiseInput::Established(device) => self.on_established(now, device, entropy, actions),
            NoiseInput::Frame(device, plaintext) => self.on_frame(now, &device, &plaintext, entropy, actions),
            NoiseInput::Terminated(device) => {
                actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
                Ok(())
            }
        }
    }

    /// A session with `device` exists: record the device, adopt it into open messages, and send
    /// what waited for it.
    fn on_established(
        &mut self,
        now: Timestamp,
        device: Device,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let contact = self
            .state
            .contacts
            .entry(device.identity)
            .or_insert_with(|| Contact::from_first_message(device.identity, KeyExchange::Noise));
        contact.saw_device(&device.installation, now);
        for (id, (identity, until)) in &self.state.open {
            if *identity == device.identity && *until >= now {
                self.state.outbox.add_target(id, device.clone());
            }
        }
        for (id, frame) in self.state.outbox.waiting_for(&device) {
            self.send_to_device(now, &device, &id, &frame, entropy, actions)?;
        }
        Ok(())
    }

    /// A decrypted frame from `device`.
    fn on_frame(
        &mut self,
        now: Timestamp,
        device: &Device,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let frame = Frame::decode(plaintext)?;
        if let Some(contact) = self.state.contacts.get_mut(&device.identity) {
            contact.saw_device(&device.installation, now);
        }
        let config = self.state.config.delivery;
        match frame.body {
            FrameBody::Ack(ids) => {
                for id in ids {
                    match self.state.outbox.acknowledge(&id, device) {
                        Some(OutboxEvent::Delivered(id)) => actions.push(Action::Delivered(id)),
                        Some(OutboxEvent::GaveUp(..)) | None => {}
                    }
                }
                return Ok(());
            }
            FrameBody::Terminate(token) => {
                if self.state.noise.on_private_termination(device, &token, now) {
                    actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
                }
                return Ok(());
            }
            FrameBody::Text(body) => {
                if self.state.dedup.first_time(&device.identity, &frame.id, now, &config) {
                    actions.push(Action::Deliver(Delivery {
                        id: frame.id,
                        from: device.identity,
                        from_installation: device.installation.clone(),
                        chat: device.identity,
                        direction: Direction::Incoming,
                        body,
                        sent_at: Timestamp::from_millis(frame.sent_at_ms),
                    }));
                } else {
                    actions.push(Action::Notice(Notice::DuplicateSuppressed(frame.id)));
                }
            }
            FrameBody::SentSync { to, body } if device.identity == *self.identity() => {
                if self.state.dedup.first_time(&device.identity, &frame.id, now, &config) {
                    actions.push(Action::Deliver(Delivery {
                        id: frame.id,
                        from: device.identity,
                        from_installation: device.installation.clone(),
                        chat: to,
                        direction: Direction::OutgoingFromOwnDevice,
                        body,
                        sent_at: Timestamp::from_millis(frame.sent_at_ms),
                    }));
                }
            }
            FrameBody::DeviceHello { .. } => return Ok(()),
            FrameBody::SentSync { .. } | FrameBody::StateSync(_) => return Err(PeerError::NotForUs),
        }
        self.state.acks.owe(device.clone(), frame.id, now, &config);
        let _ = entropy;
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
        let expired: Vec<(MessageId, IdentityKey)> =
            self.state.open.iter().filter(|(_, (_, until))| *until < now).map(|(id, (who, _))| (*id, *who)).collect();
        for (id, identity) in expired {
            self.state.open.remove(&id);
            if self.state.outbox.close_open(&id) {
                actions.push(Action::DeliveryFailed { id, identity, installation: None });
            }
        }
        let timeout = self.state.config.handshake_timeout;
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.on_timer(&mut ctx, timeout);
        Ok(())
    }

    fn flush_acks(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        for (device, ids) in self.state.acks.due(now) {
            let mut id = [0u8; frame::MESSAGE_ID_LEN];
            entropy.fill(&mut id);
            let ack = Frame { id: MessageId(id), sent_at_ms: now.as_millis(), body: FrameBody::Ack(ids) };
            let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
            noise.send(&mut ctx, &device, &ack.encode())?;
        }
        Ok(())
    }

    /// Every topic this device should listen on now.
    fn desired_topics(&self) -> BTreeSet<String> {
        let mut topics = BTreeSet::new();
        topics.insert(topics::partition_topic(self.identity()));
        self.state.noise.topics(&mut topics);
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

/// Sizes of a peer's bounded collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerBounds {
    /// Noise sessions, archived included.
    pub noise_sessions: usize,
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
