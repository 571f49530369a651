//! What a peer is told: application commands, network input, store results and timers. Every
//! event comes with `now` (see [`super::Peer::handle`]).

use crate::identity::{IdentityKey, InstallationId};
use crate::waku::WakuMessage;

/// How a WakuMessage reached us (relay, filter push, or a store query answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    /// Gossip relay.
    Relay,
    /// A filter service node's push (light clients).
    Filter,
    /// A store query answer (catch-up after being offline).
    Store,
}

/// A store query's id, chosen by the peer and echoed by the driver.
pub type RequestId = u64;

/// An input to the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The device starts (first start or restart after restoring a snapshot): subscribe, publish
    /// what must be published, catch up from store.
    Start,
    /// The application sends `body` to the contact `to`.
    SendText {
        /// The contact.
        to: IdentityKey,
        /// The text (opaque bytes to this layer).
        body: Vec<u8>,
    },
    /// A WakuMessage arrived on a subscribed content topic.
    Received {
        /// The message.
        message: WakuMessage,
        /// How it arrived.
        origin: Origin,
    },
    /// The answer to a store query the peer asked for.
    StoreResult {
        /// The query.
        request: RequestId,
        /// The messages of this page.
        messages: Vec<WakuMessage>,
        /// Set when more pages follow; the peer asks for them.
        next_cursor: Option<Vec<u8>>,
    },
    /// A timer set with [`super::Action::SetTimer`] is due.
    Timer,
    /// Add (or update) a contact from what a QR code or contact code carried.
    AddContact(super::ContactCard),
    /// Disable a device of ours (manual removal, 54 "Pairing").
    RemoveOwnDevice(InstallationId),
    /// Show a QR so that a new device of ours can pair with this one.
    StartPairing,
    /// The camera read another device's pairing QR; its nametag came with it, out of band.
    ScanPairingQr {
        /// The QR text.
        qr: String,
        /// The first message's nametag shown next to the QR.
        nametag: [u8; 16],
    },
    /// End the chat with a contact. Noise: 37 session termination, `public` publishes a
    /// termination message anyone can verify, otherwise it is sent inside the session; a later
    /// message re-activates the chat with a new handshake bound to the stale session. X3DH: the
    /// sessions with every installation of the contact are retired (kept readable for messages
    /// in flight, never used to send again); a later message starts new sessions from the
    /// contact's bundles.
    EndChat {
        /// The contact.
        with: IdentityKey,
        /// Public or private termination (Noise).
        public: bool,
    },
    /// Accept the pending contact request of this identity: it becomes a contact, its first
    /// message is delivered (once) and acknowledged.
    AcceptContactRequest(IdentityKey),
    /// Decline the pending contact request of this identity: it is forgotten, and a later
    /// message from it is a new request.
    DeclineContactRequest(IdentityKey),
    /// Block an identity: its pending request and, if it is a contact, the contact and its
    /// sessions are forgotten, and its messages are dropped from now on after the cheapest
    /// check (the claimed sender; for Noise, message 3 of its handshake). Adding it as a contact
    /// again unblocks it.
    BlockContact(IdentityKey),
    /// The user compared the authcodes: `accept` if both devices show the same one.
    ConfirmPairing {
        /// Whether they match.
        accept: bool,
    },
}
