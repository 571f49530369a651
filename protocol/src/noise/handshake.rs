//! The Noise HandshakeState, driven by the token tables of [`HandshakePattern`], producing and
//! consuming PayloadV2 messages (35/WAKU2-NOISE).
//!
//! Reads are transactional: a message that fails any check (nametag, protocol id, keys,
//! authentication, padding) leaves the handshake exactly as it was, so a forged or corrupted
//! message cannot derail a handshake in progress. js-noise mutates its state before failing;
//! rolling back is invisible on the wire.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::NoiseError;
use super::nametag::{NametagSecret, handshake_nametag};
use super::padding::{pad_into, unpad};
use super::pattern::{Direction, HandshakePattern, MessagePattern, Token};
use super::payload::{MessageNametag, NoisePublicKey, PayloadV2, ProtocolId};
use super::symmetric::SymmetricState;
use super::transport::TransportState;
use crate::crypto::hash::hkdf_blocks;
use crate::crypto::{KeyPair, PublicKey};
use crate::entropy::Entropy;

/// Which side of the handshake this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Sends the first message.
    Initiator,
    /// Receives the first message.
    Responder,
}

impl Role {
    fn sends(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (Role::Initiator, Direction::InitiatorToResponder) | (Role::Responder, Direction::ResponderToInitiator)
        )
    }
}

/// A 32-byte pre-shared key for `psk` tokens.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct Psk(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl Psk {
    /// Wraps 32 key bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Psk(<redacted>)")
    }
}

/// Everything a handshake needs before its first message.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    pattern: HandshakePattern,
    role: Role,
    prologue: Vec<u8>,
    local_static: Option<KeyPair>,
    local_ephemeral: Option<KeyPair>,
    remote_static: Option<PublicKey>,
    remote_ephemeral: Option<PublicKey>,
    psk: Option<Psk>,
}

impl HandshakeConfig {
    /// A configuration with an empty prologue and no keys.
    pub fn new(pattern: HandshakePattern, role: Role) -> Self {
        Self {
            pattern,
            role,
            prologue: Vec::new(),
            local_static: None,
            local_ephemeral: None,
            remote_static: None,
            remote_ephemeral: None,
            psk: None,
        }
    }

    /// Data both sides must agree on, authenticated by the handshake.
    pub fn prologue(mut self, prologue: impl Into<Vec<u8>>) -> Self {
        self.prologue = prologue.into();
        self
    }

    /// Our static key pair.
    pub fn local_static(mut self, keys: KeyPair) -> Self {
        self.local_static = Some(keys);
        self
    }

    /// Our ephemeral key pair when a pre-message carries it (the WakuPairing QR owner).
    pub fn local_ephemeral(mut self, keys: KeyPair) -> Self {
        self.local_ephemeral = Some(keys);
        self
    }

    /// The peer's static key when known beforehand (K1K1, XK1).
    pub fn remote_static(mut self, key: PublicKey) -> Self {
        self.remote_static = Some(key);
        self
    }

    /// The peer's ephemeral key when known beforehand (WakuPairing: from the QR).
    pub fn remote_ephemeral(mut self, key: PublicKey) -> Self {
        self.remote_ephemeral = Some(key);
        self
    }

    /// The pre-shared key (XXpsk0).
    pub fn psk(mut self, psk: Psk) -> Self {
        self.psk = Some(psk);
        self
    }
}

/// Whose move it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeStatus {
    /// We write the next message.
    WriteNext,
    /// We wait for the peer's next message.
    ReadNext,
    /// All messages are done: call [`Handshake::finalize`].
    Complete,
}

impl HandshakeStatus {
    /// The state's name in [`STATE_MACHINE`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::WriteNext => "WriteNext",
            Self::ReadNext => "ReadNext",
            Self::Complete => "Complete",
        }
    }
}

