//! The simulated Waku network (waku-network-model.md §4, fidelity level L0 "abstract relay").
//!
//! A publish creates one independent delivery per reachable subscriber, each with its own delay
//! drawn from the fitted relay latency, its own loss draw (independent and Gilbert-Elliott
//! bursts), optional heavy-tail, reordering jitter and duplication through a redundant path.
//! Store, filter and lightpush service nodes are explicit (they are relay nodes subscribed to
//! every shard), so store gaps, filter push loss and lightpush silent loss come out of the same
//! model. Gossipsub's seen cache is modelled exactly: identical bytes re-published within the
//! seen TTL (2 min) are dropped, while the same Waku hash with different bytes passes.

pub mod adversary;
pub mod clock;
pub mod envelope;
pub mod loss;
pub mod partition;
pub mod store;
pub mod topics;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::hashing::FastSet;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use self::adversary::{Adversary, Injection, Verdict};
use self::clock::Clock;
use self::envelope::Envelope;
use self::loss::GilbertElliott;
use self::partition::Partitions;
use self::store::{Archive, StoreConfig};
use self::topics::Topics;
use crate::dist::{QuantileTable, RelayLatency, default_link_latency, pareto2};
use crate::ids::{DeviceId, NetAddr, ServiceId, TopicId};
use crate::node::MessageSource;
use crate::rng::SimRng;
use crate::time::{SimTime, ms_to_micros};

/// Static network parameters. Defaults cite waku-network-model.md §4.3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Cluster id in pubsub topic names (The Waku Network: 1).
    pub cluster: u16,
    /// Autosharding shard count (TWN: 8, `networks_config.nim`).
    pub shards: u16,
    /// Relay delivery delay.
    pub relay_latency: RelayLatency,
    /// One-way client-to-service link delay in ms.
    pub link_latency: QuantileTable,
    /// Gossipsub seen TTL (nwaku and js-gossipsub: 2 min).
    pub seen_ttl_ms: u64,
    /// Largest serialized WakuMessage relays accept (150 KiB, 64/WAKU2-NETWORK).
    pub max_message_bytes: usize,
    /// RLN relay validation: drop messages whose timestamp is more than `rln_max_gap_ms` from
    /// the true time (nwaku `MaxClockGapSeconds = 20`). Off by default: plain relay does not
    /// check timestamps, and whether Status' cluster enforces RLN is unverified.
    pub rln_timestamp_check: bool,
    /// RLN maximum clock gap.
    pub rln_max_gap_ms: u64,
    /// Service nodes (relay + filter + lightpush; the first `store_nodes` also archive).
    pub service_nodes: u16,
    /// How many service nodes run a store.
    pub store_nodes: u16,
    /// Store rules.
    pub store: StoreConfig,
    /// Filter service nodes per light client (js-waku: 2).
    pub filter_per_client: u16,
    /// Filter subscription TTL (nwaku: 5 min), refreshed by pings.
    pub filter_ttl_ms: u64,
    /// Filter ping interval of the light-client layer (js-waku: 60 s).
    pub filter_ping_ms: u64,
    /// Lightpush request timeout.
    pub lightpush_timeout_ms: u64,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            cluster: 1,
            shards: 8,
            relay_latency: RelayLatency::default(),
            link_latency: default_link_latency(),
            seen_ttl_ms: 120_000,
            max_message_bytes: 150 * 1024,
            rln_timestamp_check: false,
            rln_max_gap_ms: 20_000,
            service_nodes: 3,
            store_nodes: 2,
            store: StoreConfig::default(),
            filter_per_client: 2,
            filter_ttl_ms: 300_000,
            filter_ping_ms: 60_000,
            lightpush_timeout_ms: 10_000,
        }
    }
}

/// Per-delivery and per-request fault probabilities (all zero in the liveness phase).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinkFaults {
    /// Independent loss per delivery.
    pub loss: f64,
    /// Bursty loss per receiving node.
    pub burst: Option<GilbertElliott>,
    /// A second copy through a redundant path.
    pub duplicate: f64,
    /// Extra uniform delay in `[0, reorder_window_ms]` (forces reordering).
    pub reorder: f64,
    /// Width of the reorder jitter.
    pub reorder_window_ms: u64,
    /// Heavy-tail delay (Pareto α=2 from 1 s, capped at 30 s: congested or backgrounded peers,
    /// §4.4 item 2).
    pub tail: f64,
    /// Filter push loss (a subscription that silently died, §1.7).
    pub filter_push_loss: f64,
    /// Store request failure (timeout, 429 or 503).
    pub store_failure: f64,
    /// A store page silently missing one entry (truncated page, §4.4 item 9).
    pub store_truncate: f64,
    /// Lightpush failure (429, 500 or 503).
    pub lightpush_failure: f64,
    /// Lightpush 200 with `relay_peer_count = 0`: accepted but never relayed (§1.8).
    pub lightpush_zero_peers: f64,
}

