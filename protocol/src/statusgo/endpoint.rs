//! A Suite S chat endpoint: one status-go installation with every layer stacked, the way a Status
//! client sends and reads a 1:1 text. `send_text` returns the WakuMessage to publish;
//! `receive` turns a WakuMessage into chat messages. Sans-IO like the rest: time and entropy come
//! in, and a refused message changes nothing.
//!
//! Layers, outer to inner: WakuMessage (version 1) → 26/ envelope (ECIES on our partitioned topic,
//! AES-GCM on a negotiated one) → `ProtocolMessage` ([`Installation`]) → an MVDS payload
//! ([`datasync`](super::datasync)) or the bare `ApplicationMetadataMessage` → `ChatMessage`.
//!
//! Two ways to send: [`Endpoint::send_text`] sends once, bare, as status-go does without
//! datasync; [`Endpoint::send_chat`] queues the message in MVDS, and [`Endpoint::poll`] sends it
//! and again until every installation it is for has acknowledged it.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use prost::Message as _;

use serde::{Deserialize, Serialize};

use super::app::{self, AppError, ChatMessage, message_type};
use super::bundle::{Bundle, BundleError};
use super::datasync::{Datasync, DatasyncError};
use super::installation::{HandleError, Handled, Installation, StateError, decode_state, encode_state};
use super::keys::{PublicKey, SecretKey};
use super::payload::{self, PayloadError};
use super::topic::{self, NegotiatedSecret};
use crate::entropy::Entropy;
use crate::proto::ProtocolMessage;
use crate::waku::WakuMessage;

/// Version byte of [`Endpoint::to_bytes`].
pub const ENDPOINT_VERSION: u8 = 1;

/// Message ids remembered to drop duplicates (a message arrives once per route and retry).
pub const SEEN_WINDOW: usize = 4096;

/// Why a message was not sent or not read. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Not on a topic of ours, or no key of ours opens it.
    #[error("not for us")]
    NotForUs,
    /// The 26/ layer refused it.
    #[error("26/ payload: {0}")]
    Payload(#[from] PayloadError),
    /// Not a `ProtocolMessage`.
    #[error("malformed ProtocolMessage")]
    Malformed,
    /// The encryption layer refused it.
    #[error("encryption layer: {0}")]
    Handle(#[from] HandleError),
    /// The application layer refused it.
    #[error("application layer: {0}")]
    App(#[from] AppError),
    /// Our bundle could not be signed.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The datasync outbox is full.
    #[error("datasync: {0}")]
    Datasync(#[from] DatasyncError),
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// status-go's message id.
    pub id: [u8; 32],
    /// The WakuMessage.
    pub message: WakuMessage,
}

/// A chat message received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// status-go's message id.
    pub id: [u8; 32],
    /// The sender (the 26/ signer, also the application signer).
    pub from: PublicKey,
    /// The sender's installation.
    pub installation_id: String,
    /// The message.
    pub chat: ChatMessage,
}

/// What a received WakuMessage held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Chat messages new to us.
    pub messages: Vec<Incoming>,
    /// The ids of our [`Endpoint::send_chat`] messages it settled: every installation they are
    /// for has acknowledged them.
    pub settled: Vec<[u8; 32]>,
}

/// One Suite S device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    identity: SecretKey,
    installation: Installation,
    display_name: String,
    /// The Lamport clock of our chat messages.
    clock: u64,
    seen: VecDeque<[u8; 32]>,
    datasync: Datasync,
    /// The negotiated content topic and key per contact: a PBKDF2 of 65356 rounds each, so
    /// derived once (never persisted: a function of the two identities).
    #[serde(skip)]
    negotiated: BTreeMap<PublicKey, (String, Zeroizing<[u8; 32]>)>,
}

impl Endpoint {
    /// An endpoint for `installation` (which holds the identity key), showing `display_name`.
    pub fn new(identity: SecretKey, installation: Installation, display_name: impl Into<String>) -> Self {
        Self {
            identity,
            installation,
            display_name: display_name.into(),
            clock: 0,
            seen: VecDeque::new(),
            datasync: Datasync::default(),
            negotiated: BTreeMap::new(),
        }
    }

    /// The same endpoint with datasync's retransmission gap capped at `max_retry_ns`
    /// ([`Datasync::with_max_retry`]).
    pub fn with_max_retry(mut self, max_retry_ns: i64) -> Self {
        self.datasync = self.datasync.with_max_retry(max_retry_ns);
        self
    }

