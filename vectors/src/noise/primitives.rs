//! Verifies a `jsnoise-peer/primitives/v1` document: protocol-name hashes, Noise HKDF, nametag and
//! authcode derivations, the nametag buffer, PKCS#7 padding, ChaChaPoly, commitments and PayloadV2
//! serialisation and parsing, and the pairing QR codec.

use serde_json::Value;
use status_1to1::crypto::chachapoly::{noise_nonce, seal_into};
use status_1to1::crypto::hash::{hkdf_blocks, sha256};
use status_1to1::noise::padding::pad_into;
use status_1to1::noise::symmetric::SymmetricState;
use status_1to1::noise::{
    MessageNametag, NametagSecret, NoisePublicKey, PayloadV2, ProtocolId, authcode_for_hash, handshake_nametag,
};

use super::pattern_by_name;
use crate::json::{VectorError, array_at, at, hex_at, hex_n_at, str_at, u64_at};
use crate::report::Report;

/// Verifies one primitives document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    protocol_names(doc, report)?;
    noise_hkdf(doc, report)?;
    from_handshake_hash(doc, report)?;
    nametag_buffer(doc, report)?;
    pkcs7(doc, report)?;
    chachapoly(doc, report)?;
    commitment(doc, report)?;
    payload_examples(doc, report)?;
    parse_behaviour(doc, report)?;
    if at(doc, "qr").is_ok() {
        super::pairing::verify_qr_primitives(doc, report)?;
    }
    Ok(())
}

fn protocol_names(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "protocol_names")?.iter().enumerate() {
        let name = str_at(case, "name")?;
        let path = format!("protocol_names.{i}");
        let state = SymmetricState::initialize(name);
        report.bytes(format!("{path}.h0"), &hex_at(case, "h0")?, state.handshake_hash());
        let id = pattern_by_name(name).map(|p| u64::from(p.protocol_id()));
        report.value(format!("{path}.protocol_id"), Some(u64_at(case, "protocol_id")?), id);
    }
    Ok(())
}

fn noise_hkdf(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "noise_hkdf.cases")?.iter().enumerate() {
        let blocks = hkdf_blocks::<3>(&hex_at(case, "ck")?, &hex_at(case, "ikm")?);
        for (j, block) in blocks.iter().enumerate() {
            let field = format!("output{}", j + 1);
            report.bytes(format!("noise_hkdf.cases.{i}.{field}"), &hex_at(case, &field)?, block);
        }
    }
    Ok(())
}

fn from_handshake_hash(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "from_handshake_hash.cases")?.iter().enumerate() {
        let path = format!("from_handshake_hash.cases.{i}");
        let h = hex_n_at::<32>(case, "h")?;
        report.bytes(
            format!("{path}.handshake_message_nametag"),
            &hex_at(case, "handshake_message_nametag")?,
            handshake_nametag(&h).as_bytes(),
        );
        let [s1, s2] = hkdf_blocks::<2>(&h, &[]);
        report.bytes(format!("{path}.nametag_secret_1"), &hex_at(case, "nametag_secret_1")?, &s1);
        report.bytes(format!("{path}.nametag_secret_2"), &hex_at(case, "nametag_secret_2")?, &s2);
        report.value(format!("{path}.authcode_js"), str_at(case, "authcode_js")?, authcode_for_hash(&h).as_str());
    }
    Ok(())
}

fn nametag_buffer(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let secret = NametagSecret::from_bytes(hex_n_at::<32>(doc, "nametag_buffer.secret")?);
    for (i, tag) in array_at(doc, "nametag_buffer.nametags")?.iter().enumerate() {
        let expected = tag.as_str().and_then(|t| hex::decode(t).ok()).unwrap_or_default();
        report.bytes(format!("nametag_buffer.nametags.{i}"), &expected, secret.nametag(i as u64).as_bytes());
    }
    Ok(())
}

fn pkcs7(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "pkcs7.cases")?.iter().enumerate() {
        let len = u64_at(case, "plaintext_len")? as usize;
        let mut padded = Vec::new();
        pad_into(&vec![0x41; len], &mut padded);
        report.value(format!("pkcs7.cases.{i}.padded_len"), u64_at(case, "padded_len")?, padded.len() as u64);
        report.value(
            format!("pkcs7.cases.{i}.pad_byte"),
            u64_at(case, "pad_byte")?,
            u64::from(padded.last().copied().unwrap_or(0)),
        );
    }
    Ok(())
}

