//! The Noise key-exchange path (35/37, NM multi-device): an XK1 handshake to the contact's
//! identity key, on the contact's partitioned topic, then one 37 session per remote device.
//!
//! - Message 1 (`-> e`) carries the contact's inbox nametag and an empty payload (it is sent
//!   before any key exists). Every device of the contact can answer it.
//! - Message 2 (`<- e, ee, es`) carries the responder's installation id; the initiator keeps its
//!   state after message 1 and forks it for each answering device, which gives one session per
//!   device pair (NM) without any device list.
//! - Message 3 (`-> s, se`) carries the initiator's identity key and installation id; the
//!   responder checks that the identity's X25519 key is the static key the handshake proved.
//! - Concurrent sessions between the same two devices converge: both sides keep the one with the
//!   smaller session id active and keep the other readable, so no message is lost.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use prost::Message as _;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::action::{Action, Notice};
use super::contacts::KeyExchange;
use super::delivery::Device;
use super::error::PeerError;
use super::noise_intro;
use super::topics::{noise_inbox_nametag, partition_topic};
use crate::identity::{IdentityKey, InstallationId};
use crate::noise::sessions::{NoiseSession, SessionId, SessionState, parse_public_termination, reactivation_prologue};
use crate::noise::{
    Handshake, HandshakeConfig, HandshakePattern, MessageNametag, PayloadV2, PayloadV2Ref, ProtocolId, Role,
};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// Prologue label of the 1:1 handshake (the responder's identity follows it).
const PROLOGUE_LABEL: &[u8] = b"status-1to1/noise-1to1/v1";
/// How many recent first-message ephemeral keys are remembered to ignore replays.
const SEEN_FIRST_MESSAGES: usize = 1024;
/// Archived sessions kept readable per device.
const ARCHIVED_SESSIONS: usize = 3;
/// Least time between two answers to the same message 1; it doubles with each repeat
/// ([`repeat_gap`]).
const REPEATED_ANSWER_GAP: Duration = Duration::from_secs(10);
/// The doubling of [`REPEATED_ANSWER_GAP`] stops here (10 s × 2^12 is longer than any
/// handshake is kept).
const MAX_GAP_DOUBLINGS: u8 = 12;

/// Least time since the last answer before a message 1 already answered `repeats` more times
/// is answered again: 10 s, 20 s, 40 s… Anyone can replay a message 1 and each answer is a
/// message we send, so answers thin out; yet they never stop while the handshake is kept, since
/// an initiator that heard none of them (partitioned, then down) can complete only on a late one.
/// Within the hour a handshake is kept that is at most 8 repeats.
fn repeat_gap(repeats: u8) -> Duration {
    REPEATED_ANSWER_GAP.saturating_mul(1 << repeats.min(MAX_GAP_DOUBLINGS))
}
/// How far before its handshake started a store query for answers to a message 1 begins (as
/// the catch-up at start): answers are stamped with their responder's clock.
const ANSWER_QUERY_OVERLAP: Duration = Duration::from_secs(60);

/// The handshake payload of messages 2 and 3.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloProto {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
}

/// Our outgoing handshake to a contact, kept after message 1 to fork for each answering device.
/// Message 1 is republished (same bytes) with backoff for the whole handshake window, not only
/// until a first answer: another device of the contact may have lost it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Outbound {
    after_first: Handshake,
    reply_nametag: MessageNametag,
    started: Timestamp,
    /// Devices that answered, with the session each opened and when our message 3 last went out.
    answered_by: BTreeMap<InstallationId, Answered>,
    first: WakuMessage,
    sends: u32,
    next_retry: Timestamp,
}

/// A store query for answers to our repeated messages 1: their topics, since the earliest of
/// their handshakes started. A device answers one message 1 a bounded number of times
/// ([`repeat_gap`]), so when the relay lost all of its answers, our repeats get no
/// more and only the store still holds them. Each query covers the whole handshake: a failed
/// query looks empty, so no part of it may count as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnswerQuery {
    pub(crate) topics: Vec<String>,
    pub(crate) since: Timestamp,
}

/// A device's answer to our message 1. A repeat of its message 2 means our message 3 did not
/// reach it: while its session is unconfirmed, message 3 goes out again, at most once per
/// [`REPEATED_ANSWER_GAP`] (a replayed message 2 costs no more than that).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Answered {
    session: SessionId,
    last_third: Timestamp,
}

/// A handshake we answered, waiting for message 3. A repeated message 1 gets the same answer,
/// further and further apart ([`repeat_gap`]): anyone can replay a message 1, and each answer
/// is a message we send.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Inbound {
    after_second: Handshake,
    started: Timestamp,
    first_ephemeral: [u8; 32],
    second: WakuMessage,
    /// The identity message 1 introduced: message 3 must prove this one.
    caller: IdentityKey,
    repeats: u8,
    last_answer: Timestamp,
}

/// A message 1 to us whose introduction named and proved its caller, not answered yet: the
/// peer answers a contact ([`NoisePath::answer`]) and holds a stranger's as a contact request.
pub(crate) struct Introduced {
    pub(crate) device: Device,
    reactivates: Option<[u8; 32]>,
    first: PayloadV2,
    ephemeral: [u8; 32],
    topic: String,
    pub(crate) message: WakuMessage,
}

/// The sessions with one remote device: the active one last.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DeviceSessions {
    sessions: Vec<NoiseSession>,
}

impl DeviceSessions {
    fn active(&self) -> Option<&NoiseSession> {
        self.sessions.last()
    }

    fn active_mut(&mut self) -> Option<&mut NoiseSession> {
        self.sessions.last_mut()
    }

    /// Adds a session and re-establishes the order: the smaller session id is active (both sides
    /// agree without talking), the others stay readable, oldest dropped beyond the bound.
    fn add(&mut self, session: NoiseSession) {
        if self.sessions.iter().any(|s| s.id() == session.id()) {
            return;
        }
        self.sessions.push(session);
        let active = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state() == SessionState::Active)
            .min_by(|a, b| a.1.id().cmp(b.1.id()))
            .map(|(i, _)| i);
        if let Some(i) = active {
            let chosen = self.sessions.remove(i);
            self.sessions.push(chosen);
        }
        while self.sessions.len() > ARCHIVED_SESSIONS + 1 {
            self.sessions.remove(0);
        }
    }
}

