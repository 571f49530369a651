//! MVDS (2/MVDS) in batch mode for 1:1 chats, as status-go's datasync carries chat messages:
//! every message travels in an MVDS payload and goes again, batched per contact, until each
//! installation it was encrypted for has acknowledged it; acknowledgements ride on the next
//! payload to that contact. Sans-IO: the endpoint asks what is due at `now`.
//!
//! status-go settles a message on the first ack from the contact's identity; we wait for every
//! installation we send to, so a device that was offline is not left out (`docs/profile.md`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::app::{MvdsMessage, MvdsPayload};
use super::keys::PublicKey;

/// Messages awaiting acknowledgement, all contacts together: a send beyond it is refused.
pub const MAX_OUTSTANDING: usize = 512;
/// Acknowledgements owed, all contacts together. Beyond it the oldest is dropped; its sender
/// retransmits and is acknowledged then, so a flood of messages costs us bounded memory only.
pub const MAX_OWED_ACKS: usize = 1024;
/// Wait before the first retransmission.
pub const FIRST_RETRY_NS: i64 = 10_000_000_000;
/// Upper bound of the doubling retransmission gap: at most 144 retransmissions a day per
/// contact, far under the ratchet's MaxSkip of 1000 lost messages in a row.
pub const MAX_RETRY_NS: i64 = 600_000_000_000;

/// An MVDS message id.
pub type MessageId = [u8; 32];

/// MVDS's message id: `SHA-256("MESSAGE_ID" ‖ group id ‖ timestamp as little-endian u64 ‖ body)`
/// (status-go's vendored `mvds/state.ID`).
pub fn message_id(message: &MvdsMessage) -> MessageId {
    let mut hash = Sha256::new();
    hash.update(b"MESSAGE_ID");
    hash.update(&message.group_id);
    hash.update((message.timestamp as u64).to_le_bytes());
    hash.update(&message.body);
    hash.finalize().into()
}

/// Why a message was not queued. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatasyncError {
    /// [`MAX_OUTSTANDING`] messages already await acknowledgement.
    #[error("{MAX_OUTSTANDING} messages already await acknowledgement")]
    Full,
}

/// A message of ours not yet acknowledged by every installation it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Outstanding {
    to: PublicKey,
    group_id: [u8; 32],
    timestamp_s: i64,
    body: Vec<u8>,
    acked_by: BTreeSet<String>,
    sends: u32,
    due_ns: i64,
}

impl Outstanding {
    fn message(&self) -> MvdsMessage {
        MvdsMessage { group_id: self.group_id.to_vec(), timestamp: self.timestamp_s, body: self.body.clone() }
    }

    /// Settled once some installation acknowledged it and every one we now send to did.
    fn settled(&self, targets: &[String]) -> bool {
        !self.acked_by.is_empty() && targets.iter().all(|t| self.acked_by.contains(t))
    }

    fn mark_sent(&mut self, now_ns: i64, max_retry_ns: i64) {
        self.sends = self.sends.saturating_add(1);
        let gap = FIRST_RETRY_NS.saturating_mul(1 << self.sends.saturating_sub(1).min(6)).min(max_retry_ns);
        self.due_ns = now_ns.saturating_add(gap);
    }
}

/// What an MVDS payload from a contact held for us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The bodies of its messages (`ApplicationMetadataMessage`s), duplicates included: the
    /// caller deduplicates by application message id.
    pub bodies: Vec<Vec<u8>>,
    /// The bodies of our messages it settled.
    pub settled: Vec<Vec<u8>>,
}

/// One installation's datasync state: the outbox and the acknowledgements it owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datasync {
    outbox: BTreeMap<MessageId, Outstanding>,
    /// Acks owed, by contact, in arrival order (for [`MAX_OWED_ACKS`]).
    owed: Vec<(PublicKey, MessageId)>,
    /// The retransmission gap's upper bound.
    max_retry_ns: i64,
}

impl Default for Datasync {
    fn default() -> Self {
        Self { outbox: BTreeMap::new(), owed: Vec::new(), max_retry_ns: MAX_RETRY_NS }
    }
}

impl Datasync {
    /// The same state with the retransmission gap capped at `max_retry_ns` instead of
    /// [`MAX_RETRY_NS`] (a simulation whose liveness deadline is minutes after its faults end).
    pub fn with_max_retry(mut self, max_retry_ns: i64) -> Self {
        self.max_retry_ns = max_retry_ns.max(FIRST_RETRY_NS);
        self
    }

