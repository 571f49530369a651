//! Drives the two pairing state machines (`status_1to1::pairing`) through the js-noise WakuPairing
//! transcript (`waku-pairing.json`): the entropy each machine draws is scripted with the
//! transcript's ephemeral keys, `r`, `s` and QR nametag, and every value a machine shows or
//! publishes is compared with the transcript: QR string, nametag, prologue, commitments, the
//! three handshake messages (as WakuMessages and as PayloadV2), the authcode on both sides, the
//! split, and the transport messages sent through the paired sessions. Also checks the `qr`
//! section of `primitives.json` against the QR codec.

use serde_json::Value;
use status_1to1::crypto::PublicKey;
use status_1to1::pairing::{
    AbortReason, Commitment, ContentTopicParams, OwnerEvent, PairingAction, PairingConfig, PairingError, PairingQr,
    PairingState, QrError, QrOwner, Scanner, ScannerEvent,
};
use status_1to1::waku::WakuMessage;
use status_1to1::{ScriptedEntropy, Timestamp};

use super::{key_pair_at, nametag_at};
use crate::json::{VectorError, array_at, at, hex_at, hex_n_at, str_at};
use crate::report::Report;

/// The time js-noise stamped on the example WakuMessage (`waku_message_example`).
const EXAMPLE_TIME: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// The two machines right after the scanner's message b reached the owner, before confirmation.
#[derive(Debug, Clone)]
pub struct AfterMessageB {
    /// The QR owner (device B).
    pub owner: QrOwner,
    /// The scanner (device A).
    pub scanner: Scanner,
}

/// Verifies the `pairing` section of a WakuPairing transcript through the state machines.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let Some(mut machines) = drive_to_message_b(doc, report)? else { return Ok(()) };
    confirm_and_finish(doc, &mut machines, report)
}

fn config(doc: &Value) -> Result<PairingConfig, VectorError> {
    let params = ContentTopicParams::new(
        str_at(doc, "inputs.application_name")?,
        str_at(doc, "inputs.application_version")?,
        str_at(doc, "inputs.shard_id")?,
    )
    .map_err(|e| VectorError::Unsupported { path: "inputs.application_name".into(), value: e.to_string() })?;
    Ok(PairingConfig::new(params))
}

fn entropy(doc: &Value, paths: &[&str]) -> Result<ScriptedEntropy, VectorError> {
    let chunks: Result<Vec<Vec<u8>>, VectorError> = paths.iter().map(|p| hex_at(doc, p)).collect();
    Ok(ScriptedEntropy::new(chunks?))
}

fn step_failed<T>(report: &mut Report, field: &str, result: Result<T, PairingError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            report.step_failed(field, e);
            None
        }
    }
}

fn published(actions: &[PairingAction]) -> Vec<&WakuMessage> {
    actions.iter().filter_map(|a| if let PairingAction::Publish(m) = a { Some(m) } else { None }).collect()
}

fn authcode(actions: &[PairingAction]) -> String {
    actions
        .iter()
        .find_map(|a| if let PairingAction::ShowAuthcode(c) = a { Some(c.digits()) } else { None })
        .unwrap_or_default()
}

fn check_published(report: &mut Report, field: &str, expected_wire: &[u8], topic: &str, actions: &[PairingAction]) {
    let messages = published(actions);
    report.value(format!("{field} (messages published)"), 1, messages.len());
    if let Some(m) = messages.first() {
        report.bytes(format!("{field}.wire"), expected_wire, &m.payload);
        report.value(format!("{field}.content_topic"), topic, m.content_topic.as_str());
    }
}

