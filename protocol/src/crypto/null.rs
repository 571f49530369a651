//! A null crypto backend for fuzzing only: **no security at all**. It exists only in builds with
//! `--cfg fuzzing` (which cargo-fuzz sets, and nothing else does), and even there it stays off
//! until a fuzz target switches it on with [`enable`]; the cargo-fuzz targets whose names end in
//! `_null` do, every other target runs the real primitives. A normal build contains none of
//! this (the `real_crypto_guard` test of the conformance crate checks the real outputs).
//!
//! What changes while it is on (rustls' fuzzing provider is the model):
//! - **AEAD** (ChaCha20-Poly1305 and AES-256-GCM): no encryption, the ciphertext is the
//!   plaintext; the 16-byte tag is a keyed checksum of key, nonce and associated data but not of
//!   the body. A fuzzer that flips body bytes of a genuine message therefore reaches the
//!   parsers behind the AEAD (padding, frames, protobufs), a wrong key or wrong AD still fails
//!   (trial decryption keeps its meaning), and the tag is compared as two `u64` words so that
//!   libFuzzer's comparison tracing can learn valid tags for messages it makes up.
//! - **X25519** ([`super::KeyPair::diffie_hellman`]): no scalar multiplication; the shared
//!   secret is a hash of the two public keys in sorted order, so both sides agree. Small-order
//!   remote keys are still refused. Key generation stays real, so identity keys (whose X25519
//!   half is derived from Ed25519) keep matching.
//!
//! With null crypto anyone can forge anything: fuzz targets must not assert authenticity while
//! it is on (see `status_1to1_conformance::fuzz_targets`).

use std::cell::Cell;

use super::hash::sha256;
use super::{CryptoError, PublicKey, SharedSecret};

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
}

/// Switches the null backend on or off for the current thread.
pub fn enable(on: bool) {
    ENABLED.with(|e| e.set(on));
}

/// Whether the null backend is on for the current thread.
pub fn is_enabled() -> bool {
    ENABLED.with(Cell::get)
}

fn tag(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8]) -> [u8; 16] {
    let digest = sha256(&[b"status-1to1/null-aead", key, nonce, &(ad.len() as u64).to_le_bytes(), ad]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

fn words(tag: &[u8]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&tag[..8]);
    b.copy_from_slice(&tag[8..16]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// Null seal: appends `plaintext || tag`.
pub(crate) fn seal_into(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(plaintext);
    out.extend_from_slice(&tag(key, nonce, ad));
}

/// Null seal in place: leaves `buffer` as it is and returns the tag.
pub(crate) fn seal_in_place(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8]) -> [u8; 16] {
    tag(key, nonce, ad)
}

/// Null open: checks the tag and appends the body to `out`; on failure `out` is unchanged.
pub(crate) fn open_into(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    ciphertext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let body_len = ciphertext.len().checked_sub(16).ok_or(CryptoError::CiphertextTooShort(ciphertext.len()))?;
    let (body, received) = ciphertext.split_at(body_len);
    // Two word comparisons (not a constant-time check): libFuzzer's CMP tracing sees both sides.
    let (e0, e1) = words(&tag(key, nonce, ad));
    let (r0, r1) = words(received);
    if r0 != e0 || r1 != e1 {
        return Err(CryptoError::DecryptFailed);
    }
    out.extend_from_slice(body);
    Ok(())
}

/// Null Diffie-Hellman between our public key and theirs.
pub(crate) fn diffie_hellman(local: &PublicKey, remote: &PublicKey) -> Result<SharedSecret, CryptoError> {
    if remote.is_low_order() {
        return Err(CryptoError::NonContributory);
    }
    let (lo, hi) = if local <= remote { (local, remote) } else { (remote, local) };
    Ok(SharedSecret::from_bytes(sha256(&[b"status-1to1/null-dh", lo.as_bytes(), hi.as_bytes()])))
}