/// A service node.
#[derive(Debug, Default)]
pub struct ServiceNode {
    /// Whether it is running.
    pub up: bool,
    /// Its archive, if it is a store node.
    pub archive: Option<Archive>,
    /// Filter subscriptions and their expiry.
    pub filter: BTreeMap<(TopicId, DeviceId), SimTime>,
    /// Its clock.
    pub clock: Clock,
}

/// A scheduled arrival produced by a fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// At a device.
    Device {
        /// When.
        at: SimTime,
        /// Where.
        dev: DeviceId,
        /// Relay or filter.
        source: MessageSource,
    },
    /// At a service node (relay receive: archive and filter push).
    Service {
        /// When.
        at: SimTime,
        /// Where.
        svc: ServiceId,
    },
}

/// Counters of what the network did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStats {
    /// Relay publishes accepted.
    pub publishes: u64,
    /// Publishes dropped by the seen cache.
    pub seen_dropped: u64,
    /// Publishes over the size limit.
    pub oversize: u64,
    /// Dropped by RLN timestamp validation.
    pub rln_rejected: u64,
    /// Deliveries scheduled.
    pub scheduled: u64,
    /// Lost to a partition.
    pub lost_partition: u64,
    /// Lost to independent or bursty loss.
    pub lost_random: u64,
    /// Extra copies scheduled.
    pub duplicated: u64,
    /// Deliveries with a heavy-tail delay.
    pub tail_delayed: u64,
    /// Arrivals at an offline or crashed device, or a down service node.
    pub lost_receiver_down: u64,
    /// Filter pushes scheduled.
    pub filter_pushes: u64,
    /// Archive outcomes.
    pub archived: u64,
    /// Archive duplicates.
    pub archive_duplicate: u64,
    /// Not archived: ephemeral.
    pub archive_ephemeral: u64,
    /// Not archived: timestamp outside the variance window.
    pub archive_bad_timestamp: u64,
    /// Entries removed by retention.
    pub archive_expired: u64,
    /// Store queries answered.
    pub store_ok: u64,
    /// Store queries failed.
    pub store_failed: u64,
    /// Lightpush requests answered 200.
    pub lightpush_ok: u64,
    /// Lightpush requests failed.
    pub lightpush_failed: u64,
    /// Adversary drops.
    pub adv_dropped: u64,
    /// Adversary tampers.
    pub adv_tampered: u64,
    /// Adversary injections and replays published.
    pub adv_injected: u64,
}

/// The network state.
pub struct Network {
    /// Static parameters.
    pub cfg: NetConfig,
    /// Current fault probabilities.
    pub faults: LinkFaults,
    /// Interned topics.
    pub topics: Topics,
    /// Partitions.
    pub partitions: Partitions,
    /// Service nodes.
    pub services: Vec<ServiceNode>,
    /// Counters.
    pub stats: NetStats,
    relay_subs: BTreeSet<(TopicId, DeviceId)>,
    /// Lookup-only (see [`crate::hashing`]); expiry order comes from `seen_order`.
    seen: FastSet<[u8; 32]>,
    scratch: Vec<DeviceId>,
    seen_order: VecDeque<(SimTime, [u8; 32])>,
    burst_bad: Vec<bool>,
    rng: SimRng,
    adversary: Option<Box<dyn Adversary>>,
    adversary_on: bool,
}

impl Network {
    /// A network for `devices` devices.
    pub fn new(
        cfg: NetConfig,
        faults: LinkFaults,
        devices: usize,
        rng: SimRng,
        adversary: Option<Box<dyn Adversary>>,
    ) -> Self {
        let services = (0..cfg.service_nodes)
            .map(|i| ServiceNode {
                up: true,
                archive: (i < cfg.store_nodes).then(Archive::default),
                ..ServiceNode::default()
            })
            .collect();
        Self {
            topics: Topics::new(cfg.cluster, cfg.shards),
            burst_bad: vec![false; devices + usize::from(cfg.service_nodes)],
            cfg,
            faults,
            partitions: Partitions::default(),
            services,
            stats: NetStats::default(),
            relay_subs: BTreeSet::new(),
            seen: FastSet::default(),
            scratch: Vec::new(),
            seen_order: VecDeque::new(),
            rng,
            adversary_on: adversary.is_some(),
            adversary,
        }
    }

