//! The invariant framework: safety checks on every step, and the liveness check after the
//! catch-up window (waku-network-model.md §4.5; TigerBeetle's safety/liveness modes).
//!
//! The checker trusts nothing a node claims: a delivered plaintext is authenticated against
//! the workload's ground truth (the body embeds its id, and bodies are a pure function of the
//! id), and the intended recipients come from the [`Directory`], not from the node.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use status_1to1::waku::{ContentTopic, WakuMessage};

use crate::hashing::FastMap;
use crate::ids::{DeviceId, MessageId, UserId};
use crate::node::Notification;
use crate::time::SimTime;
use crate::workload::{CANARY, Directory, body_for, parse_body};

/// The kind of a violated invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ViolationKind {
    /// A delivered plaintext that no one sent (not a workload body, or an unknown id).
    Forged,
    /// A delivered plaintext whose bytes differ from what was sent.
    Tampered,
    /// Delivered with the wrong claimed sender.
    Misattributed,
    /// Delivered to an installation it was not intended for.
    WrongRecipient,
    /// Delivered twice to the same installation.
    DuplicateDelivery,
    /// One (key, nonce) pair encrypted two different plaintexts.
    KeyNonceReuse,
    /// A plaintext body appeared in a published message.
    PlaintextOnWire,
    /// A published message breaks the Waku rules (size, timestamp, topic, meta).
    MalformedWire,
    /// A node reported a state size above its documented bound.
    BoundExceeded,
    /// A persisted snapshot could not be restored.
    RestoreFailed,
    /// The device's store refused a change set (out of sequence: one was lost or reordered).
    StoreRefused,
    /// Liveness: an accepted message never reached an intended installation.
    NotDelivered,
    /// A device published more than [`MAX_ANSWERS_TO_STRANGERS_PER_HOUR`] messages in one hour
    /// while handling messages the adversary published.
    AnswersToStrangers,
}

/// The most messages a device may publish in any hour (a sliding window) while handling
/// messages the adversary published (live relay or filter deliveries whose envelope origin is
/// the adversary: strangers, reflections, junk, replays and tampered copies). What a device
/// owes outsiders is a handful of handshake answers and acknowledgements; more lets anyone turn
/// a device into an amplifier, so the peer must rate-limit what it answers.
pub const MAX_ANSWERS_TO_STRANGERS_PER_HOUR: usize = 60;

/// The window of [`MAX_ANSWERS_TO_STRANGERS_PER_HOUR`].
const ANSWER_WINDOW_US: u64 = 3_600_000_000;

/// One violation, with enough context to start debugging; the run report adds the seed and the
/// replay command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// What broke.
    pub kind: ViolationKind,
    /// When.
    pub at: SimTime,
    /// Where, if a device.
    pub device: Option<DeviceId>,
    /// Which message, if known.
    pub message: Option<MessageId>,
    /// Human-readable details.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at {}", self.kind, self.at)?;
        if let Some(d) = self.device {
            write!(f, " on {d}")?;
        }
        if let Some(m) = self.message {
            write!(f, " ({m})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// The ground truth of one issued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Sending installation.
    pub sender: DeviceId,
    /// Recipient user.
    pub to: UserId,
    /// Body length (the body itself is `body_for(id, len)`).
    pub len: u32,
    /// When the workload issued it.
    pub issued_at: SimTime,
    /// The sender durably accepted it (it is owed).
    pub accepted: bool,
    /// The sender refused it (not owed).
    pub refused: bool,
    /// Bit i: delivered to the i-th intended installation.
    pub delivered: u32,
}

/// Largest timestamp deviation from the publisher's own clock (14/WAKU2-MESSAGE allows ±1 s
/// fudge; the publisher stamps with its own clock, so more means a bug).
const TIMESTAMP_FUDGE_MS: i64 = 1_000;

/// The checker.
#[derive(Debug)]
pub struct Checker {
    dir: Rc<Directory>,
    ledger: Vec<LedgerEntry>,
    /// Lookup-only (see [`crate::hashing`]).
    aead: FastMap<u128, u64>,
    /// Deliveries not yet made durable by the device's next `Persist`.
    tentative: BTreeMap<DeviceId, Vec<(MessageId, u32, u64)>>,
    max_message_bytes: usize,
    /// Per device: when it answered strangers, within the last hour.
    answers: BTreeMap<DeviceId, std::collections::VecDeque<SimTime>>,
    /// Checks performed (each one could have failed).
    pub checks: u64,
    /// Violations found (capped).
    pub violations: Vec<Violation>,
    /// Violations found, including those beyond the cap.
    pub violation_count: u64,
}

/// Most violations kept in full.
const KEEP_VIOLATIONS: usize = 50;

/// A successful first delivery, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstDelivery {
    /// Latency from issue to delivery in microseconds.
    pub latency_us: u64,
}

