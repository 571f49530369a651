//! The 26/WAKU2-PAYLOAD and WakuMessage layers of a transcript: every envelope, ciphertext,
//! WakuMessage and message hash reproduced from the recorded draws, and every received message
//! opened with the receiver's key and its signer recovered.

use serde_json::Value;
use status_1to1::statusgo::payload::{self, PayloadError};
use status_1to1::statusgo::topic::{self, NegotiatedSecret, PUBSUB_TOPIC};
use status_1to1::statusgo::{PublicKey, SecretKey};
use status_1to1::waku::WakuMessage;

use super::draws::DrawStream;
use super::replay::Sent;
use crate::json::{VectorError, at, hex_at, str_at, u64_at};
use crate::report::Report;

/// What a send goes through at the 26/ layer.
pub struct Route<'a> {
    /// The sender's identity.
    pub sender: &'a SecretKey,
    /// The recipient's identity.
    pub recipient: &'a PublicKey,
    /// The negotiated topic (AES-GCM) rather than the partitioned one (ECIES).
    pub negotiated: bool,
}

/// Seals a send's `ProtocolMessage`, checking every recorded layer; returns the WakuMessage.
pub fn seal(
    doc: &Value,
    p: &str,
    route: &Route<'_>,
    protocol_message: &[u8],
    draws: &mut DrawStream,
    report: &mut Report,
) -> Result<Option<Vec<u8>>, VectorError> {
    let w = format!("{p}.waku");
    let envelope = payload::envelope(route.sender, protocol_message, draws);
    report.bytes(format!("{w}.envelope_26_signed"), &hex_at(doc, &format!("{w}.envelope_26_signed"))?, &envelope);
    if let Some(hash) = payload::signing_hash(&envelope) {
        let recorded = hex_at(doc, &format!("{w}.envelope_26_fields.signing_hash_keccak256"))?;
        report.bytes(format!("{w}.envelope_26_fields.signing_hash_keccak256"), &recorded, &hash);
    }
    let (topic_string, sealed) = if route.negotiated {
        let secret = NegotiatedSecret::new(route.sender, route.recipient);
        let t = format!("{w}.transport");
        report.bytes(
            format!("{t}.negotiated_secret"),
            &hex_at(doc, &format!("{t}.negotiated_secret"))?,
            secret.as_bytes(),
        );
        let key = secret.key();
        report.bytes(format!("{t}.symmetric_key"), &hex_at(doc, &format!("{t}.symmetric_key"))?, &key);
        (secret.topic(), payload::encrypt_symmetric(&key, &envelope, draws))
    } else {
        (topic::partitioned_topic(route.recipient), payload::ecies_encrypt(route.recipient, &envelope, draws))
    };
    report.value(
        format!("{w}.content_topic_string"),
        str_at(doc, &format!("{w}.content_topic_string"))?.to_owned(),
        topic_string.clone(),
    );
    let content_topic = topic::content_topic(&topic_string);
    report.value(
        format!("{w}.content_topic"),
        str_at(doc, &format!("{w}.content_topic"))?.to_owned(),
        content_topic.clone(),
    );
    report.value(format!("{w}.pubsub_topic"), str_at(doc, &format!("{w}.pubsub_topic"))?, PUBSUB_TOPIC);
    report.bytes(format!("{w}.waku_payload"), &hex_at(doc, &format!("{w}.waku_payload"))?, &sealed);
    let timestamp = i64::try_from(u64_at(doc, &format!("{w}.waku_message.timestamp_ns"))?)
        .map_err(|_| VectorError::Missing(format!("{w}.waku_message.timestamp_ns")))?;
    let message = payload::waku_message(sealed, content_topic, timestamp);
    let bytes = message.to_bytes();
    report.bytes(format!("{w}.waku_message_protobuf"), &hex_at(doc, &format!("{w}.waku_message_protobuf"))?, &bytes);
    report.bytes(
        format!("{w}.waku_message_hash"),
        &hex_at(doc, &format!("{w}.waku_message_hash"))?,
        &message.hash(PUBSUB_TOPIC),
    );
    Ok(Some(bytes))
}

/// Opens a delivery's WakuMessage with `receiver`'s key, the way its `waku_decode_key` says:
/// the signer and the `ProtocolMessage` bytes, or `None` (recorded) when it does not open.
pub fn open(
    doc: &Value,
    p: &str,
    receiver: &SecretKey,
    sent: &Sent,
    report: &mut Report,
) -> Result<Option<(PublicKey, Vec<u8>)>, VectorError> {
    let bytes = sent.waku_message.clone().ok_or_else(|| VectorError::Missing(format!("{p}.sent_in_event")))?;
    let message = match WakuMessage::from_bytes(&bytes) {
        Ok(message) => message,
        Err(e) => {
            report.step_failed(format!("{p} WakuMessage"), e);
            return Ok(None);
        }
    };
    let key_path = format!("{p}.waku_decode_key");
    let opened = open_message(doc, &key_path, receiver, sent, &message, report)?;
    match opened {
        Ok(opened) => {
            if let Ok(signer) = hex_at(doc, &format!("{p}.waku26_signer_public_key")) {
                report.bytes(format!("{p}.waku26_signer_public_key"), &signer, &opened.signer.uncompressed());
            }
            Ok(Some((opened.signer, opened.data)))
        }
        Err(e) => {
            report.step_failed(format!("{p} 26/ layer"), e);
            Ok(None)
        }
    }
}

/// Opens `message` with the key its record names: the receiver's identity (ECIES) or the
/// negotiated key of the receiver and the other party of `sent` (checked against a recorded key).
pub fn open_message(
    doc: &Value,
    key_path: &str,
    receiver: &SecretKey,
    sent: &Sent,
    message: &WakuMessage,
    report: &mut Report,
) -> Result<Result<payload::Opened, PayloadError>, VectorError> {
    Ok(match str_at(doc, &format!("{key_path}.kind"))? {
        "symmetric" => {
            let other = if receiver.public_key() == sent.sender { sent.recipient } else { sent.sender };
            let key = NegotiatedSecret::new(receiver, &other).key();
            if at(doc, &format!("{key_path}.key")).is_ok() {
                report.bytes(format!("{key_path}.key"), &hex_at(doc, &format!("{key_path}.key"))?, &key);
            }
            payload::open_symmetric(&key, &message.payload)
        }
        _ => payload::open_asymmetric(receiver, &message.payload),
    })
}
