//! Suite S: the status-go wire (status-go c72f4913, `docs/profile.md` "Suite S"), byte-compatible
//! with the deployed Status app: secp256k1 keys, status-go's X3DH and Double Ratchet, the
//! 26/WAKU2-PAYLOAD version 1 envelope and Status's application messages.

pub mod gcm;
pub mod keys;

pub use keys::{KeyError, PublicKey, RecoverableSignature, SecretKey, SharedX};
