//! The peer's state as records, and the change sets that carry what one event changed.
//!
//! A record is a key (`kind ‖ key bytes`, [`RecordKey`]) and a value (`format version ‖ postcard`,
//! [`RecordValue`]). Every event that changes the peer returns one [`ChangeSet`]: the records it
//! wrote and deleted, numbered so that a store can refuse a lost or reordered one. [`Records`]
//! is what a store holds: applying every change set in order to an empty `Records` gives the
//! records of the peer that produced them, from which [`super::Peer::from_records`] loads it
//! back. The kinds and their encodings are listed in `docs/storage.md`.

mod codec;
mod diff;
mod kind;
mod state;

use std::collections::BTreeMap;

use zeroize::Zeroize;

pub(crate) use codec::{decode_value, encode_value};
pub use kind::RecordKind;
pub(crate) use state::RecordMap;

/// The format version of record values this build writes and reads.
pub const RECORD_VERSION: u16 = 1;

/// A record's key: its kind (one byte) followed by the key bytes within that kind.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey(Vec<u8>);

impl RecordKey {
    /// The key of a record of `kind` identified by `key`.
    pub fn new(kind: RecordKind, key: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(1 + key.len());
        bytes.push(kind as u8);
        bytes.extend_from_slice(key);
        Self(bytes)
    }

    /// Parses stored key bytes, refusing an unknown kind.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, RecordError> {
        let first = *bytes.first().ok_or(RecordError::EmptyKey)?;
        RecordKind::from_byte(first).ok_or(RecordError::UnknownKind(first))?;
        Ok(Self(bytes))
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        // Every constructor checks the first byte.
        RecordKind::from_byte(self.0[0]).unwrap_or(RecordKind::Meta)
    }

    /// The key within the kind.
    pub fn key(&self) -> &[u8] {
        &self.0[1..]
    }
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}/{}", self.kind(), hex::encode(self.key()))
    }
}

/// A record's value: format version (u16 big-endian) then the postcard encoding. It may hold
/// secrets (ratchet and session keys): zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordValue(Vec<u8>);

impl RecordValue {
    /// Wraps stored bytes (checked when the peer is loaded).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The stored form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (never, for a value this library wrote).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for RecordValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for RecordValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordValue({} bytes, <redacted>)", self.0.len())
    }
}

/// What one event changed: records written (`Some`) and deleted (`None`), in key order, and
/// the change set's number. Numbers start at 1 and go up by one per change set, so a store
/// that holds change set `n` accepts only `n + 1`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChangeSet {
    /// This change set's number.
    pub seq: u64,
    /// Each changed record with its new value, or `None` if it was deleted.
    pub writes: Vec<(RecordKey, Option<RecordValue>)>,
}

impl ChangeSet {
    /// Bytes a store writes for it: keys and values.
    pub fn bytes(&self) -> usize {
        self.writes.iter().map(|(k, v)| k.as_bytes().len() + v.as_ref().map_or(0, RecordValue::len)).sum()
    }
}

/// Why records or a change set were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A key without a kind byte.
    #[error("empty record key")]
    EmptyKey,
    /// A kind this build does not know.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// A change set out of sequence: lost, repeated or reordered.
    #[error("change set {found} applied after {last}: expected {}", last + 1)]
    OutOfSequence {
        /// The last change set applied.
        last: u64,
        /// The one offered.
        found: u64,
    },
    /// A value written by an incompatible format version.
    #[error("record {key:?} has unsupported format version {version}")]
    UnsupportedVersion {
        /// The record.
        key: RecordKey,
        /// Its version.
        version: u16,
    },
    /// A value that does not decode (corrupt or truncated), or not in canonical form.
    #[error("record {0:?} is malformed")]
    Malformed(RecordKey),
    /// A record the state needs is missing, or one is there that no state would write.
    #[error("records are incomplete or inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// The records of one peer, as a store holds them, with the number of the last change set
/// applied.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Records {
    seq: u64,
    rows: BTreeMap<RecordKey, RecordValue>,
}

impl Records {
    /// Records loaded from a store that applied change sets up to `seq`.
    pub fn from_rows(seq: u64, rows: impl IntoIterator<Item = (RecordKey, RecordValue)>) -> Self {
        Self { seq, rows: rows.into_iter().collect() }
    }

    /// Applies the next change set; a change set out of sequence changes nothing.
    pub fn apply(&mut self, changes: &ChangeSet) -> Result<(), RecordError> {
        if changes.seq != self.seq.wrapping_add(1) {
            return Err(RecordError::OutOfSequence { last: self.seq, found: changes.seq });
        }
        for (key, value) in &changes.writes {
            match value {
                Some(v) => self.rows.insert(key.clone(), v.clone()),
                None => self.rows.remove(key),
            };
        }
        self.seq = changes.seq;
        Ok(())
    }

