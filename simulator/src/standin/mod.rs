//! A stand-in chat node, used until the real peer of issue 5 plugs in through [`SimNode`].
//!
//! It is deliberately small but has every mechanism the network model and the invariants need
//! to exercise: one inbox content topic per device; per-recipient-device frames encrypted with
//! ChaCha20-Poly1305 and a per-direction counter nonce; end-to-end acks (ephemeral, so never
//! stored); retransmission with exponential backoff until acked; duplicate suppression by
//! (sender, seq); store catch-up with Status's algorithm (every 60 s and on reconnect, window
//! `[last_checked − 10 s, now − 10 s]`, up to 3 attempts 2 s apart, paging with cursors); and
//! crash safety by persisting before every externally visible effect.
//!
//! Under `cfg(test)` or the `mutants` feature, [`Mutation`]s plant known bugs so tests can show
//! the invariants catch them.

pub mod frame;
pub mod snapshot;

use std::rc::Rc;

use status_1to1::waku::WakuMessage;
use status_1to1::{SeededEntropy, Timestamp};

use self::frame::{Header, Kind};
use self::snapshot::{ChatState, OutEntry};
use crate::ids::{DeviceId, MessageId, UserId};
use crate::node::{
    AppCommand, ClientMode, DeviceSpec, NodeAction, NodeEvent, NodeFactory, Notification, PublishVia, RejectReason,
    RestoreError, SimNode, StorePage, StoreQuery, Stored,
};
use crate::workload::Directory;

/// Most unacknowledged frames a device keeps; further sends are refused (bounded memory).
pub const OUTBOX_LIMIT: usize = 512;
/// Most out-of-order seqs remembered per sender.
pub const RECV_ABOVE_LIMIT: usize = 1_024;
/// First retransmission after 3 s (two relay hops ≈ 1.1 s), doubling up to 60 s (MVDS
/// "exponentially increase Send Epoch up to a bound"; the cap keeps the liveness window short).
pub const BACKOFF_START_MS: u64 = 3_000;
/// Retransmission backoff cap.
pub const BACKOFF_CAP_MS: u64 = 60_000;
/// Store check interval (status-go missing-message check: 60 s).
pub const STORE_INTERVAL_MS: u64 = 60_000;
/// Store window lag (status-go: 10 s).
pub const STORE_LAG_MS: u64 = 10_000;
/// Store retry spacing and attempts (status-go: 3 attempts, 2 s apart).
pub const STORE_RETRY_MS: u64 = 2_000;
/// Store attempts per check.
pub const STORE_ATTEMPTS: u8 = 3;

const TIMER_RETRY: u64 = 1;
const TIMER_STORE: u64 = 2;
const TIMER_STORE_RETRY: u64 = 3;

/// A planted bug (test builds and the `mutants` feature only can select one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mutation {
    /// The correct node.
    #[default]
    None,
    /// Deliver every copy, not just the first.
    SkipDuplicateCheck,
    /// Decrypt without verifying the tag.
    AcceptUnauthenticated,
    /// Persist the receive window before delivering, so the delivery is not in the same commit
    /// (a torn crash in between loses the message: later copies count as duplicates).
    PersistBeforeDeliver,
    /// Leave the receive windows out of the snapshot (duplicates after a restart).
    VolatileDedup,
    /// Publish new frames before persisting the advanced nonce counter.
    PublishBeforePersist,
    /// Never retransmit.
    NoRetransmit,
    /// Answer every frame it refuses (an amplifier for anyone who sends junk).
    AnswerStrangers,
}

impl Mutation {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SkipDuplicateCheck => "skip-duplicate-check",
            Self::AcceptUnauthenticated => "accept-unauthenticated",
            Self::PersistBeforeDeliver => "persist-before-deliver",
            Self::VolatileDedup => "volatile-dedup",
            Self::PublishBeforePersist => "publish-before-persist",
            Self::NoRetransmit => "no-retransmit",
            Self::AnswerStrangers => "answer-strangers",
        }
    }
}