    /// Queues `body` to `to` in chat `group_id`, stamped `timestamp_s` (MVDS stamps Unix
    /// seconds), due at once; returns its MVDS id. Queuing the same message again keeps the one
    /// already queued.
    pub fn queue(
        &mut self,
        to: PublicKey,
        group_id: [u8; 32],
        timestamp_s: i64,
        body: Vec<u8>,
        now_ns: i64,
    ) -> Result<MessageId, DatasyncError> {
        let outstanding =
            Outstanding { to, group_id, timestamp_s, body, acked_by: BTreeSet::new(), sends: 0, due_ns: now_ns };
        let id = message_id(&outstanding.message());
        if self.outbox.contains_key(&id) {
            return Ok(id);
        }
        if self.outbox.len() >= MAX_OUTSTANDING {
            return Err(DatasyncError::Full);
        }
        self.outbox.insert(id, outstanding);
        Ok(id)
    }

    /// Reads a payload from installation `installation` of `from`: its acks settle our messages
    /// to `from` (an ack from anyone else settles nothing) once every installation in `targets`
    /// has acknowledged; each of its messages is owed an ack, duplicates included (our earlier
    /// ack may have been lost).
    pub fn on_payload(
        &mut self,
        from: &PublicKey,
        installation: &str,
        payload: &MvdsPayload,
        targets: &[String],
    ) -> Received {
        let mut settled = Vec::new();
        for ack in &payload.acks {
            let Ok(id) = <MessageId>::try_from(ack.as_slice()) else { continue };
            let Some(outstanding) = self.outbox.get_mut(&id).filter(|o| o.to == *from) else { continue };
            outstanding.acked_by.insert(installation.to_owned());
            if outstanding.settled(targets)
                && let Some(done) = self.outbox.remove(&id)
            {
                settled.push(done.body);
            }
        }
        for message in &payload.messages {
            self.owe_ack(*from, message_id(message));
        }
        Received { bodies: payload.messages.iter().map(|m| m.body.clone()).collect(), settled }
    }

    fn owe_ack(&mut self, to: PublicKey, id: MessageId) {
        if self.owed.contains(&(to, id)) {
            return;
        }
        if self.owed.len() >= MAX_OWED_ACKS {
            self.owed.remove(0);
        }
        self.owed.push((to, id));
    }

    /// What is due at `now`: one payload per contact with the messages whose retransmission is
    /// due and the acks owed to it. Messages every target has acknowledged meanwhile (a target
    /// forgotten, say) are settled instead of sent. `targets` gives a contact's installations.
    pub fn due(&mut self, now_ns: i64, targets: impl Fn(&PublicKey) -> Vec<String>) -> Vec<(PublicKey, MvdsPayload)> {
        let mut payloads: BTreeMap<PublicKey, MvdsPayload> = BTreeMap::new();
        self.outbox.retain(|_, o| !o.settled(&targets(&o.to)));
        for outstanding in self.outbox.values_mut().filter(|o| o.due_ns <= now_ns) {
            payloads.entry(outstanding.to).or_default().messages.push(outstanding.message());
            outstanding.mark_sent(now_ns, self.max_retry_ns);
        }
        for (to, id) in self.owed.drain(..) {
            payloads.entry(to).or_default().acks.push(id.to_vec());
        }
        payloads.into_iter().collect()
    }

    /// When [`Self::due`] next has something: the earliest retransmission, or now for owed acks.
    pub fn next_due(&self, now_ns: i64) -> Option<i64> {
        if !self.owed.is_empty() {
            return Some(now_ns);
        }
        self.outbox.values().map(|o| o.due_ns).min()
    }

    /// Makes every outstanding message due now and starts its backoff again: connectivity came
    /// back, so the silence so far says nothing about the recipient.
    pub fn retry_now(&mut self, now_ns: i64) {
        for outstanding in self.outbox.values_mut() {
            outstanding.due_ns = outstanding.due_ns.min(now_ns);
            outstanding.sends = 0;
        }
    }

    /// Messages awaiting acknowledgement.
    pub fn outstanding(&self) -> usize {
        self.outbox.len()
    }

