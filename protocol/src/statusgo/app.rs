//! Status's application layer inside the Double Ratchet (status-go `protocol/v1/message.go`,
//! `protocol/protobuf/application_metadata_message.proto`, `chat_message.proto`): a signed,
//! typed `ApplicationMetadataMessage` around a `ChatMessage`, status-go's message id, and the
//! MVDS `Payload` that wraps messages when datasync is on.
//!
//! What we send: the bare `ApplicationMetadataMessage`, as status-go does without datasync (and
//! as the transcripts show); status-go reads both forms, and so do we. Unknown protobuf fields are
//! skipped, so newer status-go fields do not break decoding.

use prost::Message as _;

use super::keys::{PublicKey, RecoverableSignature, SecretKey};
use crate::crypto::hash::keccak256;

/// `ApplicationMetadataMessage.Type` values used here (the enum has many more; unknown values
/// are kept as numbers).
pub mod message_type {
    /// `UNKNOWN`.
    pub const UNKNOWN: i32 = 0;
    /// `CHAT_MESSAGE`: a `ChatMessage` payload (contact requests included, by content type).
    pub const CHAT_MESSAGE: i32 = 1;
    /// `CONTACT_UPDATE`.
    pub const CONTACT_UPDATE: i32 = 2;
    /// `CONTACT_CODE_ADVERTISEMENT`.
    pub const CONTACT_CODE_ADVERTISEMENT: i32 = 15;
    /// `CHAT_IDENTITY`.
    pub const CHAT_IDENTITY: i32 = 24;
}

/// `MessageType` (`enums.proto`).
pub mod chat_type {
    /// `ONE_TO_ONE`.
    pub const ONE_TO_ONE: i32 = 1;
}

/// `ChatMessage.ContentType`.
pub mod content_type {
    /// `TEXT_PLAIN`.
    pub const TEXT_PLAIN: i32 = 1;
    /// `CONTACT_REQUEST`: the first message to someone who has not added us.
    pub const CONTACT_REQUEST: i32 = 11;
}

/// The signed wrapper (`ApplicationMetadataMessage`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ApplicationMetadataMessage {
    /// `Sign(Keccak256(payload))` by the sender's identity.
    #[prost(bytes = "vec", tag = "1")]
    pub signature: Vec<u8>,
    /// The encoded inner message.
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    /// Its type.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
}

/// A chat message (`ChatMessage`, the fields a 1:1 text uses).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChatMessage {
    /// Lamport clock.
    #[prost(uint64, tag = "1")]
    pub clock: u64,
    /// Unix milliseconds.
    #[prost(uint64, tag = "2")]
    pub timestamp: u64,
    /// The text.
    #[prost(string, tag = "3")]
    pub text: String,
    /// The id of the message replied to.
    #[prost(string, tag = "4")]
    pub response_to: String,
    /// The sender's ENS name.
    #[prost(string, tag = "5")]
    pub ens_name: String,
    /// In a 1:1 chat the sender writes the recipient's `0x04…` key.
    #[prost(string, tag = "6")]
    pub chat_id: String,
    /// `MessageType` ([`chat_type`]).
    #[prost(int32, tag = "7")]
    pub message_type: i32,
    /// `ContentType` ([`content_type`]).
    #[prost(int32, tag = "8")]
    pub content_type: i32,
    /// The sender's display name.
    #[prost(string, tag = "14")]
    pub display_name: String,
}

impl ChatMessage {
    /// A 1:1 plain-text message to `recipient` (a contact request when `content_type` says so).
    pub fn one_to_one(recipient: &PublicKey, text: &str, clock: u64, timestamp_ms: u64, display_name: &str) -> Self {
        Self {
            clock,
            timestamp: timestamp_ms,
            text: text.to_owned(),
            chat_id: recipient.chat_id(),
            message_type: chat_type::ONE_TO_ONE,
            content_type: content_type::TEXT_PLAIN,
            display_name: display_name.to_owned(),
            ..Self::default()
        }
    }
}

/// An MVDS message (`vac.mvds.Message`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MvdsMessage {
    /// The group (chat) id.
    #[prost(bytes = "vec", tag = "6001")]
    pub group_id: Vec<u8>,
    /// Unix seconds.
    #[prost(int64, tag = "6002")]
    pub timestamp: i64,
    /// An `ApplicationMetadataMessage`.
    #[prost(bytes = "vec", tag = "6003")]
    pub body: Vec<u8>,
}

/// An MVDS payload (`vac.mvds.Payload`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MvdsPayload {
    /// Message ids acknowledged.
    #[prost(bytes = "vec", repeated, tag = "5001")]
    pub acks: Vec<Vec<u8>>,
    /// Message ids offered.
    #[prost(bytes = "vec", repeated, tag = "5002")]
    pub offers: Vec<Vec<u8>>,
    /// Message ids requested.
    #[prost(bytes = "vec", repeated, tag = "5003")]
    pub requests: Vec<Vec<u8>>,
    /// Messages.
    #[prost(message, repeated, tag = "5004")]
    pub messages: Vec<MvdsMessage>,
}

