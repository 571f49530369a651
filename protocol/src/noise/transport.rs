//! The transport phase after a handshake: protocol id 0 messages with per-message nametags
//! (35/WAKU2-NOISE "After-handshake"; js-noise `HandshakeResult`).
//!
//! Writing needs no heap allocation beyond the output buffer the caller passes. Reading is
//! transactional: only an authenticated message moves the nonce and the nametag window.

use serde::{Deserialize, Serialize};

use super::NoiseError;
use super::handshake::{Role, SessionKeys};
use super::nametag::{InboundNametags, NametagSecret, ReceivePolicy, Slot};
use super::padding::{pad_into, padding_len, unpad};
use super::payload::{MAX_PAYLOAD_V2_LEN, MIN_PAYLOAD_V2_LEN, MessageNametag, PayloadV2Ref, ProtocolId, write_header};
use super::symmetric::MAX_NONCE;
use crate::crypto::PublicKey;
use crate::crypto::chachapoly::{CipherKey, TAG_LEN, noise_nonce};

/// What a successful read tells besides the plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedInfo {
    /// The message's number in its direction (equal to its nonce).
    pub index: u64,
    /// Earlier messages that have not arrived (the reader skipped ahead over them).
    pub newly_skipped: u64,
}

/// The outbound direction: key, next message number and nametag secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Outbound {
    key: CipherKey,
    next: u64,
    nametags: NametagSecret,
}

/// The inbound direction: key and the nametag window.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Inbound {
    key: CipherKey,
    nametags: InboundNametags,
}

/// An established Noise channel, ready to exchange protocol id 0 messages.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportState {
    role: Role,
    #[serde(with = "crate::serde_bytes")]
    handshake_hash: [u8; 32],
    remote_static: Option<PublicKey>,
    policy: ReceivePolicy,
    outbound: Outbound,
    inbound: Inbound,
}

impl TransportState {
    pub(crate) fn new(
        role: Role,
        handshake_hash: [u8; 32],
        remote_static: Option<PublicKey>,
        keys: SessionKeys,
    ) -> Self {
        let SessionKeys { outbound, inbound, outbound_nametags, inbound_nametags } = keys;
        Self {
            role,
            handshake_hash,
            remote_static,
            policy: ReceivePolicy::default(),
            outbound: Outbound { key: outbound, next: 0, nametags: outbound_nametags },
            inbound: Inbound { key: inbound, nametags: InboundNametags::new(inbound_nametags) },
        }
    }

    /// Rebuilds a transport state from its parts (a session exported by another device, or a
    /// test vector), with message counters at zero.
    pub fn from_parts(
        role: Role,
        handshake_hash: [u8; 32],
        remote_static: Option<PublicKey>,
        outbound_key: CipherKey,
        inbound_key: CipherKey,
        outbound_nametags: NametagSecret,
        inbound_nametags: NametagSecret,
    ) -> Self {
        let keys = SessionKeys { outbound: outbound_key, inbound: inbound_key, outbound_nametags, inbound_nametags };
        Self::new(role, handshake_hash, remote_static, keys)
    }

    /// Resumes both directions at the given message numbers: the next outbound message is number
    /// `sent` (its nonce and nametag index), the next expected inbound one is `next_inbound`.
    /// Skipped inbound slots are not restored. Counters past [`MAX_NONCE`] (up to `u64::MAX`)
    /// give a direction that refuses every message with `NonceExhausted`.
    pub fn resumed_at(mut self, sent: u64, next_inbound: u64) -> Self {
        self.outbound.next = sent;
        let secret = self.inbound.nametags.secret().clone();
        self.inbound.nametags = InboundNametags::starting_at(secret, next_inbound);
        self
    }

