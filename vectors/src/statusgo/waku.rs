//! The 26/WAKU2-PAYLOAD and WakuMessage layers of a transcript (filled in with the 26/ layer).

use serde_json::Value;
use status_1to1::statusgo::{PublicKey, SecretKey};

use super::draws::DrawStream;
use super::replay::Sent;
use crate::json::VectorError;
use crate::report::Report;

/// Seals a send's `ProtocolMessage`; returns the WakuMessage bytes.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    _doc: &Value,
    p: &str,
    _sender: &SecretKey,
    _recipient: &PublicKey,
    _negotiated: bool,
    _protocol_message: &[u8],
    draws: &mut DrawStream,
    report: &mut Report,
) -> Result<Option<Vec<u8>>, VectorError> {
    while draws.peek_purpose().is_some_and(|p| p.starts_with("waku26_")) {
        let mut sink = vec![0u8; draws.peek_len()];
        status_1to1::Entropy::fill(draws, &mut sink);
    }
    report.skip(format!("{p}: 26/ envelope"));
    Ok(None)
}

/// Opens a delivery's WakuMessage; returns the signer and the `ProtocolMessage` bytes.
pub fn open(
    _doc: &Value,
    p: &str,
    _receiver: &SecretKey,
    sent: &Sent,
    report: &mut Report,
) -> Result<Option<(PublicKey, Vec<u8>)>, VectorError> {
    report.skip(format!("{p}: 26/ envelope"));
    Ok(Some((sent.sender, sent.protocol_message.clone())))
}