    /// The number of the last change set applied (0: none).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Every record, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&RecordKey, &RecordValue)> {
        self.rows.iter()
    }

    /// The value of one record.
    pub fn get(&self, key: &RecordKey) -> Option<&RecordValue> {
        self.rows.get(key)
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Total bytes of keys and values.
    pub fn bytes(&self) -> usize {
        self.rows.iter().map(|(k, v)| k.as_bytes().len() + v.len()).sum()
    }

    /// The change set, numbered next, that turns these records into `target`: a merge of the
    /// two sorted key lists.
    pub(crate) fn changes_to(&self, target: &RecordMap) -> ChangeSet {
        let writes = diff::merge_changes(self.rows.iter(), target.iter())
            .into_iter()
            .map(|(k, v)| (k.clone(), v.cloned()))
            .collect();
        self.next(writes)
    }

    /// The change set, numbered next, made of `writes`.
    pub(crate) fn next(&self, writes: Vec<(RecordKey, Option<RecordValue>)>) -> ChangeSet {
        ChangeSet { seq: self.seq.wrapping_add(1), writes }
    }

    /// The records of one kind, with their keys within the kind.
    pub(crate) fn of_kind(&self, kind: RecordKind) -> impl Iterator<Item = (&RecordKey, &RecordValue)> {
        let start = RecordKey(vec![kind as u8]);
        self.rows.range(start..).take_while(move |(k, _)| k.as_bytes()[0] == kind as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64, writes: Vec<(RecordKey, Option<RecordValue>)>) -> ChangeSet {
        ChangeSet { seq, writes }
    }

    fn key(k: &[u8]) -> RecordKey {
        RecordKey::new(RecordKind::Contact, k)
    }

    fn value(v: &[u8]) -> Option<RecordValue> {
        Some(RecordValue::from_bytes(v.to_vec()))
    }

    #[test]
    fn change_sets_apply_in_sequence_only() {
        let mut records = Records::default();
        records.apply(&change(1, vec![(key(b"a"), value(b"1")), (key(b"b"), value(b"2"))])).unwrap();
        records.apply(&change(2, vec![(key(b"a"), None), (key(b"b"), value(b"3"))])).unwrap();
        assert_eq!(records.seq(), 2);
        assert_eq!(records.len(), 1);
        assert_eq!(records.get(&key(b"b")).unwrap().as_bytes(), b"3");

        let before = records.clone();
        for seq in [1, 2, 4, 0] {
            let refused = records.apply(&change(seq, vec![(key(b"c"), value(b"4"))]));
            assert_eq!(refused, Err(RecordError::OutOfSequence { last: 2, found: seq }));
        }
        assert_eq!(records, before, "a refused change set changes nothing");
    }

    #[test]
    fn keys_name_their_kind_and_unknown_kinds_are_refused() {
        let k = RecordKey::new(RecordKind::Outbox, &[7, 8]);
        assert_eq!(k.as_bytes(), &[RecordKind::Outbox as u8, 7, 8]);
        assert_eq!(k.kind(), RecordKind::Outbox);
        assert_eq!(k.key(), &[7, 8]);
        assert_eq!(RecordKey::from_bytes(k.as_bytes().to_vec()), Ok(k));
        assert_eq!(RecordKey::from_bytes(vec![]), Err(RecordError::EmptyKey));
        assert_eq!(RecordKey::from_bytes(vec![0xee, 1]), Err(RecordError::UnknownKind(0xee)));
    }

    #[test]
    fn records_of_a_kind_are_listed_without_their_neighbours() {
        let rows = [
            (RecordKey::new(RecordKind::Meta, b""), RecordValue::from_bytes(vec![1])),
            (RecordKey::new(RecordKind::Contact, b"x"), RecordValue::from_bytes(vec![2])),
            (RecordKey::new(RecordKind::Contact, b"y"), RecordValue::from_bytes(vec![3])),
            (RecordKey::new(RecordKind::Outbox, b"x"), RecordValue::from_bytes(vec![4])),
        ];
        let records = Records::from_rows(9, rows);
        let contacts: Vec<&[u8]> = records.of_kind(RecordKind::Contact).map(|(k, _)| k.key()).collect();
        assert_eq!(contacts, vec![b"x".as_slice(), b"y".as_slice()]);
    }

    #[test]
    fn values_never_print_their_bytes() {
        let v = RecordValue::from_bytes(vec![0xab; 4]);
        assert_eq!(format!("{v:?}"), "RecordValue(4 bytes, <redacted>)");
    }
}