    /// Switches to the liveness phase: no more faults, no adversary, partitions healed.
    pub fn calm(&mut self) {
        self.faults = LinkFaults::default();
        self.adversary_on = false;
        self.partitions.heal();
        for s in &mut self.services {
            s.up = true;
        }
    }

    /// Subscribes a relay device to a topic.
    pub fn relay_subscribe(&mut self, topic: TopicId, dev: DeviceId) {
        self.relay_subs.insert((topic, dev));
    }

    /// Removes a relay subscription.
    pub fn relay_unsubscribe(&mut self, topic: TopicId, dev: DeviceId) {
        self.relay_subs.remove(&(topic, dev));
    }

    /// The `k`-th store node of a device.
    pub fn store_of(&self, dev: DeviceId, k: u8) -> ServiceId {
        let n = u32::from(self.cfg.store_nodes.max(1));
        ServiceId(((dev.0 + u32::from(k)) % n) as u16)
    }

    /// The filter service nodes of a light device.
    pub fn filters_of(&self, dev: DeviceId) -> impl Iterator<Item = ServiceId> + use<> {
        let n = u32::from(self.cfg.service_nodes.max(1));
        let k = u32::from(self.cfg.filter_per_client).min(n);
        (0..k).map(move |i| ServiceId(((dev.0 + i) % n) as u16))
    }

    /// The lightpush service node a light device uses for a request (alternating, as js-waku
    /// retries on another peer).
    pub fn lightpush_of(&self, dev: DeviceId, request: u64) -> ServiceId {
        let n = u64::from(self.cfg.service_nodes.max(1));
        ServiceId(((u64::from(dev.0) + request) % n) as u16)
    }

    /// Gossipsub's seen cache: `true` if `message` is new (message-id = SHA-256 of the
    /// serialized message, nwaku `message_id.nim`), recording it for the seen TTL.
    pub fn seen_fresh(&mut self, now: SimTime, bytes: &[u8]) -> bool {
        let ttl = self.cfg.seen_ttl_ms * 1_000;
        while let Some(&(t, id)) = self.seen_order.front() {
            if now.micros_since(t) < ttl {
                break;
            }
            self.seen_order.pop_front();
            self.seen.remove(&id);
        }
        let id: [u8; 32] = Sha256::digest(bytes).into();
        if !self.seen.insert(id) {
            self.stats.seen_dropped += 1;
            return false;
        }
        self.seen_order.push_back((now, id));
        true
    }

    fn burst_slot(&self, to: NetAddr) -> usize {
        match to {
            NetAddr::Device(d) => d.0 as usize,
            NetAddr::Service(s) => self.burst_bad.len() - usize::from(self.cfg.service_nodes) + usize::from(s.0),
            NetAddr::Adversary => usize::MAX,
        }
    }

    /// The fate of one delivery leg: `None` if lost, else the arrival time, with an optional
    /// second copy. `base_us` is the path's sampled delay.
    fn fate(
        &mut self,
        now: SimTime,
        from: NetAddr,
        to: NetAddr,
        base_us: u64,
        may_dup: bool,
    ) -> (Option<SimTime>, Option<SimTime>) {
        if !self.partitions.passes(from, to) {
            self.stats.lost_partition += 1;
            return (None, None);
        }
        let mut lost = self.rng.chance(self.faults.loss);
        if let Some(ge) = self.faults.burst {
            let slot = self.burst_slot(to);
            if let Some(bad) = self.burst_bad.get_mut(slot) {
                lost |= ge.step(bad, &mut self.rng);
            }
        }
        if lost {
            self.stats.lost_random += 1;
            return (None, None);
        }
        let mut delay = base_us;
        if self.rng.chance(self.faults.tail) {
            self.stats.tail_delayed += 1;
            delay += ms_to_micros(pareto2(self.rng.unit(), 1_000.0, 30_000.0));
        }
        if self.rng.chance(self.faults.reorder) {
            delay += self.rng.below(self.faults.reorder_window_ms.max(1) * 1_000);
        }
        let dup = (may_dup && self.rng.chance(self.faults.duplicate)).then(|| {
            self.stats.duplicated += 1;
            now.plus_micros(delay + self.rng.below(1_000_000))
        });
        self.stats.scheduled += 1;
        (Some(now.plus_micros(delay)), dup)
    }

