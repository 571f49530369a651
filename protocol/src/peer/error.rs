//! Why a peer refused an event. A refused event leaves the peer exactly as it was.

use super::frame::FrameError;
use crate::identity::IdentityKey;
use crate::noise::NoiseError;
use crate::noise::sessions::SessionError;
use crate::waku::WakuMessageError;

/// A refused event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The message is on a topic no route of ours covers.
    #[error("no route for content topic {0}")]
    UnknownTopic(String),
    /// The message is malformed at the Waku layer.
    #[error(transparent)]
    Waku(#[from] WakuMessageError),
    /// A Noise message that is not ours or does not authenticate.
    #[error(transparent)]
    Noise(#[from] NoiseError),
    /// A Noise session refused the message.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The decrypted frame is malformed (the sender is buggy or malicious).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The Double Ratchet refused a message (duplicate, too many skipped, authentication…).
    #[error(transparent)]
    Ratchet(#[from] crate::ratchet::RatchetError),
    /// X3DH refused a first message or a no-bundle message.
    #[error(transparent)]
    X3dh(#[from] crate::x3dh::X3dhError),
    /// A message for a session or handshake we do not have (not ours, or state lost).
    #[error("message does not belong to any session or handshake of this device")]
    NotForUs,
    /// A handshake completed with a static key that does not match the identity it claims.
    #[error("identity {0} does not match the handshake's static key")]
    IdentityMismatch(IdentityKey),
    /// Sending to an identity that is not a contact.
    #[error("{0} is not a contact")]
    UnknownContact(IdentityKey),
    /// Accepting or declining a contact request that is not pending.
    #[error("no pending contact request from {0}")]
    NoContactRequest(IdentityKey),
    /// Sending to an identity we blocked.
    #[error("{0} is blocked")]
    Blocked(IdentityKey),
    /// Sending to ourselves.
    #[error("cannot send a chat message to our own identity")]
    SelfMessage,
    /// The body exceeds the frame limit.
    #[error("message body of {0} bytes is too large")]
    BodyTooLarge(usize),
    /// A contact card that cannot be used (e.g. our own identity).
    #[error("invalid contact: {0}")]
    InvalidContact(&'static str),
    /// A pairing input refused by the pairing state machine.
    #[error(transparent)]
    Pairing(#[from] crate::pairing::PairingError),
    /// A pairing input with no pairing in progress (or an unknown device).
    #[error("no pairing in progress or unknown device")]
    NoPairing,
    /// A store answer to a query we did not make (or already answered).
    #[error("unexpected store result {0}")]
    UnexpectedStoreResult(u64),
}