/// Exposes the QR, scans it, sends message b and lets the owner read it; `None` after a failure.
pub fn drive_to_message_b(doc: &Value, report: &mut Report) -> Result<Option<AfterMessageB>, VectorError> {
    let config = config(doc)?;
    let topic = str_at(doc, "pairing.content_topic")?;
    let mut owner = QrOwner::new(config.clone(), key_pair_at(doc, "inputs.responder.static.sk")?);
    let mut scanner = Scanner::new(config, key_pair_at(doc, "inputs.initiator.static.sk")?);
    let mut owner_entropy = entropy(
        doc,
        &["inputs.responder.ephemeral_pre_message.sk", "inputs.responder.r.value", "inputs.qr_nametag.value"],
    )?;
    let Some(shown) =
        step_failed(report, "owner ExposeQr", owner.handle(OwnerEvent::ExposeQr, EXAMPLE_TIME, &mut owner_entropy))
    else {
        return Ok(None);
    };
    let Some(PairingAction::ShowQr { qr, nametag, .. }) = shown.first() else {
        report.fail("owner ExposeQr", "ShowQr".into(), format!("{shown:?}"));
        return Ok(None);
    };
    report.value("pairing.qr (owner shows)", str_at(doc, "pairing.qr")?, qr.to_string().as_str());
    report.value("inputs.qr_nametag (owner draws)", nametag_at(doc, "inputs.qr_nametag.value")?, *nametag);
    report.bytes("inputs.prologue (owner)", &hex_at(doc, "inputs.prologue")?, &qr.prologue());
    report.bytes(
        "pairing.responder_commitment.value",
        &hex_at(doc, "pairing.responder_commitment.value")?,
        qr.commitment().as_bytes(),
    );
    report.value(
        "pairing.content_topic (owner subscribes)",
        true,
        shown.contains(&PairingAction::Subscribe(topic.into())),
    );

    let mut scanner_entropy = entropy(doc, &["inputs.initiator.s.value", "inputs.initiator.ephemeral_message1.sk"])?;
    let qr_text = str_at(doc, "pairing.qr")?;
    let scan = ScannerEvent::Scan { qr: qr_text, nametag: nametag_at(doc, "inputs.qr_nametag.value")? };
    let Some(sent) = step_failed(report, "scanner Scan", scanner.handle(scan, EXAMPLE_TIME, &mut scanner_entropy))
    else {
        return Ok(None);
    };
    check_published(report, "handshake.0 (scanner publishes)", &hex_at(doc, "handshake.0.wire")?, topic, &sent);
    if let (Some(m), Ok(example)) = (published(&sent).first(), hex_at(doc, "waku_message_example.wire")) {
        report.bytes("waku_message_example.wire (scanner's WakuMessage)", &example, &m.to_bytes());
    }
    report.value("pairing.authcode (scanner shows)", str_at(doc, "pairing.authcode")?, authcode(&sent).as_str());
    if let Some(exchange) = exchange_of(scanner.state()) {
        report.bytes(
            "pairing.initiator_commitment.value",
            &hex_at(doc, "pairing.initiator_commitment.value")?,
            &hex_at(doc, "handshake.0.payload")?,
        );
        report.bytes(
            "scanner's peer commitment = QR commitment",
            qr.commitment().as_bytes(),
            exchange.peer_commitment().as_bytes(),
        );
    }
    let Some(message_b) = published(&sent).first().map(|m| (*m).clone()) else { return Ok(None) };
    let echo = scanner.handle(ScannerEvent::Message(&message_b), EXAMPLE_TIME, &mut scanner_entropy);
    report.value("scanner ignores the echo of message b", Err(PairingError::UnexpectedNametag), echo.map(|_| ()));

    let Some(read) = step_failed(
        report,
        "owner reads message b",
        owner.handle(OwnerEvent::Message(&message_b), EXAMPLE_TIME, &mut owner_entropy),
    ) else {
        return Ok(None);
    };
    report.value("pairing.authcode (owner shows)", str_at(doc, "pairing.authcode")?, authcode(&read).as_str());
    if let Some(code) = owner.authcode() {
        report.value(
            "pairing.authcode_nwaku_formula_little_endian_unpadded",
            str_at(doc, "pairing.authcode_nwaku_formula_little_endian_unpadded")?,
            code.nwaku_form().as_str(),
        );
    }
    if let Some(exchange) = exchange_of(owner.state()) {
        report.bytes(
            "owner's peer commitment = handshake.0.reader_payload",
            &hex_at(doc, "handshake.0.reader_payload")?,
            exchange.peer_commitment().as_bytes(),
        );
    }
    report.value("scanner scripted entropy fully used", 0, scanner_entropy.remaining() + scanner_entropy.mismatches());
    report.value("owner scripted entropy fully used", 0, owner_entropy.remaining() + owner_entropy.mismatches());
    Ok(Some(AfterMessageB { owner, scanner }))
}