    /// A request or response leg of an RPC (store, lightpush, filter push): link latency,
    /// partitions and loss, no duplication (the RPC runs over one stream).
    pub fn rpc_leg(&mut self, now: SimTime, from: NetAddr, to: NetAddr) -> Option<SimTime> {
        let base = ms_to_micros(self.cfg.link_latency.sample(&mut self.rng));
        self.fate(now, from, to, base, false).0
    }

    /// A uniform draw from the network stream (processing times, failure codes).
    pub fn draw_below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    /// A Bernoulli draw from the network stream.
    pub fn draw_chance(&mut self, p: f64) -> bool {
        self.rng.chance(p)
    }

    /// Relay fan-out of a publish from `from`: every subscribed relay device and every service
    /// node (they subscribe to all shards). The publisher does not receive its own message.
    pub fn relay_fanout(&mut self, now: SimTime, env: &Rc<Envelope>, from: NetAddr, out: &mut Vec<Arrival>) {
        if self.cfg.rln_timestamp_check {
            let gap = i64::try_from(self.cfg.rln_max_gap_ms).unwrap_or(i64::MAX).saturating_mul(1_000_000);
            if (env.timestamp_ns() - clock::true_ns(now)).abs() > gap {
                self.stats.rln_rejected += 1;
                return;
            }
        }
        self.stats.publishes += 1;
        let size = env.size as usize;
        let mut subscribers = std::mem::take(&mut self.scratch);
        subscribers.clear();
        subscribers
            .extend(self.relay_subs.range((env.topic, DeviceId(0))..=(env.topic, DeviceId(u32::MAX))).map(|&(_, d)| d));
        for &dev in &subscribers {
            if NetAddr::Device(dev) == from {
                continue;
            }
            let base = ms_to_micros(self.cfg.relay_latency.sample_ms(&mut self.rng, size));
            let (first, dup) = self.fate(now, from, NetAddr::Device(dev), base, true);
            for at in first.into_iter().chain(dup) {
                out.push(Arrival::Device { at, dev, source: MessageSource::Relay });
            }
        }
        self.scratch = subscribers;
        for i in 0..self.cfg.service_nodes {
            let svc = ServiceId(i);
            if NetAddr::Service(svc) == from {
                out.push(Arrival::Service { at: now, svc });
                continue;
            }
            let base = ms_to_micros(self.cfg.relay_latency.sample_ms(&mut self.rng, size));
            if let (Some(at), _) = self.fate(now, from, NetAddr::Service(svc), base, false) {
                out.push(Arrival::Service { at, svc });
            }
        }
    }

    /// Filter pushes from service `svc`, which just received `env`, to its live subscriptions.
    pub fn filter_fanout(&mut self, now: SimTime, svc: ServiceId, env: &Rc<Envelope>, out: &mut Vec<Arrival>) {
        let Some(node) = self.services.get_mut(usize::from(svc.0)) else { return };
        let range = (env.topic, DeviceId(0))..=(env.topic, DeviceId(u32::MAX));
        let mut targets = Vec::new();
        let mut expired = Vec::new();
        for (&key, &expiry) in node.filter.range(range) {
            if expiry > now {
                targets.push(key.1);
            } else {
                expired.push(key);
            }
        }
        for key in expired {
            node.filter.remove(&key);
        }
        for dev in targets {
            if self.rng.chance(self.faults.filter_push_loss) {
                self.stats.lost_random += 1;
                continue;
            }
            let base = ms_to_micros(self.cfg.link_latency.sample(&mut self.rng));
            let (first, dup) = self.fate(now, NetAddr::Service(svc), NetAddr::Device(dev), base, true);
            for at in first.into_iter().chain(dup) {
                self.stats.filter_pushes += 1;
                out.push(Arrival::Device { at, dev, source: MessageSource::Filter });
            }
        }
    }

    /// Adds or refreshes a filter subscription at `svc` if the service is up and reachable both
    /// ways from the device. Returns whether it took effect.
    pub fn filter_subscribe(&mut self, now: SimTime, svc: ServiceId, dev: DeviceId, topic: TopicId) -> bool {
        let reachable = self.partitions.passes(NetAddr::Device(dev), NetAddr::Service(svc))
            && self.partitions.passes(NetAddr::Service(svc), NetAddr::Device(dev));
        let ttl = self.cfg.filter_ttl_ms;
        match self.services.get_mut(usize::from(svc.0)) {
            Some(node) if node.up && reachable => {
                node.filter.insert((topic, dev), now.plus_millis(ttl));
                true
            }
            _ => false,
        }
    }

