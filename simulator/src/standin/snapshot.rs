//! The stand-in's persisted state and its compact binary encoding (versioned, length-checked).

use std::collections::{BTreeMap, BTreeSet};

use crate::node::RestoreError;

/// Snapshot format version.
const VERSION: u8 = 1;

/// An unacknowledged outgoing frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutEntry {
    /// The application message id.
    pub id: u64,
    /// The frame bytes (retransmitted as they are, with a fresh Waku timestamp).
    pub frame: Vec<u8>,
    /// Retransmissions so far.
    pub attempts: u32,
    /// Next retransmission, local ms.
    pub next_ms: u64,
}

/// Received sequence numbers from one sender: every seq below `upto`, plus `above`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecvWindow {
    /// All seq < upto were received.
    pub upto: u64,
    /// Received seq ≥ upto.
    pub above: BTreeSet<u64>,
}

impl RecvWindow {
    /// Records `seq`; false if it was already received.
    pub fn insert(&mut self, seq: u64) -> bool {
        if seq < self.upto || !self.above.insert(seq) {
            return false;
        }
        while self.above.remove(&self.upto) {
            self.upto += 1;
        }
        true
    }

    /// Whether `seq` was received.
    pub fn contains(&self, seq: u64) -> bool {
        seq < self.upto || self.above.contains(&seq)
    }
}

/// Everything the stand-in must not lose in a crash.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatState {
    /// Next seq per recipient device.
    pub send_seq: BTreeMap<u32, u64>,
    /// Unacknowledged frames by (recipient device, seq).
    pub outbox: BTreeMap<(u32, u64), OutEntry>,
    /// Received seqs per sender device.
    pub recv: BTreeMap<u32, RecvWindow>,
    /// End of the last completed store check, local ms.
    pub last_checked_ms: u64,
}

impl ChatState {
    /// Encodes the state.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.outbox.values().map(|e| e.frame.len() + 32).sum::<usize>());
        w.push(VERSION);
        w.extend_from_slice(&self.last_checked_ms.to_le_bytes());
        put_len(&mut w, self.send_seq.len());
        for (d, s) in &self.send_seq {
            w.extend_from_slice(&d.to_le_bytes());
            w.extend_from_slice(&s.to_le_bytes());
        }
        put_len(&mut w, self.outbox.len());
        for ((d, s), e) in &self.outbox {
            w.extend_from_slice(&d.to_le_bytes());
            w.extend_from_slice(&s.to_le_bytes());
            w.extend_from_slice(&e.id.to_le_bytes());
            w.extend_from_slice(&e.attempts.to_le_bytes());
            w.extend_from_slice(&e.next_ms.to_le_bytes());
            put_len(&mut w, e.frame.len());
            w.extend_from_slice(&e.frame);
        }
        put_len(&mut w, self.recv.len());
        for (d, r) in &self.recv {
            w.extend_from_slice(&d.to_le_bytes());
            w.extend_from_slice(&r.upto.to_le_bytes());
            put_len(&mut w, r.above.len());
            for s in &r.above {
                w.extend_from_slice(&s.to_le_bytes());
            }
        }
        w
    }

    /// Decodes a snapshot.
    pub fn decode(bytes: &[u8]) -> Result<Self, RestoreError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(RestoreError(format!("unknown snapshot version {version}")));
        }
        let mut s = ChatState { last_checked_ms: r.u64()?, ..ChatState::default() };
        for _ in 0..r.u32()? {
            s.send_seq.insert(r.u32()?, r.u64()?);
        }
        for _ in 0..r.u32()? {
            let key = (r.u32()?, r.u64()?);
            let (id, attempts, next_ms) = (r.u64()?, r.u32()?, r.u64()?);
            let len = r.u32()? as usize;
            let frame = r.take(len)?.to_vec();
            s.outbox.insert(key, OutEntry { id, frame, attempts, next_ms });
        }
        for _ in 0..r.u32()? {
            let d = r.u32()?;
            let mut w = RecvWindow { upto: r.u64()?, above: BTreeSet::new() };
            for _ in 0..r.u32()? {
                w.above.insert(r.u64()?);
            }
            s.recv.insert(d, w);
        }
        if r.pos != bytes.len() {
            return Err(RestoreError(format!("{} trailing bytes", bytes.len() - r.pos)));
        }
        Ok(s)
    }
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RestoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| RestoreError("truncated snapshot".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, RestoreError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, RestoreError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, RestoreError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn recv_window_dedups_and_compacts() {
        let mut w = RecvWindow::default();
        assert!(w.insert(1));
        assert!(!w.insert(1));
        assert!(w.insert(0));
        assert_eq!((w.upto, w.above.len()), (2, 0));
        assert!(!w.insert(0));
        assert!(w.contains(1) && !w.contains(2));
    }

    proptest! {
        #[test]
        fn snapshot_round_trips(
            seqs in proptest::collection::btree_map(any::<u32>(), any::<u64>(), 0..8),
            out in proptest::collection::vec((any::<u32>(), any::<u64>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..8),
            recv in proptest::collection::vec((any::<u32>(), proptest::collection::vec(0u64..100, 0..20)), 0..6),
            last in any::<u64>(),
        ) {
            let mut s = ChatState { send_seq: seqs, last_checked_ms: last, ..ChatState::default() };
            for (d, q, id, frame) in out {
                s.outbox.insert((d, q), OutEntry { id, frame, attempts: 3, next_ms: 9 });
            }
            for (d, xs) in recv {
                let w = s.recv.entry(d).or_default();
                for x in xs {
                    w.insert(x);
                }
            }
            let bytes = s.encode();
            prop_assert_eq!(ChatState::decode(&bytes).unwrap(), s);
            if !bytes.is_empty() {
                prop_assert!(ChatState::decode(&bytes[..bytes.len() - 1]).is_err());
            }
        }
    }
}