impl Checker {
    /// A checker over `dir`.
    pub fn new(dir: Rc<Directory>, max_message_bytes: usize) -> Self {
        Self {
            dir,
            ledger: Vec::new(),
            aead: FastMap::default(),
            tentative: BTreeMap::new(),
            max_message_bytes,
            answers: BTreeMap::new(),
            checks: 0,
            violations: Vec::new(),
            violation_count: 0,
        }
    }

    fn violate(&mut self, v: Violation) {
        self.violation_count += 1;
        if self.violations.len() < KEEP_VIOLATIONS {
            self.violations.push(v);
        }
    }

    /// Records a message the workload is about to hand to `sender`; returns its id.
    pub fn issue(&mut self, sender: DeviceId, to: UserId, len: usize, now: SimTime) -> MessageId {
        let id = MessageId(self.ledger.len() as u64);
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.ledger.push(LedgerEntry {
            sender,
            to,
            len,
            issued_at: now,
            accepted: false,
            refused: false,
            delivered: 0,
        });
        id
    }

    /// The ledger entry of `id`.
    pub fn entry(&self, id: MessageId) -> Option<&LedgerEntry> {
        self.ledger.get(id.0 as usize)
    }

    /// Number of issued messages.
    pub fn issued(&self) -> usize {
        self.ledger.len()
    }

    /// Safety checks on a message an honest device publishes, with its local clock in ms.
    pub fn on_publish(&mut self, now: SimTime, dev: DeviceId, local_ms: u64, message: &WakuMessage, size: usize) {
        self.checks += 5;
        let mut problems = Vec::new();
        if size > self.max_message_bytes {
            problems.push(format!("{size} bytes exceeds {}", self.max_message_bytes));
        }
        match message.timestamp {
            None | Some(0) => problems.push("missing timestamp".to_owned()),
            Some(ns) => {
                let skew = ns / 1_000_000 - i64::try_from(local_ms).unwrap_or(i64::MAX);
                if skew.abs() > TIMESTAMP_FUDGE_MS {
                    problems.push(format!("timestamp {skew} ms from the publisher's clock"));
                }
            }
        }
        if ContentTopic::parse(&message.content_topic).is_err() {
            problems.push(format!("bad content topic {:?}", message.content_topic));
        }
        if message.meta.as_ref().is_some_and(|m| m.len() > 64) {
            problems.push("meta over 64 bytes".to_owned());
        }
        for p in problems {
            self.violate(Violation {
                kind: ViolationKind::MalformedWire,
                at: now,
                device: Some(dev),
                message: None,
                detail: p,
            });
        }
        let leaks = |bytes: &[u8]| bytes.windows(CANARY.len()).any(|w| w == CANARY);
        if leaks(&message.payload)
            || message.meta.as_deref().is_some_and(leaks)
            || leaks(message.content_topic.as_bytes())
        {
            self.violate(Violation {
                kind: ViolationKind::PlaintextOnWire,
                at: now,
                device: Some(dev),
                message: None,
                detail: format!("canary plaintext in a message on {}", message.content_topic),
            });
        }
    }

