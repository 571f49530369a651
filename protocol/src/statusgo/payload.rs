//! 26/WAKU2-PAYLOAD version 1 as go-waku builds it (`waku/v2/payload/waku_payload.go`, vendored
//! in status-go c72f4913): a signed, padded envelope, then ECIES to the recipient's key
//! (go-ethereum `crypto/ecies`, partitioned and personal topics) or AES-256-GCM under a symmetric
//! key (negotiated topic).
//!
//! Envelope: `flags ‖ LE size (flags bits 0-1 give its length) ‖ payload ‖ padding ‖ signature`;
//! flag bit 2 marks the 65-byte recoverable signature, made by the sender's identity over
//! Keccak-256 of everything before it (with the flag already set). The padding brings the whole
//! to a multiple of 256 bytes and is never empty. Random draws are taken in go-waku's order and
//! shape: the padding, then the ECIES ephemeral key (32 bytes with byte 1 XOR 0x42, as Go's
//! `elliptic.GenerateKey` reads them) and IV, or the GCM nonce as the XOR of two 12-byte draws.

use aes::cipher::{KeyIvInit, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::gcm;
use super::keys::{PublicKey, RecoverableSignature, SIGNATURE_LEN, SecretKey, UNCOMPRESSED_LEN};
use crate::crypto::hash::{HmacSha256, keccak256, sha256};
use crate::entropy::Entropy;

/// Envelopes are padded to a multiple of this (go-waku `padSizeLimit`).
pub const PAD_TO: usize = 256;
/// Flag bit: a signature follows the padding.
pub const FLAG_SIGNED: u8 = 0x04;
/// Flag bits 0-1: the length of the size field.
pub const SIZE_FIELD_MASK: u8 = 0x03;
/// ECIES: AES-128-CTR IV length.
pub const ECIES_IV_LEN: usize = 16;
/// ECIES: HMAC-SHA256 tag length.
pub const ECIES_TAG_LEN: usize = 32;
/// The 14/WAKU2-MESSAGE version of these payloads.
pub const VERSION: u32 = 1;

/// Why a 26/ payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Empty, or shorter than its size field, payload or signature say.
    #[error("invalid 26/ envelope length")]
    BadLength,
    /// The signature does not recover a key (go-waku "invalid signature recovery id" and the like).
    #[error("26/ signature does not recover a key")]
    BadSignature,
    /// The envelope is not signed; 1:1 messages must be (status-go "failed to get signature").
    #[error("26/ envelope is not signed")]
    Unsigned,
    /// ECIES: not `0x04 ‖ point ‖ IV ‖ ciphertext ‖ tag`, or the tag does not verify (go-ethereum
    /// "ecies: invalid message").
    #[error("ECIES message invalid")]
    Ecies,
    /// AES-GCM did not authenticate.
    #[error("symmetric 26/ payload did not authenticate")]
    Symmetric,
}

/// An opened envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The payload.
    pub data: Vec<u8>,
    /// The recovered signer.
    pub signer: PublicKey,
}

/// The signed envelope of `data` (go-waku `Payload.v1Data` with a signing key).
pub fn envelope(signer: &SecretKey, data: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let size_len = size_field_len(data.len());
    let raw = 1 + size_len + data.len() + SIGNATURE_LEN;
    let padding = PAD_TO - raw % PAD_TO;
    let mut out = Vec::with_capacity(raw + padding);
    out.push(size_len as u8 | FLAG_SIGNED);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes()[..size_len]);
    out.extend_from_slice(data);
    let start = out.len();
    out.resize(start + padding, 0);
    entropy.fill(&mut out[start..]);
    let signature = signer.sign_keccak(&out);
    out.extend_from_slice(signature.as_bytes());
    out
}

/// Bytes of the little-endian size field: the fewest that hold `len` (go-waku
/// `getSizeOfPayloadSizeField`).
fn size_field_len(len: usize) -> usize {
    let mut size = 1;
    let mut rest = len;
    while rest >= 256 {
        size += 1;
        rest /= 256;
    }
    size
}

