//! Device pairing (WAKU2-DEVICE-PAIRING) as two explicit state machines, wire-compatible with
//! js-noise's `WakuPairing`: the QR owner ([`QrOwner`]) and the scanner ([`Scanner`]).
//!
//! ```text
//! standard (WakuPairing)            owner = device B (Noise responder), scanner = device A
//!   a. owner shows QR: eB, H(sB||r), app/version/shard; nametag out of band
//!   b. scanner -> e, ee {H(sA||s)}  on the QR nametag        both show the authcode, users confirm
//!   c. owner   <- s, es {r}          scanner checks H(sB||r) against the QR
//!   d. scanner -> s, se, ss {s}      owner checks H(sA||s) against message b        paired
//!
//! camera-less (WakuPairing2)        owner = device A (Noise initiator), scanner = device B
//!   a. owner shows QR: eA, H(sA||s)
//!   b. scanner <- e, ee {H(sB||r)}                            both show the authcode, users confirm
//!   c. scanner <- s, es {r}          owner checks H(sB||r) against message b
//!   d. owner   -> s, se, ss {s}      scanner checks H(sA||s) against the QR             paired
//! ```
//!
//! Each machine takes an event with the current time and injected entropy and returns actions.
//! An `Err` means the input was refused and nothing changed (a message for another nametag, an
//! echo of our own message, a forged or corrupted message, an event the state does not accept);
//! aborts are states ([`PairingState::Aborted`]) announced by [`PairingAction::Aborted`].

pub mod authcode;
pub mod commitment;
pub mod config;
mod exchange;
pub mod export;
pub mod owner;
pub mod qr;
pub mod scanner;
pub mod session;
pub mod topic;

pub use authcode::Authcode;
pub use commitment::{Commitment, CommitmentNonce};
pub use config::{DEFAULT_PAIRING_TIMEOUT, DEFAULT_QR_LIFETIME, PairingConfig, Variant};
pub use exchange::{Exchange, Participant};
pub use export::{EXPORTED_SESSION_LEN, ExportLengthError, ExportedSession};
pub use owner::{Exposure, Owner, OwnerEvent, QrOwner};
pub use qr::{PairingQr, QrError};
pub use scanner::{Scanner, ScannerEvent, Scanning};
pub use session::PairedSession;
pub use topic::{ContentTopicParams, TopicParamError};

use crate::crypto::PublicKey;
use crate::noise::{MessageNametag, NoiseError, PayloadError, PayloadV2};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// What the application must do after an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PairingAction {
    /// Display this QR. The nametag is not in the QR: hand it to the scanning device with it.
    ShowQr {
        /// The QR to display.
        qr: PairingQr,
        /// The first message's nametag, passed out of band.
        nametag: MessageNametag,
        /// When the QR stops being accepted.
        expires_at: Timestamp,
    },
    /// Listen to this content topic and feed its messages back as events.
    Subscribe(String),
    /// Publish this message.
    Publish(WakuMessage),
    /// Show the authcode and ask the user whether both devices show the same one.
    ShowAuthcode(Authcode),
    /// Deliver a `Tick` event at (or after) this time.
    SetTimer(Timestamp),
    /// Paired with the device owning this static key; the secure channel is ready.
    Paired {
        /// The peer's static key.
        remote_static: PublicKey,
    },
    /// A message arrived on the paired channel.
    Received(Vec<u8>),
    /// The pairing stopped for this reason.
    Aborted(AbortReason),
}

/// Why a pairing stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AbortReason {
    /// The scanned QR is for another application or version.
    WrongApplication {
        /// Our application name and version.
        expected: (String, String),
        /// The QR's.
        found: (String, String),
    },
    /// A peer key gives a non-contributory Diffie-Hellman output (small-order point).
    InvalidKey,
    /// The peer's static key does not open its commitment: a man in the middle or a broken peer.
    CommitmentMismatch,
    /// The peer's commitment (message b payload) is not 32 bytes.
    MalformedCommitment,
    /// The user said the authcodes differ.
    AuthcodeRejected,
    /// The QR was used after its lifetime.
    QrExpired,
    /// The handshake did not complete in time.
    TimedOut,
    /// The user cancelled.
    Cancelled,
}

/// Why an input was refused. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// The event is not accepted in the current state.
    #[error("event {event} is not accepted in state {state}")]
    UnexpectedEvent {
        /// The event.
        event: &'static str,
        /// The state.
        state: &'static str,
    },
    /// The scanned text is not a pairing QR.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The message is on another content topic.
    #[error("message on another content topic")]
    OtherContentTopic,
    /// The message is not a version 2 (Noise) WakuMessage.
    #[error("message is not a Noise (version 2) message")]
    NotNoise,
    /// The payload is not a well-formed PayloadV2.
    #[error("malformed payload: {0}")]
    Malformed(#[from] PayloadError),
    /// The nametag is not the one this step expects: another session, a stale QR, or an echo of
    /// our own message (js-noise skips these too).
    #[error("message nametag is not the expected one")]
    UnexpectedNametag,
    /// The message carries the expected nametag but fails the Noise checks (forged or corrupted;
    /// js-noise aborts here, we ignore it because reads are transactional).
    #[error("handshake message refused: {0}")]
    Noise(NoiseError),
    /// Too many early messages are already waiting for the user's confirmation.
    #[error("too many messages waiting for the authcode confirmation")]
    EarlyBufferFull,
}

