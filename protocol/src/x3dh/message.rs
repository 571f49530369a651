//! The `ProtocolMessage` envelope and its per-installation entries, between the wire structs of
//! [`crate::proto`] and the typed messages of this module. Decoding checks every key length and
//! identity; it does not verify bundles (see [`super::VerifiedBundle::verify`]).

use std::collections::BTreeMap;

use prost::Message as _;

use super::{DecodeError, EncryptedMessage, InitialHeader, NO_INSTALLATION, NoBundleMessage};
use crate::crypto::PublicKey;
use crate::identity::{IdentityKey, InstallationId};
use crate::proto;
use crate::ratchet::Header;

/// Who an entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    /// One installation.
    Installation(InstallationId),
    /// Any installation of the recipient identity: the reserved key `"none"` (no-bundle
    /// messages, bundle adverts).
    Any,
}

impl Recipient {
    fn parse(key: &str) -> Result<Self, DecodeError> {
        if key == NO_INSTALLATION {
            return Ok(Self::Any);
        }
        InstallationId::parse(key).map(Self::Installation).map_err(|_| DecodeError::Recipient(key.to_owned()))
    }

    fn as_str(&self) -> &str {
        match self {
            Self::Installation(id) => id.as_str(),
            Self::Any => NO_INSTALLATION,
        }
    }
}

/// One entry of a `ProtocolMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A Double Ratchet message (with the X3DH header while the sender awaits a reply).
    Ratchet(EncryptedMessage),
    /// A message sealed without a bundle (no forward secrecy).
    NoBundle(NoBundleMessage),
}

/// A decoded `ProtocolMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender's installation id. Unauthenticated until an entry decrypts: sessions and
    /// no-bundle messages bind it into their AD.
    pub sender: InstallationId,
    /// The sender's bundles, unverified.
    pub bundles: Vec<proto::Bundle>,
    /// Entries by recipient.
    pub payloads: BTreeMap<Recipient, Payload>,
    /// An unencrypted public message (empty if none).
    pub public_message: Vec<u8>,
}

impl Envelope {
    /// An envelope from `sender` with no entries.
    pub fn new(sender: InstallationId) -> Self {
        Self { sender, bundles: Vec::new(), payloads: BTreeMap::new(), public_message: Vec::new() }
    }

    /// The entry for `installation`, or else the one for any installation (`"none"`).
    pub fn payload_for(&self, installation: &InstallationId) -> Option<&Payload> {
        self.payloads.get(&Recipient::Installation(installation.clone())).or_else(|| self.payloads.get(&Recipient::Any))
    }

    /// The wire form.
    pub fn to_proto(&self) -> proto::ProtocolMessage {
        proto::ProtocolMessage {
            installation_id: self.sender.as_str().to_owned(),
            bundles: self.bundles.clone(),
            encrypted_message: self.payloads.iter().map(|(r, p)| (r.as_str().to_owned(), p.to_proto())).collect(),
            public_message: self.public_message.clone(),
        }
    }

    /// Protobuf bytes (deterministic: entries in key order).
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Parses protobuf bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let wire = proto::ProtocolMessage::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
        Self::from_proto(wire)
    }

    /// Checks and types a wire message.
    pub fn from_proto(wire: proto::ProtocolMessage) -> Result<Self, DecodeError> {
        let sender = InstallationId::parse(&wire.installation_id)
            .map_err(|_| DecodeError::SenderInstallation(wire.installation_id.clone()))?;
        let payloads = wire
            .encrypted_message
            .iter()
            .map(|(key, entry)| Ok((Recipient::parse(key)?, Payload::from_proto(entry)?)))
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self { sender, bundles: wire.bundles, payloads, public_message: wire.public_message })
    }
}

impl Payload {
    /// The wire form.
    pub fn to_proto(&self) -> proto::EncryptedMessageProtocol {
        match self {
            Self::Ratchet(m) => m.to_proto(),
            Self::NoBundle(m) => m.to_proto(),
        }
    }

