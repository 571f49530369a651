//! What a peer asks its driver to do. Actions are returned in order and must be carried out in
//! that order. When the state changed, the list is: what the application sees (deliveries,
//! contact requests, receipts, notices), then [`Action::Persist`], then what goes to the network (publish,
//! subscribe, store queries, timers). The application records deliveries in the same commit as
//! the snapshot, so a crash either keeps both (the message is never delivered again) or neither
//! (it is received again later); and no ciphertext is published before the state that produced
//! it is stored, so a restart can never reuse a key and nonce.

use std::time::Duration;

use super::event::RequestId;
use super::frame::MessageId;
use super::records::ChangeSet;
use crate::identity::{IdentityKey, InstallationId};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// Which way a delivered message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Sent to us by a contact.
    Incoming,
    /// Sent by another device of ours (a sync copy).
    OutgoingFromOwnDevice,
}

/// A plaintext for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Message id (unique per sender).
    pub id: MessageId,
    /// The sending identity (ours for sync copies).
    pub from: IdentityKey,
    /// The sending device.
    pub from_installation: InstallationId,
    /// The chat: the contact the conversation is with.
    pub chat: IdentityKey,
    /// Incoming, or a copy of our own message from another device.
    pub direction: Direction,
    /// The body.
    pub body: Vec<u8>,
    /// The sender's timestamp (not trusted for ordering).
    pub sent_at: Timestamp,
}

/// An identity that is not a contact reached us (see [`super::Event::AcceptContactRequest`]).
/// Until the application accepts, declines or blocks, nothing else about the sender is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest {
    /// The sender's identity, proven by the message (an X3DH message that decrypted, or the
    /// introduction of a Noise handshake's message 1).
    pub from: IdentityKey,
    /// The sending device.
    pub from_installation: InstallationId,
    /// Which key exchange it used.
    pub key_exchange: super::KeyExchange,
    /// The first text (X3DH). `None` for Noise: its handshake is answered only once the request
    /// is accepted, so that a stranger never makes us send anything, and its text follows.
    pub first: Option<FirstText>,
}

/// The first text of a contact request (delivered with [`Action::Deliver`] once accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstText {
    /// The message id.
    pub id: MessageId,
    /// The body.
    pub body: Vec<u8>,
    /// The sender's timestamp (not trusted for ordering).
    pub sent_at: Timestamp,
}

/// An output of the peer.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Apply this change set to the store durably before carrying out the actions after it.
    Persist(ChangeSet),
    /// Publish a WakuMessage (relay or lightpush).
    Publish(WakuMessage),
    /// Start receiving these content topics.
    Subscribe(Vec<String>),
    /// Stop receiving these content topics.
    Unsubscribe(Vec<String>),
    /// Ask a store node for messages on these topics in `[start, end]`.
    QueryStore {
        /// Echoed in [`super::Event::StoreResult`].
        request: RequestId,
        /// Content topics (a store node takes at most 10 per query).
        content_topics: Vec<String>,
        /// Earliest sender timestamp.
        start: Timestamp,
        /// Latest sender timestamp.
        end: Timestamp,
        /// Continue after this cursor.
        cursor: Option<Vec<u8>>,
    },
    /// Hand a plaintext to the application.
    Deliver(Delivery),
    /// A stranger's first message: show it, and answer with
    /// [`super::Event::AcceptContactRequest`], [`super::Event::DeclineContactRequest`] or
    /// [`super::Event::BlockContact`].
    ContactRequest(ContactRequest),
    /// Every intended device acknowledged a message we sent.
    Delivered(MessageId),
    /// A device never acknowledged a message within the retry bound (`installation` is `None`
    /// when no device of the contact ever answered the handshake).
    DeliveryFailed {
        /// The message.
        id: MessageId,
        /// The recipient identity.
        identity: IdentityKey,
        /// The device that did not acknowledge.
        installation: Option<InstallationId>,
    },
    /// The application-visible result of [`super::Event::SendText`]: the id of the new message.
    Queued(MessageId),
    /// Call [`super::Peer::handle`] with [`super::Event::Timer`] at this time.
    SetTimer(Timestamp),
    /// Display this pairing QR, with its nametag passed to the scanning device out of band.
    ShowPairingQr {
        /// The QR text (WAKU2-DEVICE-PAIRING format).
        qr: String,
        /// The first message's nametag.
        nametag: [u8; 16],
        /// When the QR stops being accepted.
        expires_at: Timestamp,
    },
    /// Show this 8-digit code; the user confirms that both devices show the same one.
    ShowAuthcode(String),
    /// Something noteworthy that needs no action (for logs and tests).
    Notice(Notice),
}

/// Noteworthy facts the driver may log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A session with a device was established.
    SessionEstablished {
        /// The identity.
        identity: IdentityKey,
        /// The device.
        installation: InstallationId,
        /// Which key exchange.
        key_exchange: super::KeyExchange,
    },
    /// A duplicate message was suppressed.
    DuplicateSuppressed(MessageId),
    /// A session turned stale.
    SessionStale {
        /// The identity.
        identity: IdentityKey,
    },
    /// A contact request the application was shown left the bounded queue (a newer one
    /// evicted it); accepting it is no longer possible.
    ContactRequestEvicted(IdentityKey),
    /// A device of ours completed pairing and proved it belongs to our account.
    OwnDevicePaired(InstallationId),
    /// A pairing stopped (the reason, for display).
    PairingAborted(String),
    /// The handshake with a contact timed out without an answer.
    HandshakeTimedOut {
        /// The contact.
        identity: IdentityKey,
        /// How long it waited.
        after: Duration,
    },
}
