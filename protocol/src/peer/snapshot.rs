//! Versioned, checksummed snapshots of a whole peer. A corrupted or truncated snapshot is refused
//! as a whole; nothing is ever half-loaded.
//!
//! Layout: `"S1TO1SNP"` (8) ‖ version (u16 big-endian) ‖ body length (u32 big-endian) ‖ body
//! (postcard of the peer's records, `(last change set number, [(key, value)])` in key order:
//! compact and deterministic) ‖
//! SHA-256 of everything before (32) (`docs/profile.md` §6.3).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::{RecordError, RecordKey, RecordValue, Records};
use crate::crypto::hash::sha256;

const MAGIC: &[u8; 8] = b"S1TO1SNP";
/// The snapshot format version this build writes and reads. 2: Noise message 1 carries an
/// introduction (inbound handshakes remember their caller, requests hold message 1s). 3: the
/// body is the peer's records (`docs/storage.md`).
pub const SNAPSHOT_VERSION: u16 = 3;
const HEADER_LEN: usize = 8 + 2 + 4;
const CHECKSUM_LEN: usize = 32;

/// An encoded peer snapshot: opaque bytes for the driver to store.
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot(Vec<u8>);

impl Snapshot {
    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps stored bytes (validated when decoded).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Encodes a state.
    pub(crate) fn encode<T: Serialize>(state: &T) -> Result<Self, SnapshotError> {
        let body = postcard::to_allocvec(state).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        let len = u32::try_from(body.len()).map_err(|_| SnapshotError::Malformed("state too large".into()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&body);
        let checksum = sha256(&[&out]);
        out.extend_from_slice(&checksum);
        Ok(Self(out))
    }

    /// Decodes a state, checking magic, version, length and checksum first. Only the canonical
    /// encoding is accepted (no trailing bytes, maps and sets in order), so a snapshot that loads
    /// is exactly what this build would have written for that state.
    pub(crate) fn decode<T: Serialize + DeserializeOwned>(&self) -> Result<T, SnapshotError> {
        let bytes = &self.0;
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(SnapshotError::TooShort(bytes.len()));
        }
        let (content, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if &content[..8] != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        if sha256(&[content]) != checksum {
            return Err(SnapshotError::ChecksumMismatch);
        }
        let version = u16::from_be_bytes([content[8], content[9]]);
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let len = u32::from_be_bytes([content[10], content[11], content[12], content[13]]) as usize;
        let body = &content[HEADER_LEN..];
        if body.len() != len {
            return Err(SnapshotError::LengthMismatch { declared: len, actual: body.len() });
        }
        let (state, rest) = postcard::take_from_bytes(body).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(SnapshotError::NonCanonical);
        }
        let canonical = postcard::to_allocvec(&state).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        if canonical != body {
            return Err(SnapshotError::NonCanonical);
        }
        Ok(state)
    }
}

/// A snapshot body: the number of the last change set, then every record as (key, value) bytes.
type RecordRows = (u64, Vec<(Vec<u8>, Vec<u8>)>);

impl Snapshot {
    /// Frames a peer's records.
    pub(crate) fn encode_records(records: &Records) -> Result<Self, SnapshotError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            records.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        Self::encode(&(records.seq(), rows))
    }

    /// The records a snapshot holds (keys checked; values when the peer loads them).
    pub(crate) fn decode_records(&self) -> Result<Records, SnapshotError> {
        let (seq, rows): RecordRows = self.decode()?;
        let mut keyed = Vec::with_capacity(rows.len());
        for (key, value) in rows {
            keyed.push((RecordKey::from_bytes(key)?, RecordValue::from_bytes(value)));
        }
        Ok(Records::from_rows(seq, keyed))
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot({} bytes, <redacted>)", self.0.len())
    }
}

/// Why a snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Shorter than header and checksum.
    #[error("snapshot of {0} bytes is too short")]
    TooShort(usize),
    /// Not a snapshot of this library.
    #[error("not a status-1to1 snapshot")]
    BadMagic,
    /// Corrupted (or truncated and padded).
    #[error("snapshot checksum mismatch")]
    ChecksumMismatch,
    /// Written by an incompatible version.
    #[error("unsupported snapshot version {0}")]
    UnsupportedVersion(u16),
    /// The declared body length is wrong.
    #[error("snapshot body declared as {declared} bytes, found {actual}")]
    LengthMismatch {
        /// Declared.
        declared: usize,
        /// Present.
        actual: usize,
    },
    /// The records do not describe a valid state.
    #[error("snapshot records refused: {0}")]
    Record(#[from] RecordError),
    /// The body does not describe a valid state.
    #[error("malformed snapshot body: {0}")]
    Malformed(String),
    /// The body describes a state but is not its canonical encoding (trailing bytes, entries out
    /// of order): not something this library wrote.
    #[error("snapshot body is not in canonical form")]
    NonCanonical,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct State {
        a: u32,
        b: Vec<u8>,
    }

    #[test]
    fn round_trip_and_every_corruption_is_refused() {
        let state = State { a: 7, b: vec![1, 2, 3] };
        let snap = Snapshot::encode(&state).unwrap();
        assert_eq!(snap.decode::<State>().unwrap(), state);
        let bytes = snap.as_bytes().to_vec();
        for i in 0..bytes.len() {
            let mut corrupted = bytes.clone();
            corrupted[i] ^= 0x01;
            assert!(Snapshot::from_bytes(corrupted).decode::<State>().is_err(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(Snapshot::from_bytes(bytes[..len].to_vec()).decode::<State>().is_err(), "truncated to {len}");
        }
        assert_eq!(Snapshot::from_bytes(vec![0; 10]).decode::<State>(), Err(SnapshotError::TooShort(10)));
    }

    /// Re-frames `body` with a correct length and checksum, as a deliberate forger would.
    fn reframe(body: &[u8]) -> Snapshot {
        reframe_as(SNAPSHOT_VERSION, body)
    }

    fn reframe_as(version: u16, body: &[u8]) -> Snapshot {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        let checksum = sha256(&[&out]);
        out.extend_from_slice(&checksum);
        Snapshot::from_bytes(out)
    }

    #[test]
    fn non_canonical_bodies_are_refused_even_with_a_valid_checksum() {
        let state = State { a: 1, b: vec![2, 3] };
        let body = postcard::to_allocvec(&state).unwrap();
        assert_eq!(reframe(&body).decode::<State>(), Ok(state));
        let mut trailing = body.clone();
        trailing.push(0);
        assert_eq!(reframe(&trailing).decode::<State>(), Err(SnapshotError::NonCanonical));
        // An over-long varint for `a` (1 encoded as 0x81 0x00) decodes to the same value.
        let mut overlong = vec![0x81, 0x00];
        overlong.extend_from_slice(&body[1..]);
        assert!(reframe(&overlong).decode::<State>().is_err());
        let sets: std::collections::BTreeSet<u8> = [1, 2].into();
        let sorted = postcard::to_allocvec(&sets).unwrap();
        let unsorted = [sorted[0], sorted[2], sorted[1]];
        assert_eq!(reframe(&unsorted).decode::<std::collections::BTreeSet<u8>>(), Err(SnapshotError::NonCanonical));
    }

    #[test]
    fn a_snapshot_of_an_earlier_format_is_refused_by_its_version() {
        let body = postcard::to_allocvec(&State { a: 1, b: vec![] }).unwrap();
        assert_eq!(reframe_as(1, &body).decode::<State>(), Err(SnapshotError::UnsupportedVersion(1)));
    }
}
