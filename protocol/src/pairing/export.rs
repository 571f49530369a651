//! The 176-byte session form of WAKU2-DEVICE-PAIRING "The N11M session management mechanism":
//! `session-id (32) || CSOutbound (k 32, n 8, h 32) || CSInbound (k 32, n 8, h 32)`, which one
//! device sends another over a paired channel so that both continue the same Noise session.
//!
//! Our reading of the fields (no implementation defines them; see `docs/profile.md` §4.4):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..32 | session id: the final handshake hash `h` (Noise channel binding) |
//! | 32..64 | outbound key |
//! | 64..72 | outbound `n`: messages sent so far = next nonce = next nametag index, u64 little-endian |
//! | 72..104 | outbound nametag secret (the per-direction 32-byte "h" slot) |
//! | 104..136 | inbound key |
//! | 136..144 | inbound `n`: the next expected message number, u64 little-endian |
//! | 144..176 | inbound nametag secret |
//!
//! The 37/WAKU2-NOISE-SESSIONS `session-id = HKDF(h)`, read as the Noise HKDF, would equal the
//! first nametag secret; we store `h` itself, from which any such id can be derived. Skipped
//! inbound slots of a tolerant receiver are not part of the form and are lost on export.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::PublicKey;
use crate::crypto::chachapoly::CipherKey;
use crate::noise::{NametagSecret, Role, TransportState};

/// Length of the exported form.
pub const EXPORTED_SESSION_LEN: usize = 176;

/// Why bytes are not an exported session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an exported session is {EXPORTED_SESSION_LEN} bytes, got {0}")]
pub struct ExportLengthError(pub usize);

/// A session in its 176-byte transfer form. Secret: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ExportedSession([u8; EXPORTED_SESSION_LEN]);

impl ExportedSession {
    /// Serialises a transport state.
    pub fn from_transport(t: &TransportState) -> Self {
        let mut out = [0u8; EXPORTED_SESSION_LEN];
        out[..32].copy_from_slice(t.handshake_hash());
        out[32..64].copy_from_slice(t.outbound_key().as_bytes());
        out[64..72].copy_from_slice(&t.sent().to_le_bytes());
        out[72..104].copy_from_slice(t.outbound_nametag_secret().as_bytes());
        out[104..136].copy_from_slice(t.inbound_key().as_bytes());
        out[136..144].copy_from_slice(&t.inbound_nametags().next_index().to_le_bytes());
        out[144..176].copy_from_slice(t.inbound_nametag_secret().as_bytes());
        Self(out)
    }

    /// Parses 176 received bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ExportLengthError> {
        bytes.try_into().map(Self).map_err(|_| ExportLengthError(bytes.len()))
    }

    /// The bytes to transfer.
    pub fn as_bytes(&self) -> &[u8; EXPORTED_SESSION_LEN] {
        &self.0
    }

    /// The session id (the final handshake hash).
    pub fn session_id(&self) -> [u8; 32] {
        self.block(0)
    }

    /// Rebuilds the transport state on the importing device, which takes over the exporting
    /// device's `role` and peer (`remote_static`), neither of which the 176 bytes carry.
    pub fn to_transport(&self, role: Role, remote_static: Option<PublicKey>) -> TransportState {
        TransportState::from_parts(
            role,
            self.session_id(),
            remote_static,
            CipherKey::from_bytes(self.block(32)),
            CipherKey::from_bytes(self.block(104)),
            NametagSecret::from_bytes(self.block(72)),
            NametagSecret::from_bytes(self.block(144)),
        )
        .resumed_at(self.counter(64), self.counter(136))
    }

    fn block(&self, at: usize) -> [u8; 32] {
        let mut b = [0u8; 32];
        b.copy_from_slice(&self.0[at..at + 32]);
        b
    }

    fn counter(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[at..at + 8]);
        u64::from_le_bytes(b)
    }
}

impl std::fmt::Debug for ExportedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportedSession(<redacted>)")
    }
}
