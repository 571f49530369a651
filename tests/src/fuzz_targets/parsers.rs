//! Parsers: PayloadV2, WakuMessage, the protobufs of 53 and of the peer frames, contact codes,
//! chat keys and pairing QR strings. What parses must round-trip; what is refused must not panic.

use std::fmt::Debug;

use prost::Message as _;
use status_1to1::identity::{ContactCode, IdentityKey};
use status_1to1::noise::{PayloadV2, PayloadV2Ref};
use status_1to1::pairing::PairingQr;
use status_1to1::peer::{ContactCard, Frame, KeyExchange};
use status_1to1::proto;
use status_1to1::waku::message::{MAX_META_LEN, MAX_WAKU_MESSAGE_LEN, VERSION_NOISE};
use status_1to1::waku::{ContentTopic, WakuMessage};
use status_1to1::x3dh::{Envelope, Payload, VerifiedBundle};

/// PayloadV2: the parser never panics; what it accepts re-encodes to exactly the input, and the
/// borrowed and owned parsers agree.
pub fn payload_v2(data: &[u8]) {
    let borrowed = PayloadV2Ref::parse(data);
    let owned = PayloadV2::decode(data);
    assert_eq!(borrowed.map(|p| p.to_owned()), owned.clone());
    if let Ok(p) = owned {
        assert_eq!(p.encode().as_deref(), Ok(data), "accepted input must be canonical");
        assert_eq!(p.encoded_len(), data.len());
    }
}

/// WakuMessage: an accepted message respects the network limits and has a valid content topic;
/// its re-encoding parses to the same message and is a fixpoint; the version-2 payload is
/// offered exactly when the version is 2 (and then goes through the PayloadV2 checks).
pub fn waku_message(data: &[u8]) {
    let Ok(message) = WakuMessage::from_bytes(data) else { return };
    assert!(data.len() <= MAX_WAKU_MESSAGE_LEN);
    assert!(message.meta.as_ref().is_none_or(|m| m.len() <= MAX_META_LEN));
    assert!(ContentTopic::parse(&message.content_topic).is_ok());
    let bytes = message.to_bytes();
    assert_eq!(WakuMessage::from_bytes(&bytes).as_ref(), Ok(&message), "re-encoding parses back");
    assert_eq!(WakuMessage::from_bytes(&bytes).map(|m| m.to_bytes()), Ok(bytes.clone()), "encoding is a fixpoint");
    assert_eq!(
        message.hash("/waku/2/rs/16/32"),
        WakuMessage::from_bytes(&bytes).map(|m| m.hash("/waku/2/rs/16/32")).unwrap()
    );
    match message.noise_payload() {
        Ok(payload) => {
            assert_eq!(message.effective_version(), VERSION_NOISE);
            payload_v2(payload);
        }
        Err(_) => assert_ne!(message.version, Some(VERSION_NOISE)),
    }
}

/// Decodes a protobuf; if it parses, its encoding parses back to the same value and re-encodes
/// identically (prost's encoding is canonical for what it decoded).
fn fixpoint<M: prost::Message + Default + PartialEq + Debug>(data: &[u8]) -> Option<M> {
    let message = M::decode(data).ok()?;
    let bytes = message.encode_to_vec();
    let again = M::decode(&bytes[..]).ok();
    assert_eq!(again.as_ref(), Some(&message), "protobuf re-encoding parses back");
    assert_eq!(again.map(|m| m.encode_to_vec()), Some(bytes), "protobuf encoding is a fixpoint");
    Some(message)
}

