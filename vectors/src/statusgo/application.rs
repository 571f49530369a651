//! The application layer of a transcript: each sent `ChatMessage` and its signed
//! `ApplicationMetadataMessage` rebuilt from the recorded fields (RFC 6979 signatures make them
//! byte-exact), status-go's message id, and on receipt the signer check and the chat message.

use prost::Message as _;
use serde_json::Value;
use status_1to1::statusgo::app::{self, ChatMessage};
use status_1to1::statusgo::{PublicKey, SecretKey};

use crate::json::{VectorError, at, hex_at, str_at, u64_at};
use crate::report::Report;

/// The chat message a record describes.
fn chat_message(doc: &Value, c: &str) -> Result<ChatMessage, VectorError> {
    let int = |field: &str| -> Result<i32, VectorError> {
        i32::try_from(u64_at(doc, &format!("{c}.{field}"))?).map_err(|_| VectorError::Missing(format!("{c}.{field}")))
    };
    Ok(ChatMessage {
        clock: u64_at(doc, &format!("{c}.clock"))?,
        timestamp: u64_at(doc, &format!("{c}.timestamp_ms"))?,
        text: str_at(doc, &format!("{c}.text"))?.to_owned(),
        chat_id: str_at(doc, &format!("{c}.chat_id"))?.to_owned(),
        message_type: int("message_type_value")?,
        content_type: int("content_type_value")?,
        display_name: str_at(doc, &format!("{c}.display_name")).unwrap_or_default().to_owned(),
        ..ChatMessage::default()
    })
}

/// Rebuilds a send's application layer; returns the Double Ratchet plaintext (empty for an
/// advert, which has none).
pub fn check_send(doc: &Value, p: &str, sender: &SecretKey, report: &mut Report) -> Result<Vec<u8>, VectorError> {
    let a = format!("{p}.application");
    if at(doc, &a).map_or(true, Value::is_null) {
        return Ok(hex_at(doc, &format!("{p}.dr_plaintext")).unwrap_or_default());
    }
    let chat = chat_message(doc, &format!("{a}.chat_message"))?.encode_to_vec();
    report.bytes(format!("{a}.chat_message_protobuf"), &hex_at(doc, &format!("{a}.chat_message_protobuf"))?, &chat);
    let kind = i32::try_from(u64_at(doc, &format!("{a}.application_metadata_message.type_value"))?)
        .map_err(|_| VectorError::Missing(format!("{a}.application_metadata_message.type_value")))?;
    let wrapped = app::wrap(sender, kind, chat);
    let recorded = hex_at(doc, &format!("{a}.application_metadata_message_protobuf"))?;
    report.bytes(format!("{a}.application_metadata_message_protobuf"), &recorded, &wrapped);
    let id = app::message_id(&sender.public_key(), &wrapped);
    report.bytes(format!("{a}.message_id"), &hex_at(doc, &format!("{a}.message_id"))?, &id);
    report.bytes(format!("{p}.dr_plaintext"), &hex_at(doc, &format!("{p}.dr_plaintext"))?, &wrapped);
    Ok(wrapped)
}

/// Checks a delivered plaintext: its messages unwrap under the 26/ signer, with the recorded id
/// and chat message.
pub fn check_delivery(
    doc: &Value,
    p: &str,
    signer: &PublicKey,
    plaintext: &[u8],
    report: &mut Report,
) -> Result<(), VectorError> {
    let a = format!("{p}.application");
    if plaintext.is_empty() {
        // A bundle advert: nothing to unwrap; status-go reports type UNKNOWN and the id of an
        // empty message, Keccak-256 of nothing.
        report.value(format!("{a}.type"), str_at(doc, &format!("{a}.type"))?, "UNKNOWN");
        let empty_id = status_1to1::crypto::hash::keccak256(&[]);
        report.bytes(format!("{a}.message_id"), &hex_at(doc, &format!("{a}.message_id"))?, &empty_id);
        return Ok(());
    }
    let messages = app::wrapped_messages(plaintext);
    report.value(format!("{a} (messages in the plaintext)"), 1, messages.len());
    let Some(wrapped) = messages.first() else { return Ok(()) };
    let unwrapped = match app::unwrap(signer, wrapped) {
        Ok(unwrapped) => unwrapped,
        Err(e) => {
            report.step_failed(format!("{a} unwrap"), e);
            return Ok(());
        }
    };
    report.bytes(format!("{a}.message_id"), &hex_at(doc, &format!("{a}.message_id"))?, &unwrapped.id);
    report.bytes(
        format!("{a}.signer_public_key"),
        &hex_at(doc, &format!("{a}.signer_public_key"))?,
        &signer.uncompressed(),
    );
    let expected = chat_message(doc, &format!("{a}.chat_message"))?;
    match ChatMessage::decode(&unwrapped.payload[..]) {
        Ok(chat) => report.value(format!("{a}.chat_message"), expected, chat),
        Err(e) => report.step_failed(format!("{a}.chat_message"), e),
    }
    Ok(())
}
