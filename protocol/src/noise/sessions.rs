//! Noise sessions (37/WAKU2-NOISE-SESSIONS): a completed handshake's [`TransportState`] with a
//! session id, the content topic derived from it, active and stale states, termination
//! messages, staleness after silence, re-activation through the prologue, and optional per-
//! message session-id rotation (a new content topic for every message).
//!
//! Profile choices where 37 is open (all in `docs/profile.md` §1.9):
//! - `session-id = HKDF(salt = h, ikm = "status-1to1/noise-session-id/v1")[0..32]`. The spec's
//!   "HKDF(h)" read literally (`HKDF(salt = h, ikm = "")`) equals the first nametag secret, so a
//!   published hash of it would relate to nametag material; a domain label separates them.
//! - `ct-id = SHA-256(SHA-256(session-id))`, rendered as 64 lowercase hex digits in
//!   `/{app}/{version}/wakunoise/1/sessions/{ct-id}/proto`.
//! - Public termination: a version-0 WakuMessage on the session topic whose payload is
//!   `"WAKU2-NOISE-SESSION-TERMINATION/1" || SHA-256(session-id)`; anyone can check it against
//!   `ct-id` but only a party to the session could produce it.
//! - Rotation: message k of direction d (`"i2r"` or `"r2i"`) is published on the topic of
//!   `sid(d, k) = HKDF(salt = session-id, ikm = d || u64_be(k))`, matching its nonce and nametag
//!   index. 37 gives a chain `HKDF(prev-session-id)` as an example; indexing instead of chaining
//!   gives O(1) access to the topic of a late or reordered message. A receiver listens on the
//!   next `lookahead` topics.
//! - Rotated ids turn stale as 37 requires ("when one party sends and receives at least one
//!   message, he SHALL publicly mark as stale all Noise sessions relative to messages exchanged
//!   before the earlier of these two send/receive events"): at each send, the ids of messages
//!   exchanged before our latest read; at each read, those exchanged before our latest send.
//!   "Exchanged" means sent by us or read by us: a missing inbound message may still arrive from
//!   the store, so its id is left alone. [`NoiseSession::take_rotation_terminations`] returns
//!   the public termination of every newly stale id.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::NoiseError;
use super::handshake::Role;
use super::symmetric::MAX_NONCE;
use super::transport::{ReceivedInfo, TransportState};
use crate::crypto::hash::{hkdf_blocks, sha256};
use crate::time::Timestamp;
use crate::waku::{ContentTopic, TopicError, WakuMessage};

/// Domain label of the session id derivation.
const SESSION_ID_LABEL: &[u8] = b"status-1to1/noise-session-id/v1";
/// Prefix of a public termination message's payload.
pub const TERMINATION_MAGIC: &[u8] = b"WAKU2-NOISE-SESSION-TERMINATION/1";
/// Prefix of the prologue of a handshake that re-activates stale sessions.
pub const REACTIVATION_PROLOGUE_LABEL: &[u8] = b"WAKU2-NOISE-SESSIONS/reactivate/1";
/// Default silence after which a session is considered stale.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30 * 24 * 3600);
/// Messages we may send on a session without reading anything from the peer before a driver
/// should stop and re-handshake ([`NoiseSession::mark_unanswered`]): every retry is a new
/// transport message, and a peer that reads none of them cannot find messages more than
/// [`crate::noise::nametag::NAMETAG_WINDOW`] indexes ahead of the last one it read. Half the
/// window, since the peer may have read fewer of ours than we sent before its last answer.
pub const MAX_UNANSWERED: u32 = (crate::noise::nametag::NAMETAG_WINDOW / 2) as u32;
/// Default number of upcoming inbound topics listened to when rotating.
pub const DEFAULT_ROTATION_LOOKAHEAD: usize = 4;
/// Most public terminations of rotated ids returned at once per direction (the newest ones; older
/// stale ids stay unpublished, which only lets store nodes keep their messages longer).
pub const MAX_ROTATION_TERMINATIONS: u64 = 64;

