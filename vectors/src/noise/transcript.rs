//! Replays a `jsnoise-peer/transcript/v1` handshake transcript from its inputs alone and compares
//! every wire message, handshake hash, nametag, authcode, split key, nametag secret and transport
//! message with the recorded values.

use serde_json::Value;
use status_1to1::ScriptedEntropy;
use status_1to1::crypto::PublicKey;
use status_1to1::noise::symmetric::SymmetricState;
use status_1to1::noise::{
    Direction, Handshake, HandshakeConfig, HandshakePattern, PayloadV2, Psk, Role, Token, TransportState,
};
use status_1to1::waku::WakuMessage;

use super::{key_pair_at, nametag_at, pattern_of, render_message};
use crate::json::{VectorError, array_at, at, hex_at, hex_n_at, opt_str_at, str_at, u64_at};
use crate::report::Report;

/// The states a replay went through: reused by the negative cases, which start from them.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// `[initiator, responder]` before each handshake message.
    pub before_message: Vec<[Handshake; 2]>,
    /// `[initiator, responder]` right after the split, before any transport message.
    pub after_split: Option<[TransportState; 2]>,
}

/// Verifies one transcript document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    replay(doc, report).map(|_| ())
}

/// Replays a transcript, checking every recorded value, and returns the states it reached.
pub fn replay(doc: &Value, report: &mut Report) -> Result<Replayed, VectorError> {
    let pattern = pattern_of(doc)?;
    check_pattern_table(doc, pattern, report)?;
    let [mut initiator, mut responder] = initial_handshakes(doc, pattern, report)?;
    let mut replayed = Replayed { before_message: Vec::new(), after_split: None };
    let mut wires = Vec::new();
    for (i, msg) in array_at(doc, "handshake")?.iter().enumerate() {
        replayed.before_message.push([initiator.clone(), responder.clone()]);
        let (writer, reader) = match str_at(msg, "writer")? {
            "initiator" => (&mut initiator, &mut responder),
            _ => (&mut responder, &mut initiator),
        };
        match replay_handshake_message(msg, &format!("handshake.{i}"), writer, reader, report)? {
            Some(wire) => wires.push(wire),
            None => return Ok(replayed),
        }
    }
    let (Some(mut init), Some(mut resp)) =
        (finalize(initiator, "split.initiator", report), finalize(responder, "split.responder", report))
    else {
        return Ok(replayed);
    };
    replayed.after_split = Some([init.clone(), resp.clone()]);
    check_split(doc, "split.initiator", &init, report)?;
    check_split(doc, "split.responder", &resp, report)?;
    let transport_wires = replay_transport(doc, &mut init, &mut resp, report)?;
    if at(doc, "waku_message_example").is_ok() {
        check_waku_message_example(doc, report)?;
    }
    if at(doc, "wakupairing_object_check").is_ok() {
        check_pairing_object(doc, &wires, &transport_wires, report)?;
    }
    Ok(replayed)
}

fn check_pattern_table(doc: &Value, pattern: HandshakePattern, report: &mut Report) -> Result<(), VectorError> {
    report.value("pattern.protocol_id", u64_at(doc, "pattern.protocol_id")?, u64::from(pattern.protocol_id()));
    let ours: Vec<String> = pattern.pre_messages().iter().map(render_message).collect();
    let theirs: Vec<&str> = array_at(doc, "pattern.pre_messages")?.iter().filter_map(Value::as_str).collect();
    report.value("pattern.pre_messages", theirs.join(" | "), ours.join(" | "));
    let ours: Vec<String> = pattern.messages().iter().map(render_message).collect();
    let theirs: Vec<&str> = array_at(doc, "pattern.messages")?.iter().filter_map(Value::as_str).collect();
    report.value("pattern.messages", theirs.join(" | "), ours.join(" | "));
    Ok(())
}

