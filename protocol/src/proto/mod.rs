//! The protobuf wire messages of 53/WAKU2-X3DH, hand-written with `prost` derives and the exact
//! field numbers of the spec and of status-go's `protocol_message.proto`.
//!
//! These are raw wire structs: every byte string is unvalidated. The typed forms, which check key
//! lengths, identities and signatures, live in [`crate::x3dh`]. Additions of our profile
//! (`docs/profile.md`, X3DH section) are marked below; all use field numbers status-go leaves
//! unused, so a status-go parser skips them as unknown fields.
//!
//! Maps are `BTreeMap`s so that encoding is deterministic (entries in key order), which the test
//! vectors rely on. `HRHeader` (field 102 of `EncryptedMessageProtocol`, the communities hash
//! ratchet) is out of scope: prost skips it as an unknown field.

use std::collections::BTreeMap;

/// A signed prekey of one installation (`SignedPreKey`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SignedPreKey {
    /// The X25519 public prekey SPK (32 bytes in our profile).
    #[prost(bytes = "vec", tag = "1")]
    pub signed_pre_key: Vec<u8>,
    /// The prekey's version, +1 per rotation, starting at 1.
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// The protocol version the installation speaks (status-go field 3; not in the 53 text).
    #[prost(uint32, tag = "3")]
    pub protocol_version: u32,
}

/// A prekey bundle (`Bundle`): an identity and one signed prekey per installation.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Bundle {
    /// The identity key IK (Ed25519, 32 bytes in our profile).
    #[prost(bytes = "vec", tag = "1")]
    pub identity: Vec<u8>,
    /// Signed prekeys indexed by installation id.
    #[prost(btree_map = "string, message", tag = "2")]
    pub signed_pre_keys: BTreeMap<String, SignedPreKey>,
    /// The bundle signature (Ed25519, 64 bytes, over the encoding of `x3dh::bundle`).
    #[prost(bytes = "vec", tag = "4")]
    pub signature: Vec<u8>,
    /// Creation time in Unix nanoseconds.
    #[prost(int64, tag = "5")]
    pub timestamp: i64,
    /// Profile addition: the cipher suite, 1 = Suite D (absent/0 = status-go's secp256k1 suite).
    #[prost(uint32, tag = "6")]
    pub suite: u32,
}

/// The X3DH part of an initial message (`X3DHHeader`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct X3dhHeader {
    /// The initiator's ephemeral key EK_A.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The responder's signed prekey SPK_B that was used.
    #[prost(bytes = "vec", tag = "4")]
    pub id: Vec<u8>,
    /// Profile addition: the initiator's identity key IK_A (field 3 is reserved by status-go).
    #[prost(bytes = "vec", tag = "5")]
    pub identity: Vec<u8>,
}

/// The Double Ratchet header (`DRHeader`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DrHeader {
    /// The sender's current ratchet public key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The message number in the sending chain.
    #[prost(uint32, tag = "2")]
    pub n: u32,
    /// The length of the previous sending chain.
    #[prost(uint32, tag = "3")]
    pub pn: u32,
    /// The bundle id: the responder's signed prekey the session was built on.
    #[prost(bytes = "vec", tag = "4")]
    pub id: Vec<u8>,
}

/// The header of a message sent without a bundle (`DHHeader`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DhHeader {
    /// The sender's ephemeral key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// Profile addition: the sender's identity key IK_A.
    #[prost(bytes = "vec", tag = "2")]
    pub identity: Vec<u8>,
}

/// One encrypted message for one installation (`EncryptedMessageProtocol`; the spec text calls
/// it `DirectMessageProtocol`, with the same field numbers).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct EncryptedMessageProtocol {
    /// Present until the initiator has received a reply on the session.
    #[prost(message, optional, tag = "1")]
    pub x3dh_header: Option<X3dhHeader>,
    /// Present on every Double Ratchet message.
    #[prost(message, optional, tag = "2")]
    pub dr_header: Option<DrHeader>,
    /// The ciphertext.
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
    /// Present on messages sent without a bundle (no forward secrecy).
    #[prost(message, optional, tag = "101")]
    pub dh_header: Option<DhHeader>,
}

/// The top-level message (`ProtocolMessage`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ProtocolMessage {
    /// The sender's installation id.
    #[prost(string, tag = "2")]
    pub installation_id: String,
    /// The sender's bundles.
    #[prost(message, repeated, tag = "3")]
    pub bundles: Vec<Bundle>,
    /// Encrypted messages indexed by recipient installation id, or `"none"` for any installation
    /// (the spec text calls this field `direct_message`).
    #[prost(btree_map = "string, message", tag = "101")]
    pub encrypted_message: BTreeMap<String, EncryptedMessageProtocol>,
    /// An unencrypted public message.
    #[prost(bytes = "vec", tag = "102")]
    pub public_message: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// Expected bytes are written out by hand from the protobuf encoding rules
    /// (tag = field << 3 | wire type), so a wrong field number cannot go unnoticed.
    #[test]
    fn field_numbers_match_the_spec() {
        let header = X3dhHeader { key: vec![0xaa], id: vec![0xbb], identity: vec![0xcc] };
        assert_eq!(hex::encode(header.encode_to_vec()), "0a01aa2201bb2a01cc");
        let dr = DrHeader { key: vec![1], n: 2, pn: 3, id: vec![4] };
        assert_eq!(hex::encode(dr.encode_to_vec()), "0a01011002180322 0104".replace(' ', ""));
        let dh = DhHeader { key: vec![5], identity: vec![6] };
        assert_eq!(hex::encode(dh.encode_to_vec()), "0a0105120106");
        let entry = EncryptedMessageProtocol {
            x3dh_header: None,
            dr_header: None,
            payload: vec![7],
            dh_header: Some(DhHeader { key: vec![], identity: vec![] }),
        };
        // Field 101, wire type 2: (101 << 3) | 2 = 810 = varint aa 06.
        assert_eq!(hex::encode(entry.encode_to_vec()), "1a0107aa0600");
        let spk = SignedPreKey { signed_pre_key: vec![8], version: 9, protocol_version: 1 };
        assert_eq!(hex::encode(spk.encode_to_vec()), "0a010810091801");
        let bundle = Bundle {
            identity: vec![1],
            signed_pre_keys: BTreeMap::from([("i".to_owned(), spk)]),
            signature: vec![2],
            timestamp: 3,
            suite: 1,
        };
        // Map entry: field 2 { 1: "i", 2: SignedPreKey }.
        assert_eq!(
            hex::encode(bundle.encode_to_vec()),
            "0a0101120c0a016912070a0108100918012201022803 3001".replace(' ', "")
        );
        let message = ProtocolMessage {
            installation_id: "a".into(),
            bundles: vec![],
            encrypted_message: BTreeMap::from([("none".to_owned(), entry)]),
            public_message: vec![9],
        };
        // Field 102 = (102 << 3) | 2 = 818 = varint b2 06.
        assert_eq!(hex::encode(message.encode_to_vec()), "120161aa060e0a046e6f6e6512061a0107aa0600b2060109");
    }

    #[test]
    fn unknown_fields_such_as_the_hash_ratchet_header_are_skipped() {
        // An entry with a payload and an HRHeader (field 102) only.
        let bytes = hex::decode("1a0107b2060100").unwrap();
        let entry = EncryptedMessageProtocol::decode(&bytes[..]).unwrap();
        assert_eq!(entry.payload, vec![7]);
        assert!(entry.dr_header.is_none() && entry.dh_header.is_none() && entry.x3dh_header.is_none());
    }
}