    /// Our installation id.
    pub fn installation_id(&self) -> &str {
        self.installation.installation_id()
    }

    /// The datasync state (outbox and owed acknowledgements).
    pub fn datasync(&self) -> &Datasync {
        &self.datasync
    }

    /// The encryption state (bundles, sessions, pairing).
    pub fn installation(&mut self) -> &mut Installation {
        &mut self.installation
    }

    /// Records a contact's bundle (from its contact code or a message).
    pub fn add_bundle(&mut self, bundle: &Bundle) {
        self.installation.process_bundle(bundle);
    }

    /// The content topics to subscribe to: our partitioned topic and the negotiated topic with
    /// every identity we know.
    pub fn subscriptions(&mut self) -> Vec<String> {
        let me = self.identity.public_key();
        let mut topics = vec![topic::content_topic(&topic::partitioned_topic(&me))];
        for contact in self.installation.contacts() {
            topics.push(self.negotiated(&contact).0.clone());
        }
        topics
    }

    /// The negotiated topic and key with `contact`, derived on first use.
    fn negotiated(&mut self, contact: &PublicKey) -> &(String, Zeroizing<[u8; 32]>) {
        let identity = &self.identity;
        self.negotiated.entry(*contact).or_insert_with(|| {
            let secret = NegotiatedSecret::new(identity, contact);
            (secret.content_topic(), Zeroizing::new(secret.key()))
        })
    }

    /// A text to `to`, sent once: the chat message is wrapped, encrypted for every installation of
    /// `to` we know (DH-only without one), sealed and addressed as status-go would.
    pub fn send_text(
        &mut self,
        to: &PublicKey,
        text: &str,
        now_ns: i64,
        entropy: &mut dyn Entropy,
    ) -> Result<Outgoing, EndpointError> {
        let (clock, wrapped) = self.chat_message(to, text, now_ns);
        let message = self.seal(to, &wrapped, now_ns, entropy)?;
        self.clock = clock;
        Ok(Outgoing { id: app::message_id(&self.identity.public_key(), &wrapped), message })
    }

    /// A text to `to`, queued in datasync: [`Self::poll`] sends it until it is acknowledged.
    /// Returns status-go's message id.
    pub fn send_chat(&mut self, to: &PublicKey, text: &str, now_ns: i64) -> Result<[u8; 32], EndpointError> {
        let (clock, wrapped) = self.chat_message(to, text, now_ns);
        let group_id = app::one_to_one_group_id(&self.identity.public_key(), to);
        let id = app::message_id(&self.identity.public_key(), &wrapped);
        self.datasync.queue(*to, group_id, now_ns.div_euclid(1_000_000_000), wrapped, now_ns)?;
        self.clock = clock;
        Ok(id)
    }

    /// What datasync has due at `now`, sealed: retransmissions and acknowledgements, one message
    /// per contact. On error nothing changed.
    pub fn poll(&mut self, now_ns: i64, entropy: &mut dyn Entropy) -> Result<Vec<WakuMessage>, EndpointError> {
        let mut next = self.clone();
        let installation = &next.installation;
        let targets = |to: &PublicKey| installation.active_installations(to).into_iter().map(|(id, _)| id).collect();
        let payloads = next.datasync.due(now_ns, targets);
        let mut messages = Vec::with_capacity(payloads.len());
        for (to, payload) in payloads {
            messages.push(next.seal(&to, &payload.encode_to_vec(), now_ns, entropy)?);
        }
        *self = next;
        Ok(messages)
    }

    /// When [`Self::poll`] next has something to send.
    pub fn next_deadline(&self, now_ns: i64) -> Option<i64> {
        self.datasync.next_due(now_ns)
    }

    /// Connectivity came back: every unacknowledged message is due now.
    pub fn retry_now(&mut self, now_ns: i64) {
        self.datasync.retry_now(now_ns);
    }

    /// A `ChatMessage` to `to`, wrapped and signed, with the Lamport clock it takes.
    fn chat_message(&self, to: &PublicKey, text: &str, now_ns: i64) -> (u64, Vec<u8>) {
        let now_ms = u64::try_from(now_ns / 1_000_000).unwrap_or(0);
        let clock = (self.clock + 1).max(now_ms);
        let chat = ChatMessage::one_to_one(to, text, clock, now_ms, &self.display_name);
        (clock, app::wrap(&self.identity, message_type::CHAT_MESSAGE, chat.encode_to_vec()))
    }