    /// A device published a message while handling one the adversary published. Reported once
    /// per window in which the device goes over the bound.
    pub fn on_answer_to_stranger(&mut self, now: SimTime, dev: DeviceId) {
        self.checks += 1;
        let times = self.answers.entry(dev).or_default();
        while times.front().is_some_and(|t| now.micros_since(*t) >= ANSWER_WINDOW_US) {
            times.pop_front();
        }
        times.push_back(now);
        if times.len() == MAX_ANSWERS_TO_STRANGERS_PER_HOUR + 1 {
            let first = times.front().copied().unwrap_or(now);
            self.violate(Violation {
                kind: ViolationKind::AnswersToStrangers,
                at: now,
                device: Some(dev),
                message: None,
                detail: format!(
                    "{} messages published in answer to the adversary since {first} (at most {} per hour)",
                    MAX_ANSWERS_TO_STRANGERS_PER_HOUR + 1,
                    MAX_ANSWERS_TO_STRANGERS_PER_HOUR
                ),
            });
        }
    }

    /// A device persisted a snapshot: its tentative deliveries become durable. Returns them,
    /// for latency metrics.
    pub fn on_persist(&mut self, dev: DeviceId) -> Vec<FirstDelivery> {
        self.tentative
            .remove(&dev)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, _, latency_us)| FirstDelivery { latency_us })
            .collect()
    }

    /// A device crashed: deliveries it had not persisted are rolled back, as the application
    /// store they were written to is part of the lost in-memory state.
    pub fn on_crash(&mut self, dev: DeviceId) {
        for (id, bit, _) in self.tentative.remove(&dev).unwrap_or_default() {
            if let Some(e) = self.ledger.get_mut(id.0 as usize) {
                e.delivered &= !bit;
            }
        }
    }

    /// Safety checks on a node's notification.
    ///
    /// A `Delivered` is a write to the application's message store, which is part of the
    /// node's persisted state: it becomes durable with the device's next `Persist` action and
    /// is rolled back if the device crashes first ([`Checker::on_crash`]).
    pub fn on_notification(&mut self, now: SimTime, dev: DeviceId, n: &Notification) {
        match n {
            Notification::Accepted { id } => self.mark(*id, dev, |e| e.accepted = true),
            Notification::SendRefused { id } => self.mark(*id, dev, |e| e.refused = true),
            Notification::Delivered { from_user, from_device, body } => {
                self.on_delivered(now, dev, *from_user, *from_device, body);
            }
            Notification::KeyUse { key, nonce, plaintext } => self.on_key_use(now, dev, key, nonce, plaintext),
            Notification::Bound { name, value, limit } => {
                self.checks += 1;
                if value > limit {
                    self.violate(Violation {
                        kind: ViolationKind::BoundExceeded,
                        at: now,
                        device: Some(dev),
                        message: None,
                        detail: format!("{name} = {value} > {limit}"),
                    });
                }
            }
            Notification::Acked { .. }
            | Notification::Retransmitted { .. }
            | Notification::DuplicateSuppressed
            | Notification::Rejected { .. }
            | Notification::Error { .. } => {}
        }
    }

    fn mark(&mut self, id: MessageId, dev: DeviceId, f: impl FnOnce(&mut LedgerEntry)) {
        if let Some(e) = self.ledger.get_mut(id.0 as usize)
            && e.sender == dev
        {
            f(e);
        }
    }

    fn on_delivered(&mut self, now: SimTime, dev: DeviceId, from_user: UserId, from_device: DeviceId, body: &[u8]) {
        self.checks += 5;
        let bad = |kind, message, detail: String| Violation { kind, at: now, device: Some(dev), message, detail };
        let Some(id) = parse_body(body) else {
            self.violate(bad(
                ViolationKind::Forged,
                None,
                format!("delivered {} bytes that are not a workload body", body.len()),
            ));
            return;
        };
        let Some(entry) = self.ledger.get(id.0 as usize).copied() else {
            self.violate(bad(ViolationKind::Forged, Some(id), "id never issued".to_owned()));
            return;
        };
        if body != body_for(id, entry.len as usize).as_slice() {
            self.violate(bad(ViolationKind::Tampered, Some(id), "body differs from what was sent".to_owned()));
            return;
        }
        let sender_user = self.dir.user_of(entry.sender);
        if from_device != entry.sender || Some(from_user) != sender_user {
            self.violate(bad(
                ViolationKind::Misattributed,
                Some(id),
                format!("claimed {from_user}/{from_device}, sent by {:?}/{}", sender_user, entry.sender),
            ));
        }
        let Some(slot) = self.dir.intended(entry.sender, entry.to).iter().position(|d| *d == dev) else {
            self.violate(bad(ViolationKind::WrongRecipient, Some(id), format!("intended for {}", entry.to)));
            return;
        };
        let bit = 1u32 << (slot % 32);
        let e = &mut self.ledger[id.0 as usize];
        if e.delivered & bit != 0 {
            self.violate(bad(
                ViolationKind::DuplicateDelivery,
                Some(id),
                "delivered to this installation before".to_owned(),
            ));
            return;
        }
        e.delivered |= bit;
        let latency_us = now.micros_since(e.issued_at);
        self.tentative.entry(dev).or_default().push((id, bit, latency_us));
    }

    fn on_key_use(&mut self, now: SimTime, dev: DeviceId, key: &[u8; 32], nonce: &[u8; 12], plaintext: &[u8; 32]) {
        self.checks += 1;
        let mut h = Sha256::new();
        h.update(key);
        h.update(nonce);
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        let mut p = [0u8; 8];
        p.copy_from_slice(&plaintext[..8]);
        let (k, p) = (u128::from_be_bytes(k), u64::from_be_bytes(p));
        match self.aead.insert(k, p) {
            Some(old) if old != p => self.violate(Violation {
                kind: ViolationKind::KeyNonceReuse,
                at: now,
                device: Some(dev),
                message: None,
                detail: format!("key {} nonce {} encrypted two plaintexts", hex::encode(&key[..6]), hex::encode(nonce)),
            }),
            _ => {}
        }
    }

    /// The device's store refused a change set.
    pub fn on_store_refused(&mut self, now: SimTime, dev: DeviceId, detail: String) {
        self.violate(Violation {
            kind: ViolationKind::StoreRefused,
            at: now,
            device: Some(dev),
            message: None,
            detail,
        });
    }

    /// A snapshot failed to restore.
    pub fn on_restore_failed(&mut self, now: SimTime, dev: DeviceId, detail: String) {
        self.violate(Violation {
            kind: ViolationKind::RestoreFailed,
            at: now,
            device: Some(dev),
            message: None,
            detail,
        });
    }

    /// Liveness: every accepted message reached every intended installation.
    pub fn check_eventual(&mut self, now: SimTime) {
        let mut missing = Vec::new();
        for (i, e) in self.ledger.iter().enumerate() {
            if !e.accepted || e.refused {
                continue;
            }
            for (slot, dev) in self.dir.intended(e.sender, e.to).iter().enumerate() {
                self.checks += 1;
                if e.delivered & (1u32 << (slot % 32)) == 0 {
                    missing.push((MessageId(i as u64), *dev, e.sender, e.issued_at));
                }
            }
        }
        for (id, dev, sender, issued) in missing {
            self.violate(Violation {
                kind: ViolationKind::NotDelivered,
                at: now,
                device: Some(dev),
                message: Some(id),
                detail: format!("from {sender}, issued at {issued}, never delivered"),
            });
        }
    }

    /// Owed deliveries and completed ones (accepted messages × intended installations).
    pub fn delivery_counts(&self) -> (u64, u64) {
        let mut owed = 0;
        let mut done = 0;
        for e in &self.ledger {
            if !e.accepted || e.refused {
                continue;
            }
            let n = self.dir.intended(e.sender, e.to).len().min(32);
            owed += n as u64;
            done += u64::from((e.delivered & mask(n)).count_ones());
        }
        (owed, done)
    }

    /// Approximate bytes held by the checker (it grows with messages, not with devices).
    pub fn memory_bytes(&self) -> usize {
        self.ledger.capacity() * std::mem::size_of::<LedgerEntry>() + self.aead.len() * 40
    }
}

fn mask(n: usize) -> u32 {
    if n >= 32 { u32::MAX } else { (1u32 << n) - 1 }
}