impl std::str::FromStr for Mutation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => Self::None,
            "skip-duplicate-check" => Self::SkipDuplicateCheck,
            "accept-unauthenticated" => Self::AcceptUnauthenticated,
            "persist-before-deliver" => Self::PersistBeforeDeliver,
            "volatile-dedup" => Self::VolatileDedup,
            "publish-before-persist" => Self::PublishBeforePersist,
            "no-retransmit" => Self::NoRetransmit,
            "answer-strangers" => Self::AnswerStrangers,
            _ => return Err(format!("unknown mutant {s:?}")),
        })
    }
}

struct StoreJob {
    request: u64,
    query: StoreQuery,
    attempts: u8,
    window_end_ms: u64,
}

/// The inbox content topic of a device.
pub fn inbox_topic(dev: u32) -> String {
    format!("/sim-chat/1/inbox-{dev}/proto")
}

/// The stand-in node.
pub struct ChatNode {
    spec: DeviceSpec,
    dir: Rc<Directory>,
    topic: String,
    pubsub: String,
    state: ChatState,
    online: bool,
    next_request: u64,
    store_job: Option<StoreJob>,
    mutation: Mutation,
}

impl std::fmt::Debug for ChatNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatNode")
            .field("device", &self.spec.device)
            .field("outbox", &self.state.outbox.len())
            .finish_non_exhaustive()
    }
}

impl ChatNode {
    fn new(spec: &DeviceSpec, dir: Rc<Directory>, state: ChatState, mutation: Mutation) -> Self {
        let topic = inbox_topic(spec.device.0);
        let pubsub = spec.pubsub_topic(&topic).unwrap_or_default();
        Self {
            spec: spec.clone(),
            dir,
            topic,
            pubsub,
            state,
            online: false,
            next_request: 0,
            store_job: None,
            mutation,
        }
    }

    /// The persisted state.
    pub fn state(&self) -> &ChatState {
        &self.state
    }

    fn me(&self) -> u32 {
        self.spec.device.0
    }