/// A session identifier. Knowing it proves membership (it is derived from the handshake hash);
/// only its hash is ever published.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct SessionId(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl SessionId {
    /// The session id of a completed handshake with final hash `h`.
    pub fn from_handshake_hash(h: &[u8; 32]) -> Self {
        let [id] = hkdf_blocks::<1>(h, SESSION_ID_LABEL);
        Self(id)
    }

    /// The raw bytes (vectors and binding only).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `SHA-256(session-id)`: the pre-image of `ct-id`, published to terminate the session.
    pub fn termination_token(&self) -> [u8; 32] {
        sha256(&[&self.0])
    }

    /// `ct-id = SHA-256(SHA-256(session-id))`.
    pub fn ct_id(&self) -> [u8; 32] {
        sha256(&[&self.termination_token()])
    }

    /// The session's content topic `/{app}/{version}/wakunoise/1/sessions/{ct-id}/proto`.
    pub fn content_topic(&self, app: &str, version: &str) -> Result<ContentTopic, TopicError> {
        ContentTopic::parse(&format!("/{app}/{version}/wakunoise/1/sessions/{}/proto", hex::encode(self.ct_id())))
    }

    /// The rotated id of message `index` in direction `direction` (`b"i2r"` or `b"r2i"`).
    fn rotated(&self, direction: &[u8; 3], index: u64) -> Self {
        let mut ikm = [0u8; 11];
        ikm[..3].copy_from_slice(direction);
        ikm[3..].copy_from_slice(&index.to_be_bytes());
        let [id] = hkdf_blocks::<1>(&self.0, &ikm);
        Self(id)
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId(ct-id {}…)", &hex::encode(self.ct_id())[..16])
    }
}

/// The prologue of a new handshake that binds (re-activates) stale sessions.
pub fn reactivation_prologue(stale: &[SessionId]) -> Vec<u8> {
    let mut prologue = REACTIVATION_PROLOGUE_LABEL.to_vec();
    for id in stale {
        prologue.extend_from_slice(id.as_bytes());
    }
    prologue
}

/// Why a session is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaleReason {
    /// We terminated it.
    TerminatedByUs,
    /// A valid termination message arrived (publicly or inside the session).
    TerminatedByPeer,
    /// No message from the peer within the silence window.
    Silence,
    /// A device of ours marked it stale (N11M: stale without publishing).
    SyncedFromOwnDevice,
    /// [`MAX_UNANSWERED`] messages sent with nothing read back: the peer's nametag window may
    /// no longer reach our messages.
    Unanswered,
}

/// Whether the session may carry new messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionState {
    /// New messages are sent and received.
    Active,
    /// Terminated: nothing is sent; late messages are still read until the session is dropped.
    Stale {
        /// Since when.
        since: Timestamp,
        /// Why.
        reason: StaleReason,
    },
}

impl SessionState {
    /// The state's name in [`STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Stale { .. } => "Stale",
        }
    }
}