    /// Chooses how out-of-order messages are treated (default [`ReceivePolicy::SkipAhead`]).
    pub fn with_policy(mut self, policy: ReceivePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Our role in the handshake that produced this channel.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The final handshake hash (the channel's identifier in 37/WAKU2-NOISE-SESSIONS).
    pub fn handshake_hash(&self) -> &[u8; 32] {
        &self.handshake_hash
    }

    /// The peer's static key, if the pattern transmitted or required one.
    pub fn remote_static(&self) -> Option<&PublicKey> {
        self.remote_static.as_ref()
    }

    /// The outbound key (vectors and session export only).
    pub fn outbound_key(&self) -> &CipherKey {
        &self.outbound.key
    }

    /// The inbound key (vectors and session export only).
    pub fn inbound_key(&self) -> &CipherKey {
        &self.inbound.key
    }

    /// The outbound nametag secret (vectors and session export only).
    pub fn outbound_nametag_secret(&self) -> &NametagSecret {
        &self.outbound.nametags
    }

    /// The inbound nametag secret (vectors and session export only).
    pub fn inbound_nametag_secret(&self) -> &NametagSecret {
        self.inbound.nametags.secret()
    }

    /// The inbound nametag window.
    pub fn inbound_nametags(&self) -> &InboundNametags {
        &self.inbound.nametags
    }

    /// Number of messages sent so far (the next outbound nonce).
    pub fn sent(&self) -> u64 {
        self.outbound.next
    }

    /// The nametag the next outbound message will carry.
    pub fn next_outbound_nametag(&self) -> MessageNametag {
        self.outbound.nametags.nametag(self.outbound.next)
    }

    /// Serialised size of a message carrying `plaintext_len` bytes.
    pub const fn wire_len(plaintext_len: usize) -> usize {
        MIN_PAYLOAD_V2_LEN + plaintext_len + padding_len(plaintext_len) + TAG_LEN
    }

    /// Encrypts `plaintext` into a PayloadV2 appended to `out`.
    pub fn write_message_into(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        let n = self.outbound.next;
        if n > MAX_NONCE {
            return Err(NoiseError::NonceExhausted);
        }
        let total = Self::wire_len(plaintext.len());
        if total > MAX_PAYLOAD_V2_LEN {
            return Err(NoiseError::Payload(super::PayloadError::TooLarge { len: total }));
        }
        let nametag = self.outbound.nametags.nametag(n);
        out.reserve(total);
        write_header(out, &nametag, ProtocolId::AfterHandshake, 0);
        let ct_len = (total - MIN_PAYLOAD_V2_LEN) as u64;
        out.extend_from_slice(&ct_len.to_le_bytes());
        let body_start = out.len();
        pad_into(plaintext, out);
        let tag = self.outbound.key.seal_in_place(&noise_nonce(n), nametag.as_bytes(), &mut out[body_start..]);
        out.extend_from_slice(&tag);
        self.outbound.next = n + 1;
        Ok(())
    }

    /// Encrypts `plaintext` into a new PayloadV2.
    pub fn write_message(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::new();
        self.write_message_into(plaintext, &mut out)?;
        Ok(out)
    }

    /// The message index a PayloadV2 would have if it is ours, judged from its nametag alone
    /// (nothing is decrypted or changed): lets a caller route or check a message cheaply.
    pub fn peek_index(&self, bytes: &[u8]) -> Option<u64> {
        let message = PayloadV2Ref::parse(bytes).ok()?;
        let slot = self.inbound.nametags.locate(&message.message_nametag)?;
        self.inbound.nametags.index_of(slot)
    }

    /// Authenticates and decrypts a PayloadV2, appending the plaintext to `out`. A message
    /// numbered above [`MAX_NONCE`] is refused like a write would be (`NonceExhausted`).
    /// On error neither the state nor `out` changes.
    pub fn read_message_into(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<ReceivedInfo, NoiseError> {
        let message = PayloadV2Ref::parse(bytes)?;
        if message.protocol_id != ProtocolId::AfterHandshake {
            return Err(NoiseError::NotATransportMessage { protocol_id: message.protocol_id.to_u8() });
        }
        let slot = self.inbound.nametags.locate(&message.message_nametag).ok_or(NoiseError::NametagNotFound)?;
        if let (ReceivePolicy::Strict, Slot::Window(position @ 1..) | Slot::Skipped(position)) = (self.policy, slot) {
            return Err(NoiseError::NametagAhead { position });
        }
        let index = self.inbound.nametags.index_of(slot).ok_or(NoiseError::NametagNotFound)?;
        if index > MAX_NONCE {
            return Err(NoiseError::NonceExhausted);
        }
        let start = out.len();
        let opened = self.inbound.key.open_into(
            &noise_nonce(index),
            message.message_nametag.as_bytes(),
            message.transport_message,
            out,
        );
        if let Err(e) = opened {
            out.truncate(start);
            return Err(e.into());
        }
        let plaintext_len = match unpad(&out[start..]) {
            Ok(p) => p.len(),
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut out[start..]);
                out.truncate(start);
                return Err(e);
            }
        };
        out.truncate(start + plaintext_len);
        self.inbound.nametags.consume(slot);
        let newly_skipped = match slot {
            Slot::Window(pos) => pos as u64,
            Slot::Skipped(_) => 0,
        };
        Ok(ReceivedInfo { index, newly_skipped })
    }

    /// Authenticates and decrypts a PayloadV2.
    pub fn read_message(&mut self, bytes: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::new();
        self.read_message_into(bytes, &mut out)?;
        Ok(out)
    }

    /// Gives up on the next `count` inbound messages without remembering them: the recovery a
    /// js-noise receiver needs after a loss (shown in the interop tests).
    pub fn skip_inbound(&mut self, count: usize) {
        self.inbound.nametags.skip(count);
    }
}

impl std::fmt::Debug for TransportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportState")
            .field("role", &self.role)
            .field("handshake_hash", &hex::encode(self.handshake_hash))
            .field("remote_static", &self.remote_static)
            .field("policy", &self.policy)
            .field("sent", &self.outbound.next)
            .field("inbound", &self.inbound.nametags)
            .finish_non_exhaustive()
    }
}
