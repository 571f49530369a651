//! `bundle.json`'s `bundles{}`: each case's bundle verified (signer recovered, address compared),
//! its signed material and hash recomputed, and its bytes reproduced by re-signing.

use prost::Message as _;
use serde_json::Value;
use status_1to1::statusgo::Bundle;
use status_1to1::statusgo::bundle::signed_material;

use super::replay::secret_at;
use crate::json::{VectorError, array_at, at, bool_at, hex_at, str_at};
use crate::report::Report;

/// Verifies every case of `bundles{}`.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let names: Vec<String> = at(doc, "bundles")?.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for name in names {
        case(doc, &format!("bundles.{name}.bundle"), report)?;
    }
    Ok(())
}

fn case(doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
    let wire = hex_at(doc, &format!("{p}.bundle_protobuf"))?;
    let accepted = bool_at(doc, &format!("{p}.status_go_ExtractIdentity.ok"))?;
    let bundle = match Bundle::decode(&wire) {
        Ok(bundle) => bundle,
        Err(e) => {
            report.value(format!("{p}.status_go_ExtractIdentity.ok"), accepted, false);
            report.skip(format!("{p}: refused ({e})"));
            return Ok(());
        }
    };
    report.value(format!("{p}.status_go_ExtractIdentity.ok"), accepted, true);
    let recovered = hex_at(doc, &format!("{p}.status_go_ExtractIdentity.recovered_identity_uncompressed"))?;
    report.bytes(
        format!("{p}.status_go_ExtractIdentity.recovered_identity_uncompressed"),
        &recovered,
        &bundle.identity.uncompressed(),
    );
    let address = str_at(doc, &format!("{p}.status_go_ExtractIdentity.recovered_address"))?.to_lowercase();
    report.value(
        format!("{p}.status_go_ExtractIdentity.recovered_address"),
        address,
        format!("0x{}", hex::encode(bundle.identity.address())),
    );
    let material = signed_material(&bundle.signed_pre_keys, bundle.timestamp_ns);
    report.bytes(format!("{p}.signed_material"), &hex_at(doc, &format!("{p}.signed_material"))?, &material);
    let hash = status_1to1::crypto::hash::keccak256(&material);
    report.bytes(format!("{p}.signed_hash_keccak256"), &hex_at(doc, &format!("{p}.signed_hash_keccak256"))?, &hash);
    if let Some(identity) = party_secret(doc, bundle.identity.compressed())? {
        match Bundle::sign(&identity, bundle.signed_pre_keys.clone(), bundle.timestamp_ns) {
            Ok(resigned) => {
                report.bytes(format!("{p}.bundle_protobuf (re-signed)"), &wire, &resigned.to_proto().encode_to_vec())
            }
            Err(e) => report.step_failed(format!("{p} re-signing"), e),
        }
    }
    Ok(())
}

fn party_secret(doc: &Value, compressed: &[u8]) -> Result<Option<status_1to1::statusgo::SecretKey>, VectorError> {
    for (i, _) in array_at(doc, "parties")?.iter().enumerate() {
        let p = format!("parties.{i}");
        if hex_at(doc, &format!("{p}.identity_public_key_compressed"))? == compressed {
            return secret_at(doc, &format!("{p}.identity_private_key")).map(Some);
        }
    }
    Ok(None)
}
