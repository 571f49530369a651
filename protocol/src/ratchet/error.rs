//! Why a ratchet operation was refused. Every refusal leaves the state exactly as it was.

use super::MAX_SKIP;

/// A refused encryption or decryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatchetError {
    /// The header asks to skip more than [`MAX_SKIP`] message keys in one chain (DR §3.5
    /// `SkipMessageKeys`): either a flood of lost messages or an attempt to make us derive keys.
    #[error("message would skip {skip} message keys, more than the limit of {MAX_SKIP}")]
    TooManySkipped {
        /// How many keys the header asks to skip.
        skip: u64,
    },
    /// The message key for this header was already used, or deleted by the storage, age or chain
    /// limits: a duplicate (or a very late message) is refused.
    #[error("message {n} of this chain was already decrypted or its key is no longer kept")]
    DuplicateMessage {
        /// The message number in its chain.
        n: u32,
    },
    /// The AEAD tag did not verify: a tampered header or ciphertext, another session's message,
    /// or a forged one.
    #[error("message authentication failed")]
    AuthenticationFailed,
    /// A Diffie-Hellman output was all zeros: the peer's ratchet key has small order.
    #[error("the ratchet key has small order (non-contributory Diffie-Hellman)")]
    NonContributory,
    /// A new ratchet key arrived before we replied to the previous one. An honest peer changes
    /// its key only after seeing ours, so this message is not from this session.
    #[error("unexpected new ratchet key before our reply to the previous one")]
    UnexpectedRatchetKey,
    /// The state has no ratchet key of the peer to start a sending chain with (a corrupted
    /// snapshot: every state built by this crate has one).
    #[error("no remote ratchet key to send to")]
    NoRemoteRatchetKey,
    /// A chain reached 2^32 - 1 messages; the counter cannot advance further.
    #[error("message counter exhausted in this chain")]
    ChainExhausted,
    /// The message names a different session (its X3DH header or bundle id do not match).
    #[error("message belongs to another session")]
    WrongSession,
}

impl From<crate::crypto::CryptoError> for RatchetError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        match e {
            crate::crypto::CryptoError::NonContributory => Self::NonContributory,
            _ => Self::AuthenticationFailed,
        }
    }
}