fn chachapoly(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "chachapoly.cases")?.iter().enumerate() {
        let path = format!("chachapoly.cases.{i}");
        let nonce = noise_nonce(u64_at(case, "n")?);
        report.bytes(format!("{path}.nonce_bytes"), &hex_at(case, "nonce_bytes")?, &nonce);
        let mut out = Vec::new();
        seal_into(&hex_n_at::<32>(case, "key")?, &nonce, &hex_at(case, "ad")?, &hex_at(case, "plaintext")?, &mut out);
        report.bytes(format!("{path}.ciphertext_and_tag"), &hex_at(case, "ciphertext_and_tag")?, &out);
    }
    Ok(())
}

fn commitment(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let ours = sha256(&[&hex_at(doc, "commitment.pk")?, &hex_at(doc, "commitment.r")?]);
    report.bytes("commitment.value", &hex_at(doc, "commitment.value")?, &ours);
    Ok(())
}

/// Builds a PayloadV2 from a `fields` object, or `None` when js-noise serialised something our
/// typed encoder cannot represent (a 32-byte key under flag 1, an empty nametag).
fn payload_from_fields(fields: &Value) -> Result<Option<PayloadV2>, VectorError> {
    let Some(nametag) = MessageNametag::from_slice(&hex_at(fields, "message_nametag")?) else {
        return Ok(None);
    };
    let id = u64_at(fields, "protocol_id")?;
    let Some(protocol_id) = u8::try_from(id).ok().and_then(ProtocolId::from_u8) else {
        return Ok(None);
    };
    let mut keys = Vec::new();
    for key in array_at(fields, "handshake_message")? {
        let pk = hex_at(key, "pk")?;
        let parsed = match u64_at(key, "flag")? {
            0 => pk
                .as_slice()
                .try_into()
                .ok()
                .map(|b| NoisePublicKey::Clear(status_1to1::crypto::PublicKey::from_bytes(b))),
            1 => pk.as_slice().try_into().ok().map(NoisePublicKey::Encrypted),
            _ => None,
        };
        match parsed {
            Some(k) => keys.push(k),
            None => return Ok(None),
        }
    }
    Ok(Some(PayloadV2 {
        message_nametag: nametag,
        protocol_id,
        handshake_message: keys,
        transport_message: hex_at(fields, "transport_message")?,
    }))
}

fn payload_examples(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "payload_v2_examples")?.iter().enumerate() {
        let path = format!("payload_v2_examples.{i}");
        let serialized = hex_at(case, "serialized")?;
        match payload_from_fields(at(case, "fields")?)? {
            Some(payload) => {
                report.bytes(format!("{path}.serialized"), &serialized, &payload.encode().unwrap_or_default());
                report.value(format!("{path} (parse)"), Ok(payload), PayloadV2::decode(&serialized));
            }
            // js-noise wrote bytes its own parser cannot read back; a strict parser must refuse them.
            None => report.value(
                format!("{path} (non-canonical, must be refused)"),
                true,
                PayloadV2::decode(&serialized).is_err(),
            ),
        }
    }
    Ok(())
}

/// We accept exactly the inputs that are the canonical serialisation of what js-noise parsed,
/// plus the canonical inputs js-noise fails on only because of its length-reading bug
/// (`readUIntLE(payload, i, i + 7)` raises `RangeError` when fewer than 15 bytes follow the
/// length field; see `docs/profile.md`).
fn parse_behaviour(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, case) in array_at(doc, "payload_v2_parse_behaviour")?.iter().enumerate() {
        let path = format!("payload_v2_parse_behaviour.{i}");
        let input = hex_at(case, "input")?;
        let ours = PayloadV2::decode(&input).ok();
        let js_range_bug =
            at(case, "js.error").ok().and_then(Value::as_str).is_some_and(|e| e.starts_with("RangeError"));
        let expected = match (at(case, "js.ok")?.as_bool(), at(case, "js.fields")) {
            (Some(true), Ok(fields)) => {
                payload_from_fields(fields)?.filter(|p| p.encode().ok().as_deref() == Some(input.as_slice()))
            }
            _ if js_range_bug => ours.clone().filter(|p| p.encode().ok().as_deref() == Some(input.as_slice())),
            _ => None,
        };
        report.value(format!("{path} ({})", str_at(case, "name")?), expected, ours);
    }
    Ok(())
}