/// The handshake's transitions, for every pattern and role ([`crate::diagram`]). `Transport` is
/// the [`TransportState`] that `finalize` returns. A refused read or write changes nothing.
pub const STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "noise_handshake",
        title: "Noise handshake (35/WAKU2-NOISE)",
        code: "`noise::HandshakeStatus` (`Handshake::status`), `protocol/src/noise/handshake.rs`",
        summary: "Whose move it is in a handshake of any pattern (K1K1, XK1, XX, XXpsk0, WakuPairing, \
                  WakuPairing2), for either role. Reads are transactional: a message with the wrong nametag, \
                  protocol id or keys, or one that fails authentication, leaves the handshake as it was.",
        transitions: &[
            T::new(OUTSIDE, "new", "WriteNext", "we send the first message"),
            T::new(OUTSIDE, "new", "ReadNext", "the peer sends the first message"),
            T::new("WriteNext", "write_message", "ReadNext", "the next message is the peer's"),
            T::new("WriteNext", "write_message", "WriteNext", "the next message is ours too (WakuPairing2)"),
            T::new("WriteNext", "write_message", "Complete", "it was the last message"),
            T::new("ReadNext", "read_message", "WriteNext", "the next message is ours"),
            T::new("ReadNext", "read_message", "ReadNext", "the next message is the peer's too (WakuPairing2)"),
            T::new("ReadNext", "read_message", "Complete", "it was the last message"),
            T::new("Complete", "finalize", "Transport", "split into the transport state"),
        ],
    }
};

/// A handshake in progress.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    pattern: HandshakePattern,
    role: Role,
    symmetric: SymmetricState,
    s: Option<KeyPair>,
    e: Option<KeyPair>,
    rs: Option<PublicKey>,
    re: Option<PublicKey>,
    psk: Option<Psk>,
    next_message: usize,
}

impl Handshake {
    /// Initialises the handshake: protocol name, prologue, then the pre-message keys.
    pub fn new(config: HandshakeConfig) -> Result<Self, NoiseError> {
        let HandshakeConfig {
            pattern,
            role,
            prologue,
            local_static,
            local_ephemeral,
            remote_static,
            remote_ephemeral,
            psk,
        } = config;
        let mut symmetric = SymmetricState::initialize(pattern.protocol_name());
        symmetric.mix_hash(&prologue);
        let mut hs = Self {
            pattern,
            role,
            symmetric,
            s: local_static,
            e: local_ephemeral,
            rs: remote_static,
            re: remote_ephemeral,
            psk,
            next_message: 0,
        };
        for pre in pattern.pre_messages() {
            hs.mix_pre_message(pre)?;
        }
        hs.check_keys_for_messages()?;
        Ok(hs)
    }

    fn mix_pre_message(&mut self, pre: &MessagePattern) -> Result<(), NoiseError> {
        let ours = self.role.sends(pre.direction);
        for token in pre.tokens {
            let key = match (token, ours) {
                (Token::S, true) => {
                    self.s.as_ref().map(|k| *k.public()).ok_or(NoiseError::MissingKey("local static"))?
                }
                (Token::S, false) => self.rs.ok_or(NoiseError::MissingKey("remote static"))?,
                (Token::E, true) => {
                    self.e.as_ref().map(|k| *k.public()).ok_or(NoiseError::MissingKey("local ephemeral"))?
                }
                (Token::E, false) => self.re.ok_or(NoiseError::MissingKey("remote ephemeral"))?,
                _ => return Err(NoiseError::MissingKey("pre-message token")),
            };
            self.symmetric.mix_hash(key.as_bytes());
            if *token == Token::E && self.pattern.uses_psk() {
                self.symmetric.mix_key(key.as_bytes());
            }
        }
        Ok(())
    }

    /// Fails early when a key the messages will need is missing (rather than mid-handshake).
    fn check_keys_for_messages(&self) -> Result<(), NoiseError> {
        let needs_static = self.pattern.messages().iter().any(|m| {
            m.tokens.iter().any(|t| match t {
                Token::S => self.role.sends(m.direction),
                Token::Ss => true,
                Token::Es => self.role == Role::Responder,
                Token::Se => self.role == Role::Initiator,
                _ => false,
            })
        });
        if needs_static && self.s.is_none() {
            return Err(NoiseError::MissingKey("local static"));
        }
        let needs_psk = self.pattern.messages().iter().any(|m| m.tokens.contains(&Token::Psk));
        if needs_psk && self.psk.is_none() {
            return Err(NoiseError::MissingKey("pre-shared key"));
        }
        Ok(())
    }