    fn request(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    fn persist(&self, out: &mut Vec<NodeAction>) {
        let snapshot = if self.mutation == Mutation::VolatileDedup {
            ChatState { recv: Default::default(), ..self.state.clone() }.encode()
        } else {
            self.state.encode()
        };
        out.push(NodeAction::Persist { snapshot });
        out.push(NodeAction::Notify(Notification::Bound {
            name: "outbox",
            value: self.state.outbox.len() as u64,
            limit: OUTBOX_LIMIT as u64,
        }));
    }

    fn publish(&mut self, now_ms: u64, to: u32, frame: Vec<u8>, ephemeral: bool, out: &mut Vec<NodeAction>) {
        let request = self.request();
        let message = WakuMessage {
            payload: frame,
            content_topic: inbox_topic(to),
            version: None,
            timestamp: Some(Timestamp::from_millis(now_ms).as_nanos_i64()),
            meta: None,
            rate_limit_proof: None,
            ephemeral: ephemeral.then_some(true),
        };
        let via = match self.spec.mode {
            ClientMode::Relay => PublishVia::Relay,
            ClientMode::Light => PublishVia::LightPush,
        };
        out.push(NodeAction::Publish { request, message, via });
    }

    fn arm_retry(&self, now_ms: u64, out: &mut Vec<NodeAction>) {
        if !self.online {
            return;
        }
        if let Some(next) = self.state.outbox.values().map(|e| e.next_ms).min() {
            out.push(NodeAction::SetTimer { token: TIMER_RETRY, at: Timestamp::from_millis(next.max(now_ms)) });
        }
    }

    fn send(&mut self, now_ms: u64, id: MessageId, to: UserId, body: &[u8], out: &mut Vec<NodeAction>) {
        let recipients = self.dir.devices_of(to).to_vec();
        if recipients.is_empty() || self.state.outbox.len() + recipients.len() > OUTBOX_LIMIT {
            out.push(NodeAction::Notify(Notification::SendRefused { id }));
            return;
        }
        let mut plaintext = Vec::with_capacity(8 + body.len());
        plaintext.extend_from_slice(&id.0.to_le_bytes());
        plaintext.extend_from_slice(body);
        let mut frames = Vec::with_capacity(recipients.len());
        for d in recipients {
            let seq_slot = self.state.send_seq.entry(d.0).or_insert(0);
            let seq = *seq_slot;
            *seq_slot += 1;
            let header = Header { kind: Kind::Data, from: self.me(), to: d.0, seq };
            let frame = frame::seal(&header, &plaintext);
            let (key, nonce, pt) = frame::key_use(&header, &plaintext);
            let entry = OutEntry { id: id.0, frame: frame.clone(), attempts: 0, next_ms: now_ms + BACKOFF_START_MS };
            self.state.outbox.insert((d.0, seq), entry);
            frames.push((d.0, frame, Notification::KeyUse { key, nonce, plaintext: pt }));
        }
        if self.mutation == Mutation::PublishBeforePersist {
            for (d, frame, key_use) in frames {
                out.push(NodeAction::Notify(key_use));
                self.publish(now_ms, d, frame, false, out);
            }
            self.persist(out);
            out.push(NodeAction::Notify(Notification::Accepted { id }));
        } else {
            self.persist(out);
            out.push(NodeAction::Notify(Notification::Accepted { id }));
            for (d, frame, key_use) in frames {
                out.push(NodeAction::Notify(key_use));
                self.publish(now_ms, d, frame, false, out);
            }
        }
        self.arm_retry(now_ms, out);
    }

    fn on_frame(&mut self, now_ms: u64, payload: &[u8], out: &mut Vec<NodeAction>) {
        let (header, body) = match Header::parse(payload) {
            Ok(x) => x,
            Err(reason) => return self.reject(now_ms, reason, out),
        };
        if header.to != self.me() || self.dir.user_of(DeviceId(header.from)).is_none() {
            return self.reject(now_ms, RejectReason::Misaddressed, out);
        }
        match header.kind {
            Kind::Data => self.on_data(now_ms, &header, body, out),
            Kind::Ack => self.on_ack(&header, body, out),
        }
    }

    fn reject(&mut self, now_ms: u64, reason: RejectReason, out: &mut Vec<NodeAction>) {
        out.push(NodeAction::Notify(Notification::Rejected { reason }));
        if self.mutation == Mutation::AnswerStrangers {
            // To a topic no device listens on, ephemeral: only the answer itself is the bug.
            self.publish(now_ms, u32::MAX, b"who are you?".to_vec(), true, out);
        }
    }

    fn on_data(&mut self, now_ms: u64, header: &Header, body: &[u8], out: &mut Vec<NodeAction>) {
        let plaintext = if self.mutation == Mutation::AcceptUnauthenticated {
            frame::open_unauthenticated(header, body)
        } else {
            match frame::open(header, body) {
                Ok(p) => p,
                Err(reason) => return out.push(NodeAction::Notify(Notification::Rejected { reason })),
            }
        };
        let Some(text) = plaintext.get(8..) else {
            return out.push(NodeAction::Notify(Notification::Rejected { reason: RejectReason::Malformed }));
        };
        let window = self.state.recv.entry(header.from).or_default();
        let fresh = window.insert(header.seq) || self.mutation == Mutation::SkipDuplicateCheck;
        let above = window.above.len() as u64;
        if !fresh {
            out.push(NodeAction::Notify(Notification::DuplicateSuppressed));
            return self.ack(now_ms, header, out);
        }
        out.push(NodeAction::Notify(Notification::Bound {
            name: "recv-window",
            value: above,
            limit: RECV_ABOVE_LIMIT as u64,
        }));
        let delivered = Notification::Delivered {
            from_user: self.dir.user_of(DeviceId(header.from)).unwrap_or(UserId(u32::MAX)),
            from_device: DeviceId(header.from),
            body: text.to_vec(),
        };
        // The delivery and the receive window that records it commit together with the
        // Persist that follows.
        if self.mutation == Mutation::PersistBeforeDeliver {
            self.persist(out);
            out.push(NodeAction::Notify(delivered));
        } else {
            out.push(NodeAction::Notify(delivered));
            self.persist(out);
        }
        self.ack(now_ms, header, out);
    }

    fn ack(&mut self, now_ms: u64, data: &Header, out: &mut Vec<NodeAction>) {
        let header = Header { kind: Kind::Ack, from: self.me(), to: data.from, seq: data.seq };
        let plaintext = data.seq.to_le_bytes();
        let (key, nonce, pt) = frame::key_use(&header, &plaintext);
        out.push(NodeAction::Notify(Notification::KeyUse { key, nonce, plaintext: pt }));
        self.publish(now_ms, data.from, frame::seal(&header, &plaintext), true, out);
    }

    fn on_ack(&mut self, header: &Header, body: &[u8], out: &mut Vec<NodeAction>) {
        match frame::open(header, body) {
            Ok(p) if p == header.seq.to_le_bytes() => {}
            Ok(_) => return out.push(NodeAction::Notify(Notification::Rejected { reason: RejectReason::Malformed })),
            Err(reason) => return out.push(NodeAction::Notify(Notification::Rejected { reason })),
        }
        if let Some(e) = self.state.outbox.remove(&(header.from, header.seq)) {
            self.persist(out);
            out.push(NodeAction::Notify(Notification::Acked { id: MessageId(e.id), by: DeviceId(header.from) }));
        }
    }

    fn retransmit(&mut self, now_ms: u64, out: &mut Vec<NodeAction>) {
        if !self.online || self.mutation == Mutation::NoRetransmit {
            return;
        }
        let due: Vec<(u32, u64)> =
            self.state.outbox.iter().filter(|(_, e)| e.next_ms <= now_ms).map(|(k, _)| *k).collect();
        for key in due {
            let Some(e) = self.state.outbox.get_mut(&key) else { continue };
            e.attempts += 1;
            let backoff = BACKOFF_START_MS.saturating_mul(1u64 << e.attempts.min(16)).min(BACKOFF_CAP_MS);
            e.next_ms = now_ms + backoff;
            let (id, frame) = (e.id, e.frame.clone());
            out.push(NodeAction::Notify(Notification::Retransmitted { id: MessageId(id) }));
            self.publish(now_ms, key.0, frame, false, out);
        }
        self.arm_retry(now_ms, out);
    }

    fn start_store_check(&mut self, now_ms: u64, out: &mut Vec<NodeAction>) {
        if self.store_job.is_some() || !self.online {
            return;
        }
        let start = self.state.last_checked_ms.saturating_sub(STORE_LAG_MS);
        let end = now_ms.saturating_sub(STORE_LAG_MS);
        if end <= start {
            return;
        }
        let ns = |ms: u64| Timestamp::from_millis(ms).as_nanos_i64();
        let query = StoreQuery {
            include_data: true,
            pubsub_topic: Some(self.pubsub.clone()),
            content_topics: vec![self.topic.clone()],
            time_start: Some(ns(start)),
            time_end: Some(ns(end)),
            forward: true,
            page_limit: Some(100),
            ..StoreQuery::default()
        };
        let request = self.request();
        out.push(NodeAction::StoreQuery { request, store: 0, query: query.clone() });
        self.store_job = Some(StoreJob { request, query, attempts: 0, window_end_ms: end + STORE_LAG_MS });
    }

    fn on_store_result(
        &mut self,
        now_ms: u64,
        request: u64,
        result: Result<&StorePage, crate::node::StoreError>,
        out: &mut Vec<NodeAction>,
    ) {
        let Some(mut job) = self.store_job.take() else { return };
        if job.request != request {
            self.store_job = Some(job);
            return;
        }
        match result {
            Ok(page) => {
                for entry in &page.entries {
                    if let Some(m) = entry.message() {
                        self.on_frame(now_ms, &m.payload, out);
                    }
                }
                if let Some(cursor) = page.cursor {
                    job.query.cursor = Some(cursor);
                    job.request = self.request();
                    out.push(NodeAction::StoreQuery {
                        request: job.request,
                        store: job.attempts,
                        query: job.query.clone(),
                    });
                    self.store_job = Some(job);
                } else if job.window_end_ms > self.state.last_checked_ms {
                    self.state.last_checked_ms = job.window_end_ms;
                    self.persist(out);
                }
            }
            Err(_) => {
                job.attempts += 1;
                if job.attempts < STORE_ATTEMPTS {
                    out.push(NodeAction::SetTimer {
                        token: TIMER_STORE_RETRY,
                        at: Timestamp::from_millis(now_ms + STORE_RETRY_MS),
                    });
                    self.store_job = Some(job);
                }
            }
        }
    }

    fn resend_store_query(&mut self, out: &mut Vec<NodeAction>) {
        let request = self.request();
        if let Some(job) = self.store_job.as_mut() {
            job.request = request;
            out.push(NodeAction::StoreQuery { request, store: job.attempts, query: job.query.clone() });
        }
    }
}

impl SimNode for ChatNode {
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>) {
        let now_ms = now.as_millis();
        match event {
            NodeEvent::Start { restored } => {
                out.push(NodeAction::Subscribe { content_topics: vec![self.topic.clone()] });
                if !restored {
                    self.state.last_checked_ms = now_ms;
                }
                out.push(NodeAction::SetTimer {
                    token: TIMER_STORE,
                    at: Timestamp::from_millis(now_ms + STORE_INTERVAL_MS),
                });
            }
            NodeEvent::Connectivity { online } => {
                self.online = online;
                if online {
                    self.start_store_check(now_ms, out);
                    self.arm_retry(now_ms, out);
                }
            }
            NodeEvent::App(AppCommand::SendText { id, to, body }) => self.send(now_ms, *id, *to, body, out),
            NodeEvent::Message { message, .. } => self.on_frame(now_ms, &message.payload, out),
            NodeEvent::StoreResult { request, result } => self.on_store_result(now_ms, request, result, out),
            NodeEvent::PublishResult { .. } => {}
            NodeEvent::Timer { token: TIMER_RETRY } => self.retransmit(now_ms, out),
            NodeEvent::Timer { token: TIMER_STORE } => {
                self.start_store_check(now_ms, out);
                out.push(NodeAction::SetTimer {
                    token: TIMER_STORE,
                    at: Timestamp::from_millis(now_ms + STORE_INTERVAL_MS),
                });
            }
            NodeEvent::Timer { token: TIMER_STORE_RETRY } => self.resend_store_query(out),
            NodeEvent::Timer { .. } => {}
        }
    }

