//! status-go's prekey bundles (`protocol/encryption/x3dh.go`): one signed prekey per
//! installation, signed with a recoverable ECDSA signature over Keccak-256 of a delimiter-free
//! concatenation, and verified by recovering the signer and comparing Ethereum addresses.

use std::collections::BTreeMap;

use prost::Message as _;

use super::keys::{KeyError, PublicKey, RecoverableSignature, SecretKey};
use crate::proto;

/// Most installations a bundle may list (status-go's fan-out, `MaxInstallations = 3`); a bundle
/// with more is refused, so a stranger's bundle costs a bounded amount to verify and store.
pub const MAX_INSTALLATIONS: usize = 3;
/// Longest installation id accepted (status-go's are 36-character UUIDs).
pub const MAX_INSTALLATION_ID_LEN: usize = 64;
/// The protocol version we advertise per prekey: 1, status-go's `protocolVersion`, which lets the
/// other side use the negotiated topic.
pub const PROTOCOL_VERSION: u32 = 1;

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a `Bundle` protobuf.
    #[error("malformed bundle protobuf")]
    Malformed,
    /// The identity or a prekey is not a secp256k1 public key.
    #[error("bundle key: {0}")]
    Key(#[from] KeyError),
    /// More installations than [`MAX_INSTALLATIONS`], none, or an installation id that is empty,
    /// too long or `"none"`.
    #[error("bundle lists {0} installations or a bad installation id")]
    Installations(usize),
    /// The signature does not recover to the bundle's identity.
    #[error("bundle signature is not by its identity")]
    BadSignature,
}

/// One installation's signed prekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedPreKey {
    /// The prekey SPK (its compressed form is also the session's bundle id).
    pub key: PublicKey,
    /// +1 per rotation, from 1.
    pub version: u32,
    /// 1 when the installation can use the negotiated topic; not covered by the signature.
    pub protocol_version: u32,
}

/// A verified bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bundle {
    /// The identity key, which signed the bundle.
    pub identity: PublicKey,
    /// The prekeys by installation id.
    pub signed_pre_keys: BTreeMap<String, SignedPreKey>,
    /// Signing time in Unix nanoseconds; 0 in legacy bundles (then it is not signed).
    pub timestamp_ns: i64,
    /// The signature as received or made.
    pub signature: RecoverableSignature,
}

impl Bundle {
    /// Signs `signed_pre_keys` with the identity key at `timestamp_ns` (status-go `SignBundle`;
    /// it re-signs with a fresh timestamp for every message it sends).
    pub fn sign(
        identity: &SecretKey,
        signed_pre_keys: BTreeMap<String, SignedPreKey>,
        timestamp_ns: i64,
    ) -> Result<Self, BundleError> {
        check_installations(&signed_pre_keys)?;
        let signature = identity.sign_keccak(&signed_material(&signed_pre_keys, timestamp_ns));
        Ok(Self { identity: identity.public_key(), signed_pre_keys, timestamp_ns, signature })
    }

    /// Parses and verifies a wire bundle: keys decode, installations are bounded, and the signature
    /// recovers to an identity with the same address as `identity`.
    pub fn from_proto(wire: &proto::Bundle) -> Result<Self, BundleError> {
        if wire.signed_pre_keys.len() > MAX_INSTALLATIONS {
            return Err(BundleError::Installations(wire.signed_pre_keys.len()));
        }
        let identity = PublicKey::from_sec1(&wire.identity)?;
        let signed_pre_keys = wire
            .signed_pre_keys
            .iter()
            .map(|(id, spk)| Ok((id.clone(), signed_pre_key(spk)?)))
            .collect::<Result<BTreeMap<_, _>, BundleError>>()?;
        check_installations(&signed_pre_keys)?;
        let signature = RecoverableSignature::from_slice(&wire.signature).map_err(|_| BundleError::BadSignature)?;
        let signer = signature
            .recover_keccak(&signed_material(&signed_pre_keys, wire.timestamp))
            .map_err(|_| BundleError::BadSignature)?;
        if signer.address() != identity.address() {
            return Err(BundleError::BadSignature);
        }
        Ok(Self { identity, signed_pre_keys, timestamp_ns: wire.timestamp, signature })
    }

    /// Parses and verifies an encoded `Bundle`.
    pub fn decode(bytes: &[u8]) -> Result<Self, BundleError> {
        Self::from_proto(&proto::Bundle::decode(bytes).map_err(|_| BundleError::Malformed)?)
    }

