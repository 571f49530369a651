//! # status-1to1
//!
//! A sans-IO implementation of Status 1:1 chat over Waku v2 (55/STATUS-1TO1-CHAT), with its two
//! key-exchange paths: the Waku Noise protocols (35/WAKU2-NOISE, 37/WAKU2-NOISE-SESSIONS,
//! WAKU2-DEVICE-PAIRING) and X3DH with the Double Ratchet (53/WAKU2-X3DH, 54/WAKU2-X3DH-SESSIONS).
//! Identity verification (fingerprints, safety numbers, contact codes) is in [`identity`], device
//! pairing in [`pairing`]; QR rendering is behind the `render` feature.
//!
//! ## The sans-IO contract
//! Nothing in this crate opens a socket, reads a clock, draws OS randomness or spawns a thread.
//! Time enters as a `now` argument, randomness through an [`Entropy`] the caller injects, and
//! every effect leaves as a returned value (a wire message, an action). The same inputs therefore
//! always produce the same bytes, which is what the simulator and the test vectors rely on.
//!
//! Every constant of the wire formats and the cryptographic profile is listed, with its source,
//! in `docs/profile.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crypto;
pub mod diagram;
pub mod entropy;
pub mod identity;
pub mod noise;
pub mod pairing;
pub mod peer;
pub mod proto;
pub mod ratchet;
#[cfg(any(test, feature = "render"))]
pub mod render;
pub mod statusgo;
pub mod time;
pub mod waku;
pub mod x3dh;

mod serde_bytes;

pub use entropy::{Entropy, ScriptedEntropy, SeededEntropy};
pub use time::Timestamp;
