//! X3DH key exchange, sessions and the wire envelope of 53/WAKU2-X3DH, in the profile's
//! "Suite D" (Ed25519 identities with derived X25519 keys, HKDF-SHA256, AES-256-GCM; every
//! constant and each deviation from the spec and from status-go is in `docs/profile.md`).
//!
//! # What the session layer calls
//!
//! **Our prekeys and bundle.** A [`PrekeyStore`] holds our installation's signed prekeys;
//! call [`PrekeyStore::rotate_if_due`] before sending (daily rotation, 30-day retention).
//! [`VerifiedBundle::sign`] signs our bundle (our current [`SignedPrekey`] plus those of our
//! paired installations); [`VerifiedBundle::to_proto`] puts it on the wire.
//!
//! **Their bundle.** [`VerifiedBundle::verify`] / [`VerifiedBundle::verify_from`] check a
//! received `proto::Bundle`; only a `VerifiedBundle` can start a session, so nothing unverified
//! is stored or used.
//!
//! **Starting a session.** [`initiate`] (our identity and installation, their verified bundle,
//! their installation, entropy) returns a [`Session`] in [`Stage::AwaitingReply`]; its messages
//! carry the X3DH header until the peer answers.
//!
//! **Receiving.** [`Envelope::decode`] parses a `ProtocolMessage`; [`Envelope::payload_for`]
//! picks our entry. For a [`Payload::Ratchet`] message with an X3DH header, compute
//! [`InitialHeader::session_id`] with our identity and look the session up: if it exists (a
//! repeated or replayed header), decrypt with it; otherwise [`respond`], which creates the session
//! only if the message authenticates. Without an X3DH header, decrypt with the session of the
//! sender installation whose [`Session::bundle_id`] matches (trying
//! [`Session::knows_ratchet_key`] first). [`Payload::NoBundle`] entries open with
//! [`NoBundleMessage::open`].
//!
//! **Sending.** [`Session::encrypt`] consumes the session and returns the advanced session with
//! the [`EncryptedMessage`]: persist the session, then send. Put the messages for each target
//! installation into an [`Envelope`] with our bundle and [`Envelope::encode`] it. Without any
//! bundle of the recipient, [`NoBundleMessage::seal`] (no forward secrecy).
//!
//! **Decrypting.** [`Session::decrypt`] (`&self`, returns the next session and the plaintext) or
//! [`Session::decrypt_in_place`] (`&mut self`, changes nothing on error). Every error leaves the
//! session as it was; duplicates are refused with `RatchetError::DuplicateMessage`.
//!
//! **Topics.** [`topic::partitioned_topic`], [`topic::contact_code_topic`],
//! [`topic::NegotiatedSecret`] and [`topic::content_topic`].
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::BTreeMap;
//! use status_1to1::identity::{IdentityKeyPair, InstallationId};
//! use status_1to1::x3dh::{self, PrekeyStore, VerifiedBundle};
//! use status_1to1::{SeededEntropy, Timestamp};
//!
//! let mut entropy = SeededEntropy::from_u64(1);
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let (alice, alice_device) = (IdentityKeyPair::generate(&mut entropy), InstallationId::generate(&mut entropy));
//! let (bob, bob_device) = (IdentityKeyPair::generate(&mut entropy), InstallationId::generate(&mut entropy));
//!
//! // Bob publishes a bundle; Alice verifies it and starts a session.
//! let bob_prekeys = PrekeyStore::new(now, &mut entropy);
//! let entries = BTreeMap::from([(bob_device.clone(), bob_prekeys.current().signed_prekey())]);
//! let wire_bundle = VerifiedBundle::sign(&bob, entries, now)?.to_proto();
//! let bundle = VerifiedBundle::verify_from(&wire_bundle, bob.public())?;
//! let session = x3dh::initiate(&alice, &alice_device, &bundle, &bob_device, &mut entropy)?;
//! let (alice_session, first) = session.encrypt(b"hello", &mut entropy)?;
//!
//! // Bob has no session with that id yet, so he responds.
//! let id = first.initial.map(|h| h.session_id(bob.public()));
//! assert_eq!(id, Some(alice_session.id()));
//! let (bob_session, plaintext) = x3dh::respond(&bob, &bob_device, &bob_prekeys, now, &alice_device, &first)?;
//! assert_eq!(plaintext, b"hello");
//!
//! let (_bob_session, reply) = bob_session.encrypt(b"hi", &mut entropy)?;
//! let (alice_session, plaintext) = alice_session.decrypt(&reply)?;
//! assert_eq!(plaintext, b"hi");
//! assert!(alice_session.is_confirmed());
//! # Ok(()) }
//! ```

mod agreement;
mod bundle;
mod encoding;
mod error;
mod fallback;
mod message;
mod prekeys;
pub mod seal;
mod session;
pub mod topic;

pub use agreement::{initiator_secret, responder_secret};
pub use bundle::{MAX_BUNDLE_INSTALLATIONS, SignedPrekey, VerifiedBundle, signature_input};
pub use encoding::{AssociatedData, MAX_AD_LEN, SessionId, encode_ed, encode_x};
pub use error::{BundleError, DecodeError, X3dhError};
pub use fallback::NoBundleMessage;
pub use message::{Envelope, Payload, Recipient};
pub use prekeys::{OwnPrekey, PrekeyError, PrekeyStore, RETENTION, ROTATION_INTERVAL};
pub use session::{
    EncryptError, EncryptedMessage, InitialHeader, Party, Role, SESSION_STATE_MACHINE, Session, Stage, initiate,
    respond,
};

/// HKDF info of the X3DH shared secret SK.
pub const INFO_X3DH: &[u8] = b"WAKU2-1TO1-v1/X3DH";
/// HKDF info of the no-bundle message key and nonce.
pub const INFO_NO_BUNDLE: &[u8] = b"WAKU2-1TO1-v1/NoBundle";
/// HKDF info of the negotiated topic seed.
pub const INFO_TOPIC: &[u8] = b"WAKU2-1TO1-v1/Topic";
/// HKDF info of the negotiated topic's Waku key.
pub const INFO_TOPIC_KEY: &[u8] = b"WAKU2-1TO1-v1/TopicKey";
/// Domain prefix of the bundle signature input (followed by a 0x00 byte).
pub const BUNDLE_DOMAIN: &[u8] = b"WAKU2-1TO1-v1/Bundle";
/// Domain prefix of the session id hash.
pub const SESSION_ID_DOMAIN: &[u8] = b"WAKU2-1TO1-v1/SessionId";
/// `Encode_x` tag byte (X3DH §2.1's recommendation, libsignal's Curve25519 type byte).
pub const ENCODE_X_TAG: u8 = 0x05;
/// `Encode_ed` tag byte.
pub const ENCODE_ED_TAG: u8 = 0xed;
/// Version byte that starts the AD.
pub const AD_VERSION: u8 = 0x01;
/// `Bundle.suite` value of Suite D.
pub const SUITE_D: u32 = 1;
/// `SignedPreKey.protocol_version` we advertise (status-go's value: the peer supports the
/// negotiated topic).
pub const PROTOCOL_VERSION: u32 = 1;
/// The reserved recipient key for entries any installation may read.
pub const NO_INSTALLATION: &str = "none";

#[cfg(test)]
mod tests;
