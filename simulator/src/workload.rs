//! Who talks to whom, and what they send.
//!
//! Users, their devices and their contacts come from a seeded social graph (preferential
//! attachment or small-world); message bodies are a deterministic function of the message id,
//! so the invariant checker can authenticate a delivered plaintext without storing it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::dist::exponential;
use crate::ids::{DeviceId, MessageId, UserId};
use crate::net::partition::mix64;
use crate::node::ClientMode;
use crate::rng::SimRng;

/// Every plaintext body starts with this marker; finding it on the wire means plaintext leaked.
pub const CANARY: &[u8] = b"sim-plaintext:";

/// Shortest body: the canary, 16 hex digits of the id and a colon.
pub const MIN_BODY_LEN: usize = CANARY.len() + 17;

/// The social graph model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SocialGraph {
    /// Barabási–Albert: each new user befriends `m` existing users, preferring popular ones.
    PreferentialAttachment {
        /// Edges per new user.
        m: u32,
    },
    /// Watts–Strogatz: a ring where each user knows `k` neighbours, each edge rewired with
    /// probability `beta`.
    SmallWorld {
        /// Even neighbour count.
        k: u32,
        /// Rewiring probability.
        beta: f64,
    },
}

/// The workload of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Number of users.
    pub users: u32,
    /// Devices per user, uniform in this inclusive range (at most 32).
    pub devices_per_user: (u8, u8),
    /// Share of devices that are light clients (mobile).
    pub light_fraction: f64,
    /// Contacts.
    pub graph: SocialGraph,
    /// Messages each user sends per hour (Poisson).
    pub msgs_per_user_hour: f64,
    /// Body length range in bytes.
    pub body_len: (u16, u16),
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            users: 200,
            devices_per_user: (1, 3),
            light_fraction: 0.4,
            graph: SocialGraph::PreferentialAttachment { m: 2 },
            msgs_per_user_hour: 20.0,
            body_len: (40, 400),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct UserEntry {
    devices: Vec<DeviceId>,
    contacts: Vec<UserId>,
}

#[derive(Debug, Clone, Copy)]
struct DeviceEntry {
    user: UserId,
    mode: ClientMode,
}

/// Users, devices and contacts: the ground truth both the nodes and the checker read.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: Vec<UserEntry>,
    devices: Vec<DeviceEntry>,
}

impl Directory {
    /// Draws users, devices and the social graph.
    pub fn build(cfg: &WorkloadConfig, rng: &mut SimRng) -> Self {
        Self::build_in_groups(cfg, rng, |_| 0)
    }

    /// Draws users and devices, then a social graph within each group of users (`group_of`):
    /// users of different groups are never contacts (users of different suites cannot talk).
    pub fn build_in_groups(cfg: &WorkloadConfig, rng: &mut SimRng, group_of: impl Fn(UserId) -> u8) -> Self {
        let n = cfg.users as usize;
        let mut users = vec![UserEntry::default(); n];
        let mut devices = Vec::new();
        let (lo, hi) = (cfg.devices_per_user.0.clamp(1, 32), cfg.devices_per_user.1.clamp(1, 32));
        for (u, entry) in users.iter_mut().enumerate() {
            let count = rng.range_inclusive(u64::from(lo), u64::from(hi.max(lo)));
            for _ in 0..count {
                let mode = if rng.chance(cfg.light_fraction) { ClientMode::Light } else { ClientMode::Relay };
                entry.devices.push(DeviceId(devices.len() as u32));
                devices.push(DeviceEntry { user: UserId(u as u32), mode });
            }
        }
        let mut groups: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
        for u in 0..n {
            groups.entry(group_of(UserId(u as u32))).or_default().push(u);
        }
        for members in groups.values() {
            let edges = match cfg.graph {
                SocialGraph::PreferentialAttachment { m } => {
                    preferential_attachment(members.len(), m.max(1) as usize, rng)
                }
                SocialGraph::SmallWorld { k, beta } => small_world(members.len(), k.max(2) as usize, beta, rng),
            };
            for (a, b) in edges {
                let (a, b) = (members[a], members[b]);
                users[a].contacts.push(UserId(b as u32));
                users[b].contacts.push(UserId(a as u32));
            }
        }
        for u in &mut users {
            u.contacts.sort();
            u.contacts.dedup();
        }
        Self { users, devices }
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Number of devices.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// The user of a device.
    pub fn user_of(&self, dev: DeviceId) -> Option<UserId> {
        self.devices.get(dev.0 as usize).map(|d| d.user)
    }

    /// Relay or light.
    pub fn mode_of(&self, dev: DeviceId) -> ClientMode {
        self.devices.get(dev.0 as usize).map_or(ClientMode::Relay, |d| d.mode)
    }

    /// A user's devices.
    pub fn devices_of(&self, user: UserId) -> &[DeviceId] {
        self.users.get(user.0 as usize).map_or(&[], |u| u.devices.as_slice())
    }

    /// A user's contacts.
    pub fn contacts_of(&self, user: UserId) -> &[UserId] {
        self.users.get(user.0 as usize).map_or(&[], |u| u.contacts.as_slice())
    }

    /// The installations a message from `from` to `to` is intended for: every device of `to`.
    /// (The real peer also fans out to the sender's other devices and caps at n devices; its
    /// adapter will refine this.)
    pub fn intended(&self, _from: DeviceId, to: UserId) -> &[DeviceId] {
        self.devices_of(to)
    }

    /// Number of contact pairs.
    pub fn edge_count(&self) -> usize {
        self.users.iter().map(|u| u.contacts.len()).sum::<usize>() / 2
    }
}

fn preferential_attachment(n: usize, m: usize, rng: &mut SimRng) -> Vec<(usize, usize)> {
    let mut edges = Vec::new();
    let core = (m + 1).min(n);
    for a in 0..core {
        for b in a + 1..core {
            edges.push((a, b));
        }
    }
    // Each edge endpoint appears once: sampling from it is sampling proportional to degree.
    let mut endpoints: Vec<usize> = edges.iter().flat_map(|&(a, b)| [a, b]).collect();
    for new in core..n {
        let mut chosen = BTreeSet::new();
        let mut tries = 0;
        while chosen.len() < m.min(new) && tries < 64 * m {
            tries += 1;
            let pick = if endpoints.is_empty() { rng.index(new) } else { endpoints[rng.index(endpoints.len())] };
            chosen.insert(pick);
        }
        for old in chosen {
            edges.push((old, new));
            endpoints.push(old);
            endpoints.push(new);
        }
    }
    edges
}

fn small_world(n: usize, k: usize, beta: f64, rng: &mut SimRng) -> Vec<(usize, usize)> {
    if n < 2 {
        return Vec::new();
    }
    let half = (k / 2).clamp(1, (n - 1) / 2 + 1);
    let mut set = BTreeSet::new();
    for a in 0..n {
        for j in 1..=half {
            let b = (a + j) % n;
            if a == b {
                continue;
            }
            let mut target = b;
            if rng.chance(beta) {
                let candidate = rng.index(n);
                if candidate != a && !set.contains(&(a.min(candidate), a.max(candidate))) {
                    target = candidate;
                }
            }
            set.insert((a.min(target), a.max(target)));
        }
    }
    set.into_iter().collect()
}

/// The plaintext of message `id` with length `len` (at least [`MIN_BODY_LEN`]).
pub fn body_for(id: MessageId, len: usize) -> Vec<u8> {
    let len = len.max(MIN_BODY_LEN);
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(CANARY);
    body.extend_from_slice(format!("{:016x}:", id.0).as_bytes());
    let mut i = 0u64;
    while body.len() < len {
        body.push(b'a' + (mix64(id.0 ^ i.wrapping_mul(0x9e37_79b9)) % 26) as u8);
        i += 1;
    }
    body
}

/// The id a body claims, if it has the body format.
pub fn parse_body(body: &[u8]) -> Option<MessageId> {
    let rest = body.strip_prefix(CANARY)?;
    let hex = rest.get(..16)?;
    if rest.get(16) != Some(&b':') {
        return None;
    }
    let text = std::str::from_utf8(hex).ok()?;
    u64::from_str_radix(text, 16).ok().map(MessageId)
}

/// Draws of one workload step. Every step consumes the same four draws whatever happens to the
/// sender, so the workload does not depend on the fault schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendDraw {
    /// Index into the sender's devices.
    pub device_index: usize,
    /// Index into the sender's contacts.
    pub contact_index: usize,
    /// Body length.
    pub len: usize,
    /// Milliseconds to the user's next send.
    pub next_ms: u64,
}

