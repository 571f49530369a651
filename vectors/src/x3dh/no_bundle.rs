//! `x3dh/no-bundle/v1`: the no-bundle fallback, sealing (with the listed ephemeral secret) and
//! opening, with its refusals.

use serde_json::Value;
use status_1to1::crypto::hash::hkdf_sha256;
use status_1to1::crypto::{KeyPair, PublicKey, SecretKey};
use status_1to1::identity::{IdentityKey, InstallationId};
use status_1to1::x3dh::{AssociatedData, Envelope, INFO_NO_BUNDLE, NoBundleMessage, Payload, Recipient};

use super::{StrictEntropy, identity_at, x3dh_error_name};
use crate::json::{VectorError, array_at, hex_at, hex_n_at, str_at};
use crate::report::Report;

fn installation(doc: &Value, path: &str) -> Result<InstallationId, VectorError> {
    InstallationId::parse(str_at(doc, path)?)
        .map_err(|_| VectorError::Unsupported { path: path.into(), value: "installation id".into() })
}

/// Verifies a `x3dh/no-bundle/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, _) in array_at(doc, "cases")?.iter().enumerate() {
        case(doc, &format!("cases.{i}"), report)?;
    }
    for (i, _) in array_at(doc, "negative")?.iter().enumerate() {
        let p = format!("negative.{i}");
        let recipient = identity_at(doc, &format!("{p}.recipient_seed"))?;
        let actual = match IdentityKey::from_slice(&hex_at(doc, &format!("{p}.sender"))?) {
            Err(_) => "invalid-identity",
            Ok(sender) => {
                let message = NoBundleMessage {
                    sender,
                    ephemeral: PublicKey::from_bytes(hex_n_at(doc, &format!("{p}.ephemeral"))?),
                    ciphertext: hex_at(doc, &format!("{p}.ciphertext"))?,
                };
                let opened = message.open(&recipient, &installation(doc, &format!("{p}.sender_installation"))?);
                opened.map(|_| "accepted").unwrap_or_else(|e| x3dh_error_name(&e))
            }
        };
        report.value(
            format!("{p}.expected.error ({})", str_at(doc, &format!("{p}.name"))?),
            str_at(doc, &format!("{p}.expected.error"))?,
            actual,
        );
    }
    Ok(())
}

fn case(doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
    let sender = identity_at(doc, &format!("{p}.sender_seed"))?;
    let recipient = identity_at(doc, &format!("{p}.recipient_seed"))?;
    let inst = installation(doc, &format!("{p}.sender_installation"))?;
    let secret = hex_n_at::<32>(doc, &format!("{p}.ephemeral_secret"))?;
    let plaintext = hex_at(doc, &format!("{p}.plaintext"))?;
    let e = |f: &str| format!("{p}.expected.{f}");
    let mut entropy = StrictEntropy::new([secret]);
    let message = match NoBundleMessage::seal(&sender, &inst, recipient.public(), &plaintext, &mut entropy) {
        Ok(m) => m,
        Err(error) => {
            report.step_failed(e("ciphertext"), error);
            return Ok(());
        }
    };
    report.value(format!("{p}: entropy drawn exactly as listed"), (0, 0), (entropy.unexpected, entropy.unused()));
    report.bytes(e("ephemeral_public"), &hex_at(doc, &e("ephemeral_public"))?, message.ephemeral.as_bytes());
    report.bytes(e("ciphertext"), &hex_at(doc, &e("ciphertext"))?, &message.ciphertext);
    let ad = AssociatedData::new(sender.public(), recipient.public(), &inst, None);
    report.bytes(e("associated_data"), &hex_at(doc, &e("associated_data"))?, ad.as_bytes());
    // Intermediate values: the two DHs and the HKDF output that keys the AEAD.
    let ephemeral = KeyPair::from_secret(SecretKey::from_bytes(secret));
    let dh_e = ephemeral.diffie_hellman(recipient.public().dh_public()).map(|s| *s.as_bytes()).unwrap_or_default();
    let dh_s =
        sender.dh_keys().diffie_hellman(recipient.public().dh_public()).map(|s| *s.as_bytes()).unwrap_or_default();
    report.bytes(e("dh_ephemeral"), &hex_at(doc, &e("dh_ephemeral"))?, &dh_e);
    report.bytes(e("dh_static"), &hex_at(doc, &e("dh_static"))?, &dh_s);
    let okm = hkdf_sha256::<44>(&[0; 32], &[&[0xff; 32], &dh_e, &dh_s], INFO_NO_BUNDLE);
    report.bytes(e("aead_key"), &hex_at(doc, &e("aead_key"))?, &okm[..32]);
    report.bytes(e("aead_nonce"), &hex_at(doc, &e("aead_nonce"))?, &okm[32..]);
    report.value(format!("{p}: opens"), Ok(plaintext), message.open(&recipient, &inst));
    let mut envelope = Envelope::new(inst);
    envelope.payloads.insert(Recipient::Any, Payload::NoBundle(message));
    report.bytes(e("protocol_message"), &hex_at(doc, &e("protocol_message"))?, &envelope.encode());
    Ok(())
}
