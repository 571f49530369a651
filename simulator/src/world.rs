//! The event loop: one queue ordered by (virtual time, sequence number), one thread, one seed.
//!
//! The world owns the devices, the network, the fault schedule, the workload and the invariant
//! checker. Each popped event is hashed into the trace, dispatched, and may call one node; the
//! node's actions are applied in order (a torn crash can cut them short) and checked as they
//! are applied. At the end of the fault phase every fault stops, partitions heal, crashed
//! devices restart and offline ones come back; after the catch-up window the liveness check
//! runs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::rc::Rc;

use status_1to1::peer::{ChangeSet, RecordError, Records};
use status_1to1::waku::WakuMessage;

use crate::faults::{Fault, FaultSchedule};
use crate::hostile::{Act, Hostile, HostileInjection, HostileKind, HostileStats};
use crate::ids::{DeviceId, MessageId, NetAddr, ServiceId, TopicId, UserId};
use crate::invariants::{Checker, Violation};
use crate::metrics::Metrics;
use crate::net::adversary::{Adversary, Injection, SeededAdversary, Verdict};
use crate::net::clock::Clock;
use crate::net::envelope::Envelope;
use crate::net::{Arrival, NetStats, Network};
use crate::node::{
    AppCommand, ClientMode, DeviceSpec, MessageSource, NodeAction, NodeEvent, NodeFactory, Notification, PublishAck,
    PublishError, PublishVia, SimNode, StoreError, StorePage, StoreQuery, Stored,
};
use crate::rng::{SimRng, device_entropy};
use crate::scenario::ScenarioConfig;
use crate::sqlite_mirror::SqliteMirror;
use crate::time::SimTime;
use crate::trace::{Record, Trace};
use crate::workload::{Directory, SendDraw, body_for};

/// Everything that can happen.
#[derive(Debug)]
enum SimEvent {
    Boot {
        dev: DeviceId,
    },
    Arrive {
        dev: DeviceId,
        env: Rc<Envelope>,
        source: MessageSource,
    },
    ServiceArrive {
        svc: ServiceId,
        env: Rc<Envelope>,
    },
    LightpushArrive {
        svc: ServiceId,
        dev: DeviceId,
        inc: u32,
        request: u64,
        message: Box<WakuMessage>,
        deadline: SimTime,
    },
    PublishReply {
        dev: DeviceId,
        inc: u32,
        request: u64,
        result: Result<PublishAck, PublishError>,
    },
    StoreArrive {
        svc: ServiceId,
        dev: DeviceId,
        inc: u32,
        request: u64,
        query: Box<StoreQuery>,
        deadline: SimTime,
    },
    StoreReply {
        dev: DeviceId,
        inc: u32,
        request: u64,
        result: Box<Result<StorePage, StoreError>>,
    },
    Timer {
        dev: DeviceId,
        inc: u32,
        token: u64,
        generation: u32,
    },
    WorkloadTick {
        user: UserId,
    },
    FaultStart {
        index: u32,
    },
    FaultEnd {
        index: u32,
    },
    FilterPing {
        dev: DeviceId,
    },
    AdversaryPublish {
        message: Box<WakuMessage>,
        kind: Option<HostileKind>,
    },
    HostileAct {
        act: Act,
    },
    RetentionSweep {
        svc: ServiceId,
    },
    Liveness,
}

impl SimEvent {
    /// Trace encoding: kind and two operands.
    fn trace_key(&self) -> (&'static str, u64, u64) {
        match self {
            SimEvent::Boot { dev } => ("boot", u64::from(dev.0), 0),
            SimEvent::Arrive { dev, env, source: MessageSource::Relay } => {
                ("arrive-relay", u64::from(dev.0), env.short_hash())
            }
            SimEvent::Arrive { dev, env, source: MessageSource::Filter } => {
                ("arrive-filter", u64::from(dev.0), env.short_hash())
            }
            SimEvent::ServiceArrive { svc, env } => ("service-arrive", u64::from(svc.0), env.short_hash()),
            SimEvent::LightpushArrive { svc, request, .. } => ("lightpush-arrive", u64::from(svc.0), *request),
            SimEvent::PublishReply { dev, request, .. } => ("publish-reply", u64::from(dev.0), *request),
            SimEvent::StoreArrive { svc, request, .. } => ("store-arrive", u64::from(svc.0), *request),
            SimEvent::StoreReply { dev, request, .. } => ("store-reply", u64::from(dev.0), *request),
            SimEvent::Timer { dev, token, .. } => ("timer", u64::from(dev.0), *token),
            SimEvent::WorkloadTick { user } => ("tick", u64::from(user.0), 0),
            SimEvent::FaultStart { index } => ("fault-start", u64::from(*index), 0),
            SimEvent::FaultEnd { index } => ("fault-end", u64::from(*index), 0),
            SimEvent::FilterPing { dev } => ("filter-ping", u64::from(dev.0), 0),
            SimEvent::AdversaryPublish { .. } => ("adversary-publish", 0, 0),
            SimEvent::HostileAct { act } => ("hostile-act", act.code(), 0),
            SimEvent::RetentionSweep { svc } => ("retention", u64::from(svc.0), 0),
            SimEvent::Liveness => ("liveness", 0, 0),
        }
    }
}

/// A heap key: 24 bytes, so sifting moves little memory; the event itself waits in a slab.
struct Key {
    at: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A popped event.
struct Scheduled {
    at: SimTime,
    seq: u64,
    ev: SimEvent,
}

/// The event queue: earliest time first, ties broken by insertion order (the sequence number
/// is unique, so the order is total and independent of the heap's internals).
#[derive(Default)]
struct EventQueue {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<SimEvent>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl EventQueue {
    fn push(&mut self, at: SimTime, ev: SimEvent) {
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(cell) = self.slots.get_mut(s as usize) {
                    *cell = Some(ev);
                }
                s
            }
            None => {
                self.slots.push(Some(ev));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Key { at, seq: self.next_seq, slot });
    }

    fn pop(&mut self) -> Option<Scheduled> {
        loop {
            let key = self.heap.pop()?;
            let ev = self.slots.get_mut(key.slot as usize).and_then(Option::take);
            self.free.push(key.slot);
            if let Some(ev) = ev {
                return Some(Scheduled { at: key.at, seq: key.seq, ev });
            }
        }
    }

    fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|k| k.at)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// One simulated device.
struct Device<N> {
    spec: DeviceSpec,
    node: Option<N>,
    /// Bumped on every crash: replies and timers addressed to an older incarnation are dropped.
    inc: u32,
    /// Offline nesting depth (overlapping offline periods); online at zero.
    offline: u16,
    /// A pending torn crash: crash inside the next step after this many actions.
    torn: Option<u8>,
    stored: Stored,
    timers: Vec<(u64, u32)>,
    timer_generation: u32,
    clock: Clock,
    topics: Vec<TopicId>,
}

impl<N: SimNode> Device<N> {
    fn alive(&self) -> bool {
        self.node.is_some()
    }

    fn reachable(&self) -> bool {
        self.node.is_some() && self.offline == 0
    }

    fn heap_bytes(&self) -> usize {
        self.node.as_ref().map_or(0, SimNode::state_bytes)
            + self.stored.bytes()
            + self.timers.capacity() * std::mem::size_of::<(u64, u32)>()
            + self.topics.capacity() * std::mem::size_of::<TopicId>()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Faults,
    Liveness,
}

/// Progress of a running simulation (for progress bars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time reached.
    pub now: SimTime,
    /// Virtual end time.
    pub end: SimTime,
    /// Events processed.
    pub events: u64,
    /// Violations so far.
    pub violations: u64,
}

/// Options that do not change the outcome (except `stop_on_violation`, which only truncates).
pub struct RunOptions {
    /// Stop at the first safety violation.
    pub stop_on_violation: bool,
    /// Write the trace as JSON lines here.
    pub trace_sink: Option<Box<dyn Write>>,
    /// Use this fault schedule instead of drawing one from the seed (minimizer, scenario files).
    pub schedule: Option<FaultSchedule>,
    /// Use this adversary instead of the seeded one.
    pub adversary: Option<Box<dyn Adversary>>,
    /// Called every 2^16 events.
    pub progress: Option<Box<dyn FnMut(Progress)>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { stop_on_violation: true, trace_sink: None, schedule: None, adversary: None, progress: None }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions").field("stop_on_violation", &self.stop_on_violation).finish_non_exhaustive()
    }
}

/// Approximate memory held at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryEstimate {
    /// Bytes per device: node state, last snapshot, timers, subscriptions and the slot itself.
    pub per_device_bytes: usize,
    /// Largest single device.
    pub max_device_bytes: usize,
    /// Messages held by all store archives.
    pub archived_messages: usize,
    /// Checker ledger bytes (grows with messages, not devices).
    pub checker_bytes: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Root seed.
    pub seed: u64,
    /// SHA-256 over the canonical trace.
    pub trace_hash: [u8; 32],
    /// Trace records (events and actions).
    pub trace_records: u64,
    /// Virtual time at the end.
    pub end: SimTime,
    /// When faults stopped and the catch-up window began.
    pub fault_end: SimTime,
    /// Users and devices.
    pub users: usize,
    /// Devices.
    pub devices: usize,
    /// Counters.
    pub metrics: Metrics,
    /// Network counters.
    pub net: NetStats,
    /// Invariant checks performed.
    pub checks: u64,
    /// Violations (capped list).
    pub violations: Vec<Violation>,
    /// Total violations.
    pub violation_count: u64,
    /// Owed deliveries (accepted messages × intended installations) and completed ones.
    pub owed: u64,
    /// Completed deliveries.
    pub completed: u64,
    /// Fault events in the schedule.
    pub fault_events: usize,
    /// Memory estimate.
    pub memory: MemoryEstimate,
    /// Trace sink write error, if any.
    pub trace_error: Option<String>,
    /// What the hostile adversaries did and how the devices took it (when they ran).
    pub hostile: Option<HostileStats>,
}

impl RunReport {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violation_count == 0
    }

    /// Delivery ratio (completed / owed; 1 when nothing was owed).
    pub fn delivery_ratio(&self) -> f64 {
        if self.owed == 0 { 1.0 } else { self.completed as f64 / self.owed as f64 }
    }

    /// The trace hash in hex.
    pub fn trace_hex(&self) -> String {
        hex::encode(self.trace_hash)
    }
}

/// Timer token space reserved for nothing; nodes may use any u64.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A simulation in progress.
pub struct World<F: NodeFactory> {
    cfg: ScenarioConfig,
    now: SimTime,
    queue: EventQueue,
    factory: F,
    dir: Rc<Directory>,
    devices: Vec<Device<F::Node>>,
    net: Network,
    pubsub_names: Rc<Vec<String>>,
    checker: Checker,
    metrics: Metrics,
    trace: Trace,
    schedule: FaultSchedule,
    workload_rng: SimRng,
    phase: Phase,
    fault_end: SimTime,
    end: SimTime,
    opts_stop: bool,
    progress: Option<Box<dyn FnMut(Progress)>>,
    actions: Vec<NodeAction>,
    arrivals: Vec<Arrival>,
    injections: Vec<Injection>,
    hostile: Option<Hostile>,
    hostile_out: Vec<HostileInjection>,
    /// Set while a device handles a message the adversary published: its publishes answer
    /// strangers.
    answering: Option<StrangerCall>,
    /// The devices that also run on the real SQLite store.
    sqlite: SqliteMirror,
}

/// What one device call on an adversary's message did.
#[derive(Debug, Clone, Copy)]
struct StrangerCall {
    publishes: u64,
    rejected: bool,
}

