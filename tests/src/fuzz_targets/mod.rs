//! Fuzz target bodies, shared by the cargo-fuzz binaries in `fuzz/` and by the harness
//! (`tests/tests/fuzz_harness.rs`) that runs them under plain `cargo test`. Each body takes the
//! fuzzer's bytes and panics, through an assertion, only when an invariant of the protocol
//! breaks: the input itself may be anything.
//!
//! Crypto backends: every body runs with whatever backend is active. The `*_null` bodies switch
//! on the null backend of `status_1to1::crypto::null`, which exists only in `--cfg fuzzing`
//! builds (cargo-fuzz); under plain `cargo test` they run with the real primitives. Oracles that
//! rely on authenticity (nothing forged is accepted) are checked only with real crypto; the
//! others (no panic, a refused input changes nothing, snapshots restore equal, no duplicate
//! delivery of one message id) hold with both.

// Assertions are how a fuzz target reports a broken invariant.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod noise;
mod parsers;
mod peers;
mod snapshot;
mod statusgo;
mod x3dh;

pub use noise::{noise_handshake, noise_transport};
pub use parsers::{identity_strings, pairing_qr, payload_v2, protobufs, waku_message};
pub use peers::peers;
pub use snapshot::snapshot;
pub use statusgo::{status_app, statusgo_bundle, statusgo_handle, statusgo_handle_seeds, statusgo_payload};
pub use x3dh::{ratchet, x3dh};

/// A target body.
pub type Body = fn(&[u8]);

/// Every target: its cargo-fuzz name and body. The `_null` targets run their body with the null
/// crypto backend in cargo-fuzz builds.
pub const TARGETS: &[(&str, Body)] = &[
    ("payload_v2", payload_v2),
    ("waku_message", waku_message),
    ("protobufs", protobufs),
    ("identity_strings", identity_strings),
    ("pairing_qr", pairing_qr),
    ("snapshot", snapshot),
    ("noise_handshake", noise_handshake),
    ("noise_handshake_null", noise_handshake_null),
    ("noise_transport", noise_transport),
    ("x3dh", x3dh),
    ("x3dh_null", x3dh_null),
    ("ratchet", ratchet),
    ("ratchet_null", ratchet_null),
    ("peers", peers),
    ("peers_null", peers_null),
    ("statusgo_bundle", statusgo_bundle),
    ("statusgo_handle", statusgo_handle),
    ("statusgo_payload", statusgo_payload),
    ("status_app", status_app),
];

/// Whether the null crypto backend is on (only ever in cargo-fuzz builds).
pub fn null_crypto() -> bool {
    #[cfg(fuzzing)]
    {
        status_1to1::crypto::null::is_enabled()
    }
    #[cfg(not(fuzzing))]
    {
        false
    }
}

/// Runs `body` with the null crypto backend when the build has one (`--cfg fuzzing`), with the
/// real primitives otherwise.
pub fn with_null_crypto(body: Body, data: &[u8]) {
    #[cfg(fuzzing)]
    status_1to1::crypto::null::enable(true);
    body(data);
    #[cfg(fuzzing)]
    status_1to1::crypto::null::enable(false);
}

/// [`noise_handshake`] with null crypto.
pub fn noise_handshake_null(data: &[u8]) {
    with_null_crypto(noise_handshake, data);
}

/// [`x3dh`] with null crypto.
pub fn x3dh_null(data: &[u8]) {
    with_null_crypto(x3dh, data);
}

/// [`ratchet`] with null crypto.
pub fn ratchet_null(data: &[u8]) {
    with_null_crypto(ratchet, data);
}

/// [`peers`] with null crypto.
pub fn peers_null(data: &[u8]) {
    with_null_crypto(peers, data);
}

/// Index 0 for the real backend, 1 for the null one: fixtures built once per process are kept
/// per backend, since a session built with one backend cannot talk to a peer using the other.
fn backend_index() -> usize {
    usize::from(null_crypto())
}

/// XORs `mask` into `bytes` from `at` (modulo the length); returns whether anything changed.
fn xor_at(bytes: &mut [u8], at: usize, mask: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let start = at % bytes.len();
    let mut changed = false;
    for (b, m) in bytes[start..].iter_mut().zip(mask) {
        *b ^= m;
        changed |= *m != 0;
    }
    changed
}

/// The bytes of the genuine peer snapshots the snapshot target mutates (for seed generation).
pub fn sample_snapshot_bytes() -> Vec<Vec<u8>> {
    peers::sample_snapshots().iter().map(|s| s.as_bytes().to_vec()).collect()
}