pub(crate) fn side_config(doc: &Value, pattern: HandshakePattern, role: Role) -> Result<HandshakeConfig, VectorError> {
    let (me, peer) = match role {
        Role::Initiator => ("initiator", "responder"),
        Role::Responder => ("responder", "initiator"),
    };
    let mut config = HandshakeConfig::new(pattern, role)
        .prologue(hex_at(doc, "inputs.prologue")?)
        .local_static(key_pair_at(doc, &format!("inputs.{me}.static.sk"))?);
    let psk = hex_at(doc, "inputs.psk")?;
    if !psk.is_empty() {
        let bytes: [u8; 32] = psk.try_into().map_err(|_| VectorError::BadHex("inputs.psk".into()))?;
        config = config.psk(Psk::from_bytes(bytes));
    }
    for pre in pattern.pre_messages() {
        let ours = matches!(
            (role, pre.direction),
            (Role::Initiator, Direction::InitiatorToResponder) | (Role::Responder, Direction::ResponderToInitiator)
        );
        for token in pre.tokens {
            config = match (token, ours) {
                (Token::S, false) => {
                    config.remote_static(PublicKey::from_bytes(hex_n_at(doc, &format!("inputs.{peer}.static.pk"))?))
                }
                (Token::E, true) => {
                    config.local_ephemeral(key_pair_at(doc, &format!("inputs.{me}.ephemeral_pre_message.sk"))?)
                }
                (Token::E, false) => config.remote_ephemeral(PublicKey::from_bytes(hex_n_at(
                    doc,
                    &format!("inputs.{peer}.ephemeral_pre_message.pk"),
                )?)),
                _ => config,
            };
        }
    }
    Ok(config)
}

fn initial_handshakes(
    doc: &Value,
    pattern: HandshakePattern,
    report: &mut Report,
) -> Result<[Handshake; 2], VectorError> {
    let name_state = SymmetricState::initialize(pattern.protocol_name());
    report.bytes(
        "symmetric_init.h_protocol_name",
        &hex_at(doc, "symmetric_init.h_protocol_name")?,
        name_state.handshake_hash(),
    );
    let mut out = Vec::with_capacity(2);
    for (role, label) in [(Role::Initiator, "initiator"), (Role::Responder, "responder")] {
        let hs = Handshake::new(side_config(doc, pattern, role)?)
            .map_err(|e| VectorError::Unsupported { path: format!("inputs.{label}"), value: e.to_string() })?;
        let path = format!("symmetric_init.{label}_state_after_init.h");
        report.bytes(path, &hex_at(doc, &format!("symmetric_init.{label}_state_after_init.h"))?, hs.handshake_hash());
        out.push(hs);
    }
    out.try_into().map_err(|_| VectorError::Missing("inputs".into()))
}