impl<F: NodeFactory> World<F> {
    /// Builds the world: directory, clocks, network, schedule, initial events.
    pub fn new(cfg: ScenarioConfig, make_factory: impl FnOnce(Rc<Directory>) -> F, opts: RunOptions) -> Self {
        let seed = cfg.seed;
        let dir = Rc::new(directory_for(&cfg));
        let factory = make_factory(Rc::clone(&dir));
        let sqlite = SqliteMirror::open(seed, cfg.sqlite_devices, dir.device_count() as u32);
        let mut clock_rng = SimRng::new(seed, "clocks", 0);
        let devices: Vec<Device<F::Node>> = (0..dir.device_count() as u32)
            .map(|d| {
                let dev = DeviceId(d);
                Device {
                    spec: DeviceSpec {
                        device: dev,
                        user: dir.user_of(dev).unwrap_or(UserId(0)),
                        mode: dir.mode_of(dev),
                        key_exchange: cfg.key_exchange,
                        store_nodes: cfg.net.store_nodes.clamp(1, 255) as u8,
                        cluster: cfg.net.cluster,
                        shards: cfg.net.shards,
                    },
                    node: None,
                    inc: 0,
                    offline: 0,
                    torn: None,
                    stored: Stored::Empty,
                    timers: Vec::new(),
                    timer_generation: 0,
                    clock: draw_clock(&cfg, &mut clock_rng),
                    topics: Vec::new(),
                }
            })
            .collect();
        let adversary = opts.adversary.or_else(|| {
            cfg.faults
                .adversary
                .is_active()
                .then(|| Box::new(SeededAdversary::new(cfg.faults.adversary.clone())) as Box<dyn Adversary>)
        });
        let net = Network::new(
            cfg.net.clone(),
            cfg.faults.link.clone(),
            devices.len(),
            SimRng::new(seed, "network", 0),
            adversary,
        );
        let hostile = cfg
            .faults
            .hostile
            .is_active()
            .then(|| Hostile::new(cfg.faults.hostile.clone(), seed, &dir, cfg.key_exchange));
        let pubsub_names = Rc::new((0..cfg.net.shards.max(1)).map(|s| net.topics.pubsub(s).to_owned()).collect());
        let schedule = opts.schedule.unwrap_or_else(|| draw_schedule(&cfg, devices.len()));
        let fault_end = SimTime::from_millis(cfg.fault_phase_ms);
        let end = fault_end.plus_millis(cfg.catchup_ms);
        let mut world = Self {
            checker: Checker::new(Rc::clone(&dir), cfg.net.max_message_bytes),
            metrics: Metrics::new(10_000),
            trace: Trace::new(opts.trace_sink),
            workload_rng: SimRng::new(seed, "workload", 0),
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            factory,
            dir,
            devices,
            net,
            pubsub_names,
            schedule,
            phase: Phase::Faults,
            fault_end,
            end,
            opts_stop: opts.stop_on_violation,
            progress: opts.progress,
            actions: Vec::new(),
            arrivals: Vec::new(),
            injections: Vec::new(),
            hostile,
            hostile_out: Vec::new(),
            answering: None,
            sqlite,
            cfg,
        };
        world.seed_events();
        world
    }

    fn seed_events(&mut self) {
        for d in 0..self.devices.len() as u32 {
            let dev = DeviceId(d);
            self.queue.push(SimTime::ZERO, SimEvent::Boot { dev });
            if self.devices[d as usize].spec.mode == ClientMode::Light {
                self.queue.push(SimTime::from_millis(self.cfg.net.filter_ping_ms), SimEvent::FilterPing { dev });
            }
        }
        let mean_ms = if self.cfg.workload.msgs_per_user_hour > 0.0 {
            3_600_000.0 / self.cfg.workload.msgs_per_user_hour
        } else {
            0.0
        };
        for u in 0..self.dir.user_count() as u32 {
            let first = crate::dist::exponential(self.workload_rng.unit(), mean_ms);
            let at = SimTime::from_millis(first.max(1.0) as u64);
            if mean_ms > 0.0 && at < self.fault_end && !self.dir.contacts_of(UserId(u)).is_empty() {
                self.queue.push(at, SimEvent::WorkloadTick { user: UserId(u) });
            }
        }
        for (i, e) in self.schedule.events.iter().enumerate() {
            if e.at_ms < self.cfg.fault_phase_ms {
                self.queue.push(SimTime::from_millis(e.at_ms), SimEvent::FaultStart { index: i as u32 });
            }
        }
        for s in 0..self.cfg.net.store_nodes.min(self.cfg.net.service_nodes) {
            self.queue.push(
                SimTime::from_millis(self.cfg.net.store.retention_interval_ms),
                SimEvent::RetentionSweep { svc: ServiceId(s) },
            );
        }
        self.queue.push(self.fault_end, SimEvent::Liveness);
        for act in [Act::StrangerText, Act::BigBundle, Act::Burst] {
            self.schedule_hostile(act);
        }
    }

    /// Schedules the next hostile act of this kind, inside the fault phase.
    fn schedule_hostile(&mut self, act: Act) {
        let Some(delay) = self.hostile.as_mut().and_then(|h| h.next_delay_ms(act)) else { return };
        let at = self.now.plus_millis(delay);
        if at < self.fault_end {
            self.queue.push(at, SimEvent::HostileAct { act });
        }
    }

    fn hostile_act(&mut self, act: Act) {
        if self.phase != Phase::Faults {
            return;
        }
        let Some(mut hostile) = self.hostile.take() else { return };
        let mut out = std::mem::take(&mut self.hostile_out);
        let (devices, topics) = (&self.devices, &self.net.topics);
        let topics_of = |d: DeviceId| {
            devices
                .get(d.0 as usize)
                .map_or_else(Vec::new, |s| s.topics.iter().map(|t| topics.name(*t).to_owned()).collect())
        };
        hostile.act(self.now, act, topics_of, &mut out);
        self.hostile = Some(hostile);
        self.schedule_injections(&mut out);
        self.hostile_out = out;
        self.schedule_hostile(act);
    }

    fn schedule_injections(&mut self, out: &mut Vec<HostileInjection>) {
        for inj in out.drain(..) {
            let ev = SimEvent::AdversaryPublish { message: Box::new(inj.message), kind: Some(inj.kind) };
            self.queue.push(self.now.plus_millis(inj.delay_ms), ev);
        }
    }

    /// The relay hash a message will have (for tagging hostile injections).
    fn hash_of(&mut self, message: &WakuMessage) -> Option<[u8; 32]> {
        let topic = self.net.topics.intern(&message.content_topic)?;
        Some(message.hash(self.net.topics.pubsub(self.net.topics.shard(topic))))
    }

    /// Runs to the end (or the first violation) and reports.
    pub fn run(mut self) -> RunReport {
        while let Some(t) = self.queue.peek_time() {
            if t > self.end {
                break;
            }
            let Some(Scheduled { at, seq, ev }) = self.queue.pop() else { break };
            self.now = at;
            let (kind, a, b) = ev.trace_key();
            self.trace.record(Record { at, seq, kind, a, b });
            self.metrics.events += 1;
            self.metrics.peak_queue = self.metrics.peak_queue.max(self.queue.len() as u64 + 1);
            self.dispatch(ev);
            if self.metrics.events.is_multiple_of(PROGRESS_EVERY) {
                self.report_progress();
            }
            if self.opts_stop && self.checker.violation_count > 0 {
                break;
            }
        }
        let stopped_early = self.opts_stop && self.checker.violation_count > 0;
        if self.cfg.liveness && !stopped_early {
            self.now = self.now.max(self.end);
            self.checker.check_eventual(self.now);
        }
        self.report_progress();
        self.finish()
    }