/// A session's transitions ([`crate::diagram`]). 37's "terminated" is `Stale` with reason
/// `TerminatedByUs` or `TerminatedByPeer`; a stale session is never re-activated in place: a
/// new handshake binds its id into the prologue and the new session replaces it.
pub const STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "noise_session",
        title: "Noise session (37/WAKU2-NOISE-SESSIONS)",
        code: "`noise::sessions::SessionState` (`NoiseSession::state`), `protocol/src/noise/sessions.rs`",
        summary: "A completed handshake's session. Terminated sessions are `Stale` with the reason \
                  `TerminatedByUs` or `TerminatedByPeer`; the other reasons are `Silence` and \
                  `SyncedFromOwnDevice` (N11M). Stale sessions send nothing (`send` is refused) but still read \
                  late messages. Re-activation is a new handshake whose prologue binds the stale session id \
                  (`reactivation_prologue`); the peer then holds the new session next to the stale one.",
        transitions: &[
            T::new(OUTSIDE, "new", "Active", "from a finalized handshake"),
            T::new("Active", "send", "Active", ""),
            T::new("Active", "receive", "Active", "authenticates on the topic of its index"),
            T::new("Active", "on_termination", "Active", "token does not hash to the ct-id, ignored"),
            T::new("Active", "check_silence", "Active", "within the silence window"),
            T::new("Active", "terminate", "Stale", "TerminatedByUs, public or private"),
            T::new("Active", "on_termination", "Stale", "genuine token, TerminatedByPeer"),
            T::new("Active", "check_silence", "Stale", "nothing read for stale_after, Silence"),
            T::new("Active", "mark_stale_from_own_device", "Active", "token does not hash to the ct-id, refused"),
            T::new("Active", "mark_stale_from_own_device", "Stale", "genuine token, SyncedFromOwnDevice"),
            T::new("Active", "mark_unanswered", "Active", "fewer than MAX_UNANSWERED sends since the last read"),
            T::new("Active", "mark_unanswered", "Stale", "MAX_UNANSWERED sends with nothing read, Unanswered"),
            T::new("Stale", "receive", "Stale", "late messages are still read"),
            T::new("Stale", "terminate", "Stale", "reason and time kept"),
            T::new("Stale", "on_termination", "Stale", "reason and time kept"),
            T::new("Stale", "check_silence", "Stale", ""),
            T::new("Stale", "mark_stale_from_own_device", "Stale", "reason and time kept"),
            T::new("Stale", "mark_unanswered", "Stale", "reason and time kept"),
        ],
    }
};

/// How the session's content topics evolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicPolicy {
    /// One content topic for the session's life.
    Fixed,
    /// A new session id, hence topic, for every message; the receiver listens `lookahead` ahead.
    RotatePerMessage {
        /// How many upcoming inbound topics to listen on.
        lookahead: usize,
    },
}

/// Errors of the session layer (the Noise errors wrap through).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The underlying transport refused the message.
    #[error(transparent)]
    Noise(#[from] NoiseError),
    /// Sending on a stale session.
    #[error("the session is stale ({0:?}); a new handshake is needed")]
    Stale(StaleReason),
    /// The message arrived on a topic that does not belong to this session.
    #[error("content topic does not belong to this session")]
    WrongTopic,
    /// A topic could not be built (application name or version unusable in a content topic).
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A termination token that is not `SHA-256(session-id)` of this session.
    #[error("the termination token does not belong to this session")]
    WrongTerminationToken,
}

/// Per-message rotation: which rotated ids are stale, and which of those were published.
/// Indexes are message numbers; `[outbound, inbound]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RotationMarks {
    /// Our latest send: its number and the next expected inbound number then.
    last_send: Option<(u64, u64)>,
    /// Our latest read: its number and the number of messages we had sent then.
    last_read: Option<(u64, u64)>,
    /// Ids of messages numbered below these are stale.
    stale_below: [u64; 2],
    /// Ids of messages numbered below these had their termination returned (or given up).
    published_below: [u64; 2],
}

impl RotationMarks {
    fn sent(&mut self, index: u64, next_inbound: u64) {
        self.last_send = Some((index, next_inbound));
        if let Some((read, sent_before)) = self.last_read {
            self.mark([sent_before, read]);
        }
    }

    fn read(&mut self, index: u64, sent: u64) {
        self.last_read = Some((index, sent));
        if let Some((send, next_inbound_before)) = self.last_send {
            self.mark([send, next_inbound_before]);
        }
    }

    fn mark(&mut self, below: [u64; 2]) {
        for (stale, new) in self.stale_below.iter_mut().zip(below) {
            *stale = (*stale).max(new);
        }
    }
}

