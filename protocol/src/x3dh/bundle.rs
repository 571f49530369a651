//! Prekey bundles (53 "Pre-keys", profile §5.3): the signed list of one identity's signed
//! prekeys, one per installation, and the injective encoding the signature covers.
//!
//! A [`VerifiedBundle`] can only be obtained by verifying a wire bundle (or by signing one), so
//! code that stores or uses a bundle cannot forget the check. status-go persists bundles before
//! verifying them; we verify first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::encoding::{encode_ed, encode_x};
use super::{BUNDLE_DOMAIN, BundleError, PROTOCOL_VERSION, SUITE_D};
use crate::crypto::PublicKey;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId, Signature};
use crate::proto;
use crate::time::Timestamp;

/// Installations one bundle may list (profile §4.2). An account's bundle lists the devices a
/// message fans out to (54: n = 3, raised per configuration), so 8 leaves room; a larger bundle
/// is refused before its signature is checked, which bounds what one bundle costs to verify
/// and to store.
pub const MAX_BUNDLE_INSTALLATIONS: usize = 8;

/// One installation's signed prekey as listed in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedPrekey {
    /// The X25519 public prekey SPK.
    pub key: PublicKey,
    /// Its version: 1 for the first prekey of the installation, +1 per rotation.
    pub version: u32,
    /// The protocol version the installation speaks ([`PROTOCOL_VERSION`] for us).
    pub protocol_version: u32,
}

/// The bytes the bundle signature covers (profile §5.3):
/// `"WAKU2-1TO1-v1/Bundle" || 0x00 || Encode_ed(IK) || i64be(timestamp_ns) || u32be(count) ||`
/// for each installation in bytewise order of its id:
/// `u8 len || id || Encode_x(SPK) || u32be(version) || u32be(protocol_version)`.
///
/// Every field has a fixed length or a length prefix and the entry count comes first, so two
/// different bundles never produce the same bytes (status-go's delimiter-free concatenation of
/// decimal numbers can). `protocol_version` is signed too; status-go leaves it unsigned.
pub fn signature_input(
    identity: &IdentityKey,
    timestamp_ns: i64,
    prekeys: &BTreeMap<InstallationId, SignedPrekey>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(BUNDLE_DOMAIN.len() + 46 + prekeys.len() * 78);
    out.extend_from_slice(BUNDLE_DOMAIN);
    out.push(0x00);
    out.extend_from_slice(&encode_ed(identity));
    out.extend_from_slice(&timestamp_ns.to_be_bytes());
    out.extend_from_slice(&(prekeys.len() as u32).to_be_bytes());
    for (installation, prekey) in prekeys {
        // Installation ids are UUIDs (36 bytes), so the length always fits in one byte.
        out.push(installation.as_str().len() as u8);
        out.extend_from_slice(installation.as_str().as_bytes());
        out.extend_from_slice(&encode_x(&prekey.key));
        out.extend_from_slice(&prekey.version.to_be_bytes());
        out.extend_from_slice(&prekey.protocol_version.to_be_bytes());
    }
    out
}

/// A bundle whose signature, identity and prekeys have been checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BundleRepr", into = "BundleRepr")]
pub struct VerifiedBundle {
    identity: IdentityKey,
    timestamp_ns: i64,
    prekeys: BTreeMap<InstallationId, SignedPrekey>,
    signature: Signature,
}