/// Why an application message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Not the protobuf it should be.
    #[error("malformed application message")]
    Malformed,
    /// The signature does not recover a key.
    #[error("application signature does not recover a key")]
    BadSignature,
    /// The signature recovers another key than the 26/ signer (status-go accepts this and
    /// attributes the message to the recovered key; we refuse it).
    #[error("application signature is not by the sender")]
    WrongSigner,
}

/// An application message, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// status-go's message id.
    pub id: [u8; 32],
    /// The type.
    pub r#type: i32,
    /// The inner payload.
    pub payload: Vec<u8>,
}

/// Wraps `payload` of `r#type`, signed by `identity` (status-go `WrapMessageV1`).
pub fn wrap(identity: &SecretKey, r#type: i32, payload: Vec<u8>) -> Vec<u8> {
    let signature = identity.sign_keccak(&payload).as_bytes().to_vec();
    ApplicationMetadataMessage { signature, payload, r#type }.encode_to_vec()
}

/// status-go's message id: `Keccak-256(sender's uncompressed key ‖ wrapped message)`.
pub fn message_id(sender: &PublicKey, wrapped: &[u8]) -> [u8; 32] {
    keccak256(&[sender.uncompressed().as_slice(), wrapped].concat())
}

/// Unwraps one `ApplicationMetadataMessage` from `sender` (the 26/ signer): its signature must
/// recover to the sender.
pub fn unwrap(sender: &PublicKey, wrapped: &[u8]) -> Result<Unwrapped, AppError> {
    let message = ApplicationMetadataMessage::decode(wrapped).map_err(|_| AppError::Malformed)?;
    let signature = RecoverableSignature::from_slice(&message.signature).map_err(|_| AppError::BadSignature)?;
    let signer = signature.recover_keccak(&message.payload).map_err(|_| AppError::BadSignature)?;
    if signer != *sender {
        return Err(AppError::WrongSigner);
    }
    Ok(Unwrapped { id: message_id(sender, wrapped), r#type: message.r#type, payload: message.payload })
}

/// The wrapped messages of a Double Ratchet plaintext: the bodies of an MVDS payload, or the
/// plaintext itself when it is not one (status-go `datasync.Unwrap`: a payload with no acks,
/// offers, requests or messages is not MVDS). Acks, offers and requests are ignored here.
pub fn wrapped_messages(plaintext: &[u8]) -> Vec<Vec<u8>> {
    match MvdsPayload::decode(plaintext) {
        Ok(p) if !(p.acks.is_empty() && p.offers.is_empty() && p.requests.is_empty() && p.messages.is_empty()) => {
            p.messages.into_iter().map(|m| m.body).collect()
        }
        _ => vec![plaintext.to_vec()],
    }
}

/// An MVDS payload carrying one message (for tests and interop; we send bare messages).
pub fn mvds_wrap(group_id: &[u8], timestamp_s: i64, body: Vec<u8>) -> Vec<u8> {
    let message = MvdsMessage { group_id: group_id.to_vec(), timestamp: timestamp_s, body };
    MvdsPayload { messages: vec![message], ..MvdsPayload::default() }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;

    #[test]
    fn wrap_unwrap_and_the_sender_check() {
        let mut entropy = SeededEntropy::from_u64(1);
        let (alice, mallory) = (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy));
        let bob = SecretKey::generate(&mut entropy).public_key();
        let chat = ChatMessage::one_to_one(&bob, "hi", 1, 2, "alice").encode_to_vec();
        let wrapped = wrap(&alice, message_type::CHAT_MESSAGE, chat.clone());
        let unwrapped = unwrap(&alice.public_key(), &wrapped).unwrap();
        assert_eq!((unwrapped.r#type, unwrapped.payload), (message_type::CHAT_MESSAGE, chat.clone()));
        assert_eq!(unwrapped.id, message_id(&alice.public_key(), &wrapped));
        assert_eq!(unwrap(&mallory.public_key(), &wrapped), Err(AppError::WrongSigner));
        let forged = wrap(&mallory, message_type::CHAT_MESSAGE, chat);
        assert_eq!(unwrap(&alice.public_key(), &forged), Err(AppError::WrongSigner));
        assert_eq!(unwrap(&alice.public_key(), &[0x0a, 0x02, 0x01]), Err(AppError::Malformed));
    }

    #[test]
    fn bare_and_mvds_wrapped_plaintexts_give_the_same_messages() {
        let mut entropy = SeededEntropy::from_u64(2);
        let alice = SecretKey::generate(&mut entropy);
        let wrapped = wrap(&alice, message_type::CHAT_MESSAGE, b"payload".to_vec());
        assert_eq!(wrapped_messages(&wrapped), vec![wrapped.clone()]);
        assert_eq!(wrapped_messages(&mvds_wrap(b"chat", 7, wrapped.clone())), vec![wrapped]);
        let acks_only = MvdsPayload { acks: vec![vec![1; 32]], ..MvdsPayload::default() }.encode_to_vec();
        assert!(wrapped_messages(&acks_only).is_empty());
    }
}
