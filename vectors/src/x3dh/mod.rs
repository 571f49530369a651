//! Verifiers for the X3DH / Double Ratchet schemas (`x3dh/*/v1`, described in
//! `docs/vectors.md`). Each recomputes the expected values through the public API of
//! `status-1to1` from the inputs in the vector.

pub mod bundle;
pub mod kdf;
pub mod no_bundle;
pub mod session;
pub mod topics;

use std::collections::VecDeque;

use serde_json::Value;
use status_1to1::Entropy;
use status_1to1::identity::IdentityKeyPair;
use status_1to1::ratchet::RatchetError;
use status_1to1::x3dh::{BundleError, X3dhError};

use crate::json::{VectorError, hex_n_at};

/// Entropy that hands out exactly the secrets a vector lists, and counts any other request.
pub(crate) struct StrictEntropy {
    chunks: VecDeque<[u8; 32]>,
    /// Requests beyond the listed secrets (answered with zeros; a vector mismatch).
    pub(crate) unexpected: usize,
}

impl StrictEntropy {
    pub(crate) fn new(chunks: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self { chunks: chunks.into_iter().collect(), unexpected: 0 }
    }

    /// Secrets listed but never requested.
    pub(crate) fn unused(&self) -> usize {
        self.chunks.len()
    }
}

impl Entropy for StrictEntropy {
    fn fill(&mut self, out: &mut [u8]) {
        match self.chunks.pop_front() {
            Some(chunk) if chunk.len() == out.len() => out.copy_from_slice(&chunk),
            _ => {
                self.unexpected += 1;
                out.fill(0);
            }
        }
    }
}

pub(crate) fn identity_at(doc: &Value, path: &str) -> Result<IdentityKeyPair, VectorError> {
    Ok(IdentityKeyPair::from_seed(hex_n_at::<32>(doc, path)?))
}

/// The vector name of a bundle refusal (`docs/profile.md` §5.10).
pub(crate) fn bundle_error_name(e: &BundleError) -> &'static str {
    use status_1to1::identity::IdentityError;
    match e {
        BundleError::UnsupportedSuite(_) => "unsupported-suite",
        BundleError::Identity(IdentityError::WeakKey) => "weak-identity",
        BundleError::Identity(_) => "invalid-identity",
        BundleError::SignatureLength(_) => "malformed-signature",
        BundleError::NoPrekeys => "no-prekeys",
        BundleError::InstallationId(_) => "invalid-installation-id",
        BundleError::PrekeyLength { .. } => "malformed-prekey",
        BundleError::BadSignature => "bad-signature",
        BundleError::WeakPrekey { .. } => "weak-prekey",
        BundleError::IdentityMismatch => "identity-mismatch",
        BundleError::TooManyInstallations(_) => "too-many-installations",
        _ => "unknown-bundle-error",
    }
}

/// The vector name of a ratchet refusal.
pub(crate) fn ratchet_error_name(e: &RatchetError) -> &'static str {
    match e {
        RatchetError::TooManySkipped { .. } => "too-many-skipped",
        RatchetError::DuplicateMessage { .. } => "duplicate",
        RatchetError::AuthenticationFailed => "authentication-failed",
        RatchetError::NonContributory => "non-contributory",
        RatchetError::UnexpectedRatchetKey => "unexpected-ratchet-key",
        RatchetError::ChainExhausted => "chain-exhausted",
        RatchetError::WrongSession => "wrong-session",
        _ => "unknown-ratchet-error",
    }
}

/// The vector name of an X3DH or no-bundle refusal.
pub(crate) fn x3dh_error_name(e: &X3dhError) -> &'static str {
    match e {
        X3dhError::MissingInitialHeader => "missing-initial-header",
        X3dhError::BundleIdMismatch => "bundle-id-mismatch",
        X3dhError::UnknownPrekey => "unknown-prekey",
        X3dhError::NonCanonicalKey => "non-canonical-key",
        X3dhError::NonContributory => "non-contributory",
        X3dhError::AuthenticationFailed => "authentication-failed",
        X3dhError::NoPrekeyForInstallation(_) => "no-prekey-for-installation",
        X3dhError::Ratchet(r) => ratchet_error_name(r),
        _ => "unknown-x3dh-error",
    }
}