/// Persisted form: the wire bundle, verified again when loaded.
#[derive(Serialize, Deserialize)]
struct BundleRepr(#[serde(with = "crate::serde_bytes::vec")] Vec<u8>);

impl TryFrom<BundleRepr> for VerifiedBundle {
    type Error = String;
    fn try_from(repr: BundleRepr) -> Result<Self, String> {
        let bundle = <proto::Bundle as prost::Message>::decode(&repr.0[..]).map_err(|e| e.to_string())?;
        Self::verify(&bundle).map_err(|e| e.to_string())
    }
}

impl From<VerifiedBundle> for BundleRepr {
    fn from(bundle: VerifiedBundle) -> Self {
        Self(prost::Message::encode_to_vec(&bundle.to_proto()))
    }
}

impl VerifiedBundle {
    /// Signs a bundle of our identity listing `prekeys` (our installation's current prekey and
    /// those of our paired installations), timestamped `now`.
    pub fn sign(
        identity: &IdentityKeyPair,
        prekeys: BTreeMap<InstallationId, SignedPrekey>,
        now: Timestamp,
    ) -> Result<Self, BundleError> {
        check_prekeys(&prekeys)?;
        let timestamp_ns = now.as_nanos_i64();
        let signature = identity.sign(&signature_input(identity.public(), timestamp_ns, &prekeys));
        Ok(Self { identity: *identity.public(), timestamp_ns, prekeys, signature })
    }

    /// Verifies a wire bundle (checks in this order, first failure wins): suite, identity key,
    /// signature length, at least one and at most [`MAX_BUNDLE_INSTALLATIONS`] prekeys,
    /// installation ids, prekey lengths, the signature, then small-order prekeys.
    pub fn verify(bundle: &proto::Bundle) -> Result<Self, BundleError> {
        if bundle.suite != SUITE_D {
            return Err(BundleError::UnsupportedSuite(bundle.suite));
        }
        let identity = IdentityKey::from_slice(&bundle.identity).map_err(BundleError::Identity)?;
        let signature: [u8; 64] =
            bundle.signature.as_slice().try_into().map_err(|_| BundleError::SignatureLength(bundle.signature.len()))?;
        if bundle.signed_pre_keys.is_empty() {
            return Err(BundleError::NoPrekeys);
        }
        if bundle.signed_pre_keys.len() > MAX_BUNDLE_INSTALLATIONS {
            return Err(BundleError::TooManyInstallations(bundle.signed_pre_keys.len()));
        }
        let prekeys = parse_prekeys(&bundle.signed_pre_keys)?;
        let signature = Signature(signature);
        identity
            .verify(&signature_input(&identity, bundle.timestamp, &prekeys), &signature)
            .map_err(|_| BundleError::BadSignature)?;
        check_prekeys(&prekeys)?;
        Ok(Self { identity, timestamp_ns: bundle.timestamp, prekeys, signature })
    }

    /// [`Self::verify`], then checks that the bundle belongs to `expected` (the contact's known
    /// identity): a valid bundle of someone else is refused.
    pub fn verify_from(bundle: &proto::Bundle, expected: &IdentityKey) -> Result<Self, BundleError> {
        let verified = Self::verify(bundle)?;
        if verified.identity != *expected {
            return Err(BundleError::IdentityMismatch);
        }
        Ok(verified)
    }

    /// The wire form.
    pub fn to_proto(&self) -> proto::Bundle {
        proto::Bundle {
            identity: self.identity.as_bytes().to_vec(),
            signed_pre_keys: self
                .prekeys
                .iter()
                .map(|(id, p)| {
                    let spk = proto::SignedPreKey {
                        signed_pre_key: p.key.as_bytes().to_vec(),
                        version: p.version,
                        protocol_version: p.protocol_version,
                    };
                    (id.as_str().to_owned(), spk)
                })
                .collect(),
            signature: self.signature.0.to_vec(),
            timestamp: self.timestamp_ns,
            suite: SUITE_D,
        }
    }

    /// The identity that signed the bundle.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// Creation time in Unix nanoseconds.
    pub fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }

    /// All signed prekeys by installation.
    pub fn prekeys(&self) -> &BTreeMap<InstallationId, SignedPrekey> {
        &self.prekeys
    }

    /// The signed prekey of one installation.
    pub fn prekey(&self, installation: &InstallationId) -> Option<&SignedPrekey> {
        self.prekeys.get(installation)
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
}

fn parse_prekeys(
    wire: &BTreeMap<String, proto::SignedPreKey>,
) -> Result<BTreeMap<InstallationId, SignedPrekey>, BundleError> {
    wire.iter()
        .map(|(id, spk)| {
            let installation = InstallationId::parse(id).map_err(|_| BundleError::InstallationId(id.clone()))?;
            let key = PublicKey::from_slice(&spk.signed_pre_key)
                .ok_or_else(|| BundleError::PrekeyLength { installation: id.clone(), len: spk.signed_pre_key.len() })?;
            Ok((installation, SignedPrekey { key, version: spk.version, protocol_version: spk.protocol_version }))
        })
        .collect()
}

fn check_prekeys(prekeys: &BTreeMap<InstallationId, SignedPrekey>) -> Result<(), BundleError> {
    if prekeys.is_empty() {
        return Err(BundleError::NoPrekeys);
    }
    if prekeys.len() > MAX_BUNDLE_INSTALLATIONS {
        return Err(BundleError::TooManyInstallations(prekeys.len()));
    }
    match prekeys.iter().find(|(_, p)| p.key.is_low_order()) {
        Some((id, _)) => Err(BundleError::WeakPrekey { installation: id.to_string() }),
        None => Ok(()),
    }
}

impl SignedPrekey {
    /// A prekey entry speaking our [`PROTOCOL_VERSION`].
    pub const fn new(key: PublicKey, version: u32) -> Self {
        Self { key, version, protocol_version: PROTOCOL_VERSION }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn fixture() -> (IdentityKeyPair, BTreeMap<InstallationId, SignedPrekey>) {
        let mut e = SeededEntropy::from_u64(5);
        let identity = IdentityKeyPair::generate(&mut e);
        let prekeys = (1..=2)
            .map(|v| {
                let key = *crate::crypto::KeyPair::generate(&mut e).public();
                (InstallationId::generate(&mut e), SignedPrekey::new(key, v))
            })
            .collect();
        (identity, prekeys)
    }

    #[test]
    fn signed_bundles_verify_and_round_trip() {
        let (identity, prekeys) = fixture();
        let bundle = VerifiedBundle::sign(&identity, prekeys, Timestamp::from_millis(1_700_000_000_000)).unwrap();
        let wire = bundle.to_proto();
        assert_eq!(VerifiedBundle::verify(&wire), Ok(bundle.clone()));
        assert_eq!(VerifiedBundle::verify_from(&wire, identity.public()), Ok(bundle.clone()));
        let other = IdentityKeyPair::from_seed([8; 32]);
        assert_eq!(VerifiedBundle::verify_from(&wire, other.public()), Err(BundleError::IdentityMismatch));
        let json = serde_json::to_string(&bundle).unwrap();
        assert_eq!(serde_json::from_str::<VerifiedBundle>(&json).unwrap(), bundle);
    }

    #[test]
    fn every_signed_field_is_covered() {
        let (identity, prekeys) = fixture();
        let wire = VerifiedBundle::sign(&identity, prekeys, Timestamp::from_millis(1)).unwrap().to_proto();
        let tamper: [fn(&mut proto::Bundle); 4] = [
            |b| b.timestamp += 1,
            |b| b.signed_pre_keys.values_mut().for_each(|p| p.version += 1),
            |b| b.signed_pre_keys.values_mut().for_each(|p| p.protocol_version = 2),
            |b| b.signed_pre_keys.values_mut().for_each(|p| p.signed_pre_key[0] ^= 1),
        ];
        for f in tamper {
            let mut bad = wire.clone();
            f(&mut bad);
            assert_eq!(VerifiedBundle::verify(&bad), Err(BundleError::BadSignature));
        }
        let mut fewer = wire.clone();
        let first = fewer.signed_pre_keys.keys().next().cloned().unwrap();
        fewer.signed_pre_keys.remove(&first);
        assert_eq!(VerifiedBundle::verify(&fewer), Err(BundleError::BadSignature));
        // A serialized bundle that no longer verifies does not load.
        let json = serde_json::to_value(VerifiedBundle::verify(&wire).unwrap()).unwrap();
        let mut bytes = hex::decode(json.as_str().unwrap()).unwrap();
        *bytes.last_mut().unwrap() ^= 0x04; // the suite field comes last: `30 01` becomes `30 05`
        assert!(serde_json::from_value::<VerifiedBundle>(serde_json::Value::String(hex::encode(bytes))).is_err());
    }

    #[test]
    fn structural_errors_come_before_the_signature_and_weak_prekeys_after() {
        let (identity, prekeys) = fixture();
        let wire = VerifiedBundle::sign(&identity, prekeys, Timestamp::from_millis(1)).unwrap().to_proto();
        let mut b = wire.clone();
        b.suite = 0;
        assert_eq!(VerifiedBundle::verify(&b), Err(BundleError::UnsupportedSuite(0)));
        let mut b = wire.clone();
        b.identity = vec![0; 31];
        assert!(matches!(VerifiedBundle::verify(&b), Err(BundleError::Identity(_))));
        let mut b = wire.clone();
        b.signature.pop();
        assert_eq!(VerifiedBundle::verify(&b), Err(BundleError::SignatureLength(63)));
        let mut b = wire.clone();
        b.signed_pre_keys.insert("none".into(), proto::SignedPreKey::default());
        assert_eq!(VerifiedBundle::verify(&b), Err(BundleError::InstallationId("none".into())));
        let mut b = wire.clone();
        b.signed_pre_keys.clear();
        assert_eq!(VerifiedBundle::verify(&b), Err(BundleError::NoPrekeys));
        // Over the cap: refused before the signature, and never signed.
        let mut b = wire.clone();
        let mut e = SeededEntropy::from_u64(9);
        while b.signed_pre_keys.len() <= MAX_BUNDLE_INSTALLATIONS {
            b.signed_pre_keys
                .insert(InstallationId::generate(&mut e).as_str().to_owned(), proto::SignedPreKey::default());
        }
        assert_eq!(VerifiedBundle::verify(&b), Err(BundleError::TooManyInstallations(MAX_BUNDLE_INSTALLATIONS + 1)));
        let mut many = fixture().1;
        while many.len() <= MAX_BUNDLE_INSTALLATIONS {
            let key = *crate::crypto::KeyPair::generate(&mut e).public();
            many.insert(InstallationId::generate(&mut e), SignedPrekey::new(key, 1));
        }
        assert_eq!(
            VerifiedBundle::sign(&identity, many, Timestamp::ZERO),
            Err(BundleError::TooManyInstallations(MAX_BUNDLE_INSTALLATIONS + 1))
        );
        // A correctly signed bundle with a small-order prekey is still refused.
        let (identity, mut prekeys) = fixture();
        prekeys.values_mut().for_each(|p| p.key = PublicKey::from_bytes([0; 32]));
        assert!(matches!(
            VerifiedBundle::sign(&identity, prekeys.clone(), Timestamp::ZERO),
            Err(BundleError::WeakPrekey { .. })
        ));
        let timestamp_ns = 0;
        let signature = identity.sign(&signature_input(identity.public(), timestamp_ns, &prekeys));
        let forged = VerifiedBundle { identity: *identity.public(), timestamp_ns, prekeys, signature };
        assert!(matches!(VerifiedBundle::verify(&forged.to_proto()), Err(BundleError::WeakPrekey { .. })));
    }
}