fn exchange_of(state: &PairingState) -> Option<&status_1to1::pairing::Exchange> {
    match state {
        PairingState::AwaitingConfirmation { exchange, .. } | PairingState::AwaitingPeerStatic(exchange) => {
            Some(exchange)
        }
        _ => None,
    }
}

/// Both users confirm; messages c and d flow; both sides pair; the split and transport match.
fn confirm_and_finish(doc: &Value, m: &mut AfterMessageB, report: &mut Report) -> Result<(), VectorError> {
    let topic = str_at(doc, "pairing.content_topic")?;
    let mut none = ScriptedEntropy::new([]);
    let now = EXAMPLE_TIME;
    let Some(sent_c) =
        step_failed(report, "owner confirms", m.owner.handle(OwnerEvent::ConfirmAuthcode, now, &mut none))
    else {
        return Ok(());
    };
    check_published(report, "handshake.1 (owner publishes)", &hex_at(doc, "handshake.1.wire")?, topic, &sent_c);
    let Some(confirmed) =
        step_failed(report, "scanner confirms", m.scanner.handle(ScannerEvent::ConfirmAuthcode, now, &mut none))
    else {
        return Ok(());
    };
    report.value("scanner publishes nothing on confirmation", 0, published(&confirmed).len());
    let Some(message_c) = published(&sent_c).first().map(|m| (*m).clone()) else { return Ok(()) };
    let echo = m.owner.handle(OwnerEvent::Message(&message_c), now, &mut none);
    report.value("owner ignores the echo of message c", Err(PairingError::UnexpectedNametag), echo.map(|_| ()));
    let Some(sent_d) = step_failed(
        report,
        "scanner reads message c",
        m.scanner.handle(ScannerEvent::Message(&message_c), now, &mut none),
    ) else {
        return Ok(());
    };
    check_published(report, "handshake.2 (scanner publishes)", &hex_at(doc, "handshake.2.wire")?, topic, &sent_d);
    let responder_pk = PublicKey::from_bytes(hex_n_at(doc, "inputs.responder.static.pk")?);
    let initiator_pk = PublicKey::from_bytes(hex_n_at(doc, "inputs.initiator.static.pk")?);
    report.value(
        "scanner paired with the owner's static key",
        true,
        sent_d.contains(&PairingAction::Paired { remote_static: responder_pk }),
    );
    let Some(message_d) = published(&sent_d).first().map(|m| (*m).clone()) else { return Ok(()) };
    let Some(done) =
        step_failed(report, "owner reads message d", m.owner.handle(OwnerEvent::Message(&message_d), now, &mut none))
    else {
        return Ok(());
    };
    report.value(
        "owner paired with the scanner's static key",
        vec![PairingAction::Paired { remote_static: initiator_pk }],
        done,
    );
    check_split_and_transport(doc, m, report)
}

fn check_split_and_transport(doc: &Value, m: &mut AfterMessageB, report: &mut Report) -> Result<(), VectorError> {
    let now = EXAMPLE_TIME;
    let mut none = ScriptedEntropy::new([]);
    for (path, t) in [
        ("split.initiator", m.scanner.session_mut().map(|s| s.transport().clone())),
        ("split.responder", m.owner.session_mut().map(|s| s.transport().clone())),
    ] {
        let Some(t) = t else {
            report.fail(path, "a paired session".into(), "none".into());
            continue;
        };
        report.bytes(
            format!("{path}.cs_outbound.k (session)"),
            &hex_at(doc, &format!("{path}.cs_outbound.k"))?,
            t.outbound_key().as_bytes(),
        );
        report.bytes(
            format!("{path}.cs_inbound.k (session)"),
            &hex_at(doc, &format!("{path}.cs_inbound.k"))?,
            t.inbound_key().as_bytes(),
        );
        report.bytes(
            format!("{path}.nametag_secret_outbound (session)"),
            &hex_at(doc, &format!("{path}.nametag_secret_outbound"))?,
            t.outbound_nametag_secret().as_bytes(),
        );
        report.bytes(
            format!("{path}.nametag_secret_inbound (session)"),
            &hex_at(doc, &format!("{path}.nametag_secret_inbound"))?,
            t.inbound_nametag_secret().as_bytes(),
        );
        report.bytes(format!("{path}.h (session)"), &hex_at(doc, &format!("{path}.h"))?, t.handshake_hash());
    }
    for (i, msg) in array_at(doc, "transport")?.iter().enumerate() {
        let path = format!("transport.{i} (paired session)");
        let plaintext = hex_at(msg, "plaintext")?;
        let from_initiator = str_at(msg, "from")? == "initiator";
        let sent = if from_initiator {
            m.scanner.handle(ScannerEvent::Send(&plaintext), now, &mut none)
        } else {
            m.owner.handle(OwnerEvent::Send(&plaintext), now, &mut none)
        };
        let Some(sent) = step_failed(report, &format!("{path} send"), sent) else { break };
        let Some(wire) = published(&sent).first().map(|m| (*m).clone()) else { break };
        report.bytes(format!("{path}.wire"), &hex_at(msg, "wire")?, &wire.payload);
        let received = if from_initiator {
            m.owner.handle(OwnerEvent::Message(&wire), now, &mut none)
        } else {
            m.scanner.handle(ScannerEvent::Message(&wire), now, &mut none)
        };
        let Some(received) = step_failed(report, &format!("{path} receive"), received) else { break };
        report.value(format!("{path}.decrypted"), vec![PairingAction::Received(hex_at(msg, "decrypted")?)], received);
    }
    Ok(())
}