    /// `plaintext` encrypted for `to`'s installations, sealed in 26/ and addressed: the negotiated
    /// topic once every target holds its secret, `to`'s partitioned topic before.
    fn seal(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        now_ns: i64,
        entropy: &mut dyn Entropy,
    ) -> Result<WakuMessage, EndpointError> {
        let mut installation = self.installation.clone();
        let negotiated = installation.negotiated(to);
        let protocol_message = installation.build(to, plaintext, now_ns, entropy)?.encode_to_vec();
        let (content_topic, sealed) = if negotiated {
            let (content_topic, key) = self.negotiated(to).clone();
            (content_topic, payload::seal_symmetric(&self.identity, &key, &protocol_message, entropy))
        } else {
            let partition = topic::content_topic(&topic::partitioned_topic(to));
            (partition, payload::seal_asymmetric(&self.identity, to, &protocol_message, entropy))
        };
        self.installation = installation;
        Ok(payload::waku_message(sealed, content_topic, now_ns))
    }

    /// Reads a WakuMessage: the chat messages new to us (none for a bundle advert, an ack or a
    /// duplicate), and our datasync messages it settled. On error nothing changed.
    pub fn receive(&mut self, message: &WakuMessage, entropy: &mut dyn Entropy) -> Result<Received, EndpointError> {
        let opened = self.open(message)?;
        let protocol_message = ProtocolMessage::decode(&opened.data[..]).map_err(|_| EndpointError::Malformed)?;
        let mut next = self.clone();
        let handled = next.installation.handle(&opened.signer, &protocol_message, entropy)?;
        let (bodies, settled) = next.datasync_layer(&opened.signer, &handled);
        let mut received = Received { messages: Vec::new(), settled };
        for wrapped in bodies.iter().filter(|w| !w.is_empty()) {
            let unwrapped = app::unwrap(&opened.signer, wrapped)?;
            let fresh = !next.seen.contains(&unwrapped.id) && received.messages.iter().all(|m| m.id != unwrapped.id);
            if unwrapped.r#type != message_type::CHAT_MESSAGE || !fresh {
                continue;
            }
            let chat = ChatMessage::decode(&unwrapped.payload[..]).map_err(|_| AppError::Malformed)?;
            received.messages.push(Incoming {
                id: unwrapped.id,
                from: opened.signer,
                installation_id: handled.installation_id.clone(),
                chat,
            });
        }
        for message in &received.messages {
            next.remember(message);
        }
        *self = next;
        Ok(received)
    }

    /// The application messages of a plaintext and the ids of ours it settled: an MVDS payload
    /// goes through datasync (its acks settle, its messages are owed an ack); a bare message
    /// is itself.
    fn datasync_layer(&mut self, from: &PublicKey, handled: &Handled) -> (Vec<Vec<u8>>, Vec<[u8; 32]>) {
        let Some(payload) = app::mvds_payload(&handled.plaintext) else {
            return (vec![handled.plaintext.clone()], Vec::new());
        };
        let targets: Vec<String> = self.installation.active_installations(from).into_iter().map(|(id, _)| id).collect();
        let received = self.datasync.on_payload(from, &handled.installation_id, &payload, &targets);
        let me = self.identity.public_key();
        let settled = received.settled.iter().map(|body| app::message_id(&me, body)).collect();
        (received.bodies, settled)
    }

    fn remember(&mut self, message: &Incoming) {
        self.clock = self.clock.max(message.chat.clock);
        if self.seen.len() == SEEN_WINDOW {
            self.seen.pop_front();
        }
        self.seen.push_back(message.id);
    }

    /// The whole state, `ENDPOINT_VERSION ‖ postcard`. It holds private keys: store it only
    /// sealed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        encode_state(ENDPOINT_VERSION, self)
    }

    /// Loads what [`Self::to_bytes`] wrote; anything else is refused, never half-loaded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        decode_state(ENDPOINT_VERSION, bytes)
    }

    /// Opens the 26/ layer with the key of the topic it came on.
    fn open(&mut self, message: &WakuMessage) -> Result<payload::Opened, EndpointError> {
        let me = self.identity.public_key();
        if message.content_topic == topic::content_topic(&topic::partitioned_topic(&me)) {
            return Ok(payload::open_asymmetric(&self.identity, &message.payload)?);
        }
        for contact in self.installation.contacts() {
            let (content_topic, key) = self.negotiated(&contact);
            if *content_topic == message.content_topic {
                return Ok(payload::open_symmetric(key, &message.payload)?);
            }
        }
        Err(EndpointError::NotForUs)
    }
}