    fn report_progress(&mut self) {
        let p = Progress {
            now: self.now,
            end: self.end,
            events: self.metrics.events,
            violations: self.checker.violation_count,
        };
        if let Some(f) = self.progress.as_mut() {
            f(p);
        }
    }

    fn finish(self) -> RunReport {
        let (owed, completed) = self.checker.delivery_counts();
        let slot = std::mem::size_of::<Device<F::Node>>();
        let per: Vec<usize> = self.devices.iter().map(|d| slot + d.heap_bytes()).collect();
        let memory = MemoryEstimate {
            per_device_bytes: if per.is_empty() { 0 } else { per.iter().sum::<usize>() / per.len() },
            max_device_bytes: per.iter().copied().max().unwrap_or(0),
            archived_messages: self.net.archived_messages(),
            checker_bytes: self.checker.memory_bytes(),
        };
        let trace_records = self.trace.len();
        let (trace_hash, err) = self.trace.finish();
        RunReport {
            seed: self.cfg.seed,
            trace_hash,
            trace_records,
            end: self.now,
            fault_end: self.fault_end,
            users: self.dir.user_count(),
            devices: self.devices.len(),
            metrics: self.metrics,
            net: self.net.stats.clone(),
            checks: self.checker.checks,
            violations: self.checker.violations.clone(),
            violation_count: self.checker.violation_count,
            owed,
            completed,
            fault_events: self.schedule.len(),
            memory,
            trace_error: err.map(|e| e.to_string()),
            hostile: self.hostile.map(|h| h.stats),
        }
    }

    fn action_trace(&mut self, kind: &'static str, a: u64, b: u64) {
        self.trace.record(Record { at: self.now, seq: 0, kind, a, b });
    }

    fn dispatch(&mut self, ev: SimEvent) {
        match ev {
            SimEvent::Boot { dev } => self.boot(dev),
            SimEvent::Arrive { dev, env, source } => self.arrive(dev, env, source),
            SimEvent::ServiceArrive { svc, env } => self.service_arrive(svc, &env),
            SimEvent::LightpushArrive { svc, dev, inc, request, message, deadline } => {
                self.lightpush_arrive(svc, dev, inc, request, *message, deadline);
            }
            SimEvent::PublishReply { dev, inc, request, result } => {
                if self.current(dev, inc) {
                    let result = if self.online(dev) { result } else { Err(PublishError::Timeout) };
                    self.run_node(dev, NodeEvent::PublishResult { request, result });
                }
            }
            SimEvent::StoreArrive { svc, dev, inc, request, query, deadline } => {
                self.store_arrive(svc, dev, inc, request, &query, deadline);
            }
            SimEvent::StoreReply { dev, inc, request, result } => {
                if self.current(dev, inc) {
                    let result = if self.online(dev) {
                        result.as_ref().as_ref().map_err(|e| *e)
                    } else {
                        Err(StoreError::Timeout)
                    };
                    self.run_node(dev, NodeEvent::StoreResult { request, result });
                }
            }
            SimEvent::Timer { dev, inc, token, generation } => self.timer(dev, inc, token, generation),
            SimEvent::WorkloadTick { user } => self.workload_tick(user),
            SimEvent::FaultStart { index } => self.fault_start(index),
            SimEvent::FaultEnd { index } => self.fault_end(index),
            SimEvent::FilterPing { dev } => self.filter_ping(dev),
            SimEvent::AdversaryPublish { message, kind } => {
                if let Some(kind) = kind
                    && let Some(hash) = self.hash_of(&message)
                    && let Some(h) = self.hostile.as_mut()
                {
                    h.tag(hash, kind);
                }
                self.net.stats.adv_injected += 1;
                let bytes = message.to_bytes();
                let _ = self.relay_publish(NetAddr::Adversary, *message, &bytes);
            }
            SimEvent::RetentionSweep { svc } => {
                self.net.expire(self.now, svc);
                let next = self.now.plus_millis(self.cfg.net.store.retention_interval_ms.max(1_000));
                self.queue.push(next, SimEvent::RetentionSweep { svc });
            }
            SimEvent::HostileAct { act } => self.hostile_act(act),
            SimEvent::Liveness => self.enter_liveness(),
        }
    }

    fn slot(&self, dev: DeviceId) -> Option<&Device<F::Node>> {
        self.devices.get(dev.0 as usize)
    }

    fn slot_mut(&mut self, dev: DeviceId) -> Option<&mut Device<F::Node>> {
        self.devices.get_mut(dev.0 as usize)
    }

    /// Counts a durable write and releases the deliveries it made durable.
    fn on_persisted(&mut self, dev: DeviceId, bytes: usize) {
        self.metrics.persists += 1;
        self.metrics.persisted_bytes += bytes as u64;
        for first in self.checker.on_persist(dev) {
            self.metrics.on_delivery(self.now.as_millis(), first.latency_us);
        }
    }

    /// Applies a change set to the device's record store, as a real store would in one
    /// transaction; an out-of-sequence set is refused and leaves the store as it was.
    fn apply_changes(&mut self, dev: DeviceId, changes: &ChangeSet) -> Result<(), RecordError> {
        let Some(slot) = self.slot_mut(dev) else { return Ok(()) };
        if !matches!(slot.stored, Stored::Records(_)) {
            slot.stored = Stored::Records(Records::default());
        }
        match &mut slot.stored {
            Stored::Records(records) => records.apply(changes),
            _ => Ok(()),
        }
    }

    fn current(&self, dev: DeviceId, inc: u32) -> bool {
        self.slot(dev).is_some_and(|d| d.alive() && d.inc == inc)
    }

    fn online(&self, dev: DeviceId) -> bool {
        self.slot(dev).is_some_and(|d| d.offline == 0)
    }

    // ---- device lifecycle -------------------------------------------------------------------

    fn boot(&mut self, dev: DeviceId) {
        let seed = self.cfg.seed;
        let Some(slot) = self.devices.get_mut(dev.0 as usize) else { return };
        let node = self.factory.create(&slot.spec, device_entropy(seed, dev.0, slot.inc));
        slot.node = Some(node);
        self.run_node(dev, NodeEvent::Start { restored: false });
        let online = self.online(dev);
        self.run_node(dev, NodeEvent::Connectivity { online });
    }

