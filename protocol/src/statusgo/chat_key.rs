//! 2/ACCOUNT chat keys for secp256k1 identities: the `0x04…` hex form status-go uses as chat id,
//! and the multibase form of the multicodec key (`secp256k1-pub` = `0xe7`, varint `e7 01`) over
//! the compressed point, shown as `zQ3s…` in base58btc.

use base64::Engine as _;

use super::keys::{KeyError, PublicKey};

/// The multicodec prefix of a secp256k1 public key (`0xe7` as an unsigned varint).
pub const MULTICODEC_SECP256K1: [u8; 2] = [0xe7, 0x01];

/// Why a chat key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatKeyError {
    /// A multibase prefix other than the ones read here (`z`, `f`, `F`, `m`, `u`, `0x`).
    #[error("unsupported multibase encoding")]
    UnsupportedEncoding,
    /// The text does not decode in its encoding.
    #[error("chat key does not decode")]
    Malformed,
    /// The multicodec is not `secp256k1-pub`.
    #[error("not a secp256k1 multicodec key")]
    WrongCodec,
    /// The key is not a point of the curve.
    #[error("{0}")]
    Key(#[from] KeyError),
}

/// The compressed multibase chat key: `z` + base58btc(`e7 01` ‖ compressed key).
pub fn to_multibase(key: &PublicKey) -> String {
    let mut bytes = MULTICODEC_SECP256K1.to_vec();
    bytes.extend_from_slice(key.compressed());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Parses a chat key in any form status-go shows: `0x04…` (the chat id), `0x`/`f`/`F` hex of the
/// multicodec key (2/ACCOUNT reads `0x` as `f`), base58btc `z…`, or base64 `m…`/`u…`; the key may
/// be compressed or not.
pub fn parse(text: &str) -> Result<PublicKey, ChatKeyError> {
    let text = text.trim();
    if let Some(hex_digits) = text.strip_prefix("0x") {
        return from_bytes(&hex::decode(hex_digits).map_err(|_| ChatKeyError::Malformed)?, true);
    }
    let mut chars = text.chars();
    let prefix = chars.next().ok_or(ChatKeyError::Malformed)?;
    let body = chars.as_str();
    let bytes = match prefix {
        'z' => bs58::decode(body).into_vec().map_err(|_| ChatKeyError::Malformed)?,
        'f' | 'F' => hex::decode(body).map_err(|_| ChatKeyError::Malformed)?,
        'm' => base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).map_err(|_| ChatKeyError::Malformed)?,
        'u' => base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).map_err(|_| ChatKeyError::Malformed)?,
        _ => return Err(ChatKeyError::UnsupportedEncoding),
    };
    from_bytes(&bytes, false)
}

/// A multicodec key, or (when `bare_allowed`, for `0x…`) a bare SEC1 key.
fn from_bytes(bytes: &[u8], bare_allowed: bool) -> Result<PublicKey, ChatKeyError> {
    match bytes.strip_prefix(&MULTICODEC_SECP256K1[..]) {
        Some(key) => Ok(PublicKey::from_sec1(key)?),
        None if bare_allowed => Ok(PublicKey::from_sec1(bytes)?),
        None => Err(ChatKeyError::WrongCodec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2/ACCOUNT "Public Key Serialization": the same key as chat id, as multicodec hex and as
    /// compressed base58btc.
    const CHAT_ID: &str = "0x04261c55675e55ff25edb50b345cfb3a3f35f60712d251cbaaab97bd50054c6ebc3cd4e22200c68daf7493e1f8da6a190a68a671e2d3977809612424c7c3888bc6";
    const MULTICODEC_HEX: &str = "0xe70104261c55675e55ff25edb50b345cfb3a3f35f60712d251cbaaab97bd50054c6ebc3cd4e22200c68daf7493e1f8da6a190a68a671e2d3977809612424c7c3888bc6";
    const COMPRESSED: &str = "zQ3shPyZJnxZK4Bwyx9QsaksNKDYTPmpwPvGSjMYVHoXHeEgB";

    #[test]
    fn the_account_spec_example_in_every_form() {
        let key = parse(CHAT_ID).unwrap();
        assert_eq!(key.chat_id(), CHAT_ID);
        assert_eq!(to_multibase(&key), COMPRESSED);
        assert_eq!(parse(COMPRESSED), Ok(key));
        assert_eq!(parse(MULTICODEC_HEX), Ok(key));
        assert_eq!(parse(&format!("f{}", &MULTICODEC_HEX[2..])), Ok(key));
        assert_eq!(parse(&format!("F{}", MULTICODEC_HEX[2..].to_uppercase())), Ok(key));
        let raw = [&MULTICODEC_SECP256K1[..], key.compressed()].concat();
        assert_eq!(parse(&format!("m{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw))), Ok(key));
        assert_eq!(parse(&format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw))), Ok(key));
    }

    #[test]
    fn other_codecs_encodings_and_points_are_refused() {
        // The Ed25519 multicodec (0xed 0x01) in base58btc: a Suite D key, not a Suite S one.
        let ed = format!("z{}", bs58::encode([&[0xed, 0x01][..], &[7; 32]].concat()).into_string());
        assert_eq!(parse(&ed), Err(ChatKeyError::WrongCodec));
        assert_eq!(parse("bafy"), Err(ChatKeyError::UnsupportedEncoding));
        assert_eq!(parse("z0OIl"), Err(ChatKeyError::Malformed));
        assert_eq!(parse(""), Err(ChatKeyError::Malformed));
        let off_curve = format!("{}{}", &CHAT_ID[..CHAT_ID.len() - 1], if CHAT_ID.ends_with('6') { '7' } else { '6' });
        assert!(matches!(parse(&off_curve), Err(ChatKeyError::Key(_))));
    }
}
