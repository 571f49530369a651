//! PayloadV2: the WakuMessage `payload` of version 2 (35/WAKU2-NOISE "Specification").
//!
//! ```text
//! message_nametag (16) || protocol_id (1) || handshake_message_len (1) || handshake_message
//!   || transport_message_len (8, little-endian) || transport_message
//! key = flag (1) || pk      flag 0: 32 clear bytes; flag 1: 32 encrypted bytes + 16-byte tag
//! ```
//!
//! The parser is strict where js-noise is lenient (see `docs/profile.md`): the declared lengths
//! must match exactly, trailing bytes are refused, keys are refused under protocol ids 0 and 30,
//! and unknown protocol ids are refused. js-noise always serialises exactly, so every message it
//! sends parses here.

use serde::{Deserialize, Serialize};

use super::pattern::HandshakePattern;
use crate::crypto::PublicKey;

/// Length of a message nametag.
pub const MESSAGE_NAMETAG_LEN: usize = 16;
/// Length of a clear key on the wire (flag excluded).
pub const CLEAR_KEY_LEN: usize = 32;
/// Length of an encrypted key on the wire (flag excluded): key and tag.
pub const ENCRYPTED_KEY_LEN: usize = 48;
/// Bytes before the handshake message: nametag, protocol id, handshake length.
const HEAD_LEN: usize = MESSAGE_NAMETAG_LEN + 2;
/// Smallest PayloadV2: no keys and an empty transport message.
pub const MIN_PAYLOAD_V2_LEN: usize = HEAD_LEN + 8;
/// Largest PayloadV2 accepted or produced: the 150 KiB WakuMessage limit of nwaku and The Waku
/// Network (64/WAKU2-NETWORK), which bounds the payload from above.
pub const MAX_PAYLOAD_V2_LEN: usize = 150 * 1024;
/// Largest handshake message: its length is one byte.
pub const MAX_HANDSHAKE_MESSAGE_LEN: usize = 255;

/// A 16-byte message nametag: lets a receiver find its messages on a shared content topic, and
/// is authenticated as associated data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct MessageNametag(#[serde(with = "crate::serde_bytes")] pub [u8; MESSAGE_NAMETAG_LEN]);

impl MessageNametag {
    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; MESSAGE_NAMETAG_LEN] {
        &self.0
    }

    /// Parses exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl std::fmt::Debug for MessageNametag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageNametag({})", hex::encode(self.0))
    }
}

/// What a PayloadV2 carries, from its protocol id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtocolId {
    /// 0: a message after a completed handshake.
    AfterHandshake,
    /// 10-14: a handshake message of this pattern.
    Handshake(HandshakePattern),
    /// 30: a ChaChaPoly ciphertext under a pre-shared symmetric key.
    ChaChaPoly,
}

impl ProtocolId {
    /// The wire byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::AfterHandshake => 0,
            Self::Handshake(p) => p.protocol_id(),
            Self::ChaChaPoly => 30,
        }
    }

    /// The protocol id of a wire byte, if supported.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::AfterHandshake),
            30 => Some(Self::ChaChaPoly),
            other => HandshakePattern::from_protocol_id(other).map(Self::Handshake),
        }
    }

    /// Whether keys may appear in the handshake message (only handshake patterns carry keys).
    pub const fn carries_keys(self) -> bool {
        matches!(self, Self::Handshake(_))
    }
}

/// One serialised public key of a handshake message.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoisePublicKey {
    /// Flag 0: a clear X25519 key.
    Clear(PublicKey),
    /// Flag 1: a key encrypted under the handshake cipher state, with its tag.
    Encrypted(#[serde(with = "crate::serde_bytes")] [u8; ENCRYPTED_KEY_LEN]),
}

impl NoisePublicKey {
    /// The flag byte.
    pub const fn flag(&self) -> u8 {
        match self {
            Self::Clear(_) => 0,
            Self::Encrypted(_) => 1,
        }
    }

    /// The key bytes after the flag.
    pub fn body(&self) -> &[u8] {
        match self {
            Self::Clear(pk) => pk.as_bytes(),
            Self::Encrypted(bytes) => bytes,
        }
    }

    /// Wire size including the flag.
    pub const fn wire_len(&self) -> usize {
        1 + match self {
            Self::Clear(_) => CLEAR_KEY_LEN,
            Self::Encrypted(_) => ENCRYPTED_KEY_LEN,
        }
    }
}

impl std::fmt::Debug for NoisePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Clear(pk) => write!(f, "Clear({})", hex::encode(pk.as_bytes())),
            Self::Encrypted(b) => write!(f, "Encrypted({})", hex::encode(b)),
        }
    }
}