    fn crash(&mut self, dev: DeviceId) {
        let Some(slot) = self.devices.get_mut(dev.0 as usize) else { return };
        if slot.node.take().is_none() {
            return;
        }
        slot.inc += 1;
        slot.timers.clear();
        slot.torn = None;
        let topics = std::mem::take(&mut slot.topics);
        let light = slot.spec.mode == ClientMode::Light;
        for t in topics {
            if !light {
                self.net.relay_unsubscribe(t, dev);
            }
        }
        self.metrics.crashes += 1;
        self.checker.on_crash(dev);
        self.action_trace("crash", u64::from(dev.0), 0);
    }

    fn restart(&mut self, dev: DeviceId) {
        let seed = self.cfg.seed;
        let now = self.now;
        let Some(slot) = self.devices.get_mut(dev.0 as usize) else { return };
        if slot.node.is_some() {
            return;
        }
        let entropy = device_entropy(seed, dev.0, slot.inc);
        if let Some(loaded) = self.sqlite.load(dev) {
            // A device on SQLite restarts from what SQLite holds, which must be exactly what the
            // change sets built.
            let expected = match &slot.stored {
                Stored::Records(records) => records.clone(),
                _ => Records::default(),
            };
            match loaded {
                Ok(records) if records == expected => {
                    if records != Records::default() {
                        slot.stored = Stored::Records(records);
                    }
                }
                Ok(_) => {
                    self.checker.on_restore_failed(
                        now,
                        dev,
                        "the SQLite store differs from the change sets applied".into(),
                    );
                    return;
                }
                Err(e) => {
                    self.checker.on_restore_failed(now, dev, e);
                    return;
                }
            }
        }
        let (node, restored) = match &slot.stored {
            Stored::Empty => (self.factory.create(&slot.spec, entropy), false),
            stored => match self.factory.restore(&slot.spec, stored, entropy) {
                Ok(n) => (n, true),
                Err(e) => {
                    self.checker.on_restore_failed(now, dev, e.to_string());
                    return;
                }
            },
        };
        slot.node = Some(node);
        self.metrics.restarts += 1;
        self.action_trace("restart", u64::from(dev.0), u64::from(restored));
        self.run_node(dev, NodeEvent::Start { restored });
        let online = self.online(dev);
        self.run_node(dev, NodeEvent::Connectivity { online });
    }

    /// Hands one event to a device and applies its actions in order; a pending torn crash
    /// interrupts the list.
    fn run_node(&mut self, dev: DeviceId, event: NodeEvent<'_>) {
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        let now = self.now;
        let Some(slot) = self.devices.get_mut(dev.0 as usize) else {
            self.actions = actions;
            return;
        };
        let Some(node) = slot.node.as_mut() else {
            self.actions = actions;
            return;
        };
        let local = slot.clock.now(now);
        node.handle(local, event, &mut actions);
        let torn = slot.torn.take();
        let mut crashed = false;
        for (k, action) in actions.drain(..).enumerate() {
            if torn.is_some_and(|t| usize::from(t) == k) {
                crashed = true;
                break;
            }
            self.apply(dev, local.as_millis(), action);
            if !self.slot(dev).is_some_and(|d| d.alive()) {
                break;
            }
        }
        if torn.is_some() || crashed {
            self.crash(dev);
        }
        self.actions = actions;
    }

    fn apply(&mut self, dev: DeviceId, local_ms: u64, action: NodeAction) {
        let d = u64::from(dev.0);
        match action {
            NodeAction::Publish { request, message, via } => self.act_publish(dev, local_ms, request, message, via),
            NodeAction::Subscribe { content_topics } => {
                for name in content_topics {
                    if let Some(t) = self.net.topics.intern(&name) {
                        self.action_trace("subscribe", d, u64::from(t.0));
                        self.subscribe(dev, t);
                    }
                }
            }
            NodeAction::Unsubscribe { content_topics } => {
                for name in content_topics {
                    if let Some(t) = self.net.topics.get(&name) {
                        self.action_trace("unsubscribe", d, u64::from(t.0));
                        self.unsubscribe(dev, t);
                    }
                }
            }
            NodeAction::StoreQuery { request, store, query } => {
                self.action_trace("store-query", d, request);
                self.act_store_query(dev, request, store, query);
            }
            NodeAction::SetTimer { token, at } => {
                self.action_trace("set-timer", d, token);
                let delay = at.as_millis().saturating_sub(local_ms);
                let fire = self.now.plus_millis(delay);
                if let Some(slot) = self.slot_mut(dev) {
                    slot.timer_generation = slot.timer_generation.wrapping_add(1);
                    let generation = slot.timer_generation;
                    match slot.timers.iter_mut().find(|(t, _)| *t == token) {
                        Some(entry) => entry.1 = generation,
                        None => slot.timers.push((token, generation)),
                    }
                    let inc = slot.inc;
                    self.queue.push(fire, SimEvent::Timer { dev, inc, token, generation });
                }
            }
            NodeAction::CancelTimer { token } => {
                self.action_trace("cancel-timer", d, token);
                if let Some(slot) = self.slot_mut(dev) {
                    slot.timers.retain(|(t, _)| *t != token);
                }
            }
            NodeAction::Persist { snapshot } => {
                let bytes = snapshot.len();
                self.action_trace("persist", d, bytes as u64);
                if let Some(slot) = self.slot_mut(dev) {
                    slot.stored = Stored::Snapshot(snapshot.into_boxed_slice());
                }
                self.on_persisted(dev, bytes);
            }
            NodeAction::Apply { changes } => {
                let bytes = changes.bytes();
                self.action_trace("apply", d, bytes as u64);
                if let Err(e) = self.apply_changes(dev, &changes) {
                    self.checker.on_store_refused(self.now, dev, e.to_string());
                    return;
                }
                if let Err(e) = self.sqlite.commit(dev, &changes) {
                    self.checker.on_store_refused(self.now, dev, e);
                    return;
                }
                self.on_persisted(dev, bytes);
            }
            NodeAction::Notify(n) => self.notify(dev, &n),
        }
    }