    /// The pattern.
    pub fn pattern(&self) -> HandshakePattern {
        self.pattern
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current handshake hash `h`.
    pub fn handshake_hash(&self) -> &[u8; 32] {
        self.symmetric.handshake_hash()
    }

    /// The symmetric state (exposed for test vectors).
    pub fn symmetric_state(&self) -> &SymmetricState {
        &self.symmetric
    }

    /// The peer's static key, once received or if known beforehand.
    pub fn remote_static(&self) -> Option<&PublicKey> {
        self.rs.as_ref()
    }

    /// Our ephemeral public key, once generated.
    pub fn local_ephemeral(&self) -> Option<&PublicKey> {
        self.e.as_ref().map(KeyPair::public)
    }

    /// The peer's ephemeral key, once received or if known beforehand.
    pub fn remote_ephemeral(&self) -> Option<&PublicKey> {
        self.re.as_ref()
    }

    /// Index of the next handshake message (0-based).
    pub fn message_index(&self) -> usize {
        self.next_message
    }

    /// Whose move it is.
    pub fn status(&self) -> HandshakeStatus {
        match self.pattern.messages().get(self.next_message) {
            None => HandshakeStatus::Complete,
            Some(m) if self.role.sends(m.direction) => HandshakeStatus::WriteNext,
            Some(_) => HandshakeStatus::ReadNext,
        }
    }

    /// The nametag derived from the current `h`: `HKDF(salt = h, ikm = "")[0..16]`, used for the
    /// handshake messages after the first (js-noise `toMessageNametag`).
    pub fn next_hkdf_nametag(&self) -> MessageNametag {
        handshake_nametag(self.handshake_hash())
    }

    /// The 8-digit code both users compare during pairing: the first 8 bytes of
    /// `HKDF(salt = h, ikm = "")` as a big-endian integer modulo 10^8, zero-padded (js-noise).
    pub fn authcode(&self) -> String {
        authcode_for_hash(self.handshake_hash())
    }

    /// Writes the next handshake message carrying `payload` (padded to 248 bytes), tagged with
    /// `nametag`. Ephemeral keys come from `entropy`. On error nothing changes.
    pub fn write_message(
        &mut self,
        entropy: &mut dyn Entropy,
        payload: &[u8],
        nametag: &MessageNametag,
    ) -> Result<PayloadV2, NoiseError> {
        self.write_message_bound(entropy, nametag, |_| payload.to_vec())
    }

    /// [`Handshake::write_message`] with a payload built from our ephemeral public key of this
    /// message (after its tokens are written), so the payload can be bound to it.
    pub fn write_message_bound(
        &mut self,
        entropy: &mut dyn Entropy,
        nametag: &MessageNametag,
        payload: impl FnOnce(Option<&PublicKey>) -> Vec<u8>,
    ) -> Result<PayloadV2, NoiseError> {
        let mut next = self.clone();
        let raw = next.write_raw_with(entropy, Some(nametag), |e| {
            let mut payload = payload(e);
            let mut padded = Vec::with_capacity(payload.len() + 248);
            pad_into(&payload, &mut padded);
            payload.zeroize();
            padded
        });
        let RawMessage { keys, ciphertext } = raw?;
        let message = PayloadV2 {
            message_nametag: *nametag,
            protocol_id: ProtocolId::Handshake(self.pattern),
            handshake_message: keys,
            transport_message: ciphertext,
        };
        message.check()?;
        *self = next;
        Ok(message)
    }

    /// Writes the next message of the plain Noise framework: tokens, then `payload` encrypted
    /// with associated data `h` (or `h || nametag`), without padding or PayloadV2 framing. This
    /// is the layer `snow` implements, used by the differential tests. On error nothing changes.
    pub fn write_raw(
        &mut self,
        entropy: &mut dyn Entropy,
        payload: &[u8],
        nametag: Option<&MessageNametag>,
    ) -> Result<RawMessage, NoiseError> {
        self.write_raw_with(entropy, nametag, |_| payload.to_vec())
    }

    /// [`Handshake::write_raw`] with the payload built once the tokens are written. The built
    /// payload is zeroized after encryption.
    fn write_raw_with(
        &mut self,
        entropy: &mut dyn Entropy,
        nametag: Option<&MessageNametag>,
        payload: impl FnOnce(Option<&PublicKey>) -> Vec<u8>,
    ) -> Result<RawMessage, NoiseError> {
        let pattern = self.current_message(HandshakeStatus::WriteNext)?;
        let mut next = self.clone();
        let mut keys = Vec::with_capacity(pattern.tokens.len());
        for token in pattern.tokens {
            next.write_token(*token, entropy, &mut keys)?;
        }
        let mut payload = payload(next.local_ephemeral());
        let mut ciphertext = Vec::with_capacity(payload.len() + 16);
        let sealed = next.symmetric.encrypt_and_hash(&payload, nametag, &mut ciphertext);
        payload.zeroize();
        sealed?;
        next.next_message += 1;
        *self = next;
        Ok(RawMessage { keys, ciphertext })
    }

    fn write_token(
        &mut self,
        token: Token,
        entropy: &mut dyn Entropy,
        keys: &mut Vec<NoisePublicKey>,
    ) -> Result<(), NoiseError> {
        match token {
            Token::E => {
                let e = KeyPair::generate(entropy);
                let pk = *e.public();
                self.symmetric.mix_hash(pk.as_bytes());
                if self.pattern.uses_psk() {
                    self.symmetric.mix_key(pk.as_bytes());
                }
                self.e = Some(e);
                keys.push(NoisePublicKey::Clear(pk));
            }
            Token::S => {
                let pk = *self.s.as_ref().ok_or(NoiseError::MissingKey("local static"))?.public();
                let mut enc = Vec::with_capacity(48);
                self.symmetric.encrypt_and_hash(pk.as_bytes(), None, &mut enc)?;
                keys.push(match <[u8; 48]>::try_from(enc.as_slice()) {
                    Ok(bytes) => NoisePublicKey::Encrypted(bytes),
                    Err(_) => NoisePublicKey::Clear(pk),
                });
            }
            Token::Psk => self.mix_psk()?,
            dh => self.mix_dh(dh)?,
        }
        Ok(())
    }

    /// Reads the peer's next handshake message, which must carry `expected_nametag`, and returns
    /// its (unpadded) payload. On error nothing changes.
    pub fn read_message(
        &mut self,
        message: &PayloadV2,
        expected_nametag: &MessageNametag,
    ) -> Result<Vec<u8>, NoiseError> {
        if message.message_nametag != *expected_nametag {
            return Err(NoiseError::NametagMismatch { expected: *expected_nametag, actual: message.message_nametag });
        }
        self.current_message(HandshakeStatus::ReadNext)?;
        if message.protocol_id != ProtocolId::Handshake(self.pattern) {
            return Err(NoiseError::ProtocolIdMismatch {
                expected: self.pattern.protocol_id(),
                actual: message.protocol_id.to_u8(),
            });
        }
        let mut next = self.clone();
        let mut padded =
            next.read_raw(&message.handshake_message, &message.transport_message, Some(expected_nametag))?;
        let payload = unpad(&padded).map(<[u8]>::to_vec);
        padded.zeroize();
        let payload = payload?;
        *self = next;
        Ok(payload)
    }

    /// Reads a plain Noise message given its keys and payload ciphertext (the inverse of
    /// [`Self::write_raw`]): no nametag check, no unpadding. On error nothing changes.
    pub fn read_raw(
        &mut self,
        keys: &[NoisePublicKey],
        ciphertext: &[u8],
        nametag: Option<&MessageNametag>,
    ) -> Result<Vec<u8>, NoiseError> {
        let pattern = self.current_message(HandshakeStatus::ReadNext)?;
        let mut next = self.clone();
        let mut keys = keys.iter();
        for token in pattern.tokens {
            next.read_token(*token, &mut keys)?;
        }
        if keys.next().is_some() {
            return Err(NoiseError::UnexpectedKeys);
        }
        let mut payload = Vec::with_capacity(ciphertext.len());
        next.symmetric.decrypt_and_hash(ciphertext, nametag, &mut payload)?;
        next.next_message += 1;
        *self = next;
        Ok(payload)
    }

    fn read_token<'k>(
        &mut self,
        token: Token,
        keys: &mut impl Iterator<Item = &'k NoisePublicKey>,
    ) -> Result<(), NoiseError> {
        match token {
            Token::E => {
                let pk = match keys.next() {
                    Some(NoisePublicKey::Clear(pk)) => *pk,
                    Some(NoisePublicKey::Encrypted(_)) => {
                        return Err(NoiseError::EncryptedEphemeral);
                    }
                    None => return Err(NoiseError::MissingKeyInMessage("ephemeral")),
                };
                self.symmetric.mix_hash(pk.as_bytes());
                if self.pattern.uses_psk() {
                    self.symmetric.mix_key(pk.as_bytes());
                }
                self.re = Some(pk);
            }
            Token::S => {
                let key = keys.next().ok_or(NoiseError::MissingKeyInMessage("static"))?;
                let has_key = self.symmetric.cipher_state().key().is_some();
                let mut pk = Vec::with_capacity(32);
                match key {
                    NoisePublicKey::Encrypted(ct) if has_key => self.symmetric.decrypt_and_hash(ct, None, &mut pk)?,
                    NoisePublicKey::Clear(clear) if !has_key => {
                        self.symmetric.decrypt_and_hash(clear.as_bytes(), None, &mut pk)?
                    }
                    _ => return Err(NoiseError::StaticKeyEncryptionMismatch),
                }
                self.rs = Some(PublicKey::from_slice(&pk).ok_or(NoiseError::StaticKeyEncryptionMismatch)?);
            }
            Token::Psk => self.mix_psk()?,
            dh => self.mix_dh(dh)?,
        }
        Ok(())
    }

