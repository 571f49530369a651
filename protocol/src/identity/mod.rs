//! Identities (2/STATUS-ACCOUNT, our profile): an Ed25519 key pair per account, its derived X25519
//! key for Diffie-Hellman, the chat key text form, installation ids for devices, and the ways two
//! people verify an identity: fingerprints, safety numbers and contact codes.

pub mod bech32m;
pub mod contact_code;
pub mod fingerprint;
pub mod installation;
pub mod keys;

pub use contact_code::{ContactCode, ContactCodeError};
pub use fingerprint::{EmojiFingerprint, SafetyNumber};
pub use installation::InstallationId;
pub use keys::{IdentityError, IdentityKey, IdentityKeyPair, Signature};