    fn notify(&mut self, dev: DeviceId, n: &Notification) {
        let d = u64::from(dev.0);
        let (kind, b) = match n {
            Notification::Accepted { id } => ("accepted", id.0),
            Notification::SendRefused { id } => ("refused", id.0),
            Notification::Delivered { body, .. } => {
                ("delivered", crate::workload::parse_body(body).map_or(u64::MAX, |m| m.0))
            }
            Notification::Acked { id, .. } => {
                self.metrics.acks += 1;
                ("acked", id.0)
            }
            Notification::Retransmitted { id } => {
                self.metrics.retransmissions += 1;
                ("retransmitted", id.0)
            }
            Notification::DuplicateSuppressed => {
                self.metrics.duplicates_suppressed += 1;
                ("duplicate", 0)
            }
            Notification::Rejected { reason } => {
                self.metrics.rejected += 1;
                if let Some(call) = self.answering.as_mut() {
                    call.rejected = true;
                }
                ("rejected", *reason as u64)
            }
            Notification::KeyUse { nonce, .. } => {
                ("key-use", u64::from_le_bytes(nonce[4..].try_into().unwrap_or([0; 8])))
            }
            Notification::Bound { value, .. } => ("bound", *value),
            Notification::Error { .. } => {
                self.metrics.node_errors += 1;
                ("error", 0)
            }
        };
        self.action_trace(kind, d, b);
        self.checker.on_notification(self.now, dev, n);
    }

    fn subscribe(&mut self, dev: DeviceId, t: TopicId) {
        let now = self.now;
        let Some(slot) = self.devices.get_mut(dev.0 as usize) else { return };
        if slot.topics.contains(&t) {
            return;
        }
        slot.topics.push(t);
        if slot.spec.mode == ClientMode::Relay {
            self.net.relay_subscribe(t, dev);
        } else {
            let services: Vec<ServiceId> = self.net.filters_of(dev).collect();
            for svc in services {
                self.net.filter_subscribe(now, svc, dev, t);
            }
        }
    }

    fn unsubscribe(&mut self, dev: DeviceId, t: TopicId) {
        if let Some(slot) = self.devices.get_mut(dev.0 as usize) {
            slot.topics.retain(|x| *x != t);
        }
        self.net.relay_unsubscribe(t, dev);
        self.net.filter_unsubscribe(dev, t);
    }

    // ---- publishing -------------------------------------------------------------------------

    fn act_publish(&mut self, dev: DeviceId, local_ms: u64, request: u64, message: WakuMessage, via: PublishVia) {
        let bytes = message.to_bytes();
        self.checker.on_publish(self.now, dev, local_ms, &message, bytes.len());
        if let Some(call) = self.answering.as_mut() {
            call.publishes += 1;
            self.checker.on_answer_to_stranger(self.now, dev);
        }
        self.metrics.publishes += 1;
        self.action_trace("publish", u64::from(dev.0), request);
        let Some(slot) = self.slot(dev) else { return };
        let (inc, light, online) = (slot.inc, slot.spec.mode == ClientMode::Light, slot.offline == 0);
        if !online {
            self.queue.push(self.now, SimEvent::PublishReply { dev, inc, request, result: Err(PublishError::Offline) });
            return;
        }
        if via == PublishVia::LightPush || light {
            let svc = self.net.lightpush_of(dev, request);
            let deadline = self.now.plus_millis(self.cfg.net.lightpush_timeout_ms);
            match self.net.rpc_leg(self.now, NetAddr::Device(dev), NetAddr::Service(svc)) {
                Some(at) if at <= deadline => {
                    let ev = SimEvent::LightpushArrive { svc, dev, inc, request, message: Box::new(message), deadline };
                    self.queue.push(at, ev);
                }
                _ => self
                    .queue
                    .push(deadline, SimEvent::PublishReply { dev, inc, request, result: Err(PublishError::Timeout) }),
            }
        } else if let Err(e) = self.relay_publish(NetAddr::Device(dev), message, &bytes) {
            self.queue.push(self.now, SimEvent::PublishReply { dev, inc, request, result: Err(e) });
        }
    }

    fn envelope(&mut self, message: WakuMessage, size: usize, origin: NetAddr) -> Option<Rc<Envelope>> {
        let topic = self.net.topics.intern(&message.content_topic)?;
        let pubsub = self.net.topics.shard(topic);
        let hash = message.hash(self.net.topics.pubsub(pubsub));
        Some(Rc::new(Envelope { message, topic, pubsub, hash, size: size as u32, origin, published_at: self.now }))
    }

    /// Publishes on the relay from `origin`; returns how many nodes it was handed to.
    fn relay_publish(&mut self, origin: NetAddr, message: WakuMessage, bytes: &[u8]) -> Result<u32, PublishError> {
        if bytes.len() > self.cfg.net.max_message_bytes {
            self.net.stats.oversize += 1;
            return Err(PublishError::TooLarge);
        }
        if !self.net.seen_fresh(self.now, bytes) {
            return Err(PublishError::Duplicate);
        }
        let env = self.envelope(message, bytes.len(), origin).ok_or(PublishError::InvalidTopic)?;
        let origin_code = match origin {
            NetAddr::Device(d) => u64::from(d.0),
            NetAddr::Service(s) => (1 << 32) | u64::from(s.0),
            NetAddr::Adversary => 1 << 33,
        };
        self.action_trace("relay", origin_code, env.short_hash());
        let mut injections = std::mem::take(&mut self.injections);
        self.net.adversary_publish(self.now, &env, &mut injections);
        for inj in injections.drain(..) {
            self.queue.push(
                self.now.plus_millis(inj.delay_ms),
                SimEvent::AdversaryPublish { message: Box::new(inj.message), kind: None },
            );
        }
        self.injections = injections;
        if origin != NetAddr::Adversary
            && self.phase == Phase::Faults
            && let Some(mut hostile) = self.hostile.take()
        {
            let mut out = std::mem::take(&mut self.hostile_out);
            hostile.on_publish(self.now, &env.message, &mut out);
            self.hostile = Some(hostile);
            self.schedule_injections(&mut out);
            self.hostile_out = out;
        }
        let mut arrivals = std::mem::take(&mut self.arrivals);
        arrivals.clear();
        self.net.relay_fanout(self.now, &env, origin, &mut arrivals);
        let count = arrivals.len() as u32;
        self.schedule_arrivals(&env, &mut arrivals);
        self.arrivals = arrivals;
        Ok(count)
    }

    fn schedule_arrivals(&mut self, env: &Rc<Envelope>, arrivals: &mut Vec<Arrival>) {
        for a in arrivals.drain(..) {
            match a {
                Arrival::Device { at, dev, source } => {
                    self.queue.push(at, SimEvent::Arrive { dev, env: Rc::clone(env), source })
                }
                Arrival::Service { at, svc } => {
                    self.queue.push(at, SimEvent::ServiceArrive { svc, env: Rc::clone(env) })
                }
            }
        }
    }