/// Why bytes are not a well-formed PayloadV2, or a PayloadV2 cannot be serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Fewer bytes than the fixed fields need.
    #[error("payload of {len} bytes is shorter than the {MIN_PAYLOAD_V2_LEN}-byte minimum")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// More bytes than the 150 KiB limit.
    #[error("payload of {len} bytes exceeds the {MAX_PAYLOAD_V2_LEN}-byte limit")]
    TooLarge {
        /// Bytes received or requested.
        len: usize,
    },
    /// A protocol id that is not 0, 10-14 or 30.
    #[error("unsupported protocol id {0}")]
    UnknownProtocolId(u8),
    /// Keys under a protocol id that cannot carry them (0 or 30).
    #[error("protocol id {protocol_id} cannot carry handshake keys ({len} bytes present)")]
    KeysNotAllowed {
        /// The protocol id.
        protocol_id: u8,
        /// The declared handshake message length.
        len: usize,
    },
    /// A key flag other than 0 or 1.
    #[error("invalid public key flag {0}")]
    InvalidKeyFlag(u8),
    /// The handshake message ends inside a key.
    #[error("handshake message of {declared} bytes does not hold a whole number of keys")]
    KeyTruncated {
        /// The declared handshake message length.
        declared: usize,
    },
    /// The bytes end before the declared end of the handshake message or its length fields.
    #[error("handshake message of {declared} bytes runs past the end of the payload")]
    HandshakeMessageTruncated {
        /// The declared handshake message length.
        declared: usize,
    },
    /// The declared transport length exceeds what follows.
    #[error("transport message declared as {declared} bytes but only {available} follow")]
    TransportTruncated {
        /// The declared length.
        declared: u64,
        /// The bytes actually present.
        available: usize,
    },
    /// Bytes follow the declared transport message.
    #[error("{0} unexpected bytes after the transport message")]
    TrailingBytes(usize),
    /// Serialisation: the keys take more than 255 bytes.
    #[error("handshake message of {0} bytes exceeds 255 bytes")]
    HandshakeMessageTooLong(usize),
}

/// A parsed PayloadV2 borrowing from the received bytes (no allocation on the receive path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadV2Ref<'a> {
    /// The message nametag.
    pub message_nametag: MessageNametag,
    /// The protocol id.
    pub protocol_id: ProtocolId,
    keys: &'a [u8],
    /// The transport message (a handshake payload or a transport ciphertext).
    pub transport_message: &'a [u8],
}

impl<'a> PayloadV2Ref<'a> {
    /// Parses `bytes` strictly.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PayloadError> {
        if bytes.len() < MIN_PAYLOAD_V2_LEN {
            return Err(PayloadError::TooShort { len: bytes.len() });
        }
        if bytes.len() > MAX_PAYLOAD_V2_LEN {
            return Err(PayloadError::TooLarge { len: bytes.len() });
        }
        let (nametag, rest) = bytes.split_at(MESSAGE_NAMETAG_LEN);
        let message_nametag = MessageNametag::from_slice(nametag).ok_or(PayloadError::TooShort { len: bytes.len() })?;
        let id_byte = rest[0];
        let protocol_id = ProtocolId::from_u8(id_byte).ok_or(PayloadError::UnknownProtocolId(id_byte))?;
        let keys_len = usize::from(rest[1]);
        if keys_len > 0 && !protocol_id.carries_keys() {
            return Err(PayloadError::KeysNotAllowed { protocol_id: id_byte, len: keys_len });
        }
        let rest = &rest[2..];
        if rest.len() < keys_len + 8 {
            return Err(PayloadError::HandshakeMessageTruncated { declared: keys_len });
        }
        let (keys, rest) = rest.split_at(keys_len);
        validate_keys(keys)?;
        let (len_bytes, transport) = rest.split_at(8);
        let mut len_le = [0u8; 8];
        len_le.copy_from_slice(len_bytes);
        let declared = u64::from_le_bytes(len_le);
        let available = transport.len();
        match usize::try_from(declared) {
            Ok(d) if d == available => {}
            Ok(d) if d < available => return Err(PayloadError::TrailingBytes(available - d)),
            _ => {
                return Err(PayloadError::TransportTruncated { declared, available });
            }
        }
        Ok(Self { message_nametag, protocol_id, keys, transport_message: transport })
    }

    /// The keys of the handshake message, in order (already validated by `parse`).
    pub fn keys(&self) -> KeyIter<'a> {
        KeyIter { rest: self.keys }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> PayloadV2 {
        PayloadV2 {
            message_nametag: self.message_nametag,
            protocol_id: self.protocol_id,
            handshake_message: self.keys().collect(),
            transport_message: self.transport_message.to_vec(),
        }
    }
}

