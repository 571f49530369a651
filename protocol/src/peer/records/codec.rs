//! Record values: format version (u16 big-endian) ‖ postcard. Only the canonical encoding is
//! accepted, so a value that loads is exactly what this build writes for it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{RECORD_VERSION, RecordError, RecordKey, RecordValue};

/// Encodes one record's value.
pub(crate) fn encode_value<T: Serialize>(value: &T) -> Result<RecordValue, postcard::Error> {
    let bytes = RECORD_VERSION.to_be_bytes().to_vec();
    Ok(RecordValue::from_bytes(postcard::to_extend(value, bytes)?))
}

/// Decodes one record's value, refusing other versions, trailing bytes and non-canonical forms.
pub(crate) fn decode_value<T: Serialize + DeserializeOwned>(
    key: &RecordKey,
    value: &RecordValue,
) -> Result<T, RecordError> {
    let bytes = value.as_bytes();
    let malformed = || RecordError::Malformed(key.clone());
    let (version, body) = bytes.split_first_chunk::<2>().ok_or_else(malformed)?;
    let version = u16::from_be_bytes(*version);
    if version != RECORD_VERSION {
        return Err(RecordError::UnsupportedVersion { key: key.clone(), version });
    }
    let (decoded, rest): (T, &[u8]) = postcard::take_from_bytes(body).map_err(|_| malformed())?;
    if !rest.is_empty() {
        return Err(malformed());
    }
    let canonical = postcard::to_allocvec(&decoded).map_err(|_| malformed())?;
    if canonical != body {
        return Err(malformed());
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::records::RecordKind;

    fn key() -> RecordKey {
        RecordKey::new(RecordKind::Config, b"")
    }

    #[test]
    fn a_value_round_trips_and_starts_with_its_version() {
        let value = encode_value(&(7u32, "seven".to_string())).unwrap();
        assert_eq!(&value.as_bytes()[..2], &RECORD_VERSION.to_be_bytes());
        let back: (u32, String) = decode_value(&key(), &value).unwrap();
        assert_eq!(back, (7, "seven".into()));
    }

    #[test]
    fn other_versions_truncation_and_trailing_bytes_are_refused() {
        let good = encode_value(&(7u32, "seven".to_string())).unwrap().as_bytes().to_vec();
        let mut other = good.clone();
        other[1] ^= 0x40;
        let refused = decode_value::<(u32, String)>(&key(), &RecordValue::from_bytes(other));
        assert!(matches!(refused, Err(RecordError::UnsupportedVersion { .. })));
        for bad in [good[..good.len() - 1].to_vec(), [good.clone(), vec![0]].concat(), vec![0]] {
            let refused = decode_value::<(u32, String)>(&key(), &RecordValue::from_bytes(bad));
            assert_eq!(refused, Err(RecordError::Malformed(key())));
        }
    }

    #[test]
    fn a_non_canonical_encoding_is_refused() {
        // postcard varints: 7 is one byte (0x07); 0x87 0x00 decodes to 7 as well.
        let mut bytes = RECORD_VERSION.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0x87, 0x00]);
        assert_eq!(decode_value::<u32>(&key(), &RecordValue::from_bytes(bytes)), Err(RecordError::Malformed(key())));
    }
}
