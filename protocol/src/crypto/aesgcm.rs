//! AES-256-GCM with a 96-bit nonce and the full 16-byte tag, the AEAD of the X3DH profile
//! (Suite D). Keys and nonces are always derived, never sent: see `ratchet::kdf`.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};

use super::CryptoError;

/// Length of the GCM authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// Encrypts `plaintext` and appends `ciphertext || tag` to `out`.
///
/// The caller guarantees that `(key, nonce)` is never used for another message: every key here
/// comes out of a one-shot KDF, and the ratchet state that produced it is advanced first.
pub fn seal_into(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
    #[cfg(feature = "audit")]
    super::audit::record(key, nonce, aad, plaintext);
    #[cfg(fuzzing)]
    if super::null::is_enabled() {
        return super::null::seal_into(key, nonce, aad, plaintext, out);
    }
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    out.reserve(plaintext.len() + TAG_LEN);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let body = &mut out[start..];
    // Encryption fails only above 64 GiB, far beyond any Waku message.
    let tag = cipher.encrypt_inout_detached(&Nonce::from(*nonce), aad, body.into()).unwrap_or_default();
    out.extend_from_slice(&tag);
}

/// Authenticates and decrypts `ciphertext || tag`, appending the plaintext to `out`.
/// On failure `out` is left exactly as it was.
pub fn open_into(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    #[cfg(fuzzing)]
    if super::null::is_enabled() {
        return super::null::open_into(key, nonce, aad, ciphertext, out);
    }
    let body_len = ciphertext.len().checked_sub(TAG_LEN).ok_or(CryptoError::CiphertextTooShort(ciphertext.len()))?;
    let (body, tag) = ciphertext.split_at(body_len);
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::DecryptFailed)?;
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let start = out.len();
    out.extend_from_slice(body);
    let result = cipher.decrypt_inout_detached(&Nonce::from(*nonce), aad, (&mut out[start..]).into(), &tag);
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

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn gcm_spec_test_case_16() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, AAD).
        let key = unhex::<32>("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce = unhex::<12>("cafebabefacedbaddecaf888");
        let pt = hex::decode(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        )
        .unwrap();
        let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
        let mut ct = Vec::new();
        seal_into(&key, &nonce, &aad, &pt, &mut ct);
        assert_eq!(
            hex::encode(&ct),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"
        );
        let mut back = Vec::new();
        assert_eq!(open_into(&key, &nonce, &aad, &ct, &mut back), Ok(()));
        assert_eq!(back, pt);
    }

    #[test]
    fn failed_open_leaves_output_untouched() {
        let key = [1u8; 32];
        let mut ct = Vec::new();
        seal_into(&key, &[2; 12], b"ad", b"hello", &mut ct);
        let mut out = b"prefix".to_vec();
        assert_eq!(open_into(&key, &[2; 12], b"ad!", &ct, &mut out), Err(CryptoError::DecryptFailed));
        ct[0] ^= 1;
        assert_eq!(open_into(&key, &[2; 12], b"ad", &ct, &mut out), Err(CryptoError::DecryptFailed));
        assert_eq!(out, b"prefix");
        assert_eq!(open_into(&key, &[2; 12], b"ad", &ct[..15], &mut out), Err(CryptoError::CiphertextTooShort(15)));
    }
}