/// Where a pairing is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PairingState {
    /// Nothing started.
    Idle,
    /// The QR owner shows a QR and waits for message b.
    ShowingQr(Exposure),
    /// Message b is done; both users compare the authcode. Messages that arrive early (the peer
    /// confirmed first) wait here.
    AwaitingConfirmation {
        /// The handshake so far.
        exchange: Exchange,
        /// Messages with the next nametag received before the confirmation.
        early: Vec<PayloadV2>,
    },
    /// Confirmed; waiting for the peer's static-key message (c or d).
    AwaitingPeerStatic(Exchange),
    /// Paired: the secure channel.
    Paired(PairedSession),
    /// Stopped.
    Aborted(AbortReason),
}

impl PairingState {
    /// The state's name, for errors and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Idle => "Idle",
            Self::ShowingQr(_) => "ShowingQr",
            Self::AwaitingConfirmation { .. } => "AwaitingConfirmation",
            Self::AwaitingPeerStatic(_) => "AwaitingPeerStatic",
            Self::Paired(_) => "Paired",
            Self::Aborted(_) => "Aborted",
        }
    }
}

/// The rows of both roles' tables once message b is done (`exchange.rs`), wildcard rows last.
const AFTER_MESSAGE_B: [crate::diagram::Transition; 16] = {
    use crate::diagram::{ANY_EVENT, Transition as T};
    [
        T::new("AwaitingConfirmation", "Tick", "AwaitingConfirmation", "before the deadline"),
        T::new(
            "AwaitingConfirmation",
            "Message",
            "AwaitingConfirmation",
            "the peer's static-key message came early, kept",
        ),
        T::new(
            "AwaitingConfirmation",
            "ConfirmAuthcode",
            "AwaitingPeerStatic",
            "we send our static key first, or none came early",
        ),
        T::new("AwaitingConfirmation", "ConfirmAuthcode", "Paired", "an early static-key message of the peer opens"),
        T::new("AwaitingConfirmation", "RejectAuthcode", "Aborted", "AuthcodeRejected"),
        T::new("AwaitingConfirmation", "Cancel", "Aborted", "Cancelled"),
        T::new("AwaitingPeerStatic", "Tick", "AwaitingPeerStatic", "before the deadline"),
        T::new("AwaitingPeerStatic", "Message", "Paired", "the peer's static key opens its commitment"),
        T::new("AwaitingPeerStatic", "Message", "Aborted", "CommitmentMismatch or InvalidKey"),
        T::new("AwaitingPeerStatic", "Cancel", "Aborted", "Cancelled"),
        T::new("Paired", "Message", "Paired", "Received"),
        T::new("Paired", "Send", "Paired", "Publish"),
        T::new("Paired", "Tick", "Paired", ""),
        T::new("Aborted", "Tick", "Aborted", ""),
        T::new("AwaitingConfirmation", ANY_EVENT, "Aborted", "deadline passed, TimedOut"),
        T::new("AwaitingPeerStatic", ANY_EVENT, "Aborted", "deadline passed, TimedOut"),
    ]
};

/// A role's own rows followed by [`AFTER_MESSAGE_B`]; `M` must be `N` plus its length.
pub(crate) const fn with_shared_rows<const N: usize, const M: usize>(
    own: [crate::diagram::Transition; N],
) -> [crate::diagram::Transition; M] {
    assert!(M == N + AFTER_MESSAGE_B.len(), "M = N + AFTER_MESSAGE_B.len()");
    let mut out = [crate::diagram::Transition::new("", "", "", ""); M];
    let mut i = 0;
    while i < M {
        out[i] = if i < N { own[i] } else { AFTER_MESSAGE_B[i - N] };
        i += 1;
    }
    out
}

/// A state change and what to do about it.
pub(crate) type Step = (PairingState, Vec<PairingAction>);

pub(crate) fn abort(reason: AbortReason) -> Step {
    (PairingState::Aborted(reason.clone()), vec![PairingAction::Aborted(reason)])
}

/// Unwraps the PayloadV2 of a message on `topic`.
pub(crate) fn payload_on(message: &WakuMessage, topic: &str) -> Result<PayloadV2, PairingError> {
    if message.content_topic != topic {
        return Err(PairingError::OtherContentTopic);
    }
    let bytes = message.noise_payload().map_err(|_| PairingError::NotNoise)?;
    Ok(PayloadV2::decode(bytes)?)
}

/// Wraps a PayloadV2 the way js-noise's encoders do (version 2, ephemeral, ms timestamp in ns).
pub(crate) fn publish(payload: &PayloadV2, topic: &str, now: Timestamp) -> Result<PairingAction, PairingError> {
    let bytes = payload.encode()?;
    Ok(PairingAction::Publish(WakuMessage::noise(bytes, topic.to_owned(), now.as_nanos_i64(), true)))
}

#[cfg(test)]
mod tests;