/// Writes, checks and reads one handshake message; returns its wire bytes, or `None` after a
/// failed step (later steps would only repeat the failure).
fn replay_handshake_message(
    msg: &Value,
    path: &str,
    writer: &mut Handshake,
    reader: &mut Handshake,
    report: &mut Report,
) -> Result<Option<Vec<u8>>, VectorError> {
    let nametag = nametag_at(msg, "nametag")?;
    if str_at(msg, "nametag_source")? == "hkdf" {
        report.value(format!("{path}.nametag (hkdf of writer h)"), nametag, writer.next_hkdf_nametag());
    }
    let mut ephemerals = Vec::new();
    for (j, e) in array_at(msg, "ephemeral_generated").unwrap_or_default().iter().enumerate() {
        ephemerals
            .push(hex_at(e, "sk").map_err(|_| VectorError::BadHex(format!("{path}.ephemeral_generated.{j}.sk")))?);
    }
    let mut entropy = ScriptedEntropy::new(ephemerals);
    let written = match writer.write_message(&mut entropy, &hex_at(msg, "payload")?, &nametag) {
        Ok(m) => m,
        Err(e) => {
            report.step_failed(format!("{path} (write)"), e);
            return Ok(None);
        }
    };
    let wire = written.encode().unwrap_or_default();
    report.bytes(format!("{path}.wire"), &hex_at(msg, "wire")?, &wire);
    report.bytes(
        format!("{path}.writer_state_after.h"),
        &hex_at(msg, "writer_state_after.h")?,
        writer.handshake_hash(),
    );
    let parsed = match PayloadV2::decode(&hex_at(msg, "wire")?) {
        Ok(p) => p,
        Err(e) => {
            report.step_failed(format!("{path}.wire (parse)"), e);
            return Ok(None);
        }
    };
    report.value(
        format!("{path}.payload_v2.handshake_message_len"),
        u64_at(msg, "payload_v2.handshake_message_len")?,
        parsed.handshake_message_len() as u64,
    );
    report.value(
        format!("{path}.payload_v2.transport_message_len"),
        u64_at(msg, "payload_v2.transport_message_len")?,
        parsed.transport_message.len() as u64,
    );
    match reader.read_message(&parsed, &nametag) {
        Ok(payload) => report.bytes(format!("{path}.reader_payload"), &hex_at(msg, "reader_payload")?, &payload),
        Err(e) => {
            report.step_failed(format!("{path} (read)"), e);
            return Ok(None);
        }
    }
    report.bytes(
        format!("{path}.reader_state_after.h"),
        &hex_at(msg, "reader_state_after.h")?,
        reader.handshake_hash(),
    );
    report.value(format!("{path}.authcode_after"), str_at(msg, "authcode_after")?, reader.authcode().as_str());
    report.bytes(
        format!("{path}.next_nametag_hkdf"),
        &hex_at(msg, "next_nametag_hkdf")?,
        reader.next_hkdf_nametag().as_bytes(),
    );
    Ok(Some(wire))
}

fn finalize(hs: Handshake, path: &str, report: &mut Report) -> Option<TransportState> {
    match hs.finalize() {
        Ok(t) => Some(t),
        Err(e) => {
            report.step_failed(path, e);
            None
        }
    }
}

fn check_split(doc: &Value, path: &str, t: &TransportState, report: &mut Report) -> Result<(), VectorError> {
    report.bytes(
        format!("{path}.cs_outbound.k"),
        &hex_at(doc, &format!("{path}.cs_outbound.k"))?,
        t.outbound_key().as_bytes(),
    );
    report.bytes(
        format!("{path}.cs_inbound.k"),
        &hex_at(doc, &format!("{path}.cs_inbound.k"))?,
        t.inbound_key().as_bytes(),
    );
    report.bytes(
        format!("{path}.nametag_secret_outbound"),
        &hex_at(doc, &format!("{path}.nametag_secret_outbound"))?,
        t.outbound_nametag_secret().as_bytes(),
    );
    report.bytes(format!("{path}.h"), &hex_at(doc, &format!("{path}.h"))?, t.handshake_hash());
    if let Some(rs) = opt_str_at(doc, &format!("{path}.rs")) {
        let ours = t.remote_static().map(|k| hex::encode(k.as_bytes())).unwrap_or_default();
        report.value(format!("{path}.rs"), rs, ours.as_str());
    }
    let outbound = t.outbound_nametag_secret();
    for (i, tag) in array_at(doc, &format!("{path}.nametags_outbound_head"))?.iter().enumerate() {
        let expected = tag.as_str().and_then(|s| hex::decode(s).ok()).unwrap_or_default();
        report.bytes(format!("{path}.nametags_outbound_head.{i}"), &expected, outbound.nametag(i as u64).as_bytes());
    }
    let window: Vec<_> = t.inbound_nametags().window().collect();
    for (i, tag) in array_at(doc, &format!("{path}.nametags_inbound_head"))?.iter().enumerate() {
        let expected = tag.as_str().and_then(|s| hex::decode(s).ok()).unwrap_or_default();
        let ours = window.get(i).map(|t| t.as_bytes().to_vec()).unwrap_or_default();
        report.bytes(format!("{path}.nametags_inbound_head.{i}"), &expected, &ours);
    }
    Ok(())
}

