//! `negative.json`: each case is a mutation of a base message, fed to its receiver at the state
//! its base stage reaches. status-go rejects 17 and accepts 2 (a replayed Double Ratchet message,
//! a forged application signature); we reject all 19, each at the layer that sees the fault
//! (`docs/profile.md` §7.10).

use prost::Message as _;
use serde_json::Value;
use status_1to1::proto::ProtocolMessage;
use status_1to1::statusgo::payload;
use status_1to1::statusgo::topic::NegotiatedSecret;
use status_1to1::statusgo::{SecretKey, app};
use status_1to1::waku::WakuMessage;

use super::replay::World;
use crate::json::{VectorError, array_at, at, bool_at, hex_at, opt_str_at, str_at, u64_at};
use crate::report::Report;

/// Where a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Waku26,
    Encryption,
    Application,
}

/// Verifies every case.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let base = "base_script_events";
    let first_delivery =
        array_at(doc, base)?.iter().position(|e| e.get("type").and_then(Value::as_str) == Some("deliver"));
    for (i, _) in array_at(doc, "cases")?.iter().enumerate() {
        let c = format!("cases.{i}");
        let stage = u64_at(doc, &format!("{c}.base_stage"))?;
        let events = if stage == 1 { first_delivery.unwrap_or(usize::MAX) } else { usize::MAX };
        let mut world = World::new(doc, "random_draws", &mut Report::new("base", "base"))?;
        let mut scratch = Report::new("base", "base");
        world.run_until(doc, base, events, &mut scratch)?;
        report.value(format!("{c} base stage {stage} replays"), 0, scratch.mismatches.len());
        let outcome = receive(doc, &c, &mut world)?;
        report.value(format!("{c} refused, and where"), Some(expected_layer(doc, &c)?), outcome);
    }
    Ok(())
}

/// Our layer for a case: status-go's (its transport layer's missing signature is our 26/ layer),
/// or for the two it accepts, the layer we refuse them at.
fn expected_layer(doc: &Value, c: &str) -> Result<Layer, VectorError> {
    if !bool_at(doc, &format!("{c}.status_go_result.rejected"))? {
        let mutated = at(doc, &format!("{c}.mutated_layers"))?;
        let application = mutated.as_object().is_some_and(|m| m.keys().any(|k| k.starts_with("application")));
        return Ok(if application { Layer::Application } else { Layer::Encryption });
    }
    let layer = opt_str_at(doc, &format!("{c}.status_go_result.error_layer")).unwrap_or_default();
    Ok(if layer.starts_with("waku26") || layer.starts_with("transport") { Layer::Waku26 } else { Layer::Encryption })
}

/// Feeds a case's input to its receiver: `None` if accepted, else the refusing layer.
fn receive(doc: &Value, c: &str, world: &mut World) -> Result<Option<Layer>, VectorError> {
    let bytes = hex_at(doc, &format!("{c}.input_waku_message_protobuf"))?;
    let Ok(message) = WakuMessage::from_bytes(&bytes) else { return Ok(Some(Layer::Waku26)) };
    let (receiver_key, peer) = keys(doc, c, world)?;
    let opened = match peer {
        Some(peer) => {
            payload::open_symmetric(&NegotiatedSecret::new(&receiver_key, &peer.public_key()).key(), &message.payload)
        }
        None => payload::open_asymmetric(&receiver_key, &message.payload),
    };
    let Ok(opened) = opened else { return Ok(Some(Layer::Waku26)) };
    let Ok(protocol_message) = ProtocolMessage::decode(&opened.data[..]) else { return Ok(Some(Layer::Encryption)) };
    let mut draws = std::mem::take(&mut world.draws);
    let (device, _) = world.receiver(doc, &format!("{c}.receiver"))?;
    let handled = device.handle(&opened.signer, &protocol_message, &mut draws);
    world.draws = draws;
    let Ok(handled) = handled else { return Ok(Some(Layer::Encryption)) };
    let unwrapped = app::wrapped_messages(&handled.plaintext).iter().all(|m| app::unwrap(&opened.signer, m).is_ok());
    Ok((!unwrapped).then_some(Layer::Application))
}

/// The receiver's identity key, and the negotiated-topic peer whose key opens a symmetric input.
fn keys(doc: &Value, c: &str, world: &mut World) -> Result<(SecretKey, Option<SecretKey>), VectorError> {
    let (_, receiver) = world.receiver(doc, &format!("{c}.receiver"))?;
    let peer = match opt_str_at(doc, &format!("{c}.negotiated_topic_peer")) {
        Some(name) => Some(
            world.identity(name).cloned().ok_or_else(|| VectorError::Missing(format!("{c}.negotiated_topic_peer")))?,
        ),
        None => None,
    };
    let _ = str_at(doc, &format!("{c}.name"))?;
    Ok((receiver, peer))
}
