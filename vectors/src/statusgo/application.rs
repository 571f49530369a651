//! The application layer of a transcript (filled in with the application layer).

use serde_json::Value;
use status_1to1::statusgo::PublicKey;

use crate::json::VectorError;
use crate::report::Report;

/// Checks a delivered plaintext's application message.
pub fn check_delivery(
    _doc: &Value,
    p: &str,
    _signer: &PublicKey,
    _plaintext: &[u8],
    report: &mut Report,
) -> Result<(), VectorError> {
    report.skip(format!("{p}: application layer"));
    Ok(())
}