    fn mix_psk(&mut self) -> Result<(), NoiseError> {
        let psk = self.psk.as_ref().ok_or(NoiseError::MissingKey("pre-shared key"))?;
        let bytes = psk.0;
        self.symmetric.mix_key_and_hash(&bytes);
        Ok(())
    }

    fn mix_dh(&mut self, token: Token) -> Result<(), NoiseError> {
        let initiator = self.role == Role::Initiator;
        let (local, remote) = match token {
            Token::Ee => (&self.e, &self.re),
            Token::Ss => (&self.s, &self.rs),
            Token::Es if initiator => (&self.e, &self.rs),
            Token::Es => (&self.s, &self.re),
            Token::Se if initiator => (&self.s, &self.re),
            Token::Se => (&self.e, &self.rs),
            _ => return Err(NoiseError::MissingKey("DH token")),
        };
        let local = local.as_ref().ok_or(NoiseError::MissingKey("local key for DH"))?;
        let remote = remote.as_ref().ok_or(NoiseError::MissingKey("remote key for DH"))?;
        let shared = local.diffie_hellman(remote)?;
        self.symmetric.mix_key(shared.as_bytes());
        Ok(())
    }

    fn current_message(&self, wanted: HandshakeStatus) -> Result<&'static MessagePattern, NoiseError> {
        let status = self.status();
        if status != wanted {
            return Err(NoiseError::WrongTurn { status });
        }
        self.pattern.messages().get(self.next_message).ok_or(NoiseError::WrongTurn { status })
    }

    /// Ends a complete handshake: `Split()`, then the two nametag secrets from
    /// `HKDF(salt = h, ikm = "")` (js-noise `finalizeHandshake`).
    pub fn finalize(self) -> Result<TransportState, NoiseError> {
        if self.status() != HandshakeStatus::Complete {
            return Err(NoiseError::HandshakeNotComplete);
        }
        let (cs1, cs2) = self.symmetric.split();
        let h = *self.handshake_hash();
        let [nms1, nms2] = hkdf_blocks::<2>(&h, &[]);
        let (nms1, nms2) = (NametagSecret::from_bytes(nms1), NametagSecret::from_bytes(nms2));
        let keys = match self.role {
            Role::Initiator => {
                SessionKeys { outbound: cs1, inbound: cs2, outbound_nametags: nms2, inbound_nametags: nms1 }
            }
            Role::Responder => {
                SessionKeys { outbound: cs2, inbound: cs1, outbound_nametags: nms1, inbound_nametags: nms2 }
            }
        };
        Ok(TransportState::new(self.role, h, self.rs, keys))
    }
}