/// Parses an envelope and recovers its signer (go-waku `validateAndParse`); unsigned envelopes
/// are refused.
pub fn open_envelope(envelope: &[u8]) -> Result<Opened, PayloadError> {
    let flags = *envelope.first().ok_or(PayloadError::BadLength)?;
    if flags & FLAG_SIGNED == 0 {
        return Err(PayloadError::Unsigned);
    }
    let end = envelope.len().checked_sub(SIGNATURE_LEN).filter(|&end| end > 1).ok_or(PayloadError::BadLength)?;
    let signature = RecoverableSignature::from_slice(&envelope[end..]).map_err(|_| PayloadError::BadSignature)?;
    let signer = signature.recover_keccak(&envelope[..end]).map_err(|_| PayloadError::BadSignature)?;
    let size_len = usize::from(flags & SIZE_FIELD_MASK);
    let size_end = 1 + size_len;
    if end < size_end {
        return Err(PayloadError::BadLength);
    }
    let mut size = [0u8; 4];
    size[..size_len].copy_from_slice(&envelope[1..size_end]);
    let data_end =
        size_end.checked_add(u32::from_le_bytes(size) as usize).filter(|&e| e <= end).ok_or(PayloadError::BadLength)?;
    Ok(Opened { data: envelope[size_end..data_end].to_vec(), signer })
}

/// `envelope` encrypted to `recipient` with go-ethereum's ECIES.
pub fn seal_asymmetric(signer: &SecretKey, recipient: &PublicKey, data: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let plaintext = Zeroizing::new(envelope(signer, data, entropy));
    ecies_encrypt(recipient, &plaintext, entropy)
}

/// `envelope` encrypted under `key` with AES-256-GCM, `ct ‖ tag ‖ nonce`.
pub fn seal_symmetric(signer: &SecretKey, key: &[u8; 32], data: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let plaintext = Zeroizing::new(envelope(signer, data, entropy));
    encrypt_symmetric(key, &plaintext, entropy)
}

/// go-waku's `encryptSymmetric`: AES-256-GCM with the nonce drawn as the XOR of two 12-byte
/// draws, `ct ‖ tag ‖ nonce`.
pub fn encrypt_symmetric(key: &[u8; 32], plaintext: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let (mut x, mut y) = ([0u8; gcm::NONCE_LEN], [0u8; gcm::NONCE_LEN]);
    entropy.fill(&mut x);
    entropy.fill(&mut y);
    let nonce: [u8; gcm::NONCE_LEN] = std::array::from_fn(|i| x[i] ^ y[i]);
    gcm::seal(key, &nonce, plaintext)
}

/// Opens an ECIES payload addressed to `recipient`.
pub fn open_asymmetric(recipient: &SecretKey, payload: &[u8]) -> Result<Opened, PayloadError> {
    open_envelope(&ecies_decrypt(recipient, payload)?)
}

/// Opens a symmetric payload.
pub fn open_symmetric(key: &[u8; 32], payload: &[u8]) -> Result<Opened, PayloadError> {
    let plaintext = Zeroizing::new(gcm::open(key, payload).map_err(|_| PayloadError::Symmetric)?);
    open_envelope(&plaintext)
}

/// go-ethereum ECIES (secp256k1, `ECIES_AES128_SHA256`, no shared info):
/// `R(65, uncompressed) ‖ IV(16) ‖ AES-128-CTR(Ke, IV, m) ‖ HMAC-SHA256(Km, IV ‖ ct)`.
pub fn ecies_encrypt(recipient: &PublicKey, plaintext: &[u8], entropy: &mut dyn Entropy) -> Vec<u8> {
    let ephemeral = ecies_ephemeral(entropy);
    let keys = EciesKeys::derive(ephemeral.diffie_hellman(recipient).as_bytes());
    let mut iv = [0u8; ECIES_IV_LEN];
    entropy.fill(&mut iv);
    let mut out = Vec::with_capacity(UNCOMPRESSED_LEN + ECIES_IV_LEN + plaintext.len() + ECIES_TAG_LEN);
    out.extend_from_slice(&ephemeral.public_key().uncompressed());
    out.extend_from_slice(&iv);
    out.extend_from_slice(plaintext);
    keys.apply_keystream(&iv, &mut out[UNCOMPRESSED_LEN + ECIES_IV_LEN..]);
    let tag = keys.tag(&out[UNCOMPRESSED_LEN..]);
    out.extend_from_slice(&tag);
    out
}