fn validate_keys(mut keys: &[u8]) -> Result<(), PayloadError> {
    let declared = keys.len();
    while let Some((&flag, rest)) = keys.split_first() {
        let len = match flag {
            0 => CLEAR_KEY_LEN,
            1 => ENCRYPTED_KEY_LEN,
            other => return Err(PayloadError::InvalidKeyFlag(other)),
        };
        if rest.len() < len {
            return Err(PayloadError::KeyTruncated { declared });
        }
        keys = &rest[len..];
    }
    Ok(())
}

/// Iterator over the keys of a validated handshake message.
#[derive(Debug, Clone)]
pub struct KeyIter<'a> {
    rest: &'a [u8],
}

impl Iterator for KeyIter<'_> {
    type Item = NoisePublicKey;

    fn next(&mut self) -> Option<NoisePublicKey> {
        let (&flag, rest) = self.rest.split_first()?;
        let key = match flag {
            0 => NoisePublicKey::Clear(PublicKey::from_slice(rest.get(..CLEAR_KEY_LEN)?)?),
            _ => NoisePublicKey::Encrypted(rest.get(..ENCRYPTED_KEY_LEN)?.try_into().ok()?),
        };
        self.rest = &rest[key.wire_len() - 1..];
        Some(key)
    }
}

/// An owned PayloadV2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadV2 {
    /// The message nametag.
    pub message_nametag: MessageNametag,
    /// The protocol id.
    pub protocol_id: ProtocolId,
    /// The keys of a handshake message (empty otherwise).
    pub handshake_message: Vec<NoisePublicKey>,
    /// The handshake payload or transport ciphertext.
    #[serde(with = "crate::serde_bytes::vec")]
    pub transport_message: Vec<u8>,
}

impl PayloadV2 {
    /// Parses `bytes` strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        PayloadV2Ref::parse(bytes).map(|p| p.to_owned())
    }

    /// Length of the serialised handshake message.
    pub fn handshake_message_len(&self) -> usize {
        self.handshake_message.iter().map(NoisePublicKey::wire_len).sum()
    }

    /// Serialised length.
    pub fn encoded_len(&self) -> usize {
        MIN_PAYLOAD_V2_LEN + self.handshake_message_len() + self.transport_message.len()
    }

    /// Serialises, refusing what the parser would refuse.
    pub fn encode(&self) -> Result<Vec<u8>, PayloadError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Checks that the payload can be serialised (and would parse back).
    pub fn check(&self) -> Result<u8, PayloadError> {
        let keys_len = self.handshake_message_len();
        if keys_len > 0 && !self.protocol_id.carries_keys() {
            return Err(PayloadError::KeysNotAllowed { protocol_id: self.protocol_id.to_u8(), len: keys_len });
        }
        let keys_byte = u8::try_from(keys_len).map_err(|_| PayloadError::HandshakeMessageTooLong(keys_len))?;
        if self.encoded_len() > MAX_PAYLOAD_V2_LEN {
            return Err(PayloadError::TooLarge { len: self.encoded_len() });
        }
        Ok(keys_byte)
    }

    /// Appends the serialisation to `out`; on error `out` is unchanged.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), PayloadError> {
        let keys_byte = self.check()?;
        write_header(out, &self.message_nametag, self.protocol_id, keys_byte);
        for key in &self.handshake_message {
            out.push(key.flag());
            out.extend_from_slice(key.body());
        }
        out.extend_from_slice(&(self.transport_message.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.transport_message);
        Ok(())
    }
}