/// A Noise session of 37/WAKU2-NOISE-SESSIONS.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseSession {
    transport: TransportState,
    id: SessionId,
    base_topic: ContentTopic,
    app: String,
    version: String,
    state: SessionState,
    policy: TopicPolicy,
    last_inbound: Timestamp,
    last_outbound: Timestamp,
    stale_after: Duration,
    /// Messages sent since the peer was last read.
    unanswered: u32,
    rotation: RotationMarks,
}

impl NoiseSession {
    /// Wraps a completed handshake's transport state, created at `now`.
    pub fn new(
        transport: TransportState,
        app: &str,
        version: &str,
        policy: TopicPolicy,
        now: Timestamp,
    ) -> Result<Self, SessionError> {
        let id = SessionId::from_handshake_hash(transport.handshake_hash());
        let base_topic = id.content_topic(app, version)?;
        Ok(Self {
            transport,
            id,
            base_topic,
            app: app.to_owned(),
            version: version.to_owned(),
            state: SessionState::Active,
            policy,
            last_inbound: now,
            last_outbound: now,
            stale_after: DEFAULT_STALE_AFTER,
            unanswered: 0,
            rotation: RotationMarks::default(),
        })
    }

    /// Sets the silence window after which the session turns stale.
    pub fn with_stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// The session id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// Active or stale.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The transport state (keys, counters, nametag window).
    pub fn transport(&self) -> &TransportState {
        &self.transport
    }

    /// The base content topic of the session.
    pub fn content_topic(&self) -> ContentTopic {
        self.base_topic.clone()
    }

    fn topic_of(&self, id: &SessionId) -> ContentTopic {
        // The base topic parsed with the same app and version, and a rotated topic differs only
        // in its hex ct-id, so this cannot fail; the base topic is a safe fallback regardless.
        id.content_topic(&self.app, &self.version).unwrap_or_else(|_| self.base_topic.clone())
    }

    fn directions(&self) -> (&'static [u8; 3], &'static [u8; 3]) {
        if self.transport.role() == Role::Initiator { (b"i2r", b"r2i") } else { (b"r2i", b"i2r") }
    }

    /// The topic of outbound message `index`.
    fn outbound_topic_of(&self, index: u64) -> ContentTopic {
        match self.policy {
            TopicPolicy::Fixed => self.content_topic(),
            TopicPolicy::RotatePerMessage { .. } => self.topic_of(&self.id.rotated(self.directions().0, index)),
        }
    }

    /// The topic of inbound message `index`.
    fn inbound_topic_of(&self, index: u64) -> ContentTopic {
        match self.policy {
            TopicPolicy::Fixed => self.content_topic(),
            TopicPolicy::RotatePerMessage { .. } => self.topic_of(&self.id.rotated(self.directions().1, index)),
        }
    }

    /// The topic the next outbound message goes to.
    pub fn outbound_topic(&self) -> ContentTopic {
        self.outbound_topic_of(self.transport.sent())
    }

    /// Every topic a receiver should listen on now: the base topic (for termination messages)
    /// and, when rotating, the next `lookahead` inbound topics and those of skipped messages
    /// that may still arrive.
    pub fn inbound_topics(&self) -> Vec<ContentTopic> {
        let mut topics = vec![self.content_topic()];
        if let TopicPolicy::RotatePerMessage { lookahead } = self.policy {
            let nametags = self.transport.inbound_nametags();
            let next = nametags.next_index();
            // Only indexes a read accepts (up to MAX_NONCE) get a topic.
            let end = next.saturating_add(lookahead as u64).min(MAX_NONCE + 1);
            let upcoming = (next..end).chain(nametags.skipped_indexes());
            topics.extend(upcoming.map(|i| self.inbound_topic_of(i)));
        }
        topics
    }

