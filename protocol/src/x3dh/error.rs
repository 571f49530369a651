//! Why a bundle, an X3DH exchange or a wire message was refused.

use crate::identity::IdentityError;
use crate::ratchet::RatchetError;

/// A bundle that cannot be verified or signed. Nothing is stored from a refused bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle is for another cipher suite (status-go's secp256k1 suite is 0).
    #[error("unsupported bundle suite {0} (Suite D is 1)")]
    UnsupportedSuite(u32),
    /// The identity key is malformed, not a curve point, or weak.
    #[error("bundle identity key: {0}")]
    Identity(IdentityError),
    /// The signature is not 64 bytes.
    #[error("bundle signature of {0} bytes, expected 64")]
    SignatureLength(usize),
    /// The bundle lists no signed prekey.
    #[error("bundle has no signed prekey")]
    NoPrekeys,
    /// The bundle lists more than [`super::MAX_BUNDLE_INSTALLATIONS`] installations.
    #[error("bundle lists {0} installations, more than the cap")]
    TooManyInstallations(usize),
    /// An installation id is not a lowercase UUID v4.
    #[error("bundle installation id {0:?} is not a UUID v4")]
    InstallationId(String),
    /// A signed prekey is not 32 bytes.
    #[error("signed prekey of installation {installation} has {len} bytes, expected 32")]
    PrekeyLength {
        /// The installation it belongs to.
        installation: String,
        /// Its length.
        len: usize,
    },
    /// The signature does not verify under the bundle's identity key.
    #[error("bundle signature does not verify")]
    BadSignature,
    /// A signed prekey has small order: every Diffie-Hellman with it would be predictable.
    #[error("signed prekey of installation {installation} is a small-order point")]
    WeakPrekey {
        /// The installation it belongs to.
        installation: String,
    },
    /// The bundle is signed by another identity than the one expected for this contact.
    #[error("bundle identity differs from the expected contact identity")]
    IdentityMismatch,
}

/// A refused X3DH exchange, no-bundle message or session operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X3dhError {
    /// The verified bundle has no signed prekey for the requested installation.
    #[error("the bundle has no signed prekey for installation {0}")]
    NoPrekeyForInstallation(String),
    /// The initial message names a signed prekey we do not hold (or no longer hold): the session
    /// layer should advertise our current bundle.
    #[error("unknown signed prekey")]
    UnknownPrekey,
    /// A message that should start a session carries no X3DH header.
    #[error("message has no X3DH header")]
    MissingInitialHeader,
    /// The X3DH header and the ratchet header name different signed prekeys.
    #[error("X3DH header and ratchet header name different bundles")]
    BundleIdMismatch,
    /// A Diffie-Hellman output was all zeros: a small-order key.
    #[error("non-contributory Diffie-Hellman (small-order key)")]
    NonContributory,
    /// A received X25519 key is not in canonical form (bit 255 set, or a value of at least
    /// p = 2^255 - 19): X25519 would treat it as another encoding of a canonical key.
    #[error("non-canonical X25519 key encoding")]
    NonCanonicalKey,
    /// A no-bundle message failed authentication.
    #[error("no-bundle message authentication failed")]
    AuthenticationFailed,
    /// The first message of a would-be session did not decrypt; no session was created.
    #[error("first message refused: {0}")]
    Ratchet(#[from] RatchetError),
}

impl From<crate::crypto::CryptoError> for X3dhError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        match e {
            crate::crypto::CryptoError::NonContributory => Self::NonContributory,
            _ => Self::AuthenticationFailed,
        }
    }
}

/// A wire message (`ProtocolMessage` or one of its parts) that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not a valid protobuf encoding.
    #[error("invalid protobuf: {0}")]
    Protobuf(String),
    /// The sender installation id is not a UUID v4.
    #[error("sender installation id {0:?} is not a UUID v4")]
    SenderInstallation(String),
    /// A recipient key is neither a UUID v4 installation id nor `"none"`.
    #[error("recipient {0:?} is neither an installation id nor \"none\"")]
    Recipient(String),
    /// An encrypted entry has neither a ratchet header nor a no-bundle header.
    #[error("encrypted entry has no ratchet or no-bundle header")]
    NoHeader,
    /// An encrypted entry mixes a no-bundle header with an X3DH or ratchet header.
    #[error("encrypted entry mixes no-bundle and ratchet headers")]
    ConflictingHeaders,
    /// A key field does not have 32 bytes.
    #[error("field {field} has {len} bytes, expected 32")]
    KeyLength {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// An identity key field is not a valid, non-weak Ed25519 key.
    #[error("identity key: {0}")]
    Identity(IdentityError),
}