/// What an outgoing handshake is for: discovering every device of a contact, or re-activating
/// one stale session (37), named by its public `ct-id` in message 1 and bound through the
/// prologue by its secret session id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct OutboundKey {
    contact: IdentityKey,
    reactivates: Option<[u8; 32]>,
}

/// The Noise path's state.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NoisePath {
    outbound: BTreeMap<OutboundKey, Outbound>,
    inbound: BTreeMap<MessageNametag, Inbound>,
    seen_first: VecDeque<[u8; 32]>,
    /// One record per device (`RecordKind::NoiseSessions`), not part of the local record.
    #[serde(skip)]
    pub(super) sessions: BTreeMap<Device, DeviceSessions>,
    /// Message 3 of handshakes we initiated, with the session it opened, repeated before our
    /// messages to that device until the device is heard from on that very session (message 3
    /// may be lost like any other; traffic on an older session with the same device does not
    /// show that the new one exists on the other side).
    unconfirmed: BTreeMap<Device, (SessionId, WakuMessage)>,
    /// Channels from a completed pairing whose device has not said who it is yet.
    pending_own: Vec<PendingOwn>,
    /// N11M: read-only copies of sessions that one of our devices (the writer) holds with a
    /// contact device. We decrypt on them; only the writer ever encrypts, so no key and nonce is
    /// used twice.
    mirrors: BTreeMap<(Device, InstallationId), NoiseSession>,
    /// When we last ran our own handshake to each contact: every device of the contact answers
    /// it, which is how we learn all of them (a device that only answered someone else's
    /// handshake would otherwise stay unknown to us).
    discovered: BTreeMap<IdentityKey, Timestamp>,
    /// Sessions with contact devices that turned stale here during the current event (by us,
    /// the contact or silence, not by a device of ours), with their termination tokens: in N11M
    /// our other devices are told ([`super::Peer::share_stale_sessions`]). Emptied by the end of
    /// every event.
    newly_stale: Vec<(Device, [u8; 32])>,
}

impl NoisePath {
    /// Whether everything but the sessions (their own records) is equal: what decides whether
    /// the `NoiseLocal` record changed. Destructured so that a new field cannot be forgotten.
    pub(super) fn local_eq(&self, other: &Self) -> bool {
        let Self {
            outbound,
            inbound,
            seen_first,
            sessions: _,
            unconfirmed,
            pending_own,
            mirrors,
            discovered,
            newly_stale,
        } = self;
        *outbound == other.outbound
            && *inbound == other.inbound
            && *seen_first == other.seen_first
            && *unconfirmed == other.unconfirmed
            && *pending_own == other.pending_own
            && *mirrors == other.mirrors
            && *discovered == other.discovered
            && *newly_stale == other.newly_stale
    }
}

/// How long a discovery handshake stays valid before the next send repeats it.
pub(crate) const REDISCOVER_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A freshly paired channel waiting for the other device's hello; ours is repeated with backoff
/// until theirs arrives.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PendingOwn {
    session: NoiseSession,
    hello: Vec<u8>,
    sends: u32,
    next_hello: Timestamp,
}

/// What a device of ours tells the others about a session with a contact device (N11M, the
/// body of a `state_sync` frame, postcard).
#[derive(Serialize, Deserialize)]
enum SessionSync {
    /// The writer's session, to hold as a read-only mirror.
    Mirror { device: Device, session: Box<NoiseSession> },
    /// The session whose termination token is `token` is stale (37 N11M: "all other devices will
    /// consider such session as stale without publishing"). The token proves the sender holds
    /// the session.
    Stale { device: Device, token: [u8; 32] },
}

/// Which multi-device mechanism of 37 the Noise path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NoiseMultiDevice {
    /// A session per device pair; sync sessions between our own devices (37 "NM").
    #[default]
    Nm,
    /// One session per contact pair shared with our own devices (37 "N11M"): the device that
    /// established it is its only writer, the others hold read-only mirrors and relay their
    /// sends through the writer.
    N11m,
}

/// Pending paired channels kept at most (oldest dropped).
const MAX_PENDING_OWN: usize = 4;

/// What a Noise message turned out to be.
pub(crate) enum NoiseInput {
    /// A handshake step was taken (nothing for the application yet).
    HandshakeStep,
    /// A message 1 to us introduced its caller; not answered yet.
    Introduced(Box<Introduced>),
    /// A session with a device is now established.
    Established(Device),
    /// A handshake we answered completed with `device`: its identity is proven, but the session
    /// is kept only if it is a contact ([`NoisePath::add_answered`]); a stranger's becomes a
    /// contact request.
    Answered(Device, Box<NoiseSession>),
    /// A decrypted frame from a device.
    Frame(Device, Vec<u8>),
    /// N11M: a decrypted frame on a mirrored session (device, writer of ours).
    MirrorFrame(Device, Vec<u8>),
    /// A decrypted frame on a freshly paired channel (number `usize`), which must be a hello.
    PendingOwnFrame(usize, Vec<u8>),
    /// A public termination of one of our sessions.
    Terminated(Device),
}