    /// Encrypts `plaintext` into a WakuMessage (version 2) on the outbound topic.
    pub fn send(&mut self, plaintext: &[u8], now: Timestamp) -> Result<WakuMessage, SessionError> {
        if let SessionState::Stale { reason, .. } = self.state {
            return Err(SessionError::Stale(reason));
        }
        let topic = self.outbound_topic();
        let index = self.transport.sent();
        let payload = self.transport.write_message(plaintext)?;
        self.last_outbound = now;
        self.unanswered = self.unanswered.saturating_add(1);
        if self.rotates() {
            self.rotation.sent(index, self.transport.inbound_nametags().next_index());
        }
        Ok(WakuMessage::noise(payload, topic.as_str(), now.as_nanos_i64(), false))
    }

    /// Whether a message on `topic` may belong to this session (one of [`Self::inbound_topics`]).
    pub fn owns_topic(&self, topic: &str) -> bool {
        self.inbound_topics().iter().any(|t| t.as_str() == topic)
    }

    /// Reads a message of this session: it must authenticate and have arrived on the topic of
    /// its own index. On error nothing changes.
    pub fn receive(&mut self, message: &WakuMessage, now: Timestamp) -> Result<(Vec<u8>, ReceivedInfo), SessionError> {
        let payload = message.noise_payload().map_err(|_| SessionError::WrongTopic)?;
        if let Some(index) = self.transport.peek_index(payload)
            && self.inbound_topic_of(index).as_str() != message.content_topic
        {
            return Err(SessionError::WrongTopic);
        }
        let mut plaintext = Vec::new();
        let info = self.transport.read_message_into(payload, &mut plaintext)?;
        self.last_inbound = now;
        self.unanswered = 0;
        if self.rotates() {
            self.rotation.read(info.index, self.transport.sent());
        }
        Ok((plaintext, info))
    }

    /// Terminates the session. `public` returns the termination message to publish on the base
    /// topic (anyone can then check it); otherwise the caller sends [`Self::private_termination`]
    /// inside the session, or nothing (N11M devices mark stale silently).
    pub fn terminate(&mut self, public: bool, now: Timestamp) -> Option<WakuMessage> {
        if self.state == SessionState::Active {
            self.state = SessionState::Stale { since: now, reason: StaleReason::TerminatedByUs };
        }
        public.then(|| termination_message(&self.id, &self.base_topic, now))
    }

    fn rotates(&self) -> bool {
        matches!(self.policy, TopicPolicy::RotatePerMessage { .. })
    }

    /// The public terminations (on their own topics) of the rotated ids that turned stale since
    /// the last call, at most [`MAX_ROTATION_TERMINATIONS`] per direction, newest first kept.
    /// Empty without rotation. The caller publishes them.
    pub fn take_rotation_terminations(&mut self, now: Timestamp) -> Vec<WakuMessage> {
        let (outbound, inbound) = self.directions();
        let marks = &mut self.rotation;
        let ranges = [0, 1].map(|d| {
            let start = marks.published_below[d].max(marks.stale_below[d].saturating_sub(MAX_ROTATION_TERMINATIONS));
            start..marks.stale_below[d]
        });
        marks.published_below = marks.stale_below;
        let missing: Vec<u64> = self.transport.inbound_nametags().skipped_indexes().collect();
        let [out_range, in_range] = ranges;
        let ids = out_range
            .map(|i| self.id.rotated(outbound, i))
            .chain(in_range.filter(|i| !missing.contains(i)).map(|i| self.id.rotated(inbound, i)));
        ids.map(|id| termination_message(&id, &self.topic_of(&id), now)).collect()
    }

    /// The token to send inside the session for a private termination.
    pub fn private_termination(&self) -> [u8; 32] {
        self.id.termination_token()
    }

    /// Handles a termination received publicly (a WakuMessage on the base topic) or privately
    /// (the token from inside the session): marks the session stale if the token is genuine.
    pub fn on_termination(&mut self, token: &[u8; 32], now: Timestamp) -> bool {
        let genuine = sha256(&[token]) == self.id.ct_id();
        if genuine && self.state == SessionState::Active {
            self.state = SessionState::Stale { since: now, reason: StaleReason::TerminatedByPeer };
        }
        genuine
    }