/// Writes nametag, protocol id and handshake length: the prefix shared by every encoder.
pub(crate) fn write_header(out: &mut Vec<u8>, nametag: &MessageNametag, protocol_id: ProtocolId, keys_len: u8) {
    out.extend_from_slice(nametag.as_bytes());
    out.push(protocol_id.to_u8());
    out.push(keys_len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn transport_only(len: usize) -> PayloadV2 {
        PayloadV2 {
            message_nametag: MessageNametag([9; 16]),
            protocol_id: ProtocolId::AfterHandshake,
            handshake_message: vec![],
            transport_message: vec![0xaa; len],
        }
    }

    #[test]
    fn every_malformed_shape_gets_its_own_error() {
        let good = transport_only(4).encode().unwrap_or_default();
        assert_eq!(PayloadV2::decode(&good[..20]), Err(PayloadError::TooShort { len: 20 }));
        let mut unknown = good.clone();
        unknown[16] = 99;
        assert_eq!(PayloadV2::decode(&unknown), Err(PayloadError::UnknownProtocolId(99)));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(PayloadV2::decode(&trailing), Err(PayloadError::TrailingBytes(1)));
        let short = &good[..good.len() - 1];
        assert_eq!(PayloadV2::decode(short), Err(PayloadError::TransportTruncated { declared: 4, available: 3 }));
        let mut keys_under_zero = good.clone();
        keys_under_zero[17] = 33;
        assert_eq!(PayloadV2::decode(&keys_under_zero), Err(PayloadError::KeysNotAllowed { protocol_id: 0, len: 33 }));
        let mut huge_len = good.clone();
        huge_len[18..26].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(PayloadV2::decode(&huge_len), Err(PayloadError::TransportTruncated { .. })));
    }

    #[test]
    fn the_smallest_payload_decodes_and_trailing_bytes_are_counted() {
        let empty = transport_only(0);
        let bytes = empty.encode().unwrap_or_default();
        assert_eq!(bytes.len(), MIN_PAYLOAD_V2_LEN);
        assert_eq!(PayloadV2::decode(&bytes), Ok(empty));
        let mut trailing = transport_only(4).encode().unwrap_or_default();
        trailing.extend_from_slice(&[0; 3]);
        assert_eq!(PayloadV2::decode(&trailing), Err(PayloadError::TrailingBytes(3)));
    }

    #[test]
    fn key_flags_and_lengths_are_checked() {
        let mut p = transport_only(0);
        p.protocol_id = ProtocolId::Handshake(HandshakePattern::XX);
        p.handshake_message = vec![NoisePublicKey::Clear(PublicKey::from_bytes([1; 32]))];
        let mut bytes = p.encode().unwrap_or_default();
        assert_eq!(PayloadV2::decode(&bytes), Ok(p.clone()));
        bytes[18] = 2;
        assert_eq!(PayloadV2::decode(&bytes), Err(PayloadError::InvalidKeyFlag(2)));
        bytes[18] = 1; // flag 1 needs 48 bytes but only 32 are declared
        assert_eq!(PayloadV2::decode(&bytes), Err(PayloadError::KeyTruncated { declared: 33 }));
        let mut too_many = p.clone();
        too_many.handshake_message = vec![NoisePublicKey::Encrypted([0; 48]); 6];
        assert_eq!(too_many.encode(), Err(PayloadError::HandshakeMessageTooLong(294)));
        let mut keys_after = transport_only(0);
        keys_after.handshake_message = p.handshake_message.clone();
        assert!(matches!(keys_after.encode(), Err(PayloadError::KeysNotAllowed { .. })));
    }

    #[test]
    fn size_limit_applies_both_ways() {
        let big = transport_only(MAX_PAYLOAD_V2_LEN);
        assert!(matches!(big.encode(), Err(PayloadError::TooLarge { .. })));
        let max = transport_only(MAX_PAYLOAD_V2_LEN - MIN_PAYLOAD_V2_LEN);
        let bytes = max.encode().unwrap_or_default();
        assert_eq!(bytes.len(), MAX_PAYLOAD_V2_LEN);
        assert_eq!(PayloadV2::decode(&bytes), Ok(max));
        // 64/WAKU2-NETWORK: messages up to 150 KiB are relayed, so a 100 KiB one must fit and
        // one of 150 KiB must not (its WakuMessage would be larger still).
        assert!(transport_only(100 * 1024).encode().is_ok());
        assert!(transport_only(150 * 1024).encode().is_err());
    }

    #[test]
    fn a_nametag_prints_as_hex() {
        assert_eq!(format!("{:?}", MessageNametag([0x0f; 16])), format!("MessageNametag({})", "0f".repeat(16)));
    }

    fn arb_key() -> impl Strategy<Value = NoisePublicKey> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|b| NoisePublicKey::Clear(PublicKey::from_bytes(b))),
            proptest::collection::vec(any::<u8>(), 48)
                .prop_map(|v| NoisePublicKey::Encrypted(v.try_into().unwrap_or([0; 48]))),
        ]
    }

    fn arb_payload() -> impl Strategy<Value = PayloadV2> {
        let id = prop_oneof![
            Just(ProtocolId::AfterHandshake),
            Just(ProtocolId::ChaChaPoly),
            proptest::sample::select(HandshakePattern::ALL.to_vec()).prop_map(ProtocolId::Handshake),
        ];
        (
            any::<[u8; 16]>(),
            id,
            proptest::collection::vec(arb_key(), 0..5),
            proptest::collection::vec(any::<u8>(), 0..600),
        )
            .prop_map(|(tag, id, keys, tm)| PayloadV2 {
                message_nametag: MessageNametag(tag),
                protocol_id: id,
                handshake_message: if id.carries_keys() { keys } else { vec![] },
                transport_message: tm,
            })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(p in arb_payload()) {
            let bytes = p.encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(bytes.len(), p.encoded_len());
            prop_assert_eq!(PayloadV2::decode(&bytes), Ok(p));
        }

        #[test]
        fn parser_never_panics_and_reencodes_exactly(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(p) = PayloadV2::decode(&bytes) {
                prop_assert_eq!(p.encode(), Ok(bytes));
            }
        }
    }
}
