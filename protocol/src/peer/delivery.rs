//! Reliable delivery over a lossy network: the outbox retries each message to each intended
//! device until that device acknowledges it (with exponential backoff and a bound), the dedup
//! set makes delivery to the application at-most-once, and the ack queue coalesces the
//! acknowledgements owed to each device.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::frame::{Frame, MessageId};
use crate::identity::{IdentityKey, InstallationId};
use crate::time::Timestamp;

/// One device of one identity: where a frame is delivered and who acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Device {
    /// The account.
    pub identity: IdentityKey,
    /// The device.
    pub installation: InstallationId,
}

/// Retry and acknowledgement timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryConfig {
    /// Wait before the first retry.
    pub first_retry: Duration,
    /// Upper bound of the doubling backoff.
    pub max_backoff: Duration,
    /// Sends per device before giving up (the first send included).
    pub max_attempts: u32,
    /// Delay that coalesces acknowledgements owed to one device.
    pub ack_delay: Duration,
    /// How long a delivered id is remembered to suppress duplicates.
    pub dedup_window: Duration,
    /// Most remembered ids (oldest forgotten first).
    pub dedup_capacity: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
            max_attempts: 12,
            ack_delay: Duration::from_millis(300),
            dedup_window: Duration::from_secs(30 * 24 * 3600),
            dedup_capacity: 20_000,
        }
    }
}

/// The delivery state of one message to one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetState {
    /// Not sent yet (waiting for a session with that device).
    Waiting,
    /// Sent `attempts` times; the next retry is due at `next`.
    Sent {
        /// Sends so far.
        attempts: u32,
        /// When to send again.
        next: Timestamp,
    },
}

impl TargetState {
    /// The state's name in [`STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Sent { .. } => "Sent",
        }
    }
}

/// The delivery of one message to one device ([`crate::diagram`]); `[*]` after creation is
/// the device leaving the message's targets.
pub const STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "outbox_target",
        title: "Outbox: one message to one device",
        code: "`peer::delivery::TargetState` in `Outgoing::targets`, changed by `Outbox` \
               (`protocol/src/peer/delivery.rs`)",
        summary: "Every message the peer sends is kept per target device until that device acknowledges it; each \
                  retry is re-encrypted on the current session and carries the same message id, which the \
                  receiver's deduplication set turns into at-most-once delivery. A message to a contact with no \
                  known device stays open for devices that answer later (`add_target`) until the handshake \
                  window ends. The blind first send of an X3DH no-bundle message (`Outgoing::blind`) follows the \
                  same retry rule and is not drawn.",
        transitions: &[
            T::new(OUTSIDE, "enqueue", "Waiting", "devices known at send time"),
            T::new(OUTSIDE, "add_target", "Waiting", "a new device of an open message, not acknowledged before"),
            T::new("Waiting", "add_target", "Waiting", "already a target"),
            T::new("Waiting", "due", "Waiting", "no session with the device yet"),
            T::new("Waiting", "mark_sent", "Sent", "first send, retry after first_retry"),
            T::new("Waiting", "acknowledge", OUTSIDE, "no send recorded, e.g. a device answering an open message"),
            T::new("Sent", "mark_sent", "Sent", "retry, backoff doubles up to max_backoff"),
            T::new("Sent", "due", "Sent", "below the attempt bound"),
            T::new("Sent", "add_target", "Sent", "already a target"),
            T::new("Sent", "acknowledge", OUTSIDE, "Delivered once every target acknowledged"),
            T::new("Sent", "due", OUTSIDE, "max_attempts sends without an acknowledgement, GaveUp"),
        ],
    }
};

/// A message on its way to several devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The frame, encoded (re-encrypted for every retry; the id lets the receiver deduplicate).
    #[serde(with = "crate::serde_bytes::vec")]
    pub frame: Vec<u8>,
    /// Devices that have not acknowledged yet.
    pub targets: BTreeMap<Device, TargetState>,
    /// Still accepting new target devices (the contact had none with a session when it was
    /// sent); kept even with no targets until closed.
    pub open: bool,
    /// Every target known so far acknowledged (reported once).
    pub delivered: bool,
    /// Send order, so waiting messages go out in the order the application sent them.
    pub seq: u64,
    /// Devices that acknowledged: never targeted again (an open message keeps adopting devices).
    pub acked: BTreeSet<Device>,
    /// A send addressed to an identity with no reachable device yet (an X3DH no-bundle first
    /// message), retried like a device until some device of that identity becomes a target.
    pub blind: Option<(IdentityKey, TargetState)>,
}

