//! IETF ChaCha20-Poly1305 with the Noise nonce layout: 4 zero bytes then the 64-bit counter in
//! little-endian (35/WAKU2-NOISE via the Noise specification §5; js-noise `nonce.ts`).

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CryptoError;

/// A 32-byte ChaCha20-Poly1305 key. Zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct CipherKey(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl CipherKey {
    /// Wraps 32 key bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes (vectors and persistence only).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts with this key; see [`seal_into`].
    pub fn seal_into(&self, nonce: &[u8; 12], ad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        seal_into(&self.0, nonce, ad, plaintext, out);
    }

    /// Encrypts `buffer` in place and returns the tag (no allocation).
    pub fn seal_in_place(&self, nonce: &[u8; 12], ad: &[u8], buffer: &mut [u8]) -> [u8; TAG_LEN] {
        #[cfg(feature = "audit")]
        super::audit::record(&self.0, nonce, ad, buffer);
        #[cfg(fuzzing)]
        if super::null::is_enabled() {
            return super::null::seal_in_place(&self.0, nonce, ad);
        }
        let cipher = ChaCha20Poly1305::new(&Key::from(self.0));
        // Encryption fails only for messages above 256 GiB, far beyond any Waku limit.
        cipher.encrypt_inout_detached(&Nonce::from(*nonce), ad, buffer.into()).map(Into::into).unwrap_or([0; TAG_LEN])
    }

    /// Decrypts with this key; see [`open_into`].
    pub fn open_into(
        &self,
        nonce: &[u8; 12],
        ad: &[u8],
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        open_into(&self.0, nonce, ad, ciphertext, out)
    }
}

impl std::fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CipherKey(<redacted>)")
    }
}

/// Length of the Poly1305 authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// The 12-byte nonce for counter `n`.
pub fn noise_nonce(n: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    nonce
}

/// Encrypts `plaintext` and appends `ciphertext || tag` to `out`, without other allocation.
pub fn seal_into(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
    #[cfg(feature = "audit")]
    super::audit::record(key, nonce, ad, plaintext);
    #[cfg(fuzzing)]
    if super::null::is_enabled() {
        return super::null::seal_into(key, nonce, ad, plaintext, out);
    }
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let start = out.len();
    out.extend_from_slice(plaintext);
    let body = &mut out[start..];
    // Encryption fails only for messages above 256 GiB, far beyond any Waku limit.
    let tag = cipher.encrypt_inout_detached(&Nonce::from(*nonce), ad, body.into()).unwrap_or_default();
    out.extend_from_slice(&tag);
}

/// Authenticates and decrypts `ciphertext || tag`, appending the plaintext to `out`.
/// On failure `out` is left exactly as it was.
pub fn open_into(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    ciphertext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    #[cfg(fuzzing)]
    if super::null::is_enabled() {
        return super::null::open_into(key, nonce, ad, ciphertext, out);
    }
    let body_len = ciphertext.len().checked_sub(TAG_LEN).ok_or(CryptoError::CiphertextTooShort(ciphertext.len()))?;
    let (body, tag) = ciphertext.split_at(body_len);
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::DecryptFailed)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let start = out.len();
    out.extend_from_slice(body);
    let result = cipher.decrypt_inout_detached(&Nonce::from(*nonce), ad, (&mut out[start..]).into(), &tag);
    if result.is_err() {
        zeroize::Zeroize::zeroize(&mut out[start..]);
        out.truncate(start);
        return Err(CryptoError::DecryptFailed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap_or_default()
    }

    #[test]
    fn rfc8439_section_2_8_2_vector() {
        let key: [u8; 32] =
            unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f").try_into().unwrap_or([0; 32]);
        let nonce: [u8; 12] = unhex("070000004041424344454647").try_into().unwrap_or([0; 12]);
        let ad = unhex("50515253c0c1c2c3c4c5c6c7");
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut ct = Vec::new();
        seal_into(&key, &nonce, &ad, pt, &mut ct);
        assert_eq!(hex::encode(&ct[ct.len() - 16..]), "1ae10b594f09e26a7e902ecbd0600691");
        assert_eq!(hex::encode(&ct[..16]), "d31a8d34648e60db7b86afbc53ef7ec2");
        let mut back = Vec::new();
        assert_eq!(open_into(&key, &nonce, &ad, &ct, &mut back), Ok(()));
        assert_eq!(back, pt);
    }

    #[test]
    fn failed_open_leaves_output_untouched() {
        let key = [1u8; 32];
        let mut ct = Vec::new();
        seal_into(&key, &noise_nonce(3), b"ad", b"hello", &mut ct);
        ct[0] ^= 1;
        let mut out = b"prefix".to_vec();
        assert_eq!(open_into(&key, &noise_nonce(3), b"ad", &ct, &mut out), Err(CryptoError::DecryptFailed));
        assert_eq!(out, b"prefix");
        assert_eq!(
            open_into(&key, &noise_nonce(3), b"ad", &ct[..5], &mut out),
            Err(CryptoError::CiphertextTooShort(5))
        );
    }

    #[test]
    fn nonce_layout_is_four_zero_bytes_then_le_counter() {
        assert_eq!(hex::encode(noise_nonce(0x0102)), "000000000201000000000000");
    }
}