/// Delivers a message 2 (c) whose `r` does not open the QR commitment (`negative.json`) to the
/// scanner after its confirmation: the scanner must abort with a commitment mismatch and publish
/// nothing (its static key never leaves).
pub fn commitment_mismatch(pairing: &Value, wire: &[u8], path: &str, report: &mut Report) -> Result<(), VectorError> {
    let mut scratch = Report::new("companion", "pairing");
    let Some(mut machines) = drive_to_message_b(pairing, &mut scratch)? else {
        report.fail(format!("{path}: state machines"), "reach message b".into(), "failed".into());
        return Ok(());
    };
    let mut none = ScriptedEntropy::new([]);
    let topic = str_at(pairing, "pairing.content_topic")?;
    let message = WakuMessage::noise(wire.to_vec(), topic, EXAMPLE_TIME.as_nanos_i64(), true);
    let _ = machines.scanner.handle(ScannerEvent::ConfirmAuthcode, EXAMPLE_TIME, &mut none);
    let result = machines.scanner.handle(ScannerEvent::Message(&message), EXAMPLE_TIME, &mut none);
    report.value(
        format!("{path}: scanner state machine aborts"),
        Ok(vec![PairingAction::Aborted(AbortReason::CommitmentMismatch)]),
        result,
    );
    Ok(())
}

/// Checks the `qr` section of `primitives.json`: encoding from fields, prologue, and the three
/// decode-leniency cases.
pub fn verify_qr_primitives(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let qr = at(doc, "qr")?;
    let params = ContentTopicParams::new(
        str_at(qr, "fields.application_name")?,
        str_at(qr, "fields.application_version")?,
        str_at(qr, "fields.shard_id")?,
    )
    .map_err(|e| VectorError::Unsupported { path: "qr.fields".into(), value: e.to_string() })?;
    let ours = PairingQr::new(
        params,
        PublicKey::from_bytes(hex_n_at(qr, "fields.ephemeral_pk")?),
        Commitment::from_bytes(hex_n_at(qr, "fields.committed_static_key")?),
    );
    report.value("qr.string", str_at(qr, "string")?, ours.to_string().as_str());
    report.bytes("qr.prologue", &hex_at(qr, "prologue")?, &ours.prologue());
    report.value("qr.string (parse)", Ok(ours.clone()), PairingQr::parse(str_at(qr, "string")?));
    let unpadded = PairingQr::parse(str_at(qr, "decode_leniency.unpadded.input")?).map(|q| q.to_string());
    report.value(
        "qr.decode_leniency.unpadded (reserialised)",
        Ok(str_at(qr, "decode_leniency.unpadded.js.reserialised")?.to_owned()),
        unpadded,
    );
    let standard = PairingQr::parse(str_at(qr, "decode_leniency.standard_alphabet.input")?);
    report.value("qr.decode_leniency.standard_alphabet (refused)", true, matches!(standard, Err(QrError::Base64(_))));
    let four = PairingQr::parse(str_at(qr, "decode_leniency.four_fields.input")?);
    report.value("qr.decode_leniency.four_fields", Err(QrError::FieldCount(4)), four);
    Ok(())
}