/// The ephemeral key as Go draws it: 32 bytes, byte 1 XOR 0x42, again if not a valid scalar.
fn ecies_ephemeral(entropy: &mut dyn Entropy) -> SecretKey {
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        entropy.fill(bytes.as_mut());
        bytes[1] ^= 0x42;
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return key;
        }
    }
}

/// Decrypts a go-ethereum ECIES message, checking the tag in constant time first.
pub fn ecies_decrypt(recipient: &SecretKey, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
    let header = UNCOMPRESSED_LEN + ECIES_IV_LEN;
    if message.len() < header + ECIES_TAG_LEN || message[0] != 0x04 {
        return Err(PayloadError::Ecies);
    }
    let ephemeral = PublicKey::from_sec1(&message[..UNCOMPRESSED_LEN]).map_err(|_| PayloadError::Ecies)?;
    let keys = EciesKeys::derive(recipient.diffie_hellman(&ephemeral).as_bytes());
    let (sealed, tag) = message.split_at(message.len() - ECIES_TAG_LEN);
    if !bool::from(keys.tag(&sealed[UNCOMPRESSED_LEN..]).ct_eq(tag)) {
        return Err(PayloadError::Ecies);
    }
    let iv: [u8; ECIES_IV_LEN] = sealed[UNCOMPRESSED_LEN..header].try_into().map_err(|_| PayloadError::Ecies)?;
    let mut plaintext = Zeroizing::new(sealed[header..].to_vec());
    keys.apply_keystream(&iv, &mut plaintext);
    Ok(plaintext)
}

/// `K = SHA-256(BE32(1) ‖ z)` (NIST SP 800-56 concatenation KDF, one block), `Ke = K[..16]`,
/// `Km = SHA-256(K[16..])`.
struct EciesKeys {
    encryption: Zeroizing<[u8; 16]>,
    authentication: Zeroizing<[u8; 32]>,
}

impl EciesKeys {
    fn derive(shared_x: &[u8; 32]) -> Self {
        let k = Zeroizing::new(sha256(&[&1u32.to_be_bytes(), shared_x]));
        let mut encryption = Zeroizing::new([0u8; 16]);
        encryption.copy_from_slice(&k[..16]);
        Self { encryption, authentication: Zeroizing::new(sha256(&[&k[16..]])) }
    }

    fn apply_keystream(&self, iv: &[u8; ECIES_IV_LEN], buffer: &mut [u8]) {
        let mut cipher = ctr::Ctr128BE::<aes::Aes128>::new((&*self.encryption).into(), iv.into());
        cipher.apply_keystream(buffer);
    }

    fn tag(&self, iv_and_ciphertext: &[u8]) -> [u8; 32] {
        HmacSha256::new(self.authentication.as_ref()).tag(&[iv_and_ciphertext])
    }
}

/// Keccak-256 of the signed part, for checking a vector's recorded signing hash.
pub fn signing_hash(envelope: &[u8]) -> Option<[u8; 32]> {
    envelope.len().checked_sub(SIGNATURE_LEN).map(|end| keccak256(&envelope[..end]))
}

