//! Cross-crate conformance and interop support for status-1to1.
//!
//! [`jsnoise::JsPeer`] drives the live js-noise peer in `tests/jsnoise-peer/peer.mjs` (newline-
//! delimited JSON over stdin/stdout, protocol in that directory's README).

pub mod fuzz_targets;
pub mod jsnoise;