impl NoisePath {
    /// Devices of `identity` we have an active session with.
    pub(crate) fn devices_of(&self, identity: &IdentityKey) -> Vec<Device> {
        self.sessions
            .iter()
            .filter(|(d, s)| &d.identity == identity && s.active().is_some_and(|s| s.state() == SessionState::Active))
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// Whether sending to `contact` should (re)discover its devices with a handshake, or one
    /// is in flight: then new devices that answer join the message.
    pub(crate) fn discovering(&self, contact: &IdentityKey, now: Timestamp) -> bool {
        self.outbound.keys().any(|k| &k.contact == contact)
            || self.discovered.get(contact).is_none_or(|t| now.saturating_since(*t) >= REDISCOVER_AFTER)
    }

    /// Stale sessions with devices of `contact` that have no active session, as the `(ct-id,
    /// session id)` a re-activation handshake binds.
    pub(crate) fn stale_devices_of(&self, contact: &IdentityKey) -> Vec<([u8; 32], SessionId)> {
        self.sessions.keys().filter(|d| &d.identity == contact).filter_map(|d| self.stale_session_of(d)).collect()
    }

    /// The stale session with `device` when it has no active one, as the `(ct-id, session id)`
    /// a re-activation handshake binds.
    pub(crate) fn stale_session_of(&self, device: &Device) -> Option<([u8; 32], SessionId)> {
        let session = self.sessions.get(device)?.active()?;
        (session.state() != SessionState::Active).then(|| (session.id().ct_id(), session.id().clone()))
    }

    /// Starts a discovery handshake to `contact` (unless one is in flight).
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>, contact: &IdentityKey) -> Result<(), PeerError> {
        self.discovered.insert(*contact, ctx.now);
        self.start_handshake(ctx, contact, None)
    }

    /// Starts a handshake re-activating the stale session `stale` with a device of `contact`.
    pub(crate) fn reactivate(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        ct_id: [u8; 32],
        stale: &SessionId,
    ) -> Result<(), PeerError> {
        self.start_handshake(ctx, contact, Some((ct_id, stale)))
    }

    /// Message 1 of an XK1 handshake to `contact`, carrying our introduction
    /// ([`super::noise_intro`]); for a re-activation it names the stale session's `ct-id` (so the
    /// right device can find it) while its secret id goes into the prologue (so only the two
    /// parties of the old session can complete).
    fn start_handshake(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        binding: Option<([u8; 32], &SessionId)>,
    ) -> Result<(), PeerError> {
        let key = OutboundKey { contact: *contact, reactivates: binding.map(|(ct, _)| ct) };
        if self.outbound.contains_key(&key) {
            return Ok(());
        }
        let mut prologue = prologue(contact);
        if let Some((_, sid)) = binding {
            prologue.extend_from_slice(&reactivation_prologue(std::slice::from_ref(sid)));
        }
        let config = HandshakeConfig::new(HandshakePattern::XK1, Role::Initiator)
            .prologue(prologue)
            .local_static(ctx.me.identity.dh_keys().clone())
            .remote_static(*contact.dh_public());
        let mut hs = Handshake::new(config)?;
        let nametag = noise_inbox_nametag(contact);
        let me: &super::Me = ctx.me;
        let sealing = crate::crypto::x25519::KeyPair::generate(ctx.entropy);
        let reactivates = binding.map(|(ct, _)| ct);
        let message = hs.write_message_bound(ctx.entropy, &nametag, |e| match e {
            Some(e) => noise_intro::seal(&sealing, &me.identity, &me.installation, contact, e, reactivates),
            None => Vec::new(),
        })?;
        let topic = partition_topic(contact);
        let first = WakuMessage::noise(
            message.encode().map_err(crate::noise::NoiseError::from)?,
            topic,
            ctx.now.as_nanos_i64(),
            false,
        );
        ctx.publish(first.clone());
        let reply_nametag = hs.next_hkdf_nametag();
        let next_retry = ctx.now.saturating_add(ctx.config.delivery.first_retry);
        let outbound = Outbound {
            after_first: hs,
            reply_nametag,
            started: ctx.now,
            answered_by: BTreeMap::new(),
            first,
            sends: 1,
            next_retry,
        };
        self.outbound.insert(key, outbound);
        Ok(())
    }

    /// Content topics this path listens on.
    pub(crate) fn topics(&self, out: &mut BTreeSet<String>) {
        for key in self.outbound.keys() {
            out.insert(partition_topic(&key.contact));
        }
        for device in self.sessions.values() {
            for session in &device.sessions {
                out.extend(session.inbound_topics().into_iter().map(|t| t.as_str().to_owned()));
            }
        }
        for pending in &self.pending_own {
            out.extend(pending.session.inbound_topics().into_iter().map(|t| t.as_str().to_owned()));
        }
        for mirror in self.mirrors.values() {
            out.extend(mirror.inbound_topics().into_iter().map(|t| t.as_str().to_owned()));
        }
    }

    /// N11M: the active session with `device`, encoded for our own devices.
    pub(crate) fn export_session(&self, device: &Device) -> Option<Vec<u8>> {
        let session = self.sessions.get(device)?.active()?;
        postcard::to_allocvec(&SessionSync::Mirror { device: device.clone(), session: Box::new(session.clone()) }).ok()
    }