/// The pairing authcode for handshake hash `h`: the first 8 bytes of `HKDF(salt = h, ikm = "")`
/// read as a big-endian integer, modulo 10^8, zero-padded to 8 digits (js-noise `genAuthcode`;
/// nwaku reads the bytes little-endian and does not pad, see `docs/profile.md`).
pub fn authcode_for_hash(h: &[u8; 32]) -> String {
    let [block] = hkdf_blocks::<1>(h, &[]);
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&block[..8]);
    format!("{:08}", u64::from_be_bytes(first8) % 100_000_000)
}

/// A handshake message before PayloadV2 framing: its keys and its payload ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The keys the tokens emitted, in order.
    pub keys: Vec<NoisePublicKey>,
    /// The encrypted (or, before any key, clear) payload.
    pub ciphertext: Vec<u8>,
}

/// The four secrets a completed handshake hands to the transport phase.
pub(crate) struct SessionKeys {
    pub(crate) outbound: crate::crypto::chachapoly::CipherKey,
    pub(crate) inbound: crate::crypto::chachapoly::CipherKey,
    pub(crate) outbound_nametags: NametagSecret,
    pub(crate) inbound_nametags: NametagSecret,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("pattern", &self.pattern)
            .field("role", &self.role)
            .field("next_message", &self.next_message)
            .field("symmetric", &self.symmetric)
            .field("s", &self.s)
            .field("e", &self.e)
            .field("rs", &self.rs)
            .field("re", &self.re)
            .field("psk", &self.psk)
            .finish()
    }
}