    /// Marks the session stale because a device of ours did (N11M), without publishing. The
    /// device proves it knows the session with its termination token; a wrong token changes
    /// nothing. Returns whether the session just turned stale.
    pub fn mark_stale_from_own_device(&mut self, token: &[u8; 32], now: Timestamp) -> Result<bool, SessionError> {
        if sha256(&[token]) != self.id.ct_id() {
            return Err(SessionError::WrongTerminationToken);
        }
        let active = self.state == SessionState::Active;
        if active {
            self.state = SessionState::Stale { since: now, reason: StaleReason::SyncedFromOwnDevice };
        }
        Ok(active)
    }

    /// Checks the silence window; returns true if the session just turned stale.
    pub fn check_silence(&mut self, now: Timestamp) -> bool {
        let silent = now.saturating_since(self.last_inbound) >= self.stale_after;
        if silent && self.state == SessionState::Active {
            self.state = SessionState::Stale { since: now, reason: StaleReason::Silence };
            return true;
        }
        false
    }

    /// Turns the session stale once [`MAX_UNANSWERED`] messages went out with nothing read back;
    /// true if it just did. The driver then re-activates it with a new handshake.
    pub fn mark_unanswered(&mut self, now: Timestamp) -> bool {
        if self.unanswered >= MAX_UNANSWERED && self.state == SessionState::Active {
            self.state = SessionState::Stale { since: now, reason: StaleReason::Unanswered };
            return true;
        }
        false
    }

    /// Messages sent since the peer was last read.
    pub fn unanswered(&self) -> u32 {
        self.unanswered
    }

    /// When the silence window ends if nothing arrives.
    pub fn stale_deadline(&self) -> Timestamp {
        self.last_inbound.saturating_add(self.stale_after)
    }

    /// Last time a message from the peer was read.
    pub fn last_inbound(&self) -> Timestamp {
        self.last_inbound
    }
}

/// The public termination of `id`: `TERMINATION_MAGIC || SHA-256(id)` on `topic` (version 0).
fn termination_message(id: &SessionId, topic: &ContentTopic, now: Timestamp) -> WakuMessage {
    let mut payload = TERMINATION_MAGIC.to_vec();
    payload.extend_from_slice(&id.termination_token());
    WakuMessage {
        payload,
        content_topic: topic.as_str().to_owned(),
        version: None,
        timestamp: Some(now.as_nanos_i64()),
        meta: None,
        rate_limit_proof: None,
        ephemeral: None,
    }
}

/// The token carried by a public termination message, if `message` is one.
pub fn parse_public_termination(message: &WakuMessage) -> Option<[u8; 32]> {
    let token = message.payload.strip_prefix(TERMINATION_MAGIC)?;
    token.try_into().ok()
}