    /// The wire form, maps in key order.
    pub fn to_proto(&self) -> proto::Bundle {
        let signed_pre_keys = self
            .signed_pre_keys
            .iter()
            .map(|(id, spk)| {
                let wire = proto::SignedPreKey {
                    signed_pre_key: spk.key.compressed().to_vec(),
                    version: spk.version,
                    protocol_version: spk.protocol_version,
                };
                (id.clone(), wire)
            })
            .collect();
        proto::Bundle {
            identity: self.identity.compressed().to_vec(),
            signed_pre_keys,
            signature: self.signature.as_bytes().to_vec(),
            timestamp: self.timestamp_ns,
            suite: 0,
        }
    }
}

fn signed_pre_key(wire: &proto::SignedPreKey) -> Result<SignedPreKey, BundleError> {
    Ok(SignedPreKey {
        key: PublicKey::from_sec1(&wire.signed_pre_key)?,
        version: wire.version,
        protocol_version: wire.protocol_version,
    })
}

fn check_installations(keys: &BTreeMap<String, SignedPreKey>) -> Result<(), BundleError> {
    let bad_id = |id: &String| id.is_empty() || id.len() > MAX_INSTALLATION_ID_LEN || id == super::NO_INSTALLATION;
    if keys.is_empty() || keys.len() > MAX_INSTALLATIONS || keys.keys().any(bad_id) {
        return Err(BundleError::Installations(keys.len()));
    }
    Ok(())
}

/// status-go's signed material: for each installation in byte order, `id ‖ SPK(33) ‖
/// decimal(version)`, then `decimal(timestamp)` when the timestamp is not 0. The concatenation has
/// no delimiters (status-go's choice, kept for compatibility; `docs/profile.md`).
pub fn signed_material(keys: &BTreeMap<String, SignedPreKey>, timestamp_ns: i64) -> Vec<u8> {
    let mut material = Vec::with_capacity(keys.len() * 80 + 20);
    for (id, spk) in keys {
        material.extend_from_slice(id.as_bytes());
        material.extend_from_slice(spk.key.compressed());
        material.extend_from_slice(spk.version.to_string().as_bytes());
    }
    if timestamp_ns != 0 {
        material.extend_from_slice(timestamp_ns.to_string().as_bytes());
    }
    material
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn vectors() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/status-go/bundle.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn bytes(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().unwrap()).unwrap()
    }

    fn identity_of(file: &Value, compressed: &[u8]) -> SecretKey {
        let party = file["parties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| bytes(&p["identity_public_key_compressed"]) == compressed)
            .unwrap();
        SecretKey::from_bytes(&bytes(&party["identity_private_key"]).try_into().unwrap()).unwrap()
    }

    /// Every status-go bundle verifies, and re-signing its prekeys with the identity key gives the
    /// same signature and protobuf bytes (RFC 6979 signatures are deterministic).
    #[test]
    fn status_go_bundles_verify_and_are_reproduced_byte_for_byte() {
        let file = vectors();
        for (name, case) in file["bundles"].as_object().unwrap() {
            let wire = bytes(&case["bundle"]["bundle_protobuf"]);
            let bundle = Bundle::decode(&wire).unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = &case["bundle"]["status_go_ExtractIdentity"]["recovered_identity_uncompressed"];
            assert_eq!(bundle.identity.uncompressed().to_vec(), bytes(expected), "{name}");
            let material = signed_material(&bundle.signed_pre_keys, bundle.timestamp_ns);
            assert_eq!(material, bytes(&case["bundle"]["signed_material"]), "{name}");
            let identity = identity_of(&file, bundle.identity.compressed());
            let resigned = Bundle::sign(&identity, bundle.signed_pre_keys.clone(), bundle.timestamp_ns).unwrap();
            assert_eq!(resigned.to_proto().encode_to_vec(), wire, "{name}");
        }
    }

    #[test]
    fn forged_oversized_and_malformed_bundles_are_refused() {
        let file = vectors();
        let wire = bytes(&file["bundles"]["multi_installation"]["bundle"]["bundle_protobuf"]);
        let mut forged = proto::Bundle::decode(&wire[..]).unwrap();
        forged.timestamp += 1;
        assert_eq!(Bundle::from_proto(&forged), Err(BundleError::BadSignature));
        let mut oversized = proto::Bundle::decode(&wire[..]).unwrap();
        let extra = oversized.signed_pre_keys.values().next().unwrap().clone();
        oversized.signed_pre_keys.insert("fourth".into(), extra);
        assert_eq!(Bundle::from_proto(&oversized), Err(BundleError::Installations(4)));
        let mut bad_key = proto::Bundle::decode(&wire[..]).unwrap();
        bad_key.identity[0] = 0x05;
        assert_eq!(Bundle::from_proto(&bad_key), Err(BundleError::Key(KeyError::BadPublicKey(33))));
        assert_eq!(Bundle::decode(&[0xff]), Err(BundleError::Malformed));
    }
}
