//! The run trace: a rolling SHA-256 over a canonical binary encoding of every processed event
//! and every node action (madsim's determinism check, FoundationDB's unseed), optionally also
//! written as JSON lines.
//!
//! Same seed and configuration ⇒ byte-identical encoding ⇒ identical hash; any divergence, even
//! inside a node, changes the hash.

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::time::SimTime;

/// One trace record. The meaning of `a` and `b` depends on `kind` (documented at each call
/// site: usually a device or service id and a message short-hash, token or request id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Virtual time.
    pub at: SimTime,
    /// Event sequence number (0 for actions, which belong to the preceding event).
    pub seq: u64,
    /// What happened.
    pub kind: &'static str,
    /// First operand.
    pub a: u64,
    /// Second operand.
    pub b: u64,
}

/// Buffered hashing plus an optional JSON-lines sink.
pub struct Trace {
    hasher: Sha256,
    buf: Vec<u8>,
    records: u64,
    sink: Option<Box<dyn Write>>,
    sink_error: Option<std::io::Error>,
}

impl Default for Trace {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Trace {
    /// A trace, writing JSON lines to `sink` if given.
    pub fn new(sink: Option<Box<dyn Write>>) -> Self {
        Self { hasher: Sha256::new(), buf: Vec::with_capacity(8192), records: 0, sink, sink_error: None }
    }

    /// Appends a record.
    pub fn record(&mut self, r: Record) {
        self.records += 1;
        self.buf.extend_from_slice(&r.at.as_micros().to_le_bytes());
        self.buf.extend_from_slice(&r.seq.to_le_bytes());
        self.buf.push(r.kind.len() as u8);
        self.buf.extend_from_slice(r.kind.as_bytes());
        self.buf.extend_from_slice(&r.a.to_le_bytes());
        self.buf.extend_from_slice(&r.b.to_le_bytes());
        if self.buf.len() >= 8000 {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if let Some(sink) = self.sink.as_mut()
            && self.sink_error.is_none()
            && let Err(e) = writeln!(
                sink,
                "{{\"t_us\":{},\"seq\":{},\"kind\":\"{}\",\"a\":{},\"b\":{}}}",
                r.at.as_micros(),
                r.seq,
                r.kind,
                r.a,
                r.b
            )
        {
            self.sink_error = Some(e);
        }
    }

    /// Records written so far.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The final hash, and the first sink error if writing the JSON lines failed.
    pub fn finish(mut self) -> ([u8; 32], Option<std::io::Error>) {
        self.hasher.update(&self.buf);
        self.hasher.update(self.records.to_le_bytes());
        if let Some(sink) = self.sink.as_mut()
            && self.sink_error.is_none()
            && let Err(e) = sink.flush()
        {
            self.sink_error = Some(e);
        }
        (self.hasher.finalize().into(), self.sink_error)
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").field("records", &self.records).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: u64) -> Record {
        Record { at: SimTime(5), seq: 1, kind: "x", a, b: 2 }
    }

    #[test]
    fn hash_depends_on_every_record() {
        let mut t1 = Trace::default();
        let mut t2 = Trace::default();
        let mut t3 = Trace::default();
        for i in 0..10_000 {
            t1.record(r(i));
            t2.record(r(i));
            t3.record(r(if i == 9_999 { 0 } else { i }));
        }
        assert_eq!(t1.finish().0, t2.finish().0);
        let mut t4 = Trace::default();
        t4.record(r(1));
        assert_ne!(t3.finish().0, t4.finish().0);
    }

    #[test]
    fn json_lines_sink() {
        let buf: Vec<u8> = Vec::new();
        let shared = std::rc::Rc::new(std::cell::RefCell::new(buf));
        struct W(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut t = Trace::new(Some(Box::new(W(shared.clone()))));
        t.record(r(7));
        let (_, err) = t.finish();
        assert!(err.is_none());
        assert_eq!(
            String::from_utf8(shared.borrow().clone()).unwrap(),
            "{\"t_us\":5,\"seq\":1,\"kind\":\"x\",\"a\":7,\"b\":2}\n"
        );
    }
}
