//! Protocol id 30: a ChaChaPoly ciphertext under a key both sides already share
//! (35/WAKU2-NOISE "Protocol Payload Format"). No implementation of the anchors produces these;
//! our profile fixes the details the spec leaves open (see `docs/profile.md`): the 12-byte nonce
//! is random and sent in front, the nametag is the associated data, the plaintext is padded to
//! 248 bytes like every other payload, and there are no handshake keys.

use super::NoiseError;
use super::padding::{pad_into, unpad};
use super::payload::{MessageNametag, PayloadV2, PayloadV2Ref, ProtocolId};
use crate::crypto::chachapoly::CipherKey;
use crate::entropy::Entropy;

/// Length of the explicit nonce in front of the ciphertext.
pub const EXPLICIT_NONCE_LEN: usize = 12;

/// Encrypts `plaintext` under `key` into a protocol id 30 payload.
pub fn seal(
    key: &CipherKey,
    nametag: &MessageNametag,
    plaintext: &[u8],
    entropy: &mut dyn Entropy,
) -> Result<PayloadV2, NoiseError> {
    let mut nonce = [0u8; EXPLICIT_NONCE_LEN];
    entropy.fill(&mut nonce);
    let mut padded = Vec::new();
    pad_into(plaintext, &mut padded);
    let mut transport_message = nonce.to_vec();
    key.seal_into(&nonce, nametag.as_bytes(), &padded, &mut transport_message);
    zeroize::Zeroize::zeroize(&mut padded);
    let payload = PayloadV2 {
        message_nametag: *nametag,
        protocol_id: ProtocolId::ChaChaPoly,
        handshake_message: Vec::new(),
        transport_message,
    };
    payload.check()?;
    Ok(payload)
}

/// Decrypts a protocol id 30 payload.
pub fn open(key: &CipherKey, payload: &PayloadV2Ref<'_>) -> Result<Vec<u8>, NoiseError> {
    if payload.protocol_id != ProtocolId::ChaChaPoly {
        return Err(NoiseError::ProtocolIdMismatch { expected: 30, actual: payload.protocol_id.to_u8() });
    }
    let body = payload.transport_message;
    if body.len() < EXPLICIT_NONCE_LEN {
        return Err(crate::crypto::CryptoError::CiphertextTooShort(body.len()).into());
    }
    let (nonce, ciphertext) = body.split_at(EXPLICIT_NONCE_LEN);
    let mut nonce_bytes = [0u8; EXPLICIT_NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    let mut padded = Vec::new();
    key.open_into(&nonce_bytes, payload.message_nametag.as_bytes(), ciphertext, &mut padded)?;
    let plaintext = unpad(&padded).map(<[u8]>::to_vec);
    zeroize::Zeroize::zeroize(&mut padded);
    plaintext
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = CipherKey::from_bytes([4; 32]);
        let tag = MessageNametag([8; 16]);
        let sealed = seal(&key, &tag, b"symmetric hello", &mut SeededEntropy::from_u64(1));
        let sealed = sealed.unwrap_or_else(|_| PayloadV2::decode(&[]).unwrap_or_else(|_| unreachable_payload()));
        let bytes = sealed.encode().unwrap_or_default();
        let parsed = PayloadV2Ref::parse(&bytes);
        assert_eq!(parsed.as_ref().map(|p| p.protocol_id), Ok(ProtocolId::ChaChaPoly));
        let opened = parsed.map_err(NoiseError::from).and_then(|p| open(&key, &p));
        assert_eq!(opened, Ok(b"symmetric hello".to_vec()));
        let mut other_tag = bytes.clone();
        other_tag[0] ^= 1;
        let reparsed = PayloadV2Ref::parse(&other_tag).map_err(NoiseError::from).and_then(|p| open(&key, &p));
        assert!(matches!(reparsed, Err(NoiseError::Crypto(_))));
    }

    fn unreachable_payload() -> PayloadV2 {
        PayloadV2 {
            message_nametag: MessageNametag::default(),
            protocol_id: ProtocolId::AfterHandshake,
            handshake_message: vec![],
            transport_message: vec![],
        }
    }
}
