//! The pairing QR string, exactly as js-noise writes it (`qr.ts`; noise-interop §7.1):
//!
//! ```text
//! b64(application_name) ":" b64(application_version) ":" b64(shard_id) ":" b64(eB) ":" b64(H(sB || r))
//! ```
//!
//! `b64` is RFC 4648 §5 base64url **with** `=` padding. Decoding follows js-noise: padding may be
//! missing, but the standard alphabet (`+`, `/`) and any field count other than five are refused.
//! The canonical (padded) re-serialisation is the handshake prologue on both sides, so an unpadded
//! QR still yields the prologue the QR owner used. The message nametag is not part of the string:
//! it travels next to it, out of band.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::commitment::Commitment;
use super::topic::{ContentTopicParams, TopicParamError};
use crate::crypto::PublicKey;

/// base64url with padding on output, padding optional on input (js-noise `base64urlpad`).
const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(true).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Names of the five fields, for error messages.
const FIELDS: [&str; 5] = ["application name", "application version", "shard id", "ephemeral key", "commitment"];

/// Why a string is not a pairing QR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// Not exactly five `:`-separated fields.
    #[error("pairing QR has {0} fields, expected 5")]
    FieldCount(usize),
    /// A field is not base64url (wrong alphabet, bad length or non-zero trailing bits).
    #[error("pairing QR field `{0}` is not base64url")]
    Base64(&'static str),
    /// A text field is not UTF-8.
    #[error("pairing QR field `{0}` is not UTF-8")]
    NotUtf8(&'static str),
    /// The ephemeral key or the commitment is not 32 bytes.
    #[error("pairing QR field `{field}` has {len} bytes, expected 32")]
    KeyLength {
        /// Which field.
        field: &'static str,
        /// Its decoded length.
        len: usize,
    },
    /// The content topic parameters cannot form a content topic.
    #[error("pairing QR content topic parameters are invalid: {0}")]
    TopicParams(#[from] TopicParamError),
}

/// What a QR owner exposes: the content topic parameters, its ephemeral key and the commitment
/// to its static key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairingQr {
    params: ContentTopicParams,
    ephemeral_key: PublicKey,
    commitment: Commitment,
}

impl PairingQr {
    /// A QR for these parameters and keys.
    pub fn new(params: ContentTopicParams, ephemeral_key: PublicKey, commitment: Commitment) -> Self {
        Self { params, ephemeral_key, commitment }
    }

    /// Parses a QR string (leniently on padding, like js-noise).
    pub fn parse(text: &str) -> Result<Self, QrError> {
        let fields: Vec<&str> = text.split(':').collect();
        let [name, version, shard, ephemeral, commitment] = fields[..] else {
            return Err(QrError::FieldCount(fields.len()));
        };
        let params = ContentTopicParams::new(&text_field(name, 0)?, &text_field(version, 1)?, &text_field(shard, 2)?)?;
        let ephemeral_key = PublicKey::from_bytes(key_field(ephemeral, 3)?);
        let commitment = Commitment::from_bytes(key_field(commitment, 4)?);
        Ok(Self { params, ephemeral_key, commitment })
    }

    /// The content topic parameters.
    pub fn params(&self) -> &ContentTopicParams {
        &self.params
    }

    /// The QR owner's ephemeral key (the pre-message `e`).
    pub fn ephemeral_key(&self) -> &PublicKey {
        &self.ephemeral_key
    }

    /// The QR owner's commitment `H(s || r)` to its static key.
    pub fn commitment(&self) -> &Commitment {
        &self.commitment
    }

    /// The handshake prologue: the UTF-8 bytes of the canonical string.
    pub fn prologue(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl std::fmt::Display for PairingQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.params;
        write!(
            f,
            "{}:{}:{}:{}:{}",
            B64.encode(p.application_name()),
            B64.encode(p.application_version()),
            B64.encode(p.shard_id()),
            B64.encode(self.ephemeral_key.as_bytes()),
            B64.encode(self.commitment.as_bytes()),
        )
    }
}

fn decode(field: &str, index: usize) -> Result<Vec<u8>, QrError> {
    B64.decode(field).map_err(|_| QrError::Base64(FIELDS[index]))
}

fn text_field(field: &str, index: usize) -> Result<String, QrError> {
    String::from_utf8(decode(field, index)?).map_err(|_| QrError::NotUtf8(FIELDS[index]))
}

fn key_field(field: &str, index: usize) -> Result<[u8; 32], QrError> {
    let bytes = decode(field, index)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| QrError::KeyLength { field: FIELDS[index], len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PairingQr {
        PairingQr::new(
            ContentTopicParams::js_default(),
            PublicKey::from_bytes([0xfb; 32]),
            Commitment::from_bytes([7; 32]),
        )
    }

    #[test]
    fn canonical_text_round_trips_and_unpadded_text_parses_to_the_same_qr() {
        let qr = sample();
        let text = qr.to_string();
        assert!(text.starts_with("d2FrdS1ub2lzZS1zZXNzaW9ucw==:MC4x:MTA=:"), "{text}");
        assert_eq!(PairingQr::parse(&text), Ok(qr.clone()));
        assert_eq!(PairingQr::parse(&text.replace('=', "")), Ok(qr.clone()));
        assert_eq!(qr.prologue(), text.as_bytes());
    }

    #[test]
    fn malformed_strings_get_typed_errors() {
        let text = sample().to_string();
        assert_eq!(PairingQr::parse(&text.replace('-', "+").replace('_', "/")), Err(QrError::Base64("ephemeral key")));
        assert_eq!(PairingQr::parse("a:b"), Err(QrError::FieldCount(2)));
        assert_eq!(PairingQr::parse(&format!("{text}:")), Err(QrError::FieldCount(6)));
        let short_key = format!("d2FrdQ==:MQ==:MQ==:{}:{}", B64.encode([1u8; 31]), B64.encode([2u8; 32]));
        assert_eq!(PairingQr::parse(&short_key), Err(QrError::KeyLength { field: "ephemeral key", len: 31 }));
        let not_utf8 = format!("{}:MQ==:MQ==:{}:{}", B64.encode([0xff]), B64.encode([1u8; 32]), B64.encode([2u8; 32]));
        assert_eq!(PairingQr::parse(&not_utf8), Err(QrError::NotUtf8("application name")));
        let slash = format!("{}:MQ==:MQ==:{}:{}", B64.encode("a/b"), B64.encode([1u8; 32]), B64.encode([2u8; 32]));
        assert!(matches!(PairingQr::parse(&slash), Err(QrError::TopicParams(_))));
    }
}