impl std::fmt::Debug for NoiseSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseSession")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("policy", &self.policy)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;
    use crate::crypto::KeyPair;
    use crate::noise::{Handshake, HandshakeConfig, HandshakePattern, MessageNametag};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn sessions(policy: TopicPolicy, prologue: Vec<u8>) -> (NoiseSession, NoiseSession) {
        let mut e = SeededEntropy::from_u64(9);
        let (a_s, b_s) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e));
        let mut a = Handshake::new(
            HandshakeConfig::new(HandshakePattern::XK1, Role::Initiator)
                .prologue(prologue.clone())
                .local_static(a_s)
                .remote_static(*b_s.public()),
        )
        .unwrap();
        let mut b = Handshake::new(
            HandshakeConfig::new(HandshakePattern::XK1, Role::Responder).prologue(prologue).local_static(b_s),
        )
        .unwrap();
        for i in 0..3 {
            let tag = if i == 0 { MessageNametag([1; 16]) } else { a.next_hkdf_nametag() };
            let (w, r) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
            let m = w.write_message(&mut e, b"", &tag).unwrap();
            r.read_message(&m, &tag).unwrap();
        }
        let a = NoiseSession::new(a.finalize().unwrap(), "status-1to1", "1", policy, T0).unwrap();
        let b = NoiseSession::new(b.finalize().unwrap(), "status-1to1", "1", policy, T0).unwrap();
        (a, b)
    }

    #[test]
    fn both_sides_agree_on_id_and_topic_in_the_spec_form() {
        let (a, b) = sessions(TopicPolicy::Fixed, vec![]);
        assert_eq!(a.id(), b.id());
        let topic = a.content_topic();
        assert_eq!(topic, b.content_topic());
        let text = topic.as_str();
        assert!(text.starts_with("/status-1to1/1/wakunoise/1/sessions/") && text.ends_with("/proto"), "{text}");
        assert!(text.contains(&hex::encode(sha256(&[&sha256(&[a.id().as_bytes()])]))));
        // The id is not the first nametag secret (the literal reading of "HKDF(h)").
        let [nms1] = hkdf_blocks::<1>(a.transport().handshake_hash(), &[]);
        assert_ne!(a.id().as_bytes(), &nms1);
    }

    #[test]
    fn messages_flow_on_the_session_topic_and_wrong_topics_are_refused() {
        let (mut a, mut b) = sessions(TopicPolicy::Fixed, vec![]);
        let mut m = a.send(b"hello", T0).unwrap();
        assert_eq!(m.content_topic, a.content_topic().as_str());
        let mut moved = m.clone();
        moved.content_topic = "/status-1to1/1/elsewhere/proto".into();
        let before = b.clone();
        assert_eq!(b.receive(&moved, T0), Err(SessionError::WrongTopic));
        assert_eq!(b, before);
        assert_eq!(b.receive(&m, T0).unwrap().0, b"hello");
        m.payload[30] ^= 1;
        assert!(b.receive(&m, T0).is_err());
    }

    #[test]
    fn rotation_uses_a_fresh_topic_per_message_and_tolerates_reordering() {
        let (mut a, mut b) = sessions(TopicPolicy::RotatePerMessage { lookahead: 3 }, vec![]);
        let sent: Vec<WakuMessage> = (0..4u8).map(|i| a.send(&[i], T0).unwrap()).collect();
        let topics: std::collections::BTreeSet<_> = sent.iter().map(|m| m.content_topic.clone()).collect();
        assert_eq!(topics.len(), 4, "every message has its own topic");
        assert!(b.owns_topic(&sent[0].content_topic) && b.owns_topic(&sent[2].content_topic));
        assert_eq!(b.receive(&sent[2], T0).unwrap().0, vec![2]);
        assert!(b.owns_topic(&sent[0].content_topic), "a skipped message's topic stays subscribed");
        assert_eq!(b.receive(&sent[0], T0).unwrap().0, vec![0]);
        assert_eq!(b.receive(&sent[1], T0).unwrap().0, vec![1]);
        assert_eq!(b.receive(&sent[3], T0).unwrap().0, vec![3]);
        let mut misplaced = a.send(b"x", T0).unwrap();
        misplaced.content_topic = sent[3].content_topic.clone();
        assert_eq!(b.receive(&misplaced, T0), Err(SessionError::WrongTopic));
        let reply = b.send(b"back", T0).unwrap();
        assert!(!topics.contains(&reply.content_topic));
        assert_eq!(a.receive(&reply, T0).unwrap().0, b"back");
    }

    fn stale_topics(session: &mut NoiseSession) -> Vec<String> {
        let terminations = session.take_rotation_terminations(T0);
        for t in &terminations {
            let token = parse_public_termination(t).unwrap();
            assert!(t.content_topic.contains(&hex::encode(sha256(&[&token]))), "the token opens its topic");
        }
        terminations.into_iter().map(|t| t.content_topic).collect()
    }

    #[test]
    fn rotation_marks_ids_stale_once_sent_and_read_and_leaves_missing_ones_alone() {
        let (mut a, mut b) = sessions(TopicPolicy::RotatePerMessage { lookahead: 3 }, vec![]);
        let m0 = a.send(b"m0", T0).unwrap();
        b.receive(&m0, T0).unwrap();
        let n0 = b.send(b"n0", T0).unwrap();
        a.receive(&n0, T0).unwrap();
        assert!(stale_topics(&mut a).is_empty() && stale_topics(&mut b).is_empty(), "nothing came before both");
        // a sends after reading n0: what a had sent before that read (m0) is stale.
        let m1 = a.send(b"m1", T0).unwrap();
        assert_eq!(stale_topics(&mut a), vec![m0.content_topic.clone()]);
        assert!(stale_topics(&mut a).is_empty(), "each id is published once");
        // b reads m1 after sending n0: what b had read before that send (m0) is stale.
        b.receive(&m1, T0).unwrap();
        assert_eq!(stale_topics(&mut b), vec![m0.content_topic.clone()]);
        // m2 is lost; b reads m3 and answers: n0 and m1 are stale, the missing m2 is not.
        let _lost = a.send(b"m2", T0).unwrap();
        let m3 = a.send(b"m3", T0).unwrap();
        b.receive(&m3, T0).unwrap();
        b.send(b"n1", T0).unwrap();
        assert_eq!(stale_topics(&mut b), vec![n0.content_topic, m1.content_topic]);
        let (mut c, mut d) = sessions(TopicPolicy::Fixed, vec![]);
        let m = c.send(b"x", T0).unwrap();
        d.receive(&m, T0).unwrap();
        d.send(b"y", T0).unwrap();
        assert!(stale_topics(&mut d).is_empty(), "no rotation, no rotated ids");
    }

    #[test]
    fn public_termination_is_verifiable_and_stops_sending() {
        let (mut a, mut b) = sessions(TopicPolicy::Fixed, vec![]);
        let msg = a.terminate(true, T0).unwrap();
        assert_eq!(msg.content_topic, a.content_topic().as_str());
        assert!(matches!(a.send(b"x", T0), Err(SessionError::Stale(StaleReason::TerminatedByUs))));
        let token = parse_public_termination(&msg).unwrap();
        assert!(!b.on_termination(&[0; 32], T0), "a forged token is ignored");
        assert_eq!(b.state(), SessionState::Active);
        assert!(b.on_termination(&token, T0));
        assert_eq!(b.state(), SessionState::Stale { since: T0, reason: StaleReason::TerminatedByPeer });
    }

    #[test]
    fn silence_makes_a_session_stale_and_a_new_handshake_can_bind_it() {
        let (mut a, _) = sessions(TopicPolicy::Fixed, vec![]);
        let a = &mut a;
        let stale_after = Duration::from_secs(60);
        *a = a.clone().with_stale_after(stale_after);
        assert!(!a.check_silence(T0.saturating_add(Duration::from_secs(59))));
        assert!(a.check_silence(T0.saturating_add(stale_after)));
        assert!(matches!(a.state(), SessionState::Stale { reason: StaleReason::Silence, .. }));
        let prologue = reactivation_prologue(&[a.id().clone()]);
        let (c, d) = sessions(TopicPolicy::Fixed, prologue);
        assert_eq!(c.id(), d.id());
        assert_ne!(c.id(), a.id(), "the re-activating session is a new session bound to the old id");
    }

    #[test]
    fn snapshots_restore_exactly_and_debug_redacts() {
        let (mut a, _) = sessions(TopicPolicy::RotatePerMessage { lookahead: 2 }, vec![]);
        a.send(b"x", T0).unwrap();
        let back: NoiseSession = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        let debug = format!("{a:?}");
        assert!(!debug.contains(&hex::encode(a.transport().outbound_key().as_bytes())), "{debug}");
        assert!(!debug.contains(&hex::encode(a.id().as_bytes())), "{debug}");
    }
}
