//! Suite S: the status-go wire (status-go c72f4913, `docs/profile.md` "Suite S"), byte-compatible
//! with the deployed Status app: secp256k1 keys, status-go's X3DH and Double Ratchet, the
//! 26/WAKU2-PAYLOAD version 1 envelope and Status's application messages.

pub mod app;
pub mod bundle;
pub mod chat_key;
pub mod datasync;
pub mod endpoint;
pub mod gcm;
pub mod installation;
pub mod keys;
pub mod payload;
pub mod ratchet;
pub mod topic;
pub mod x3dh;

pub use bundle::{Bundle, BundleError, SignedPreKey};
pub use installation::{HandleError, Handled, Installation};
pub use keys::{KeyError, PublicKey, RecoverableSignature, SecretKey, SharedX};

/// The installation id status-go reserves for entries any installation can read (DH-only
/// messages and bundle adverts).
pub const NO_INSTALLATION: &str = "none";