/// The protobufs of 53 and of the peer frames: the first byte picks the message. Each one that
/// parses round-trips (wire and typed forms); typed decoding of envelopes and entries
/// round-trips; a bundle that verifies verifies again from its re-encoding, to the same value.
pub fn protobufs(data: &[u8]) {
    let Some((&selector, data)) = data.split_first() else { return };
    match selector % 8 {
        0 => {
            let Some(wire) = fixpoint::<proto::ProtocolMessage>(data) else { return };
            if let Ok(envelope) = Envelope::from_proto(wire.clone()) {
                assert_eq!(Envelope::decode(&envelope.encode()).as_ref(), Ok(&envelope), "envelope round trip");
                for bundle in envelope.bundles.iter().take(2) {
                    check_bundle(bundle);
                }
            }
            assert_eq!(Envelope::decode(data).is_ok(), Envelope::from_proto(wire).is_ok());
        }
        1 => {
            let Some(wire) = fixpoint::<proto::EncryptedMessageProtocol>(data) else { return };
            if let Ok(payload) = Payload::from_proto(&wire) {
                assert_eq!(Payload::from_proto(&payload.to_proto()).as_ref(), Ok(&payload), "entry round trip");
                if let Payload::Ratchet(m) = &payload {
                    assert_eq!(m.bundle_id.as_bytes().as_slice(), wire.dr_header.as_ref().unwrap().id.as_slice());
                }
            }
        }
        2 => {
            if let Some(bundle) = fixpoint::<proto::Bundle>(data) {
                check_bundle(&bundle);
            }
        }
        3 => drop(fixpoint::<proto::SignedPreKey>(data)),
        4 => drop(fixpoint::<proto::X3dhHeader>(data)),
        5 => drop(fixpoint::<proto::DrHeader>(data)),
        6 => drop(fixpoint::<proto::DhHeader>(data)),
        _ => {
            if let Ok(frame) = Frame::decode(data) {
                assert_eq!(Frame::decode(&frame.encode()).as_ref(), Ok(&frame), "frame round trip");
            }
        }
    }
}

/// A bundle that verifies re-verifies from its re-encoding to the same value, and belongs to
/// the identity it names.
fn check_bundle(bundle: &proto::Bundle) {
    let Ok(verified) = VerifiedBundle::verify(bundle) else { return };
    assert_eq!(VerifiedBundle::verify(&verified.to_proto()).as_ref(), Ok(&verified), "bundle round trip");
    assert_eq!(VerifiedBundle::verify_from(bundle, verified.identity()).as_ref(), Ok(&verified));
    assert!(!verified.prekeys().is_empty());
    assert!(verified.prekeys().values().all(|p| !p.key.is_low_order()), "a weak prekey verified");
}

/// Contact codes (even first byte) and chat keys (odd): what parses is canonical (re-encodes to
/// exactly the input, in its case) and round-trips; a code's card names its identity and
/// offers X3DH exactly when it carries a bundle.
pub fn identity_strings(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    if selector % 2 == 0 {
        let Ok(code) = ContactCode::parse(&text) else { return };
        let lower = code.to_string();
        assert!(lower == text || code.to_qr_text() == text, "accepted a non-canonical contact code: {text}");
        assert_eq!(ContactCode::parse(&lower).as_ref(), Ok(&code), "contact code round trip");
        assert_eq!(ContactCode::parse(&code.to_qr_text()).as_ref(), Ok(&code), "QR text round trip");
        let card = ContactCard::from_contact_code(&code);
        assert_eq!(&card.identity, code.identity());
        assert_eq!(card.supports.contains(&KeyExchange::X3dh), code.prekey_bundle().is_some());
        if let Some(bytes) = code.prekey_bundle()
            && let Ok(bundle) = proto::Bundle::decode(bytes)
        {
            check_bundle(&bundle);
        }
    } else {
        if let Ok(key) = IdentityKey::from_chat_key(&text) {
            assert_eq!(key.to_chat_key(), text, "accepted a non-canonical chat key");
            assert_eq!(IdentityKey::from_bytes(key.as_bytes()), Ok(key));
        }
        if let Ok(key) = IdentityKey::from_slice(rest.get(..32).unwrap_or(rest)) {
            assert_eq!(IdentityKey::from_chat_key(&key.to_chat_key()), Ok(key), "chat key round trip");
        }
    }
}

/// Pairing QR strings: what parses round-trips, differs from its canonical form at most by `=`
/// padding, and its prologue is the canonical string.
pub fn pairing_qr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(qr) = PairingQr::parse(&text) else { return };
    let canonical = qr.to_string();
    assert_eq!(PairingQr::parse(&canonical).as_ref(), Ok(&qr), "QR round trip");
    assert_eq!(canonical.replace('=', ""), text.replace('=', ""), "accepted a QR that is not canonical up to padding");
    assert_eq!(qr.prologue(), canonical.as_bytes());
    assert!(ContentTopic::parse(qr.params().content_topic()).is_ok(), "QR parameters give a valid content topic");
}