/// A send that is due: the message, the device, and the encoded frame to encrypt for it.
pub type DueSend = (MessageId, Device, Vec<u8>);

/// What the outbox tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxEvent {
    /// All intended devices acknowledged.
    Delivered(MessageId),
    /// A device never acknowledged within the attempt bound.
    GaveUp(MessageId, Device),
}

/// Messages not yet acknowledged by every intended device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// One record per message (`RecordKind::Outbox`), not part of the outbox's own record.
    #[serde(skip)]
    pub(super) messages: BTreeMap<MessageId, Outgoing>,
    next_seq: u64,
}

impl Outbox {
    /// Whether everything but the messages (their own records) is equal.
    pub(crate) fn local_eq(&self, other: &Self) -> bool {
        let Self { messages: _, next_seq } = self;
        *next_seq == other.next_seq
    }

    /// Queues `frame` for `targets`.
    pub fn enqueue(&mut self, frame: &Frame, targets: impl IntoIterator<Item = Device>) {
        let targets: BTreeMap<_, _> = targets.into_iter().map(|d| (d, TargetState::Waiting)).collect();
        if !targets.is_empty() {
            let seq = self.take_seq();
            self.messages.insert(
                frame.id,
                Outgoing {
                    frame: frame.encode(),
                    targets,
                    open: false,
                    delivered: false,
                    seq,
                    acked: BTreeSet::new(),
                    blind: None,
                },
            );
        }
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Queues `frame` with no target yet, open for devices that appear later.
    pub fn enqueue_open(&mut self, frame: &Frame) {
        let seq = self.take_seq();
        let entry = self.messages.entry(frame.id).or_insert_with(|| Outgoing {
            frame: frame.encode(),
            targets: BTreeMap::new(),
            open: true,
            delivered: false,
            seq,
            acked: BTreeSet::new(),
            blind: None,
        });
        entry.open = true;
    }

    /// Records a blind send of an open message to `identity` at `now` (first or retried).
    pub fn mark_blind_sent(&mut self, id: &MessageId, identity: &IdentityKey, now: Timestamp, config: &DeliveryConfig) {
        if let Some(m) = self.messages.get_mut(id) {
            let attempts = match &m.blind {
                Some((_, TargetState::Sent { attempts, .. })) => *attempts + 1,
                _ => 1,
            };
            let next = now.saturating_add(backoff(attempts, config));
            m.blind = Some((*identity, TargetState::Sent { attempts, next }));
        }
    }

    /// Blind sends due at `now` as `(id, identity, frame)`; those past the attempt bound stop.
    pub fn due_blind(&mut self, now: Timestamp, config: &DeliveryConfig) -> Vec<(MessageId, IdentityKey, Vec<u8>)> {
        let mut due = Vec::new();
        for (id, m) in &mut self.messages {
            match &m.blind {
                Some((_, TargetState::Sent { attempts, .. })) if *attempts >= config.max_attempts => m.blind = None,
                Some((identity, TargetState::Sent { next, .. })) if *next <= now => {
                    due.push((*id, *identity, m.frame.clone()))
                }
                _ => {}
            }
        }
        due
    }

    /// Devices a message was ever addressed to (pending or acknowledged).
    pub fn device_count(&self, id: &MessageId) -> usize {
        self.messages.get(id).map_or(0, |m| m.targets.len() + m.acked.len())
    }

    /// Stops accepting new targets; returns true if no device ever acknowledged the message.
    pub fn close_open(&mut self, id: &MessageId) -> bool {
        let Some(message) = self.messages.get_mut(id) else { return false };
        message.open = false;
        if message.targets.is_empty() {
            let delivered = message.delivered;
            self.messages.remove(id);
            return !delivered;
        }
        false
    }

    /// Adds a device to a queued message (a device discovered after sending).
    pub fn add_target(&mut self, id: &MessageId, device: Device) {
        if let Some(m) = self.messages.get_mut(id)
            && !m.acked.contains(&device)
        {
            if m.blind.as_ref().is_some_and(|(identity, _)| *identity == device.identity) {
                m.blind = None;
            }
            m.targets.entry(device).or_insert(TargetState::Waiting);
        }
    }

    /// Records a send to `device` at `now`, scheduling the retry.
    pub fn mark_sent(&mut self, id: &MessageId, device: &Device, now: Timestamp, config: &DeliveryConfig) {
        if let Some(state) = self.messages.get_mut(id).and_then(|m| m.targets.get_mut(device)) {
            let attempts = match state {
                TargetState::Waiting => 1,
                TargetState::Sent { attempts, .. } => *attempts + 1,
            };
            *state = TargetState::Sent { attempts, next: now.saturating_add(backoff(attempts, config)) };
        }
    }

    /// A send to `device` found no usable session: the message waits for one (sent when a
    /// session with the device is established) instead of being due again at once.
    pub fn mark_waiting(&mut self, id: &MessageId, device: &Device) {
        if let Some(state) = self.messages.get_mut(id).and_then(|m| m.targets.get_mut(device)) {
            *state = TargetState::Waiting;
        }
    }

    /// Records an acknowledgement of `id` by `device`.
    pub fn acknowledge(&mut self, id: &MessageId, device: &Device) -> Option<OutboxEvent> {
        let message = self.messages.get_mut(id)?;
        message.targets.remove(device)?;
        message.acked.insert(device.clone());
        if !message.targets.is_empty() {
            return None;
        }
        let first_report = !message.delivered;
        message.delivered = true;
        if !message.open {
            self.messages.remove(id);
        }
        first_report.then_some(OutboxEvent::Delivered(*id))
    }

    /// Sends that are due at `now` (never-sent ones included) as `(id, device, frame)`, and
    /// the devices given up on.
    pub fn due(&mut self, now: Timestamp, config: &DeliveryConfig) -> (Vec<DueSend>, Vec<OutboxEvent>) {
        let mut due = Vec::new();
        let mut gave_up = Vec::new();
        let mut ordered: Vec<(&MessageId, &mut Outgoing)> = self.messages.iter_mut().collect();
        ordered.sort_by_key(|(_, m)| m.seq);
        for (id, message) in ordered {
            message.targets.retain(|device, state| match state {
                TargetState::Sent { attempts, .. } if *attempts >= config.max_attempts => {
                    gave_up.push(OutboxEvent::GaveUp(*id, device.clone()));
                    false
                }
                _ => true,
            });
            for (device, state) in &message.targets {
                if matches!(state, TargetState::Sent { next, .. } if *next <= now) {
                    due.push((*id, device.clone(), message.frame.clone()));
                }
            }
        }
        self.messages.retain(|_, m| !m.targets.is_empty() || m.open);
        (due, gave_up)
    }

    /// Messages waiting for a session with `device`, in send order.
    pub fn waiting_for(&self, device: &Device) -> Vec<(MessageId, Vec<u8>)> {
        let mut waiting: Vec<(u64, MessageId, Vec<u8>)> = self
            .messages
            .iter()
            .filter(|(_, m)| matches!(m.targets.get(device), Some(TargetState::Waiting)))
            .map(|(id, m)| (m.seq, *id, m.frame.clone()))
            .collect();
        waiting.sort_by_key(|w| w.0);
        waiting.into_iter().map(|(_, id, frame)| (id, frame)).collect()
    }

    /// The earliest retry deadline.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.messages
            .values()
            .flat_map(|m| m.targets.values().chain(m.blind.as_ref().map(|(_, s)| s)))
            .filter_map(|s| match s {
                TargetState::Sent { next, .. } => Some(*next),
                TargetState::Waiting => None,
            })
            .min()
    }