    /// N11M: a `state_sync` from a device of ours (`from`): a session to mirror, or a session
    /// it marked stale, which we then hold stale too (its device is returned if that changed
    /// anything, for the notice). Bytes that do not decode, or a token that matches no session
    /// we hold with that device, are refused and change nothing.
    pub(crate) fn on_state_sync(
        &mut self,
        from: &InstallationId,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Option<Device>, PeerError> {
        let sync: SessionSync = postcard::from_bytes(bytes).map_err(|_| PeerError::NotForUs)?;
        match sync {
            SessionSync::Mirror { device, session } => {
                self.mirrors.insert((device, from.clone()), *session);
                Ok(None)
            }
            SessionSync::Stale { device, token } => {
                let turned = self.mark_stale_from_own_device(&device, &token, now)?;
                Ok(turned.then_some(device))
            }
        }
    }

    /// Marks stale the session with `device` (ours or a mirror) whose termination token is
    /// `token`; true if one just turned stale. Refused, with nothing changed, if no session with
    /// `device` has that token.
    fn mark_stale_from_own_device(
        &mut self,
        device: &Device,
        token: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool, PeerError> {
        let owned = self.sessions.get_mut(device).into_iter().flat_map(|d| d.sessions.iter_mut());
        let mirrored = self.mirrors.iter_mut().filter(|((d, _), _)| d == device).map(|(_, m)| m);
        let (mut matched, mut turned) = (false, false);
        for session in owned.chain(mirrored) {
            if let Ok(now_stale) = session.mark_stale_from_own_device(token, now) {
                matched = true;
                turned |= now_stale;
            }
        }
        if !matched {
            return Err(crate::noise::sessions::SessionError::WrongTerminationToken.into());
        }
        Ok(turned)
    }

    /// N11M: the `state_sync` body telling our other devices that the session with `device`
    /// whose termination token is `token` is stale.
    pub(crate) fn stale_sync(device: &Device, token: &[u8; 32]) -> Option<Vec<u8>> {
        postcard::to_allocvec(&SessionSync::Stale { device: device.clone(), token: *token }).ok()
    }

    /// The sessions that turned stale during this event, for our other devices (N11M).
    pub(crate) fn take_newly_stale(&mut self) -> Vec<(Device, [u8; 32])> {
        std::mem::take(&mut self.newly_stale)
    }

    /// N11M: a private termination read on a mirror; true if a mirror just turned stale.
    pub(crate) fn on_mirror_termination(&mut self, device: &Device, token: &[u8; 32], now: Timestamp) -> bool {
        let mut ended = false;
        for ((d, _), mirror) in &mut self.mirrors {
            if d == device && mirror.state() == SessionState::Active && mirror.on_termination(token, now) {
                ended = true;
            }
        }
        if ended {
            self.newly_stale.push((device.clone(), *token));
        }
        ended
    }

    /// N11M: a device of ours that holds a session with a device of `contact`, if any.
    pub(crate) fn mirror_writer_for(&self, contact: &IdentityKey) -> Option<InstallationId> {
        self.mirrors
            .iter()
            .filter(|((d, _), s)| &d.identity == contact && s.state() == SessionState::Active)
            .map(|((_, writer), _)| writer.clone())
            .next()
    }

    /// Adopts a freshly paired channel and sends our hello on it.
    pub(crate) fn add_pending_own(
        &mut self,
        ctx: &mut Ctx<'_>,
        mut session: NoiseSession,
        hello: Vec<u8>,
    ) -> Result<(), PeerError> {
        let first = session.send(&hello, ctx.now)?;
        ctx.publish(first);
        if self.pending_own.len() == MAX_PENDING_OWN {
            self.pending_own.remove(0);
        }
        let next_hello = ctx.now.saturating_add(ctx.config.delivery.first_retry);
        self.pending_own.push(PendingOwn { session, hello, sends: 1, next_hello });
        Ok(())
    }

    /// Moves pending channel `index` to the sessions of `device` (its hello named it).
    pub(crate) fn promote_pending(&mut self, ctx: &mut Ctx<'_>, index: usize, device: Device) {
        if index < self.pending_own.len() {
            let pending = self.pending_own.remove(index);
            self.add_session(ctx, device, pending.session);
        }
    }

    /// Drops pending channel `index` (its hello named another account).
    pub(crate) fn drop_pending(&mut self, index: usize) {
        if index < self.pending_own.len() {
            self.pending_own.remove(index);
        }
    }

    /// Forgets every session with devices of `identity` (it was blocked).
    pub(crate) fn forget_identity(&mut self, identity: &IdentityKey) {
        self.sessions.retain(|d, _| d.identity != *identity);
        self.unconfirmed.retain(|d, _| d.identity != *identity);
        self.outbound.retain(|k, _| k.contact != *identity);
        self.discovered.remove(identity);
    }

    /// Forgets every session with `device`.
    pub(crate) fn forget_device(&mut self, device: &Device) {
        self.sessions.remove(device);
        self.unconfirmed.remove(device);
    }

    /// Handles a version-2 WakuMessage.
    pub(crate) fn on_message(&mut self, ctx: &mut Ctx<'_>, message: &WakuMessage) -> Result<NoiseInput, PeerError> {
        if let Some(token) = parse_public_termination(message) {
            return self.on_public_termination(ctx, &message.content_topic, &token);
        }
        let bytes = message.noise_payload()?;
        let parsed = PayloadV2Ref::parse(bytes).map_err(crate::noise::NoiseError::from)?;
        let tag = parsed.message_nametag;
        if parsed.protocol_id == ProtocolId::Handshake(HandshakePattern::XK1) {
            if tag == noise_inbox_nametag(ctx.me.identity.public())
                && message.content_topic == partition_topic(ctx.me.identity.public())
            {
                return self.on_first(ctx, &parsed.to_owned(), message);
            }
            if let Some((key, topic)) = self
                .outbound
                .iter()
                .find(|(_, o)| o.reply_nametag == tag)
                .map(|(k, o)| (k.clone(), o.first.content_topic.clone()))
            {
                // Message 3 goes where the responder listens (the topic of our message 1), not
                // where message 2 happened to arrive: a copy replayed onto another topic would
                // otherwise send it where the responder never looks.
                return self.complete_as_initiator(ctx, &key, &parsed.to_owned(), &topic);
            }
            if self.inbound.contains_key(&tag) {
                return self.complete_as_responder(ctx, &parsed.to_owned());
            }
            return Err(PeerError::NotForUs);
        }
        self.read_session_message(ctx, message)
    }

    /// Message 1 to us: a repeat of one we answered gets its answer again (within limits); a new
    /// one is introduced if its introduction opens and proves its caller, and refused otherwise.
    fn on_first(
        &mut self,
        ctx: &mut Ctx<'_>,
        first: &PayloadV2,
        message: &WakuMessage,
    ) -> Result<NoiseInput, PeerError> {
        let ephemeral = match first.handshake_message.first() {
            Some(crate::noise::NoisePublicKey::Clear(pk)) => *pk,
            _ => return Err(PeerError::NotForUs),
        };
        if self.seen_first.contains(ephemeral.as_bytes()) {
            self.repeat_answer(ctx, ephemeral.as_bytes());
            return Ok(NoiseInput::HandshakeStep);
        }
        let payload = crate::noise::padding::unpad(&first.transport_message).map_err(|_| PeerError::NotForUs)?;
        let intro = noise_intro::open(&ctx.me.identity, &ephemeral, payload).map_err(|_| PeerError::NotForUs)?;
        Ok(NoiseInput::Introduced(Box::new(Introduced {
            device: Device { identity: intro.identity, installation: intro.installation },
            reactivates: intro.reactivates,
            first: first.clone(),
            ephemeral: *ephemeral.as_bytes(),
            topic: message.content_topic.clone(),
            message: message.clone(),
        })))
    }

    /// Republishes our answer to a message 1 seen again, unless the last answer is more recent
    /// than the repeats so far allow ([`repeat_gap`]).
    fn repeat_answer(&mut self, ctx: &mut Ctx<'_>, ephemeral: &[u8; 32]) {
        let Some(answered) = self.inbound.values_mut().find(|i| i.first_ephemeral == *ephemeral) else { return };
        if ctx.now.saturating_since(answered.last_answer) < repeat_gap(answered.repeats) {
            return;
        }
        answered.repeats = answered.repeats.saturating_add(1);
        answered.last_answer = ctx.now;
        ctx.republish(&answered.second);
    }

    /// Answers an introduced message 1 with message 2 (our installation id) and remembers the
    /// state. A re-activation names a session of ours, which may still be active here: the
    /// initiator alone can tell that its messages no longer reach us (it stopped after
    /// `MAX_UNANSWERED` of them), and only the two parties of the old session can complete.
    pub(crate) fn answer(&mut self, ctx: &mut Ctx<'_>, introduced: &Introduced) -> Result<(), PeerError> {
        let mut prologue = prologue(ctx.me.identity.public());
        if let Some(ct_id) = introduced.reactivates {
            let sid = self.session_with_ct_id(&ct_id).ok_or(PeerError::NotForUs)?;
            prologue.extend_from_slice(&reactivation_prologue(std::slice::from_ref(&sid)));
        }
        let config = HandshakeConfig::new(HandshakePattern::XK1, Role::Responder)
            .prologue(prologue)
            .local_static(ctx.me.identity.dh_keys().clone());
        let mut hs = Handshake::new(config)?;
        let first = &introduced.first;
        hs.read_message(first, &first.message_nametag)?;
        let hello = HelloProto { identity: Vec::new(), installation_id: ctx.me.installation.as_str().to_owned() };
        let nametag = hs.next_hkdf_nametag();
        let reply = hs.write_message(ctx.entropy, &hello.encode_to_vec(), &nametag)?;
        let second = WakuMessage::noise(
            reply.encode().map_err(crate::noise::NoiseError::from)?,
            &introduced.topic,
            ctx.now.as_nanos_i64(),
            false,
        );
        ctx.publish(second.clone());
        if self.seen_first.len() == SEEN_FIRST_MESSAGES {
            self.seen_first.pop_front();
        }
        self.seen_first.push_back(introduced.ephemeral);
        if self.inbound.len() >= ctx.config.max_pending_noise_handshakes
            && let Some(oldest) = self.inbound.iter().min_by_key(|(_, i)| i.started).map(|(t, _)| *t)
        {
            self.inbound.remove(&oldest);
        }
        let inbound = Inbound {
            after_second: hs.clone(),
            started: ctx.now,
            first_ephemeral: introduced.ephemeral,
            second,
            caller: introduced.device.identity,
            repeats: 0,
            last_answer: ctx.now,
        };
        self.inbound.insert(hs.next_hkdf_nametag(), inbound);
        Ok(())
    }

    /// Our session (of any device) whose `ct-id` is `ct_id`.
    fn session_with_ct_id(&self, ct_id: &[u8]) -> Option<SessionId> {
        self.sessions
            .values()
            .flat_map(|d| d.sessions.iter())
            .find(|s| s.id().ct_id().as_slice() == ct_id)
            .map(|s| s.id().clone())
    }

    /// Message 2 for one of our handshakes: fork, read, send message 3, open the session.
    fn complete_as_initiator(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &OutboundKey,
        second: &PayloadV2,
        topic: &str,
    ) -> Result<NoiseInput, PeerError> {
        let contact = &key.contact;
        let outbound = self.outbound.get(key).ok_or(PeerError::NotForUs)?;
        let mut hs = outbound.after_first.clone();
        let payload = hs.read_message(second, &outbound.reply_nametag)?;
        let hello = HelloProto::decode(payload.as_slice()).map_err(|_| PeerError::NotForUs)?;
        let installation = InstallationId::parse(&hello.installation_id).map_err(|_| PeerError::NotForUs)?;
        let n11m = ctx.config.noise_multi_device == NoiseMultiDevice::N11m;
        if outbound.answered_by.contains_key(&installation) {
            self.repeat_third(ctx, key, Device { identity: *contact, installation });
            return Ok(NoiseInput::HandshakeStep);
        }
        if n11m && !outbound.answered_by.is_empty() {
            // N11M: the contact's devices share one session; the first answer wins.
            return Ok(NoiseInput::HandshakeStep);
        }
        let mine = HelloProto {
            identity: ctx.me.identity.public().as_bytes().to_vec(),
            installation_id: ctx.me.installation.as_str().to_owned(),
        };
        let nametag = hs.next_hkdf_nametag();
        let third = hs.write_message(ctx.entropy, &mine.encode_to_vec(), &nametag)?;
        let transport = hs.finalize()?;
        let session = NoiseSession::new(
            transport,
            &ctx.config.app_name,
            &ctx.config.app_version,
            ctx.config.noise_topics,
            ctx.now,
        )?;
        let third = WakuMessage::noise(
            third.encode().map_err(crate::noise::NoiseError::from)?,
            topic,
            ctx.now.as_nanos_i64(),
            false,
        );
        ctx.publish(third.clone());
        if let Some(o) = self.outbound.get_mut(key) {
            o.answered_by.insert(installation.clone(), Answered { session: session.id().clone(), last_third: ctx.now });
        }
        let device = Device { identity: *contact, installation };
        self.unconfirmed.insert(device.clone(), (session.id().clone(), third));
        self.add_session(ctx, device.clone(), session);
        Ok(NoiseInput::Established(device))
    }

    /// Republishes our message 3 to a device that repeated its message 2, while the session that
    /// handshake opened is unconfirmed (the device never read message 3, or we would have heard
    /// from it there) and the last copy is at least [`REPEATED_ANSWER_GAP`] old.
    fn repeat_third(&mut self, ctx: &mut Ctx<'_>, key: &OutboundKey, device: Device) {
        let Some(answered) = self.outbound.get_mut(key).and_then(|o| o.answered_by.get_mut(&device.installation))
        else {
            return;
        };
        let Some((session, third)) = self.unconfirmed.get(&device) else { return };
        if *session != answered.session || ctx.now.saturating_since(answered.last_third) < REPEATED_ANSWER_GAP {
            return;
        }
        answered.last_third = ctx.now;
        ctx.republish(third);
    }

    /// Message 3 for a handshake we answered: check the identity, open the session.
    fn complete_as_responder(&mut self, ctx: &mut Ctx<'_>, third: &PayloadV2) -> Result<NoiseInput, PeerError> {
        let tag = third.message_nametag;
        let inbound = self.inbound.get(&tag).ok_or(PeerError::NotForUs)?;
        let mut hs = inbound.after_second.clone();
        let payload = hs.read_message(third, &tag)?;
        let hello = HelloProto::decode(payload.as_slice()).map_err(|_| PeerError::NotForUs)?;
        let identity = IdentityKey::from_slice(&hello.identity).map_err(|_| PeerError::NotForUs)?;
        if Some(identity.dh_public()) != hs.remote_static() || identity != inbound.caller {
            return Err(PeerError::IdentityMismatch(identity));
        }
        if identity == *ctx.me.identity.public() && hello.installation_id == ctx.me.installation.as_str() {
            return Err(PeerError::NotForUs);
        }
        let installation = InstallationId::parse(&hello.installation_id).map_err(|_| PeerError::NotForUs)?;
        let transport = hs.finalize()?;
        let session = NoiseSession::new(
            transport,
            &ctx.config.app_name,
            &ctx.config.app_version,
            ctx.config.noise_topics,
            ctx.now,
        )?;
        self.inbound.remove(&tag);
        Ok(NoiseInput::Answered(Device { identity, installation }, Box::new(session)))
    }

    /// Keeps the session a handshake we answered opened (the initiator is a contact, or was
    /// accepted as one): see [`NoiseInput::Answered`].
    pub(crate) fn add_answered(&mut self, ctx: &mut Ctx<'_>, device: Device, session: NoiseSession) {
        self.add_session(ctx, device, session);
    }

    fn add_session(&mut self, ctx: &mut Ctx<'_>, device: Device, session: NoiseSession) {
        ctx.actions.push(Action::Notice(Notice::SessionEstablished {
            identity: device.identity,
            installation: device.installation.clone(),
            key_exchange: KeyExchange::Noise,
        }));
        self.sessions.entry(device).or_insert_with(|| DeviceSessions { sessions: Vec::new() }).add(session);
    }

    /// A transport message on one of our session topics.
    fn read_session_message(&mut self, ctx: &mut Ctx<'_>, message: &WakuMessage) -> Result<NoiseInput, PeerError> {
        for (i, pending) in self.pending_own.iter_mut().enumerate() {
            if pending.session.owns_topic(&message.content_topic)
                && let Ok((plaintext, _)) = pending.session.receive(message, ctx.now)
            {
                return Ok(NoiseInput::PendingOwnFrame(i, plaintext));
            }
        }
        for ((device, _), mirror) in &mut self.mirrors {
            if mirror.owns_topic(&message.content_topic)
                && let Ok((plaintext, _)) = mirror.receive(message, ctx.now)
            {
                return Ok(NoiseInput::MirrorFrame(device.clone(), plaintext));
            }
        }
        for (device, sessions) in &mut self.sessions {
            for session in sessions.sessions.iter_mut().rev() {
                if !session.owns_topic(&message.content_topic) {
                    continue;
                }
                match session.receive(message, ctx.now) {
                    Ok((plaintext, _)) => {
                        publish_rotation_terminations(ctx, session);
                        if self.unconfirmed.get(device).is_some_and(|(id, _)| id == session.id()) {
                            self.unconfirmed.remove(device);
                        }
                        return Ok(NoiseInput::Frame(device.clone(), plaintext));
                    }
                    Err(crate::noise::sessions::SessionError::Noise(crate::noise::NoiseError::NametagNotFound)) => {
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(PeerError::NotForUs)
    }

    fn on_public_termination(
        &mut self,
        ctx: &mut Ctx<'_>,
        topic: &str,
        token: &[u8; 32],
    ) -> Result<NoiseInput, PeerError> {
        let owned = self.sessions.iter_mut().flat_map(|(d, s)| s.sessions.iter_mut().map(move |s| (d, s)));
        let mirrored = self.mirrors.iter_mut().map(|((d, _), m)| (d, m));
        for (device, session) in owned.chain(mirrored) {
            let active = session.state() == SessionState::Active;
            if session.content_topic().as_str() == topic && session.on_termination(token, ctx.now) {
                if active {
                    self.newly_stale.push((device.clone(), *token));
                }
                return Ok(NoiseInput::Terminated(device.clone()));
            }
        }
        Err(PeerError::NotForUs)
    }

    /// Encrypts a frame for `device` on its active session and publishes it (preceded by our
    /// message 3 while the device has not been heard from). False if there is no usable session.
    pub(crate) fn send(&mut self, ctx: &mut Ctx<'_>, device: &Device, frame: &[u8]) -> Result<bool, PeerError> {
        let Some(session) = self.sessions.get_mut(device).and_then(DeviceSessions::active_mut) else {
            return Ok(false);
        };
        // A contact's device that has read none of our last messages may be out of reach of
        // the session's nametags: stop, and let a re-activation handshake replace the session.
        // (Our own devices have no handshake to fall back on; their sessions stay.)
        let contact = device.identity != *ctx.me.identity.public();
        if session.state() != SessionState::Active || (contact && session.mark_unanswered(ctx.now)) {
            return Ok(false);
        }
        let message = session.send(frame, ctx.now)?;
        if let Some((_, third)) = self.unconfirmed.get(device) {
            ctx.republish(third);
        }
        ctx.publish(message);
        publish_rotation_terminations(ctx, session);
        Ok(true)
    }

    /// Ends every active session with devices of `contact`: publicly (a termination message
    /// anyone can verify on the session topic) or privately (a `Terminate` frame inside it).
    pub(crate) fn end_sessions(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        public: bool,
        terminate_frame: impl Fn(&SessionId) -> Vec<u8>,
    ) -> Result<usize, PeerError> {
        let mut ended = 0;
        for (device, sessions) in &mut self.sessions {
            if &device.identity != contact {
                continue;
            }
            let Some(session) = sessions.active_mut().filter(|s| s.state() == SessionState::Active) else { continue };
            if !public {
                let frame = terminate_frame(session.id());
                ctx.publish(session.send(&frame, ctx.now)?);
            }
            if let Some(message) = session.terminate(public, ctx.now) {
                ctx.publish(message);
            }
            self.newly_stale.push((device.clone(), session.private_termination()));
            ended += 1;
        }
        Ok(ended)
    }

    /// Marks a device's sessions stale after a private termination from it.
    pub(crate) fn on_private_termination(&mut self, device: &Device, token: &[u8; 32], now: Timestamp) -> bool {
        let Some(sessions) = self.sessions.get_mut(device) else { return false };
        let Some(session) = sessions.sessions.iter_mut().find(|s| s.private_termination() == *token) else {
            return false;
        };
        let active = session.state() == SessionState::Active;
        let genuine = session.on_termination(token, now);
        if genuine && active {
            self.newly_stale.push((device.clone(), *token));
        }
        genuine
    }

    /// Repeats first messages, expires handshakes older than the timeout and marks silent
    /// sessions stale. Returns the store query for answers to the repeated first messages.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, timeout: Duration) -> Option<AnswerQuery> {
        let now = ctx.now;
        let query = self.repeat_first_messages(ctx);
        let expired: Vec<OutboundKey> = self
            .outbound
            .iter()
            .filter(|(_, o)| now.saturating_since(o.started) >= timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            if let Some(o) = self.outbound.remove(&key)
                && o.answered_by.is_empty()
            {
                ctx.actions.push(Action::Notice(Notice::HandshakeTimedOut { identity: key.contact, after: timeout }));
            }
        }
        self.inbound.retain(|_, i| now.saturating_since(i.started) < timeout);
        let max_attempts = ctx.config.delivery.max_attempts;
        self.pending_own.retain(|p| p.sends < max_attempts);
        for pending in &mut self.pending_own {
            if pending.next_hello <= now
                && let Ok(message) = pending.session.send(&pending.hello, now)
            {
                ctx.actions.push(Action::Publish(message));
                pending.sends += 1;
                let factor = 1u32.checked_shl(pending.sends.saturating_sub(1)).unwrap_or(u32::MAX);
                let backoff =
                    ctx.config.delivery.first_retry.saturating_mul(factor).min(ctx.config.delivery.max_backoff);
                pending.next_hello = now.saturating_add(backoff);
            }
        }
        for (device, sessions) in &mut self.sessions {
            if let Some(active) = sessions.active_mut()
                && active.check_silence(now)
            {
                ctx.actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
                self.newly_stale.push((device.clone(), active.private_termination()));
            }
        }
        query
    }

    /// Republishes every message 1 whose retry is due, with backoff, and asks the store for the
    /// answers published on their topics since their handshakes started.
    fn repeat_first_messages(&mut self, ctx: &mut Ctx<'_>) -> Option<AnswerQuery> {
        let now = ctx.now;
        let mut query: Option<AnswerQuery> = None;
        for outbound in self.outbound.values_mut().filter(|o| o.next_retry <= now) {
            ctx.republish(&outbound.first);
            outbound.sends += 1;
            let factor = 1u32.checked_shl(outbound.sends.saturating_sub(1)).unwrap_or(u32::MAX);
            let backoff = ctx.config.delivery.first_retry.saturating_mul(factor).min(ctx.config.delivery.max_backoff);
            outbound.next_retry = now.saturating_add(backoff);
            let since = outbound.started.saturating_sub(ANSWER_QUERY_OVERLAP);
            let topic = outbound.first.content_topic.clone();
            let query = query.get_or_insert_with(|| AnswerQuery { topics: Vec::new(), since });
            query.since = query.since.min(since);
            if !query.topics.contains(&topic) {
                query.topics.push(topic);
            }
        }
        query
    }

    /// The earliest handshake expiry or staleness deadline.
    pub(crate) fn next_deadline(&self, timeout: Duration) -> Option<Timestamp> {
        let handshakes = self
            .outbound
            .values()
            .map(|o| o.started)
            .chain(self.inbound.values().map(|i| i.started))
            .map(|t| t.saturating_add(timeout));
        let retries = self.outbound.values().map(|o| o.next_retry);
        let hellos = self.pending_own.iter().map(|p| p.next_hello);
        let handshakes = handshakes.chain(retries).chain(hellos);
        let stale = self
            .sessions
            .values()
            .filter_map(DeviceSessions::active)
            .filter(|s| s.state() == SessionState::Active)
            .map(NoiseSession::stale_deadline);
        handshakes.chain(stale).min()
    }

    /// Number of sessions (all devices, archived included): a bound the simulator checks.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.values().map(|s| s.sessions.len()).sum::<usize>() + self.mirrors.len()
    }

    /// The link with `device`: its active session's state, and whether it was heard from.
    pub(crate) fn link(&self, device: &Device) -> Option<super::NoiseLink> {
        let active = self.sessions.get(device)?.active()?;
        Some(if active.state() != SessionState::Active {
            super::NoiseLink::Stale
        } else if self.unconfirmed.contains_key(device) {
            super::NoiseLink::Unconfirmed
        } else {
            super::NoiseLink::Active
        })
    }

    /// N11M: `Active` if a mirror of a session with `device` is active, else `Stale` if any.
    pub(crate) fn mirror_link(&self, device: &Device) -> Option<super::NoiseLink> {
        let mut mirrors = self.mirrors.iter().filter(|((d, _), _)| d == device).map(|(_, m)| m.state());
        let first = mirrors.next()?;
        let active = first == SessionState::Active || mirrors.any(|s| s == SessionState::Active);
        Some(if active { super::NoiseLink::Active } else { super::NoiseLink::Stale })
    }

    /// Number of handshakes in flight.
    pub(crate) fn pending_handshakes(&self) -> usize {
        self.outbound.len() + self.inbound.len()
    }
}

impl super::Peer {
    /// N11M: tells our enabled devices about every session that turned stale during this
    /// event, so that they hold it stale too (`state_sync`, retried until acknowledged). Sessions
    /// with our own devices are not shared; in NM nothing is (each device holds its own).
    pub(super) fn share_stale_sessions(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn crate::entropy::Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let stale = self.state.noise.take_newly_stale();
        if self.state.config.noise_multi_device != NoiseMultiDevice::N11m {
            return Ok(());
        }
        let me = *self.identity();
        for (device, token) in stale.iter().filter(|(d, _)| d.identity != me) {
            let Some(bytes) = NoisePath::stale_sync(device, token) else { continue };
            let mut id = [0u8; super::frame::MESSAGE_ID_LEN];
            entropy.fill(&mut id);
            let body = super::FrameBody::StateSync(bytes);
            let frame = super::Frame { id: super::MessageId(id), sent_at_ms: now.as_millis(), body };
            self.send_to_own_devices(now, &frame, entropy, actions)?;
        }
        Ok(())
    }
}

/// 37 rotation: publishes the terminations of the rotated ids the last send or read made stale.
fn publish_rotation_terminations(ctx: &mut Ctx<'_>, session: &mut NoiseSession) {
    for termination in session.take_rotation_terminations(ctx.now) {
        ctx.publish(termination);
    }
}

fn prologue(responder: &IdentityKey) -> Vec<u8> {
    let mut p = PROLOGUE_LABEL.to_vec();
    p.extend_from_slice(responder.as_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededEntropy;
    use crate::crypto::KeyPair;
    use crate::identity::IdentityKeyPair;
    use crate::noise::sessions::{SessionError, StaleReason, TopicPolicy};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    /// A session from a completed XK1 handshake (the initiator's side).
    fn session(seed: u64) -> NoiseSession {
        let mut e = SeededEntropy::from_u64(seed);
        let (a_s, b_s) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e));
        let config = |role| HandshakeConfig::new(HandshakePattern::XK1, role);
        let mut a = Handshake::new(config(Role::Initiator).local_static(a_s).remote_static(*b_s.public())).unwrap();
        let mut b = Handshake::new(config(Role::Responder).local_static(b_s)).unwrap();
        for i in 0..3 {
            let tag = if i == 0 { MessageNametag([1; 16]) } else { a.next_hkdf_nametag() };
            let (w, r) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
            let m = w.write_message(&mut e, b"", &tag).unwrap();
            r.read_message(&m, &tag).unwrap();
        }
        NoiseSession::new(a.finalize().unwrap(), "status-1to1", "1", TopicPolicy::Fixed, T0).unwrap()
    }

    fn device(seed: u8) -> Device {
        let mut e = SeededEntropy::from_u64(u64::from(seed));
        Device {
            identity: *IdentityKeyPair::from_seed([seed; 32]).public(),
            installation: InstallationId::generate(&mut e),
        }
    }

    #[test]
    fn a_stale_state_sync_needs_the_sessions_token_and_is_not_shared_again() {
        let (bob, carol, writer) = (device(2), device(3), device(1).installation);
        let mut path = NoisePath::default();
        let mirror = session(7);
        let token = mirror.private_termination();
        let mirror_sync =
            postcard::to_allocvec(&SessionSync::Mirror { device: bob.clone(), session: Box::new(mirror) }).unwrap();
        assert_eq!(path.on_state_sync(&writer, &mirror_sync, T0), Ok(None));
        assert_eq!(path.mirror_link(&bob), Some(super::super::NoiseLink::Active));
        let before = path.clone();
        let wrong = NoisePath::stale_sync(&bob, &[0xaa; 32]).unwrap();
        let elsewhere = NoisePath::stale_sync(&carol, &token).unwrap();
        let refusals = [
            (&b"not postcard"[..], PeerError::NotForUs),
            (&mirror_sync[..3], PeerError::NotForUs),
            (&wrong, PeerError::Session(SessionError::WrongTerminationToken)),
            (&elsewhere, PeerError::Session(SessionError::WrongTerminationToken)),
        ];
        for (bytes, error) in refusals {
            assert_eq!(path.on_state_sync(&writer, bytes, T0), Err(error));
            assert!(path == before, "a refused state_sync changes nothing");
        }
        let genuine = NoisePath::stale_sync(&bob, &token).unwrap();
        assert_eq!(path.on_state_sync(&writer, &genuine, T0), Ok(Some(bob.clone())));
        assert_eq!(path.mirror_link(&bob), Some(super::super::NoiseLink::Stale));
        let stale = path.mirrors.values().next().map(NoiseSession::state);
        assert_eq!(stale, Some(SessionState::Stale { since: T0, reason: StaleReason::SyncedFromOwnDevice }));
        assert!(path.take_newly_stale().is_empty(), "what our devices told us is not told back");
        assert_eq!(path.on_state_sync(&writer, &genuine, T0), Ok(None), "a repeated sync changes nothing");
    }
}