fn replay_transport(
    doc: &Value,
    init: &mut TransportState,
    resp: &mut TransportState,
    report: &mut Report,
) -> Result<Vec<(String, Vec<u8>)>, VectorError> {
    let mut wires = Vec::new();
    for (i, msg) in array_at(doc, "transport")?.iter().enumerate() {
        let path = format!("transport.{i}");
        let from = str_at(msg, "from")?;
        let (sender, receiver) = if from == "initiator" { (&mut *init, &mut *resp) } else { (&mut *resp, &mut *init) };
        report.bytes(format!("{path}.nametag"), &hex_at(msg, "nametag")?, sender.next_outbound_nametag().as_bytes());
        report.value(format!("{path}.nonce"), u64_at(msg, "nonce")?, sender.sent());
        let wire = match sender.write_message(&hex_at(msg, "plaintext")?) {
            Ok(w) => w,
            Err(e) => {
                report.step_failed(format!("{path} (write)"), e);
                break;
            }
        };
        report.bytes(format!("{path}.wire"), &hex_at(msg, "wire")?, &wire);
        match receiver.read_message(&hex_at(msg, "wire")?) {
            Ok(plain) => report.bytes(format!("{path}.decrypted"), &hex_at(msg, "decrypted")?, &plain),
            Err(e) => report.step_failed(format!("{path} (read)"), e),
        }
        wires.push((from.to_owned(), wire));
    }
    Ok(wires)
}

fn check_waku_message_example(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let ex = at(doc, "waku_message_example")?;
    let timestamp: i64 = str_at(ex, "decoded_by_reader.timestamp")?
        .parse()
        .map_err(|_| VectorError::Missing("waku_message_example.decoded_by_reader.timestamp".into()))?;
    let ours = WakuMessage::noise(hex_at(ex, "payload_v2_wire")?, str_at(ex, "content_topic")?, timestamp, true);
    report.bytes("waku_message_example.wire", &hex_at(ex, "wire")?, &ours.to_bytes());
    match WakuMessage::from_bytes(&hex_at(ex, "wire")?) {
        Ok(m) => {
            report.value(
                "waku_message_example.decoded_by_reader.version",
                u64_at(ex, "decoded_by_reader.version")?,
                u64::from(m.effective_version()),
            );
            report.value(
                "waku_message_example.decoded_by_reader.content_topic",
                str_at(ex, "decoded_by_reader.content_topic")?,
                m.content_topic.as_str(),
            );
        }
        Err(e) => report.step_failed("waku_message_example.wire (decode)", e),
    }
    Ok(())
}

fn check_pairing_object(
    doc: &Value,
    handshake_wires: &[Vec<u8>],
    transport_wires: &[(String, Vec<u8>)],
    report: &mut Report,
) -> Result<(), VectorError> {
    let obj = at(doc, "wakupairing_object_check")?;
    for (i, wire) in array_at(obj, "handshake_payload_v2")?.iter().enumerate() {
        let expected = wire.as_str().and_then(|s| hex::decode(s).ok()).unwrap_or_default();
        let ours = handshake_wires.get(i).cloned().unwrap_or_default();
        report.bytes(format!("wakupairing_object_check.handshake_payload_v2.{i}"), &expected, &ours);
    }
    for (field, from) in [("secure_a_to_b_payload_v2", "initiator"), ("secure_b_to_a_payload_v2", "responder")] {
        let ours = transport_wires.iter().find(|(f, _)| f == from).map(|(_, w)| w.clone()).unwrap_or_default();
        report.bytes(format!("wakupairing_object_check.{field}"), &hex_at(obj, field)?, &ours);
    }
    Ok(())
}