    /// Number of messages tracked (kept open ones included).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Number of messages some known device has not acknowledged, or no device has yet.
    pub fn unacknowledged(&self) -> usize {
        self.messages.values().filter(|m| !m.targets.is_empty() || !m.delivered).count()
    }

    /// Whether everything was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The queued messages.
    pub fn messages(&self) -> &BTreeMap<MessageId, Outgoing> {
        &self.messages
    }
}

/// `first_retry · 2^(attempts−1)`, capped at `max_backoff`.
fn backoff(attempts: u32, config: &DeliveryConfig) -> Duration {
    let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    config.first_retry.saturating_mul(factor).min(config.max_backoff)
}

/// Ids already delivered, per sender identity, bounded in time and count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dedup {
    seen: BTreeMap<(IdentityKey, MessageId), Timestamp>,
    by_age: BTreeSet<(Timestamp, IdentityKey, MessageId)>,
}

impl Dedup {
    /// Records `id` from `sender`; true if it was not seen before (deliver it).
    pub fn first_time(
        &mut self,
        sender: &IdentityKey,
        id: &MessageId,
        now: Timestamp,
        config: &DeliveryConfig,
    ) -> bool {
        self.expire(now, config);
        if self.seen.contains_key(&(*sender, *id)) {
            return false;
        }
        self.seen.insert((*sender, *id), now);
        self.by_age.insert((now, *sender, *id));
        while self.seen.len() > config.dedup_capacity {
            let Some((t, s, i)) = self.by_age.pop_first() else { break };
            let _ = t;
            self.seen.remove(&(s, i));
        }
        true
    }

