//! The Double Ratchet of the X3DH profile ("Suite D", `docs/profile.md`): Signal's algorithm
//! (DR spec rev. 1, §3) with X25519, `KDF_RK` = HKDF-SHA256, `KDF_CK` = HMAC-SHA256 and
//! AES-256-GCM keyed, and nonced, by HKDF of the message key.
//!
//! [`Ratchet`] is the bare state machine. Sessions (`crate::x3dh::Session`) wrap it with the
//! X3DH associated data and the initial-message header; the session layer should use those.
//!
//! Choices beyond the Signal pseudocode, each explained in `docs/profile.md`:
//! - the sending ratchet key pair is drawn at the first send after a new remote ratchet key
//!   (DR §6.5), so decryption needs no randomness;
//! - skipped keys are bounded: [`MAX_SKIP`] per chain and header, [`MAX_STORED_SKIPPED_KEYS`]
//!   in all (oldest first out), [`MAX_SKIPPED_KEY_AGE`] derivations of age, and
//!   [`MAX_RECEIVING_CHAINS`] chains;
//! - a used key is deleted at once, so a duplicate is refused with
//!   [`RatchetError::DuplicateMessage`];
//! - the AEAD authenticates `AD || header.encode()`, the canonical 41-byte header.

mod error;
mod header;
pub mod kdf;
mod secret_vec;
mod skipped;
mod state;

pub use error::RatchetError;
pub use header::{HEADER_LEN, HEADER_VERSION, Header};
pub use kdf::{ChainKey, MessageKey, RootKey};
pub use state::{Ratchet, SENDING_STATE_MACHINE, Sending};

/// HKDF info of `KDF_RK`.
pub const INFO_ROOT: &[u8] = b"WAKU2-1TO1-v1/Root";
/// HKDF info of the AEAD key and nonce derived from a message key.
pub const INFO_MESSAGE_KEYS: &[u8] = b"WAKU2-1TO1-v1/MessageKeys";
/// Most message keys one header may make us skip in one chain (Signal's example value,
/// status-go's `MaxSkip`).
pub const MAX_SKIP: u32 = 1000;
/// Most skipped message keys stored per session (status-go `MaxMessageKeysPerSession`).
pub const MAX_STORED_SKIPPED_KEYS: usize = 2000;
/// A skipped key is deleted once this many further receive-side keys have been derived
/// (status-go `MaxKeep`; Signal DR §6.4, §6.7).
pub const MAX_SKIPPED_KEY_AGE: u64 = 3000;
/// Most receiving chains whose skipped keys are kept (libsignal, vodozemac).
pub const MAX_RECEIVING_CHAINS: usize = 5;

#[cfg(test)]
mod tests;