/// The WakuMessage status-go publishes a 26/ payload in (wakuv2 `PublicWakuAPI.Post`): version 1,
/// `meta` present and empty, `ephemeral` present and false.
pub fn waku_message(payload: Vec<u8>, content_topic: impl Into<String>, timestamp_ns: i64) -> crate::waku::WakuMessage {
    crate::waku::WakuMessage {
        payload,
        content_topic: content_topic.into(),
        version: Some(VERSION),
        timestamp: Some(timestamp_ns),
        meta: Some(Vec::new()),
        rate_limit_proof: None,
        ephemeral: Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;

    /// go-ethereum `crypto/ecies/ecies_test.go` `Test_EciesJs`: ciphertexts made by the npm
    /// `eccrypto` package for key `afd4fee1…`, which go-ethereum's ECIES decrypts (the plaintext is
    /// the map key's bytes).
    #[test]
    fn go_ethereum_ecies_known_answers_from_eccrypto() {
        let key: [u8; 32] = hex::decode("afd4fee14dd189f3191ac044a72e9da661656ff89bb7d52e33b56681aa465547")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SecretKey::from_bytes(&key).unwrap();
        let cases = [
            (
                "11",
                "04de322e96305adceca7dae6e3af61f031f1aa26ae764ee1db6fc4d86961050bc905f947c18483b6d9673525f3e63097b23a617b1303db6a17c420a519700bb1f61bea79e53cecbdee8cb629947255069262a47d3d4894babc72753ea6920a2404aa208dd7f1055288b40b8d3ae47319b44f",
            ),
            (
                "112233",
                "0436345f671b958a7beab764c6cb3308617b8d828a4bf73c7f7a1f33f9acdaf97fac5deca3dd9a9838f9cd3dac8db0be0196b1507ad73d1bd7c3ea757960ca6e31bcbb5a584197cb8e1ae31157f3d772cf424fef7911bf6c9097edb9e79bc417267b8080f9a288acd5efc7f90f7dfc84d5c99b1a",
            ),
            (
                "8987766554433211",
                "04afe4b6839f34c5c047bf4ebf806498539560c4895287d878e2dc7da7e411f5463ec3e47918f19840f0be46a41253111a14872fc4cf6b28d7e379217e6839d16d3a45d48a35dc1adc6956f016057701b657ff27cedacd6b4d22338c32cc8f1b1ac96c4e3f74fd356ba54e7f251bf81becdc5ae601d49a9f19",
            ),
            (
                "9d6669e9519c2958dbc69837e890b527b0a3328ac54ae170e97ff2242f45",
                "04b9372bb0871e018940fb3fb5cb15a966f0d71fe592564681e5c7fd2a39d3ef04a252a867de09b5cf89e3947b0aa97237ac84f735d2f0388a501c3d34c163239809fb3439369f8b3e2bb630154f46e7d6556d758bd7dc9fdd0a57ec75b8e12dfd512dbf9f004d26e861e8d6ff44ed16f6522e85a3070c9c2d9b45699064a4e52f3c59a5ea81b893dc90a3935e845f",
            ),
        ];
        for (plaintext, ciphertext) in cases {
            let opened = ecies_decrypt(&key, &hex::decode(ciphertext).unwrap()).unwrap();
            assert_eq!(hex::encode(opened.as_slice()), plaintext);
        }
    }

    #[test]
    fn envelopes_round_trip_and_refuse_tampering() {
        let mut entropy = SeededEntropy::from_u64(1);
        let (alice, bob) = (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy));
        for len in [0, 1, 190, 191, 255, 256, 1000, 70_000] {
            let data = vec![0x5a; len];
            let envelope = envelope(&alice, &data, &mut entropy);
            assert_eq!(envelope.len() % PAD_TO, 0, "{len}");
            assert_eq!(open_envelope(&envelope), Ok(Opened { data: data.clone(), signer: alice.public_key() }));
            let sealed = seal_asymmetric(&alice, &bob.public_key(), &data, &mut entropy);
            assert_eq!(open_asymmetric(&bob, &sealed).map(|o| o.data), Ok(data.clone()));
            assert_eq!(open_asymmetric(&alice, &sealed), Err(PayloadError::Ecies));
            let sealed = seal_symmetric(&alice, &[3; 32], &data, &mut entropy);
            assert_eq!(open_symmetric(&[3; 32], &sealed).map(|o| o.signer), Ok(alice.public_key()));
            assert_eq!(open_symmetric(&[4; 32], &sealed), Err(PayloadError::Symmetric));
        }
        let envelope = envelope(&alice, b"hello", &mut entropy);
        let mut unsigned = envelope.clone();
        unsigned[0] &= !FLAG_SIGNED;
        assert_eq!(open_envelope(&unsigned), Err(PayloadError::Unsigned));
        let mut bad_v = envelope.clone();
        *bad_v.last_mut().unwrap() = 27;
        assert_eq!(open_envelope(&bad_v), Err(PayloadError::BadSignature));
        let mut too_long = envelope.clone();
        too_long[1] = 0xff;
        let reopened = open_envelope(&too_long);
        assert!(
            matches!(reopened, Err(PayloadError::BadLength)) || reopened.is_ok_and(|o| o.signer != alice.public_key())
        );
        assert_eq!(open_envelope(&[]), Err(PayloadError::BadLength));
        assert_eq!(ecies_decrypt(&bob, &[4; 100]), Err(PayloadError::Ecies));
    }
}