    /// Whether `id` from `sender` was delivered.
    pub fn contains(&self, sender: &IdentityKey, id: &MessageId) -> bool {
        self.seen.contains_key(&(*sender, *id))
    }

    fn expire(&mut self, now: Timestamp, config: &DeliveryConfig) {
        let horizon = now.saturating_sub(config.dedup_window);
        while let Some(&(t, s, i)) = self.by_age.first() {
            if t >= horizon {
                break;
            }
            self.by_age.pop_first();
            self.seen.remove(&(s, i));
        }
    }

    /// Number of remembered ids.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Every remembered id with when it was delivered: one record each, so a delivery writes
    /// one small record rather than the whole window.
    pub(crate) fn entries(&self) -> &BTreeMap<(IdentityKey, MessageId), Timestamp> {
        &self.seen
    }

    /// The window holding `seen` (its age index derived).
    pub(crate) fn from_entries(seen: BTreeMap<(IdentityKey, MessageId), Timestamp>) -> Self {
        let by_age = seen.iter().map(|((s, i), t)| (*t, *s, *i)).collect();
        Self { seen, by_age }
    }
}

/// Acknowledgements owed, per device, flushed together after a short delay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckQueue {
    owed: BTreeMap<Device, (Timestamp, BTreeSet<MessageId>)>,
}

impl AckQueue {
    /// Owes an acknowledgement of `id` to `device`, due `ack_delay` after the first one owed.
    pub fn owe(&mut self, device: Device, id: MessageId, now: Timestamp, config: &DeliveryConfig) {
        let entry = self.owed.entry(device).or_insert_with(|| (now.saturating_add(config.ack_delay), BTreeSet::new()));
        entry.1.insert(id);
    }

    /// The acknowledgements due at `now`, at most [`super::frame::MAX_ACK_IDS`] ids per frame.
    pub fn due(&mut self, now: Timestamp) -> Vec<(Device, Vec<MessageId>)> {
        let due: Vec<Device> = self.owed.iter().filter(|(_, (at, _))| *at <= now).map(|(d, _)| d.clone()).collect();
        let mut out = Vec::new();
        for device in due {
            if let Some((_, ids)) = self.owed.remove(&device) {
                let ids: Vec<MessageId> = ids.into_iter().collect();
                for chunk in ids.chunks(super::frame::MAX_ACK_IDS) {
                    out.push((device.clone(), chunk.to_vec()));
                }
            }
        }
        out
    }

    /// The earliest flush deadline.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.owed.values().map(|(at, _)| *at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;
    use crate::identity::IdentityKeyPair;
    use crate::peer::frame::FrameBody;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    fn device(seed: u8, e: &mut SeededEntropy) -> Device {
        Device { identity: *IdentityKeyPair::from_seed([seed; 32]).public(), installation: InstallationId::generate(e) }
    }

    fn frame(n: u8) -> Frame {
        Frame { id: MessageId([n; 16]), sent_at_ms: 0, body: FrameBody::Text(vec![n]) }
    }

