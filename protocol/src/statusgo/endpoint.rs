//! A Suite S chat endpoint: one status-go installation with every layer stacked, the way a Status
//! client sends and reads a 1:1 text. `send_text` returns the WakuMessage to publish;
//! `receive` turns a WakuMessage into chat messages. Sans-IO like the rest: time and entropy come
//! in, and a refused message changes nothing.
//!
//! Layers, outer to inner: WakuMessage (version 1) → 26/ envelope (ECIES on our partitioned topic,
//! AES-GCM on a negotiated one) → `ProtocolMessage` ([`Installation`]) → the bare
//! `ApplicationMetadataMessage` → `ChatMessage`.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use prost::Message as _;

use super::app::{self, AppError, ChatMessage, message_type};
use super::bundle::{Bundle, BundleError};
use super::installation::{HandleError, Installation};
use super::keys::{PublicKey, SecretKey};
use super::payload::{self, PayloadError};
use super::topic::{self, NegotiatedSecret};
use crate::entropy::Entropy;
use crate::proto::ProtocolMessage;
use crate::waku::WakuMessage;

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

/// One Suite S device.
#[derive(Debug, Clone)]
pub struct Endpoint {
    identity: SecretKey,
    installation: Installation,
    display_name: String,
    /// The Lamport clock of our chat messages.
    clock: u64,
    seen: VecDeque<[u8; 32]>,
    /// The negotiated content topic and key per contact: a PBKDF2 of 65356 rounds each, so
    /// derived once (never persisted: a function of the two identities).
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
            negotiated: BTreeMap::new(),
        }
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

    /// A text to `to`: the chat message is wrapped, encrypted for every installation of `to`
    /// we know (DH-only without one), sealed and addressed as status-go would.
    pub fn send_text(
        &mut self,
        to: &PublicKey,
        text: &str,
        now_ns: i64,
        entropy: &mut dyn Entropy,
    ) -> Result<Outgoing, EndpointError> {
        let now_ms = u64::try_from(now_ns / 1_000_000).unwrap_or(0);
        let clock = (self.clock + 1).max(now_ms);
        let chat = ChatMessage::one_to_one(to, text, clock, now_ms, &self.display_name);
        let wrapped = app::wrap(&self.identity, message_type::CHAT_MESSAGE, chat.encode_to_vec());
        let mut installation = self.installation.clone();
        let negotiated = installation.negotiated(to);
        let protocol_message = installation.build(to, &wrapped, now_ns, entropy)?.encode_to_vec();
        let (content_topic, sealed) = if negotiated {
            let (content_topic, key) = self.negotiated(to).clone();
            (content_topic, payload::seal_symmetric(&self.identity, &key, &protocol_message, entropy))
        } else {
            let partition = topic::content_topic(&topic::partitioned_topic(to));
            (partition, payload::seal_asymmetric(&self.identity, to, &protocol_message, entropy))
        };
        self.installation = installation;
        self.clock = clock;
        let id = app::message_id(&self.identity.public_key(), &wrapped);
        Ok(Outgoing { id, message: payload::waku_message(sealed, content_topic, now_ns) })
    }

    /// Reads a WakuMessage: the chat messages in it, new ones only (an empty list for a bundle
    /// advert or a duplicate).
    pub fn receive(
        &mut self,
        message: &WakuMessage,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<Incoming>, EndpointError> {
        let opened = self.open(message)?;
        let protocol_message = ProtocolMessage::decode(&opened.data[..]).map_err(|_| EndpointError::Malformed)?;
        let mut installation = self.installation.clone();
        let handled = installation.handle(&opened.signer, &protocol_message, entropy)?;
        let mut incoming = Vec::new();
        for wrapped in app::wrapped_messages(&handled.plaintext).iter().filter(|w| !w.is_empty()) {
            let unwrapped = app::unwrap(&opened.signer, wrapped)?;
            if unwrapped.r#type != message_type::CHAT_MESSAGE || self.seen.contains(&unwrapped.id) {
                continue;
            }
            let chat = ChatMessage::decode(&unwrapped.payload[..]).map_err(|_| AppError::Malformed)?;
            incoming.push(Incoming {
                id: unwrapped.id,
                from: opened.signer,
                installation_id: handled.installation_id.clone(),
                chat,
            });
        }
        self.installation = installation;
        for message in &incoming {
            self.clock = self.clock.max(message.chat.clock);
            if self.seen.len() == SEEN_WINDOW {
                self.seen.pop_front();
            }
            self.seen.push_back(message.id);
        }
        Ok(incoming)
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
