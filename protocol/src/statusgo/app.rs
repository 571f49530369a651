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

/// `ApplicationMetadataMessage.Type` (status-go `protocol/protobuf/application_metadata_message.proto`):
/// the values a 1:1 chat meets. The field stays an `i32`, so every other value (the enum has about
/// 80) is kept as its number.
pub mod message_type {
    /// `UNKNOWN`.
    pub const UNKNOWN: i32 = 0;
    /// `CHAT_MESSAGE`: a `ChatMessage` payload (contact requests included, by content type).
    pub const CHAT_MESSAGE: i32 = 1;
    /// `CONTACT_UPDATE`: profile details, also sent with a contact request.
    pub const CONTACT_UPDATE: i32 = 2;
    /// `MEMBERSHIP_UPDATE_MESSAGE`: group chats.
    pub const MEMBERSHIP_UPDATE_MESSAGE: i32 = 3;
    /// `CONTACT_CODE_ADVERTISEMENT`: a bundle on the contact-code topic.
    pub const CONTACT_CODE_ADVERTISEMENT: i32 = 15;
    /// `EMOJI_REACTION`.
    pub const EMOJI_REACTION: i32 = 22;
    /// `CHAT_IDENTITY`: display name and images.
    pub const CHAT_IDENTITY: i32 = 24;
    /// `PIN_MESSAGE`.
    pub const PIN_MESSAGE: i32 = 28;
    /// `EDIT_MESSAGE`.
    pub const EDIT_MESSAGE: i32 = 29;
    /// `STATUS_UPDATE`: online presence.
    pub const STATUS_UPDATE: i32 = 30;
    /// `DELETE_MESSAGE`.
    pub const DELETE_MESSAGE: i32 = 31;
    /// `ACCEPT_CONTACT_REQUEST`: an `AcceptContactRequest {id, clock}` answering a request.
    pub const ACCEPT_CONTACT_REQUEST: i32 = 46;
    /// `RETRACT_CONTACT_REQUEST`: a `RetractContactRequest {id, clock}` (a request or a contact withdrawn).
    pub const RETRACT_CONTACT_REQUEST: i32 = 47;
    /// `REQUEST_CONTACT_VERIFICATION`.
    pub const REQUEST_CONTACT_VERIFICATION: i32 = 50;
    /// `ACCEPT_CONTACT_VERIFICATION`.
    pub const ACCEPT_CONTACT_VERIFICATION: i32 = 51;
    /// `DECLINE_CONTACT_VERIFICATION`.
    pub const DECLINE_CONTACT_VERIFICATION: i32 = 52;
    /// `SYNC_CONTACT_REQUEST_DECISION`: between paired devices of one identity.
    pub const SYNC_CONTACT_REQUEST_DECISION: i32 = 56;
    /// `CANCEL_CONTACT_VERIFICATION`.
    pub const CANCEL_CONTACT_VERIFICATION: i32 = 61;
}

/// `MessageType` (status-go `protocol/protobuf/enums.proto`).
pub mod chat_type {
    /// `UNKNOWN_MESSAGE_TYPE`.
    pub const UNKNOWN_MESSAGE_TYPE: i32 = 0;
    /// `ONE_TO_ONE`.
    pub const ONE_TO_ONE: i32 = 1;
    /// `PUBLIC_GROUP`.
    pub const PUBLIC_GROUP: i32 = 2;
    /// `PRIVATE_GROUP`.
    pub const PRIVATE_GROUP: i32 = 3;
    /// `SYSTEM_MESSAGE_PRIVATE_GROUP` (local only, never on the wire).
    pub const SYSTEM_MESSAGE_PRIVATE_GROUP: i32 = 4;
    /// `COMMUNITY_CHAT`.
    pub const COMMUNITY_CHAT: i32 = 5;
}