    fn state_bytes(&self) -> usize {
        let s = &self.state;
        std::mem::size_of::<Self>()
            + self.topic.capacity()
            + self.pubsub.capacity()
            + s.send_seq.len() * 24
            + s.outbox.values().map(|e| e.frame.capacity() + 72).sum::<usize>()
            + s.recv.values().map(|w| 48 + w.above.len() * 16).sum::<usize>()
    }
}

/// Builds stand-in nodes.
#[derive(Debug, Clone)]
pub struct ChatFactory {
    dir: Rc<Directory>,
    mutation: Mutation,
}

impl ChatFactory {
    /// A factory over the scenario's directory.
    pub fn new(dir: Rc<Directory>) -> Self {
        Self { dir, mutation: Mutation::None }
    }

    /// Plants a bug in every node (test builds and the `mutants` feature only).
    #[cfg(any(test, feature = "mutants"))]
    pub fn with_mutation(mut self, mutation: Mutation) -> Self {
        self.mutation = mutation;
        self
    }
}

impl NodeFactory for ChatFactory {
    type Node = ChatNode;

    fn create(&mut self, spec: &DeviceSpec, _entropy: SeededEntropy) -> ChatNode {
        ChatNode::new(spec, Rc::clone(&self.dir), ChatState::default(), self.mutation)
    }

    fn restore(
        &mut self,
        spec: &DeviceSpec,
        stored: &Stored,
        _entropy: SeededEntropy,
    ) -> Result<ChatNode, RestoreError> {
        let Stored::Snapshot(snapshot) = stored else {
            return Err(RestoreError("the stand-in persists snapshots only".into()));
        };
        Ok(ChatNode::new(spec, Rc::clone(&self.dir), ChatState::decode(snapshot)?, self.mutation))
    }
}