    #[test]
    fn retries_back_off_until_acknowledged_or_given_up() {
        let config = DeliveryConfig { max_attempts: 3, ..DeliveryConfig::default() };
        let mut e = SeededEntropy::from_u64(1);
        let (a, b) = (device(1, &mut e), device(2, &mut e));
        let mut outbox = Outbox::default();
        outbox.enqueue(&frame(1), [a.clone(), b.clone()]);
        assert_eq!(outbox.waiting_for(&a).len(), 1);
        for d in [&a, &b] {
            outbox.mark_sent(&MessageId([1; 16]), d, T0, &config);
        }
        assert_eq!(outbox.next_deadline(), Some(T0.saturating_add(Duration::from_secs(10))));
        assert!(outbox.due(T0, &config).0.is_empty());
        let t1 = T0.saturating_add(Duration::from_secs(10));
        let (due, _) = outbox.due(t1, &config);
        assert_eq!(due.len(), 2);
        outbox.mark_sent(&MessageId([1; 16]), &a, t1, &config);
        outbox.mark_sent(&MessageId([1; 16]), &b, t1, &config);
        assert_eq!(outbox.next_deadline(), Some(t1.saturating_add(Duration::from_secs(20))), "backoff doubles");
        assert_eq!(outbox.acknowledge(&MessageId([1; 16]), &a), None);
        let t2 = t1.saturating_add(Duration::from_secs(20));
        outbox.mark_sent(&MessageId([1; 16]), &b, t2, &config);
        let (due, gave_up) = outbox.due(t2.saturating_add(Duration::from_secs(3600)), &config);
        assert!(due.is_empty());
        assert_eq!(gave_up, vec![OutboxEvent::GaveUp(MessageId([1; 16]), b)]);
        assert!(outbox.is_empty());
    }

    #[test]
    fn acknowledgement_by_every_target_completes_a_message() {
        let mut e = SeededEntropy::from_u64(2);
        let (a, b) = (device(1, &mut e), device(2, &mut e));
        let mut outbox = Outbox::default();
        outbox.enqueue(&frame(2), [a.clone(), b.clone()]);
        assert_eq!(outbox.acknowledge(&MessageId([2; 16]), &a), None);
        assert_eq!(outbox.acknowledge(&MessageId([2; 16]), &a), None, "a repeated ack is harmless");
        assert_eq!(outbox.acknowledge(&MessageId([2; 16]), &b), Some(OutboxEvent::Delivered(MessageId([2; 16]))));
    }

    #[test]
    fn dedup_is_per_sender_and_bounded() {
        let config =
            DeliveryConfig { dedup_capacity: 2, dedup_window: Duration::from_secs(60), ..DeliveryConfig::default() };
        let (x, y) = (*IdentityKeyPair::from_seed([1; 32]).public(), *IdentityKeyPair::from_seed([2; 32]).public());
        let mut d = Dedup::default();
        assert!(d.first_time(&x, &MessageId([1; 16]), T0, &config));
        assert!(!d.first_time(&x, &MessageId([1; 16]), T0, &config));
        assert!(d.first_time(&y, &MessageId([1; 16]), T0, &config), "ids are scoped to their sender");
        assert!(d.first_time(&x, &MessageId([2; 16]), T0, &config));
        assert_eq!(d.len(), 2, "capacity bound");
        let later = T0.saturating_add(Duration::from_secs(61));
        assert!(d.first_time(&x, &MessageId([3; 16]), later, &config));
        assert_eq!(d.len(), 1, "old ids expire");
    }

    #[test]
    fn acknowledgements_are_coalesced_per_device() {
        let config = DeliveryConfig::default();
        let mut e = SeededEntropy::from_u64(3);
        let a = device(1, &mut e);
        let mut q = AckQueue::default();
        q.owe(a.clone(), MessageId([1; 16]), T0, &config);
        q.owe(a.clone(), MessageId([2; 16]), T0.saturating_add(Duration::from_millis(100)), &config);
        assert!(q.due(T0).is_empty());
        let due = q.due(T0.saturating_add(config.ack_delay));
        assert_eq!(due, vec![(a, vec![MessageId([1; 16]), MessageId([2; 16])])]);
        assert_eq!(q.next_deadline(), None);
    }
}