impl SendDraw {
    /// Draws a step for a user with `devices` devices and `contacts` contacts.
    pub fn draw(cfg: &WorkloadConfig, devices: usize, contacts: usize, rng: &mut SimRng) -> Self {
        let device_index = rng.index(devices);
        let contact_index = rng.index(contacts);
        let len =
            rng.range_inclusive(u64::from(cfg.body_len.0), u64::from(cfg.body_len.1.max(cfg.body_len.0))) as usize;
        let mean_ms = if cfg.msgs_per_user_hour > 0.0 { 3_600_000.0 / cfg.msgs_per_user_hour } else { f64::MAX };
        let next = exponential(rng.unit(), mean_ms);
        let next_ms = if next.is_finite() && next < 1e15 { next.max(1.0) as u64 } else { u64::MAX / 4 };
        Self { device_index, contact_index, len, next_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_are_deterministic() {
        let b = body_for(MessageId(0xabc), 60);
        assert_eq!(b.len(), 60);
        assert_eq!(parse_body(&b), Some(MessageId(0xabc)));
        assert_eq!(b, body_for(MessageId(0xabc), 60));
        assert_ne!(b, body_for(MessageId(0xabd), 60));
        assert_eq!(body_for(MessageId(1), 0).len(), MIN_BODY_LEN);
        assert_eq!(parse_body(b"garbage"), None);
    }

    #[test]
    fn graphs_give_everyone_contacts() {
        for graph in [SocialGraph::PreferentialAttachment { m: 2 }, SocialGraph::SmallWorld { k: 4, beta: 0.2 }] {
            let cfg = WorkloadConfig { users: 300, graph, ..WorkloadConfig::default() };
            let dir = Directory::build(&cfg, &mut SimRng::new(1, "graph", 0));
            assert_eq!(dir.user_count(), 300);
            assert!(dir.device_count() >= 300);
            for u in 0..300 {
                let c = dir.contacts_of(UserId(u));
                assert!(!c.is_empty(), "{graph:?} user {u}");
                assert!(!c.contains(&UserId(u)));
                for other in c {
                    assert!(dir.contacts_of(*other).contains(&UserId(u)), "symmetric");
                }
            }
        }
    }

    #[test]
    fn preferential_attachment_has_hubs() {
        let cfg = WorkloadConfig { users: 2_000, ..WorkloadConfig::default() };
        let dir = Directory::build(&cfg, &mut SimRng::new(2, "graph", 0));
        let max = (0..2_000).map(|u| dir.contacts_of(UserId(u)).len()).max().unwrap_or(0);
        assert!(max > 40, "max degree {max}");
        assert!(dir.edge_count() < 2 * 2_000 + 10);
    }
}