    /// Removes a filter subscription everywhere.
    pub fn filter_unsubscribe(&mut self, dev: DeviceId, topic: TopicId) {
        for s in &mut self.services {
            s.filter.remove(&(topic, dev));
        }
    }

    /// Runs the adversary's publish hook (fault phase only).
    pub fn adversary_publish(&mut self, now: SimTime, env: &Rc<Envelope>, out: &mut Vec<Injection>) {
        if !self.adversary_on || env.origin == NetAddr::Adversary {
            return;
        }
        if let Some(adv) = self.adversary.as_mut() {
            adv.on_publish(now, env, &mut self.rng, out);
        }
    }

    /// Runs the adversary's delivery hook (fault phase only).
    pub fn adversary_delivery(&mut self, now: SimTime, to: DeviceId, env: &Rc<Envelope>) -> Verdict {
        if !self.adversary_on || env.origin == NetAddr::Adversary {
            return Verdict::Pass;
        }
        let verdict = match self.adversary.as_mut() {
            Some(adv) => adv.on_delivery(now, to, env, &mut self.rng),
            None => Verdict::Pass,
        };
        match verdict {
            Verdict::Drop => self.stats.adv_dropped += 1,
            Verdict::Replace(_) => self.stats.adv_tampered += 1,
            Verdict::Pass => {}
        }
        verdict
    }

    /// Archives `env` at store node `svc` (if it is one), by the store node's clock.
    pub fn archive(&mut self, now: SimTime, svc: ServiceId, env: &Rc<Envelope>) -> Option<store::ArchiveOutcome> {
        let node = self.services.get_mut(usize::from(svc.0))?;
        let now_ns = node.clock.now_ns(now);
        let outcome = node.archive.as_mut()?.insert(env, now_ns, &self.cfg.store);
        match outcome {
            store::ArchiveOutcome::Stored => self.stats.archived += 1,
            store::ArchiveOutcome::Duplicate => self.stats.archive_duplicate += 1,
            store::ArchiveOutcome::Ephemeral => self.stats.archive_ephemeral += 1,
            store::ArchiveOutcome::TooOld | store::ArchiveOutcome::TooNew => self.stats.archive_bad_timestamp += 1,
        }
        Some(outcome)
    }

    /// Answers a store query at `svc`.
    pub fn store_query(
        &self,
        svc: ServiceId,
        query: &crate::node::StoreQuery,
    ) -> Result<crate::node::StorePage, crate::node::StoreError> {
        match self.services.get(usize::from(svc.0)).and_then(|n| n.archive.as_ref()) {
            Some(archive) => archive.query(query, &self.topics, &self.cfg.store),
            None => Err(crate::node::StoreError::Unavailable),
        }
    }

    /// Runs time retention at `svc`.
    pub fn expire(&mut self, now: SimTime, svc: ServiceId) {
        if let Some(node) = self.services.get_mut(usize::from(svc.0)) {
            let now_ns = node.clock.now_ns(now);
            if let Some(a) = node.archive.as_mut() {
                self.stats.archive_expired += a.expire(now_ns, &self.cfg.store) as u64;
            }
        }
    }

    /// Whether service `svc` is up.
    pub fn service_up(&self, svc: ServiceId) -> bool {
        self.services.get(usize::from(svc.0)).is_some_and(|n| n.up)
    }

    /// Stops or starts a service node; stopping loses its filter subscriptions (they live in
    /// memory), while its archive (a database) survives.
    pub fn set_service_up(&mut self, svc: ServiceId, up: bool) {
        if let Some(n) = self.services.get_mut(usize::from(svc.0)) {
            n.up = up;
            if !up {
                n.filter.clear();
            }
        }
    }

    /// Messages held by all archives.
    pub fn archived_messages(&self) -> usize {
        self.services.iter().filter_map(|s| s.archive.as_ref()).map(Archive::len).sum()
    }

    /// Number of live relay subscriptions and seen-cache entries (memory accounting).
    pub fn table_sizes(&self) -> (usize, usize) {
        (self.relay_subs.len(), self.seen.len())
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("stats", &self.stats).finish_non_exhaustive()
    }
}
