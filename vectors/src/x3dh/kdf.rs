//! `x3dh/kdf/v1`: identity key conversion, KDF_RK, KDF_CK, message keys, the canonical header,
//! AES-256-GCM and the small-order X25519 check.

use serde_json::Value;
use status_1to1::crypto::{PublicKey, SharedSecret};
use status_1to1::ratchet::{ChainKey, Header, MessageKey, RootKey};

use super::identity_at;
use crate::json::{VectorError, array_at, bool_at, hex_at, hex_n_at, u64_at};
use crate::report::Report;

/// Verifies a `x3dh/kdf/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, _) in array_at(doc, "identities")?.iter().enumerate() {
        let p = format!("identities.{i}");
        let identity = identity_at(doc, &format!("{p}.seed"))?;
        let e = |f: &str| format!("{p}.expected.{f}");
        report.bytes(e("ed25519_public"), &hex_at(doc, &e("ed25519_public"))?, identity.public().as_bytes());
        report.bytes(e("x25519_secret"), &hex_at(doc, &e("x25519_secret"))?, &identity.dh_keys().secret().to_bytes());
        report.bytes(e("x25519_public"), &hex_at(doc, &e("x25519_public"))?, identity.public().dh_public().as_bytes());
        report.bytes(
            e("x25519_public (from the secret)"),
            &hex_at(doc, &e("x25519_public"))?,
            identity.dh_keys().public().as_bytes(),
        );
    }
    for (i, _) in array_at(doc, "kdf_rk")?.iter().enumerate() {
        let p = format!("kdf_rk.{i}");
        let root = RootKey::from_bytes(hex_n_at(doc, &format!("{p}.root_key"))?);
        let (next, chain) = root.ratchet(&SharedSecret::from_bytes(hex_n_at(doc, &format!("{p}.dh_output"))?));
        report.bytes(
            format!("{p}.expected.root_key"),
            &hex_at(doc, &format!("{p}.expected.root_key"))?,
            next.as_bytes(),
        );
        report.bytes(
            format!("{p}.expected.chain_key"),
            &hex_at(doc, &format!("{p}.expected.chain_key"))?,
            chain.as_bytes(),
        );
    }
    for (i, _) in array_at(doc, "kdf_ck")?.iter().enumerate() {
        let p = format!("kdf_ck.{i}");
        let (next, message) = ChainKey::from_bytes(hex_n_at(doc, &format!("{p}.chain_key"))?).step();
        report.bytes(
            format!("{p}.expected.chain_key"),
            &hex_at(doc, &format!("{p}.expected.chain_key"))?,
            next.as_bytes(),
        );
        let mk = hex_at(doc, &format!("{p}.expected.message_key"))?;
        report.bytes(format!("{p}.expected.message_key"), &mk, message.as_bytes());
    }
    for (i, _) in array_at(doc, "message_keys")?.iter().enumerate() {
        message_keys(doc, &format!("message_keys.{i}"), report)?;
    }
    for (i, _) in array_at(doc, "x25519_small_order")?.iter().enumerate() {
        let p = format!("x25519_small_order.{i}");
        let key = PublicKey::from_bytes(hex_n_at(doc, &format!("{p}.public"))?);
        report.value(
            format!("{p}.expected.small_order"),
            bool_at(doc, &format!("{p}.expected.small_order"))?,
            key.is_low_order(),
        );
    }
    Ok(())
}

fn message_keys(doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
    let mk = MessageKey::from_bytes(hex_n_at(doc, &format!("{p}.message_key"))?);
    let keys = mk.aead_keys();
    report.bytes(format!("{p}.expected.aead_key"), &hex_at(doc, &format!("{p}.expected.aead_key"))?, &keys.key);
    report.bytes(format!("{p}.expected.aead_nonce"), &hex_at(doc, &format!("{p}.expected.aead_nonce"))?, &keys.nonce);
    let header = Header {
        ratchet_key: PublicKey::from_bytes(hex_n_at(doc, &format!("{p}.ratchet_key"))?),
        previous_chain_length: u32_at(doc, &format!("{p}.pn"))?,
        n: u32_at(doc, &format!("{p}.n"))?,
    };
    report.bytes(format!("{p}.expected.header"), &hex_at(doc, &format!("{p}.expected.header"))?, &header.encode());
    let aad = [hex_at(doc, &format!("{p}.ad"))?, header.encode().to_vec()].concat();
    let mut ciphertext = Vec::new();
    mk.seal_into(&aad, &hex_at(doc, &format!("{p}.plaintext"))?, &mut ciphertext);
    report.bytes(format!("{p}.expected.ciphertext"), &hex_at(doc, &format!("{p}.expected.ciphertext"))?, &ciphertext);
    Ok(())
}

pub(crate) fn u32_at(doc: &Value, path: &str) -> Result<u32, VectorError> {
    u32::try_from(u64_at(doc, path)?).map_err(|_| VectorError::Missing(path.to_owned()))
}
