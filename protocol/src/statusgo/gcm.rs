//! AES-256-GCM in status-go's layout, `ciphertext ‖ tag(16) ‖ nonce(12)`, with no associated
//! data: the DH-only payloads (`eth-node/crypto.EncryptSymmetric`) and the symmetric 26/ payloads
//! (go-waku `payload.Encode`) share it.

use crate::crypto::CryptoError;
use crate::crypto::aesgcm::{TAG_LEN, open_into, seal_into};

/// Length of the nonce carried after the tag.
pub const NONCE_LEN: usize = 12;

/// `AES-256-GCM(key, nonce, plaintext) ‖ nonce`. The caller draws a fresh nonce per message.
pub fn seal(key: &[u8; 32], nonce: &[u8; NONCE_LEN], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN + NONCE_LEN);
    seal_into(key, nonce, &[], plaintext, &mut out);
    out.extend_from_slice(nonce);
    out
}

/// Opens `ciphertext ‖ tag ‖ nonce`.
pub fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let body_len =
        sealed.len().checked_sub(NONCE_LEN + TAG_LEN).ok_or(CryptoError::CiphertextTooShort(sealed.len()))?;
    let (ciphertext, nonce) = sealed.split_at(body_len + TAG_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::DecryptFailed)?;
    let mut out = Vec::with_capacity(body_len);
    open_into(key, &nonce, &[], ciphertext, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_ciphertext_tag_nonce_and_tampering_is_refused() {
        let key = [7; 32];
        let nonce = [9; NONCE_LEN];
        let sealed = seal(&key, &nonce, b"hello");
        assert_eq!(sealed.len(), 5 + TAG_LEN + NONCE_LEN);
        assert_eq!(&sealed[sealed.len() - NONCE_LEN..], &nonce);
        assert_eq!(open(&key, &sealed).unwrap(), b"hello");
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(open(&key, &tampered), Err(CryptoError::DecryptFailed));
        assert_eq!(open(&key, &sealed[..27]), Err(CryptoError::CiphertextTooShort(27)));
    }
}