/// `ChatMessage.ContentType` (status-go `protocol/protobuf/chat_message.proto`). Values 6, 10
/// and 14 are local to the app and never sent.
pub mod content_type {
    /// `UNKNOWN_CONTENT_TYPE`.
    pub const UNKNOWN_CONTENT_TYPE: i32 = 0;
    /// `TEXT_PLAIN`.
    pub const TEXT_PLAIN: i32 = 1;
    /// `STICKER`.
    pub const STICKER: i32 = 2;
    /// `STATUS`.
    pub const STATUS: i32 = 3;
    /// `EMOJI`.
    pub const EMOJI: i32 = 4;
    /// `TRANSACTION_COMMAND`.
    pub const TRANSACTION_COMMAND: i32 = 5;
    /// `SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP` (local).
    pub const SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP: i32 = 6;
    /// `IMAGE`.
    pub const IMAGE: i32 = 7;
    /// `AUDIO`.
    pub const AUDIO: i32 = 8;
    /// `COMMUNITY`.
    pub const COMMUNITY: i32 = 9;
    /// `SYSTEM_MESSAGE_GAP` (local).
    pub const SYSTEM_MESSAGE_GAP: i32 = 10;
    /// `CONTACT_REQUEST`: the first message to someone who has not added us.
    pub const CONTACT_REQUEST: i32 = 11;
    /// `DISCORD_MESSAGE`.
    pub const DISCORD_MESSAGE: i32 = 12;
    /// `IDENTITY_VERIFICATION`.
    pub const IDENTITY_VERIFICATION: i32 = 13;
    /// `SYSTEM_MESSAGE_PINNED_MESSAGE` (local).
    pub const SYSTEM_MESSAGE_PINNED_MESSAGE: i32 = 14;
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
    /// No signature. status-go then attributes the message to the 26/ signer; it never sends
    /// one (`WrapMessageV1` always gets the identity), so we refuse it.
    #[error("application message is not signed")]
    Unsigned,
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

/// An application message with the key its signature recovers to, not yet compared with anyone
/// (status-go `HandleApplicationMetadata`, which attributes the message to that key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    /// The key that signed `Keccak-256(payload)`.
    pub signer: PublicKey,
    /// status-go's message id, under `signer`.
    pub id: [u8; 32],
    /// The type ([`message_type`]; unknown values kept).
    pub r#type: i32,
    /// The inner payload.
    pub payload: Vec<u8>,
}

/// Wraps `payload` of `r#type`, signed by `identity` (status-go `WrapMessageV1`).
pub fn wrap(identity: &SecretKey, r#type: i32, payload: Vec<u8>) -> Vec<u8> {
    let signature = identity.sign_keccak(&payload).as_bytes().to_vec();
    ApplicationMetadataMessage { signature, payload, r#type }.encode_to_vec()
}

/// status-go's message id: `Keccak-256(sender's uncompressed key ‖ wrapped message)`
/// (`protocol/v1/message.go` `MessageID`, `crypto.FromECDSAPub`: 65 bytes, despite its comment).
pub fn message_id(sender: &PublicKey, wrapped: &[u8]) -> [u8; 32] {
    keccak256(&[sender.uncompressed().as_slice(), wrapped].concat())
}

/// The string form of a message id, by which status-go's messenger knows a message (its
/// duplicate check is on `types.EncodeHex(msg.ID)`): `"0x"` and 64 lowercase hex digits.
pub fn message_id_hex(id: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(id))
}