    /// Acknowledgements owed.
    pub fn owed_acks(&self) -> usize {
        self.owed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;
    use crate::statusgo::SecretKey;

    fn key(seed: u64) -> PublicKey {
        SecretKey::generate(&mut SeededEntropy::from_u64(seed)).public_key()
    }

    fn message(n: u8) -> MvdsMessage {
        MvdsMessage { group_id: vec![7; 32], timestamp: 1_700_000_000, body: vec![n] }
    }

    fn queue(sync: &mut Datasync, to: PublicKey, body: Vec<u8>) -> Result<MessageId, DatasyncError> {
        sync.queue(to, [7; 32], 1_700_000_000, body, 0)
    }

    fn ack(ids: &[MessageId]) -> MvdsPayload {
        MvdsPayload { acks: ids.iter().map(|id| id.to_vec()).collect(), ..MvdsPayload::default() }
    }

    #[test]
    fn the_message_id_is_the_sha256_of_the_tagged_fields() {
        let m = message(9);
        let mut tagged = b"MESSAGE_ID".to_vec();
        tagged.extend_from_slice(&[7; 32]);
        tagged.extend_from_slice(&1_700_000_000u64.to_le_bytes());
        tagged.push(9);
        assert_eq!(message_id(&m).to_vec(), Sha256::digest(&tagged).to_vec());
    }

    #[test]
    fn a_message_goes_again_with_a_doubling_gap_until_every_target_acks() {
        let (bob, mut sync) = (key(1), Datasync::default());
        let id = queue(&mut sync, bob, vec![1]).unwrap();
        let targets = |_: &PublicKey| vec!["b1".to_owned(), "b2".to_owned()];
        let mut sent_at = Vec::new();
        let mut now = 0;
        while now <= 200_000_000_000 {
            if !sync.due(now, targets).is_empty() {
                sent_at.push(now / 1_000_000_000);
            }
            now += 1_000_000_000;
        }
        assert_eq!(sent_at, [0, 10, 30, 70, 150]);
        let half = sync.on_payload(&bob, "b1", &ack(&[id]), &targets(&bob));
        assert!(half.settled.is_empty(), "one of two installations acknowledged");
        assert_eq!(sync.on_payload(&bob, "b2", &ack(&[id]), &targets(&bob)).settled, vec![vec![1]]);
        assert_eq!((sync.outstanding(), sync.next_due(now)), (0, None));
    }

    #[test]
    fn only_the_recipient_settles_a_message() {
        let (bob, eve, mut sync) = (key(1), key(2), Datasync::default());
        let id = queue(&mut sync, bob, vec![1]).unwrap();
        let targets = vec!["b1".to_owned()];
        assert!(sync.on_payload(&eve, "b1", &ack(&[id]), &targets).settled.is_empty());
        assert!(sync.on_payload(&bob, "b1", &ack(&[[0; 32]]), &targets).settled.is_empty());
        assert_eq!(sync.outstanding(), 1);
    }

    #[test]
    fn acks_are_owed_for_every_copy_and_batched_per_contact() {
        let (alice, mut sync) = (key(1), Datasync::default());
        let payload = MvdsPayload { messages: vec![message(1), message(2)], ..MvdsPayload::default() };
        let got = sync.on_payload(&alice, "a1", &payload, &[]);
        assert_eq!(got.bodies, vec![vec![1], vec![2]]);
        sync.on_payload(&alice, "a1", &payload, &[]);
        assert_eq!(sync.owed_acks(), 2, "a copy owes no second entry");
        let due = sync.due(5, |_| Vec::new());
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.acks, vec![message_id(&message(1)).to_vec(), message_id(&message(2)).to_vec()]);
        assert!(sync.due(6, |_| Vec::new()).is_empty());
    }

    #[test]
    fn what_strangers_can_make_us_hold_is_bounded() {
        let mut sync = Datasync::default();
        for n in 0..MAX_OUTSTANDING {
            queue(&mut sync, key(1), n.to_le_bytes().to_vec()).unwrap();
        }
        let before = sync.clone();
        assert_eq!(queue(&mut sync, key(1), vec![1]), Err(DatasyncError::Full));
        assert_eq!(sync, before);
        let flood = MvdsPayload {
            messages: (0..MAX_OWED_ACKS as u32 + 5)
                .map(|n| MvdsMessage { body: n.to_le_bytes().to_vec(), ..message(0) })
                .collect(),
            ..MvdsPayload::default()
        };
        sync.on_payload(&key(2), "x", &flood, &[]);
        assert_eq!(sync.owed_acks(), MAX_OWED_ACKS);
    }

    #[test]
    fn reconnecting_makes_everything_due_now_and_restarts_the_backoff() {
        let (bob, mut sync) = (key(1), Datasync::default().with_max_retry(30_000_000_000));
        queue(&mut sync, bob, vec![1]).unwrap();
        let targets = |_: &PublicKey| vec!["b1".to_owned()];
        for s in [0, 10, 30, 60, 90] {
            assert_eq!(sync.next_due(0), Some(s * 1_000_000_000), "capped at 30 s");
            sync.due(s * 1_000_000_000, targets);
        }
        sync.retry_now(100_000_000_000);
        assert_eq!(sync.next_due(0), Some(100_000_000_000));
        sync.due(100_000_000_000, targets);
        assert_eq!(sync.next_due(0), Some(110_000_000_000), "the first gap again");
    }
}
