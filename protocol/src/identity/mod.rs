//! Identities (2/STATUS-ACCOUNT, our profile): an Ed25519 key pair per account, its derived X25519
//! key for Diffie-Hellman, the chat key text form, and installation ids for devices.

pub mod installation;
pub mod keys;

pub use installation::InstallationId;
pub use keys::{IdentityError, IdentityKey, IdentityKeyPair, Signature};