    /// Checks and types a wire entry.
    pub fn from_proto(wire: &proto::EncryptedMessageProtocol) -> Result<Self, DecodeError> {
        match (&wire.dh_header, &wire.dr_header) {
            (Some(_), Some(_)) => Err(DecodeError::ConflictingHeaders),
            (Some(_), None) if wire.x3dh_header.is_some() => Err(DecodeError::ConflictingHeaders),
            (Some(dh), None) => Ok(Self::NoBundle(NoBundleMessage {
                sender: identity("DHHeader.identity", &dh.identity)?,
                ephemeral: key("DHHeader.key", &dh.key)?,
                ciphertext: wire.payload.clone(),
            })),
            (None, Some(_)) => EncryptedMessage::from_proto(wire).map(Self::Ratchet),
            (None, None) => Err(DecodeError::NoHeader),
        }
    }
}

impl EncryptedMessage {
    /// The wire form.
    pub fn to_proto(&self) -> proto::EncryptedMessageProtocol {
        proto::EncryptedMessageProtocol {
            x3dh_header: self.initial.as_ref().map(InitialHeader::to_proto),
            dr_header: Some(proto::DrHeader {
                key: self.header.ratchet_key.as_bytes().to_vec(),
                n: self.header.n,
                pn: self.header.previous_chain_length,
                id: self.bundle_id.as_bytes().to_vec(),
            }),
            payload: self.ciphertext.clone(),
            dh_header: None,
        }
    }

    /// Checks and types a wire entry carrying a ratchet header.
    pub fn from_proto(wire: &proto::EncryptedMessageProtocol) -> Result<Self, DecodeError> {
        let dr = wire.dr_header.as_ref().ok_or(DecodeError::NoHeader)?;
        if wire.dh_header.is_some() {
            return Err(DecodeError::ConflictingHeaders);
        }
        Ok(Self {
            initial: wire.x3dh_header.as_ref().map(InitialHeader::from_proto).transpose()?,
            header: Header { ratchet_key: key("DRHeader.key", &dr.key)?, previous_chain_length: dr.pn, n: dr.n },
            bundle_id: key("DRHeader.id", &dr.id)?,
            ciphertext: wire.payload.clone(),
        })
    }
}

impl InitialHeader {
    /// The wire form.
    pub fn to_proto(&self) -> proto::X3dhHeader {
        proto::X3dhHeader {
            key: self.ephemeral.as_bytes().to_vec(),
            id: self.prekey.as_bytes().to_vec(),
            identity: self.identity.as_bytes().to_vec(),
        }
    }

    /// Checks and types a wire header.
    pub fn from_proto(wire: &proto::X3dhHeader) -> Result<Self, DecodeError> {
        Ok(Self {
            identity: identity("X3DHHeader.identity", &wire.identity)?,
            ephemeral: key("X3DHHeader.key", &wire.key)?,
            prekey: key("X3DHHeader.id", &wire.id)?,
        })
    }
}

impl NoBundleMessage {
    /// The wire form.
    pub fn to_proto(&self) -> proto::EncryptedMessageProtocol {
        proto::EncryptedMessageProtocol {
            x3dh_header: None,
            dr_header: None,
            payload: self.ciphertext.clone(),
            dh_header: Some(proto::DhHeader {
                key: self.ephemeral.as_bytes().to_vec(),
                identity: self.sender.as_bytes().to_vec(),
            }),
        }
    }
}

fn key(field: &'static str, bytes: &[u8]) -> Result<PublicKey, DecodeError> {
    PublicKey::from_slice(bytes).ok_or(DecodeError::KeyLength { field, len: bytes.len() })
}

fn identity(field: &'static str, bytes: &[u8]) -> Result<IdentityKey, DecodeError> {
    if bytes.len() != 32 {
        return Err(DecodeError::KeyLength { field, len: bytes.len() });
    }
    IdentityKey::from_slice(bytes).map_err(DecodeError::Identity)
}