/// Decodes one `ApplicationMetadataMessage` and recovers its signer, whoever that is. Callers
/// that know the sender use [`unwrap`]; this is for reading what status-go would attribute.
pub fn recover(wrapped: &[u8]) -> Result<Wrapped, AppError> {
    let message = ApplicationMetadataMessage::decode(wrapped).map_err(|_| AppError::Malformed)?;
    if message.signature.is_empty() {
        return Err(AppError::Unsigned);
    }
    let signature = RecoverableSignature::from_slice(&message.signature).map_err(|_| AppError::BadSignature)?;
    let signer = signature.recover_keccak(&message.payload).map_err(|_| AppError::BadSignature)?;
    Ok(Wrapped { signer, id: message_id(&signer, wrapped), r#type: message.r#type, payload: message.payload })
}

/// Unwraps one `ApplicationMetadataMessage` from `sender` (the 26/ signer): its signature must
/// recover to the sender.
pub fn unwrap(sender: &PublicKey, wrapped: &[u8]) -> Result<Unwrapped, AppError> {
    let Wrapped { signer, id, r#type, payload } = recover(wrapped)?;
    if signer != *sender {
        return Err(AppError::WrongSigner);
    }
    Ok(Unwrapped { id, r#type, payload })
}

/// The wrapped messages of a Double Ratchet plaintext: the bodies of an MVDS payload, or the
/// plaintext itself when it is not one (status-go `datasync.Unwrap`: a payload with no acks,
/// offers, requests or messages is not MVDS). Acks, offers and requests are ignored here.
pub fn wrapped_messages(plaintext: &[u8]) -> Vec<Vec<u8>> {
    match mvds_payload(plaintext) {
        Some(p) => p.messages.into_iter().map(|m| m.body).collect(),
        None => vec![plaintext.to_vec()],
    }
}

/// The MVDS payload a Double Ratchet plaintext is, if it is one (status-go `datasync.Unwrap`: a
/// payload with no acks, offers, requests or messages is not MVDS).
pub fn mvds_payload(plaintext: &[u8]) -> Option<MvdsPayload> {
    MvdsPayload::decode(plaintext)
        .ok()
        .filter(|p| !(p.acks.is_empty() && p.offers.is_empty() && p.requests.is_empty() && p.messages.is_empty()))
}

/// An MVDS payload carrying one message (for tests and interop). MVDS
/// stamps `timestamp_s` in Unix seconds (`node.AppendMessage`, `time.Now().Unix()`).
pub fn mvds_wrap(group_id: &[u8], timestamp_s: i64, body: Vec<u8>) -> Vec<u8> {
    let message = MvdsMessage { group_id: group_id.to_vec(), timestamp: timestamp_s, body };
    MvdsPayload { messages: vec![message], ..MvdsPayload::default() }.encode_to_vec()
}

/// The MVDS group id of a 1:1 chat (status-go `datasync.ToOneToOneGroupID`):
/// `Keccak-256(compressed(a) ‖ compressed(b))` with the key of smaller X first, so both sides
/// get the same id.
pub fn one_to_one_group_id(a: &PublicKey, b: &PublicKey) -> [u8; 32] {
    let (first, second) = if a.x() < b.x() { (a, b) } else { (b, a) };
    keccak256(&[first.compressed().as_slice(), second.compressed()].concat())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::SeededEntropy;

    fn transcript(name: &str) -> Value {
        let path = format!("{}/../vectors/status-go/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn bytes(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().unwrap()).unwrap()
    }

    fn identity(file: &Value, party: &Value) -> SecretKey {
        let name = party["party"].as_str().unwrap();
        let record = file["parties"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
        SecretKey::from_bytes(&bytes(&record["identity_private_key"]).try_into().unwrap()).unwrap()
    }

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

    /// Every chat message status-go sent in the two session transcripts: our 1:1 builder, `wrap`
    /// and `message_id` give its bytes and id (RFC 6979 signatures are deterministic); `recover`
    /// finds the sender; the Double Ratchet plaintext is the bare wrapper, and an MVDS payload
    /// around it yields the same wrapper.
    #[test]
    fn status_go_chat_messages_are_rebuilt_and_read_byte_for_byte() {
        let mut checked = 0;
        for name in ["session.json", "dh-only.json"] {
            let file = transcript(name);
            for send in file["events"].as_array().unwrap().iter().filter(|e| e["type"] == "send") {
                let app = &send["application"];
                if app.is_null() {
                    continue; // a bundle advert: no application message
                }
                let sender = identity(&file, &send["sender"]);
                let recipient = identity(&file, &send["recipient"]).public_key();
                let c = &app["chat_message"];
                let text = c["text"].as_str().unwrap();
                let (clock, ms) = (c["clock"].as_u64().unwrap(), c["timestamp_ms"].as_u64().unwrap());
                let chat = ChatMessage::one_to_one(&recipient, text, clock, ms, c["display_name"].as_str().unwrap());
                assert_eq!(chat.encode_to_vec(), bytes(&app["chat_message_protobuf"]), "{name}");
                let wrapped = wrap(&sender, message_type::CHAT_MESSAGE, chat.encode_to_vec());
                assert_eq!(wrapped, bytes(&app["application_metadata_message_protobuf"]), "{name}");
                assert_eq!(wrapped, bytes(&send["dr_plaintext"]), "{name}");
                let id = message_id(&sender.public_key(), &wrapped);
                assert_eq!(id.to_vec(), bytes(&app["message_id"]), "{name}");
                assert_eq!(message_id_hex(&id), format!("0x{}", app["message_id"].as_str().unwrap()));

                let read = recover(&wrapped).unwrap();
                assert_eq!((read.signer, read.id, read.r#type), (sender.public_key(), id, message_type::CHAT_MESSAGE));
                assert_eq!(ChatMessage::decode(&read.payload[..]).unwrap(), chat);
                assert_eq!(wrapped_messages(&wrapped), vec![wrapped.clone()]);
                let group = one_to_one_group_id(&sender.public_key(), &recipient);
                assert_eq!(group, one_to_one_group_id(&recipient, &sender.public_key()));
                assert_eq!(wrapped_messages(&mvds_wrap(&group, 1_730_124_918, wrapped.clone())), vec![wrapped]);
                checked += 1;
            }
        }
        assert_eq!(checked, 7);
    }

    /// negative.json's flipped signature bit: status-go attributes the message to whatever key
    /// the signature recovers to, with that key's id, and so does `recover`; `unwrap` refuses it
    /// since that key is not the 26/ signer.
    #[test]
    fn a_forged_signature_is_attributed_as_status_go_does_and_unwrap_refuses_it() {
        let file = transcript("negative.json");
        let cases = file["cases"].as_array().unwrap();
        let case = cases.iter().find(|c| c["name"] == "application_signature_tampered").unwrap();
        let wrapped = bytes(&case["mutated_layers"]["application_metadata_message_protobuf"]);
        let trace = &case["receive_trace"];
        let read = recover(&wrapped).unwrap();
        assert_eq!(read.signer.uncompressed().to_vec(), bytes(&trace["application"]["signer_public_key"]));
        assert_eq!(read.id.to_vec(), bytes(&trace["application"]["message_id"]));
        let chat = ChatMessage::decode(&read.payload[..]).unwrap();
        assert_eq!(chat.text, trace["application"]["chat_message"]["text"].as_str().unwrap());
        let sender = PublicKey::from_sec1(&bytes(&trace["waku26_signer_public_key"])).unwrap();
        assert_eq!(unwrap(&sender, &wrapped), Err(AppError::WrongSigner));
    }

    /// A bundle advert's empty plaintext is one empty message to status-go (type `UNKNOWN`,
    /// unsigned, id Keccak-256 of nothing); we read it the same way and refuse it as unsigned.
    #[test]
    fn an_empty_plaintext_is_one_unsigned_message() {
        let file = transcript("dh-only.json");
        let events = file["events"].as_array().unwrap();
        let advert = events.iter().find(|e| e["type"] == "deliver" && e["application"]["type"] == "UNKNOWN").unwrap();
        assert_eq!(advert["decrypted_dr_plaintext"], "");
        assert_eq!(bytes(&advert["application"]["message_id"]), keccak256(&[]).to_vec());
        assert_eq!(wrapped_messages(&[]), vec![Vec::<u8>::new()]);
        assert_eq!(recover(&[]), Err(AppError::Unsigned));
    }

    /// Fields we do not model (newer status-go fields, or ones a 1:1 text never sets) are
    /// skipped, not refused; the id still covers the received bytes as they came.
    #[test]
    fn unknown_fields_do_not_break_decoding() {
        let mut entropy = SeededEntropy::from_u64(3);
        let alice = SecretKey::generate(&mut entropy);
        let chat = ChatMessage::one_to_one(&alice.public_key(), "hi", 5, 6, "a");
        // contact_request_propagated_state (15, a message) and discord_message (99) appended.
        let mut extended = chat.encode_to_vec();
        extended.extend_from_slice(&[0x7a, 0x02, 0x08, 0x01, 0x9a, 0x06, 0x00]);
        assert_eq!(ChatMessage::decode(&extended[..]).unwrap(), chat);
        let mut wrapped = wrap(&alice, message_type::CHAT_MESSAGE, extended.clone());
        wrapped.extend_from_slice(&[0x20, 0x01]); // an unknown field 4 in the wrapper
        let read = recover(&wrapped).unwrap();
        assert_eq!((read.signer, read.payload), (alice.public_key(), extended));
        assert_eq!(read.id, message_id(&alice.public_key(), &wrapped));
    }

    #[test]
    fn every_malformed_wrapper_has_its_error() {
        let mut entropy = SeededEntropy::from_u64(4);
        let alice = SecretKey::generate(&mut entropy);
        let good = ApplicationMetadataMessage::decode(&wrap(&alice, 1, b"x".to_vec())[..]).unwrap();
        let with = |signature: Vec<u8>| ApplicationMetadataMessage { signature, ..good.clone() }.encode_to_vec();
        assert_eq!(recover(&[0x0a, 0x02, 0x01]), Err(AppError::Malformed));
        assert_eq!(recover(&[0x18, 0x80]), Err(AppError::Malformed));
        assert_eq!(recover(&with(Vec::new())), Err(AppError::Unsigned));
        assert_eq!(recover(&with(good.signature[..64].to_vec())), Err(AppError::BadSignature));
        let mut bad_v = good.signature.clone();
        bad_v[64] = 27;
        assert_eq!(recover(&with(bad_v)), Err(AppError::BadSignature));
        let mut zero_r = good.signature.clone();
        zero_r[..32].fill(0);
        assert_eq!(recover(&with(zero_r)), Err(AppError::BadSignature));
        assert_eq!(message_id_hex(&[0xab; 32]).len(), 66);
    }
}
