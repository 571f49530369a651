//! A published message as it travels through the simulated network: shared by reference
//! between every in-flight delivery and every store archive, so fan-out never copies bytes.

use status_1to1::waku::WakuMessage;

use crate::ids::{NetAddr, TopicId};
use crate::time::SimTime;

/// A WakuMessage plus what the network computed once at publish time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The message.
    pub message: WakuMessage,
    /// Its interned content topic.
    pub topic: TopicId,
    /// Its autosharded pubsub topic, as an index into [`super::topics::Topics::pubsub`].
    pub pubsub: u16,
    /// Deterministic message hash (14/WAKU2-MESSAGE) on the pubsub topic: the store key and the
    /// application-level dedup key.
    pub hash: [u8; 32],
    /// Serialized size in bytes.
    pub size: u32,
    /// Who injected it into the network.
    pub origin: NetAddr,
    /// When it was published.
    pub published_at: SimTime,
}

impl Envelope {
    /// The message timestamp in ns (0 when absent, as nwaku hashes it).
    pub fn timestamp_ns(&self) -> i64 {
        self.message.timestamp.unwrap_or(0)
    }

    /// The first 8 hash bytes as an integer: a compact id for traces.
    pub fn short_hash(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.hash[..8]);
        u64::from_be_bytes(b)
    }
}