    fn arrive(&mut self, dev: DeviceId, env: Rc<Envelope>, source: MessageSource) {
        if !self.slot(dev).is_some_and(Device::reachable) {
            self.net.stats.lost_receiver_down += 1;
            return;
        }
        let env = match self.net.adversary_delivery(self.now, dev, &env) {
            Verdict::Pass => env,
            Verdict::Drop => return,
            Verdict::Replace(m) => {
                let size = m.to_bytes().len();
                match self.envelope(m, size, NetAddr::Adversary) {
                    Some(e) => e,
                    None => return,
                }
            }
        };
        let names = Rc::clone(&self.pubsub_names);
        let pubsub = names.get(usize::from(env.pubsub)).map_or("", String::as_str);
        let event = NodeEvent::Message { message: &env.message, hash: &env.hash, pubsub_topic: pubsub, source };
        if env.origin != NetAddr::Adversary {
            return self.run_node(dev, event);
        }
        // Everything this call publishes answers the adversary (a stranger, to the device).
        self.answering = Some(StrangerCall { publishes: 0, rejected: false });
        self.run_node(dev, event);
        let Some(call) = self.answering.take() else { return };
        self.metrics.answers_to_strangers += call.publishes;
        if let Some(h) = self.hostile.as_mut() {
            let c = h.stats.count(h.kind_of(&env.hash));
            c.handled += 1;
            c.rejected += u64::from(call.rejected);
            c.answered += u64::from(call.publishes > 0);
            c.answers += call.publishes;
        }
    }

    fn service_arrive(&mut self, svc: ServiceId, env: &Rc<Envelope>) {
        if !self.net.service_up(svc) {
            self.net.stats.lost_receiver_down += 1;
            return;
        }
        self.net.archive(self.now, svc, env);
        let mut arrivals = std::mem::take(&mut self.arrivals);
        arrivals.clear();
        self.net.filter_fanout(self.now, svc, env, &mut arrivals);
        self.schedule_arrivals(env, &mut arrivals);
        self.arrivals = arrivals;
    }

    fn lightpush_arrive(
        &mut self,
        svc: ServiceId,
        dev: DeviceId,
        inc: u32,
        request: u64,
        message: WakuMessage,
        deadline: SimTime,
    ) {
        if !self.net.service_up(svc) {
            self.net.stats.lightpush_failed += 1;
            self.queue.push(deadline, SimEvent::PublishReply { dev, inc, request, result: Err(PublishError::Timeout) });
            return;
        }
        let result = if self.net.draw_chance(self.net.faults.lightpush_failure) {
            Err([PublishError::TooManyRequests, PublishError::Internal, PublishError::NoPeers]
                [self.net.draw_below(3) as usize])
        } else if self.net.draw_chance(self.net.faults.lightpush_zero_peers) {
            Ok(PublishAck { relay_peer_count: 0 })
        } else {
            let bytes = message.to_bytes();
            self.relay_publish(NetAddr::Service(svc), message, &bytes).map(|n| PublishAck { relay_peer_count: n })
        };
        if result.is_ok() {
            self.net.stats.lightpush_ok += 1;
        } else {
            self.net.stats.lightpush_failed += 1;
        }
        let at = self.net.rpc_leg(self.now, NetAddr::Service(svc), NetAddr::Device(dev)).filter(|t| *t <= deadline);
        let (at, result) = match at {
            Some(t) => (t, result),
            None => (deadline, Err(PublishError::Timeout)),
        };
        self.queue.push(at, SimEvent::PublishReply { dev, inc, request, result });
    }

    // ---- store ------------------------------------------------------------------------------

    fn act_store_query(&mut self, dev: DeviceId, request: u64, store: u8, query: StoreQuery) {
        self.metrics.store_queries += 1;
        let Some(slot) = self.slot(dev) else { return };
        let (inc, online) = (slot.inc, slot.offline == 0);
        if !online {
            self.queue
                .push(self.now, SimEvent::StoreReply { dev, inc, request, result: Box::new(Err(StoreError::Offline)) });
            return;
        }
        let svc = self.net.store_of(dev, store);
        let deadline = self.now.plus_millis(self.cfg.net.store.timeout_ms);
        match self.net.rpc_leg(self.now, NetAddr::Device(dev), NetAddr::Service(svc)) {
            Some(at) if at <= deadline => {
                self.queue.push(at, SimEvent::StoreArrive { svc, dev, inc, request, query: Box::new(query), deadline });
            }
            _ => self
                .queue
                .push(deadline, SimEvent::StoreReply { dev, inc, request, result: Box::new(Err(StoreError::Timeout)) }),
        }
    }

    fn store_arrive(
        &mut self,
        svc: ServiceId,
        dev: DeviceId,
        inc: u32,
        request: u64,
        query: &StoreQuery,
        deadline: SimTime,
    ) {
        let timeout = |w: &mut Self| {
            w.net.stats.store_failed += 1;
            w.queue
                .push(deadline, SimEvent::StoreReply { dev, inc, request, result: Box::new(Err(StoreError::Timeout)) });
        };
        if !self.net.service_up(svc) {
            return timeout(self);
        }
        let result = if self.net.draw_chance(self.net.faults.store_failure) {
            match self.net.draw_below(3) {
                0 => return timeout(self),
                1 => Err(StoreError::TooManyRequests),
                _ => Err(StoreError::Unavailable),
            }
        } else {
            let mut r = self.net.store_query(svc, query);
            if let Ok(page) = r.as_mut()
                && !page.entries.is_empty()
                && self.net.draw_chance(self.net.faults.store_truncate)
            {
                let i = self.net.draw_below(page.entries.len() as u64) as usize;
                page.entries.remove(i);
            }
            r
        };
        if result.is_ok() {
            self.net.stats.store_ok += 1;
        } else {
            self.net.stats.store_failed += 1;
        }
        let (lo, hi) = self.cfg.net.store.processing_ms;
        let processing = lo + self.net.draw_below(hi.saturating_sub(lo) + 1);
        let t0 = self.now.plus_millis(processing);
        match self.net.rpc_leg(t0, NetAddr::Service(svc), NetAddr::Device(dev)).filter(|t| *t <= deadline) {
            Some(at) => self.queue.push(at, SimEvent::StoreReply { dev, inc, request, result: Box::new(result) }),
            None => timeout(self),
        }
    }

    // ---- timers, workload, faults -----------------------------------------------------------

    fn timer(&mut self, dev: DeviceId, inc: u32, token: u64, generation: u32) {
        let Some(slot) = self.slot_mut(dev) else { return };
        if slot.inc != inc || !slot.alive() {
            return;
        }
        let Some(pos) = slot.timers.iter().position(|&(t, g)| t == token && g == generation) else { return };
        slot.timers.swap_remove(pos);
        self.run_node(dev, NodeEvent::Timer { token });
    }

