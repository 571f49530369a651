//! `x3dh/bundle/v1`: bundle signing (signature input, Ed25519 signature, protobuf bytes) and the
//! verification order of refusals.

use std::collections::BTreeMap;

use prost::Message as _;
use serde_json::Value;
use status_1to1::crypto::{KeyPair, SecretKey};
use status_1to1::identity::InstallationId;
use status_1to1::proto;
use status_1to1::time::Timestamp;
use status_1to1::x3dh::{SignedPrekey, VerifiedBundle, signature_input};

use super::bundle_error_name;
use super::identity_at;
use super::kdf::u32_at;
use crate::json::{VectorError, array_at, at, hex_at, hex_n_at, str_at, u64_at};
use crate::report::Report;

/// Verifies a `x3dh/bundle/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, _) in array_at(doc, "cases")?.iter().enumerate() {
        case(doc, &format!("cases.{i}"), report)?;
    }
    for (i, _) in array_at(doc, "negative")?.iter().enumerate() {
        let p = format!("negative.{i}");
        let bytes = hex_at(doc, &format!("{p}.bundle"))?;
        let result = proto::Bundle::decode(&bytes[..])
            .map_err(|_| "undecodable")
            .and_then(|b| VerifiedBundle::verify(&b).map(|_| "accepted").map_err(|e| bundle_error_name(&e)));
        let actual = result.unwrap_or_else(|name| name);
        report.value(
            format!("{p}.expected.error ({})", str_at(doc, &format!("{p}.name"))?),
            str_at(doc, &format!("{p}.expected.error"))?,
            actual,
        );
    }
    Ok(())
}

fn case(doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
    let identity = identity_at(doc, &format!("{p}.identity_seed"))?;
    let now = Timestamp::from_millis(u64_at(doc, &format!("{p}.timestamp_ms"))?);
    let mut prekeys = BTreeMap::new();
    for (j, _) in array_at(doc, &format!("{p}.prekeys"))?.iter().enumerate() {
        let q = format!("{p}.prekeys.{j}");
        let installation = InstallationId::parse(str_at(doc, &format!("{q}.installation"))?)
            .map_err(|_| VectorError::Unsupported { path: q.clone(), value: "installation".into() })?;
        let key = *KeyPair::from_secret(SecretKey::from_bytes(hex_n_at(doc, &format!("{q}.secret"))?)).public();
        let prekey = SignedPrekey {
            key,
            version: u32_at(doc, &format!("{q}.version"))?,
            protocol_version: u32_at(doc, &format!("{q}.protocol_version"))?,
        };
        let expected = hex_at(doc, &format!("{p}.expected.prekeys.{installation}"))?;
        report.bytes(format!("{p}.expected.prekeys.{installation}"), &expected, key.as_bytes());
        prekeys.insert(installation, prekey);
    }
    let e = |f: &str| format!("{p}.expected.{f}");
    report.bytes(e("identity"), &hex_at(doc, &e("identity"))?, identity.public().as_bytes());
    report.value(e("timestamp_ns"), at(doc, &e("timestamp_ns"))?.as_i64(), Some(now.as_nanos_i64()));
    let input = signature_input(identity.public(), now.as_nanos_i64(), &prekeys);
    report.bytes(e("signature_input"), &hex_at(doc, &e("signature_input"))?, &input);
    match VerifiedBundle::sign(&identity, prekeys, now) {
        Ok(bundle) => {
            report.bytes(e("signature"), &hex_at(doc, &e("signature"))?, &bundle.signature().0);
            let wire = bundle.to_proto();
            report.bytes(e("bundle"), &hex_at(doc, &e("bundle"))?, &wire.encode_to_vec());
            let decoded =
                proto::Bundle::decode(&hex_at(doc, &e("bundle"))?[..]).map_err(|_| VectorError::BadHex(e("bundle")))?;
            report.value(e("bundle (verifies)"), Ok(bundle), VerifiedBundle::verify(&decoded));
        }
        Err(error) => report.step_failed(e("signature"), error),
    }
    Ok(())
}
