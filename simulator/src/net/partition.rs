//! Network partitions: symmetric or one-way splits of the relay fabric, including service
//! nodes (a store node on the far side misses messages: a store gap), and heal.
//!
//! Shapes follow TigerBeetle's `partition_mode` (uniform split, isolate one node) and
//! turmoil/madsim's one-way clogging. Membership is a hash of (salt, address), so a partition
//! of 10,000 devices is a few bytes in the fault schedule.

use serde::{Deserialize, Serialize};

use crate::ids::NetAddr;

/// Which directions a partition blocks, between side A (the rest) and side B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Neither direction passes.
    Both,
    /// A cannot reach B; B still reaches A.
    AToB,
    /// B cannot reach A; A still reaches B.
    BToA,
}

/// Who is on side B.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Membership {
    /// Each address independently with this probability (hash of salt and address).
    Fraction {
        /// Share of nodes on side B.
        share: f64,
        /// Hash salt.
        salt: u64,
    },
    /// Exactly one node.
    Isolate(NetAddr),
}

/// A partition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PartitionSpec {
    /// Side B.
    pub members: Membership,
    /// Blocked directions.
    pub direction: Direction,
}

impl PartitionSpec {
    /// Whether `addr` is on side B. The adversary sits on both sides.
    pub fn on_side_b(&self, addr: NetAddr) -> bool {
        match self.members {
            Membership::Isolate(a) => a == addr,
            Membership::Fraction { share, salt } => {
                let code = match addr {
                    NetAddr::Device(d) => u64::from(d.0),
                    NetAddr::Service(s) => (1 << 40) | u64::from(s.0),
                    NetAddr::Adversary => return false,
                };
                (mix64(salt ^ mix64(code)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64) < share
            }
        }
    }

    /// Whether a message from `from` can reach `to` while this partition holds.
    pub fn passes(&self, from: NetAddr, to: NetAddr) -> bool {
        if from == NetAddr::Adversary || to == NetAddr::Adversary {
            return true;
        }
        match (self.on_side_b(from), self.on_side_b(to)) {
            (false, false) | (true, true) => true,
            (false, true) => self.direction == Direction::BToA,
            (true, false) => self.direction == Direction::AToB,
        }
    }
}

/// The current partition state (at most one partition at a time; a new one replaces the old).
#[derive(Debug, Clone, Default)]
pub struct Partitions {
    active: Option<(u32, PartitionSpec)>,
}

impl Partitions {
    /// Installs partition number `id`.
    pub fn start(&mut self, id: u32, spec: PartitionSpec) {
        self.active = Some((id, spec));
    }

    /// Heals partition `id` if it is still the active one.
    pub fn end(&mut self, id: u32) {
        if self.active.is_some_and(|(a, _)| a == id) {
            self.active = None;
        }
    }

    /// Heals everything.
    pub fn heal(&mut self) {
        self.active = None;
    }

    /// Whether `from` reaches `to` now.
    pub fn passes(&self, from: NetAddr, to: NetAddr) -> bool {
        self.active.as_ref().is_none_or(|(_, p)| p.passes(from, to))
    }

    /// Whether a partition is in force.
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }
}

/// SplitMix64's finaliser: a fast, well-mixed 64-bit hash.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, ServiceId};

    #[test]
    fn symmetric_one_way_and_isolation() {
        let d = |i| NetAddr::Device(DeviceId(i));
        let iso = PartitionSpec { members: Membership::Isolate(d(1)), direction: Direction::Both };
        assert!(!iso.passes(d(1), d(2)) && !iso.passes(d(2), d(1)) && iso.passes(d(2), d(3)));
        let one_way = PartitionSpec { members: Membership::Isolate(d(1)), direction: Direction::AToB };
        assert!(!one_way.passes(d(2), d(1)) && one_way.passes(d(1), d(2)));
        assert!(one_way.passes(NetAddr::Adversary, d(1)));
        let half = PartitionSpec { members: Membership::Fraction { share: 0.5, salt: 7 }, direction: Direction::Both };
        let b = (0..1000).filter(|&i| half.on_side_b(d(i))).count();
        assert!((400..600).contains(&b), "{b}");
        let mut p = Partitions::default();
        p.start(3, half);
        p.end(2);
        assert!(p.is_active());
        p.end(3);
        assert!(p.passes(d(1), NetAddr::Service(ServiceId(0))));
    }
}