    fn workload_tick(&mut self, user: UserId) {
        if self.phase != Phase::Faults {
            return;
        }
        let dir = Rc::clone(&self.dir);
        let (devices, contacts) = (dir.devices_of(user), dir.contacts_of(user));
        if devices.is_empty() || contacts.is_empty() {
            return;
        }
        let draw = SendDraw::draw(&self.cfg.workload, devices.len(), contacts.len(), &mut self.workload_rng);
        let (dev, to) = (devices[draw.device_index], contacts[draw.contact_index]);
        if self.slot(dev).is_some_and(Device::alive) {
            let id: MessageId = self.checker.issue(dev, to, draw.len, self.now);
            self.metrics.on_issue(self.now.as_millis());
            let cmd = AppCommand::SendText { id, to, body: body_for(id, draw.len) };
            self.run_node(dev, NodeEvent::App(&cmd));
        } else {
            self.metrics.skipped_sends += 1;
        }
        let next = self.now.plus_millis(draw.next_ms);
        if next < self.fault_end {
            self.queue.push(next, SimEvent::WorkloadTick { user });
        }
    }

    fn fault_start(&mut self, index: u32) {
        if self.phase != Phase::Faults {
            return;
        }
        let Some(fault) = self.schedule.events.get(index as usize).map(|e| e.fault.clone()) else { return };
        let (fault, duration) = match &fault {
            Fault::Partition { spec, duration_ms } => {
                self.net.partitions.start(index, *spec);
                ("partition", *duration_ms)
            }
            Fault::Offline { device, duration_ms } => {
                let dev = *device;
                let d = *duration_ms;
                if let Some(slot) = self.slot_mut(dev) {
                    slot.offline += 1;
                    if slot.offline == 1 && slot.alive() {
                        self.run_node(dev, NodeEvent::Connectivity { online: false });
                    }
                }
                ("offline", d)
            }
            Fault::Crash { device, torn_after, down_ms } => {
                let (dev, torn, d) = (*device, *torn_after, *down_ms);
                match torn {
                    Some(k) => {
                        if let Some(slot) = self.slot_mut(dev)
                            && slot.alive()
                        {
                            slot.torn = Some(k);
                        }
                    }
                    None => self.crash(dev),
                }
                ("crash", d)
            }
            Fault::ServiceOutage { service, duration_ms } => {
                self.net.set_service_up(*service, false);
                ("outage", *duration_ms)
            }
        };
        self.action_trace(fault, u64::from(index), duration);
        self.queue.push(self.now.plus_millis(duration), SimEvent::FaultEnd { index });
    }

    fn fault_end(&mut self, index: u32) {
        let Some(event) = self.schedule.events.get(index as usize) else { return };
        match event.fault.clone() {
            Fault::Partition { .. } => self.net.partitions.end(index),
            Fault::Offline { device, .. } => self.set_online_step(device),
            Fault::Crash { device, .. } => {
                if self.slot(device).is_some_and(Device::alive) {
                    if let Some(slot) = self.slot_mut(device) {
                        slot.torn = None;
                    }
                } else {
                    self.restart(device);
                }
            }
            Fault::ServiceOutage { service, .. } => self.net.set_service_up(service, true),
        }
    }

    fn set_online_step(&mut self, dev: DeviceId) {
        let Some(slot) = self.slot_mut(dev) else { return };
        if slot.offline == 0 {
            return;
        }
        slot.offline -= 1;
        if slot.offline == 0 && slot.alive() {
            self.run_node(dev, NodeEvent::Connectivity { online: true });
        }
    }

    fn filter_ping(&mut self, dev: DeviceId) {
        let now = self.now;
        if let Some(slot) = self.slot(dev)
            && slot.reachable()
        {
            let topics = slot.topics.clone();
            let services: Vec<ServiceId> = self.net.filters_of(dev).collect();
            for svc in services {
                for t in &topics {
                    self.net.filter_subscribe(now, svc, dev, *t);
                }
            }
        }
        self.queue.push(now.plus_millis(self.cfg.net.filter_ping_ms), SimEvent::FilterPing { dev });
    }

    fn enter_liveness(&mut self) {
        self.phase = Phase::Liveness;
        self.net.calm();
        for d in 0..self.devices.len() as u32 {
            let dev = DeviceId(d);
            let Some(slot) = self.slot_mut(dev) else { continue };
            slot.torn = None;
            let was_offline = slot.offline > 0;
            slot.offline = 0;
            if !slot.alive() {
                self.restart(dev);
            } else if was_offline {
                self.run_node(dev, NodeEvent::Connectivity { online: true });
            }
        }
    }
}

/// The fault schedule a run of `cfg` draws from its seed (what the minimizer starts from).
pub fn schedule_for(cfg: &ScenarioConfig) -> FaultSchedule {
    draw_schedule(cfg, directory_for(cfg).device_count())
}

/// The users, devices and contacts of a run of `cfg`: contacts only within a suite.
pub fn directory_for(cfg: &ScenarioConfig) -> Directory {
    let mut rng = SimRng::new(cfg.seed, "graph", 0);
    Directory::build_in_groups(&cfg.workload, &mut rng, |u| cfg.suite.of(u) as u8)
}

fn draw_schedule(cfg: &ScenarioConfig, devices: usize) -> FaultSchedule {
    let mut rng = SimRng::new(cfg.seed, "faults", 0);
    FaultSchedule::generate(&cfg.faults, devices as u32, cfg.net.service_nodes, cfg.fault_phase_ms, &mut rng)
}

/// Draws a device clock: most devices are NTP-synchronised within ±1 s; a third get any offset
/// up to the configured maximum (no public skew distribution exists, so this is a sweep).
fn draw_clock(cfg: &ScenarioConfig, rng: &mut SimRng) -> Clock {
    let max = cfg.faults.skew_max_ms.min(i64::MAX as u64 / 4) as i64;
    let wide = rng.chance(1.0 / 3.0);
    let bound = if wide { max } else { max.min(1_000) };
    let offset_ms = rng.range_inclusive(0, (2 * bound) as u64) as i64 - bound;
    let drift = i64::from(cfg.faults.drift_max_ppm);
    let drift_ppm = (rng.range_inclusive(0, (2 * drift) as u64) as i64 - drift) as i32;
    Clock { offset_ms, drift_ppm }
}
