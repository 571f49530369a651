//! The Waku Noise layer (35/WAKU2-NOISE): our own Noise engine, because Waku binds message
//! nametags into the AEAD associated data and uses a non-standard pattern (WakuPairing), neither
//! of which `snow` supports. `snow` serves as the differential oracle for the standard patterns.
//!
//! Flow: [`HandshakeConfig`] → [`Handshake`] (write/read [`PayloadV2`] messages) →
//! [`Handshake::finalize`] → [`TransportState`] (protocol id 0 messages with rotating nametags).

pub mod handshake;
pub mod nametag;
pub mod padding;
pub mod pattern;
pub mod payload;
pub mod sessions;
pub mod symmetric;
pub mod symmetric_payload;
pub mod transport;

pub use handshake::{Handshake, HandshakeConfig, HandshakeStatus, Psk, RawMessage, Role, authcode_for_hash};
pub use nametag::{InboundNametags, NametagSecret, ReceivePolicy, handshake_nametag};
pub use pattern::{Direction, HandshakePattern, Token};
pub use payload::{MessageNametag, NoisePublicKey, PayloadError, PayloadV2, PayloadV2Ref, ProtocolId};
pub use transport::{ReceivedInfo, TransportState};

use crate::crypto::CryptoError;

/// Why a Noise operation failed. Every failure leaves the handshake or transport state unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoiseError {
    /// The bytes are not a well-formed PayloadV2.
    #[error("malformed payload: {0}")]
    Payload(#[from] PayloadError),
    /// A cryptographic check failed (authentication, non-contributory DH).
    #[error("cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    /// A handshake message does not carry the nametag this step expects.
    #[error("message nametag {actual:?} does not match the expected {expected:?}")]
    NametagMismatch {
        /// The nametag this step expects.
        expected: MessageNametag,
        /// The nametag the message carries.
        actual: MessageNametag,
    },
    /// A handshake message of another pattern.
    #[error("protocol id {actual} where the handshake expects {expected}")]
    ProtocolIdMismatch {
        /// The pattern's id.
        expected: u8,
        /// The message's id.
        actual: u8,
    },
    /// Writing when it is the peer's turn, reading when it is ours, or either after completion.
    #[error("not this side's turn (handshake status {status:?})")]
    WrongTurn {
        /// Whose move it actually is.
        status: HandshakeStatus,
    },
    /// A key the pattern needs was not configured.
    #[error("missing {0}")]
    MissingKey(&'static str),
    /// A handshake message lacks a key its tokens require.
    #[error("handshake message lacks the {0} key")]
    MissingKeyInMessage(&'static str),
    /// A handshake message carries more keys than its tokens.
    #[error("handshake message carries unexpected keys")]
    UnexpectedKeys,
    /// An ephemeral key arrived encrypted (flag 1); ephemeral keys are always sent in clear.
    #[error("ephemeral key sent encrypted")]
    EncryptedEphemeral,
    /// A static key arrived in clear where a key exists, or encrypted where none does.
    #[error("static key encryption flag does not match the handshake state")]
    StaticKeyEncryptionMismatch,
    /// The decrypted payload's PKCS#7 padding is malformed.
    #[error("invalid PKCS#7 padding")]
    InvalidPadding,
    /// `finalize` before the last handshake message.
    #[error("handshake not complete")]
    HandshakeNotComplete,
    /// A transport read got a message whose protocol id is not 0.
    #[error("protocol id {protocol_id} is not an after-handshake message")]
    NotATransportMessage {
        /// The protocol id received.
        protocol_id: u8,
    },
    /// The nametag is neither upcoming nor a remembered skipped slot: a replay, a message from
    /// too far ahead, or not ours.
    #[error("message nametag not expected (replayed, too far ahead, or not for this session)")]
    NametagNotFound,
    /// Strict policy only: the nametag is upcoming but not next (earlier messages missing).
    #[error("message nametag is at position {position} (earlier messages lost or reordered)")]
    NametagAhead {
        /// Position among the expected nametags.
        position: usize,
    },
    /// The message counter reached its limit; a new handshake is needed.
    #[error("nonce space exhausted")]
    NonceExhausted,
}
