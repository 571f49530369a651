//! What both roles share: the device's side of a pairing ([`Participant`]: its settings, static
//! key and state, the deadline check), the end of message b, and everything after it: the
//! authcode confirmation, then the two static-key messages with their commitment checks, then
//! the split.

use std::marker::PhantomData;

use super::authcode::Authcode;
use super::commitment::{Commitment, CommitmentNonce};
use super::config::PairingConfig;
use super::session::PairedSession;
use super::{AbortReason, PairingAction, PairingError, PairingState, Step, abort, payload_on, publish};
use crate::crypto::{CryptoError, KeyPair};
use crate::entropy::Entropy;
use crate::noise::{Handshake, HandshakeConfig, NoiseError, PayloadV2, Role};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// How many early messages wait for the confirmation (a genuine peer sends one).
pub const MAX_EARLY_MESSAGES: usize = 4;

/// The handshake after message b.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    pub(crate) handshake: Handshake,
    pub(crate) topic: String,
    pub(crate) own_nonce: CommitmentNonce,
    pub(crate) peer_commitment: Commitment,
    /// Device B of the spec: sends its static key in message c, before the peer.
    pub(crate) sends_static_first: bool,
    pub(crate) authcode: Authcode,
    pub(crate) deadline: Timestamp,
}

impl Exchange {
    /// The code both users compare.
    pub fn authcode(&self) -> Authcode {
        self.authcode
    }

    /// The content topic of the pairing.
    pub fn content_topic(&self) -> &str {
        &self.topic
    }

    /// When the pairing times out.
    pub fn deadline(&self) -> Timestamp {
        self.deadline
    }

    /// The peer's commitment (from the QR or from message b).
    pub fn peer_commitment(&self) -> &Commitment {
        &self.peer_commitment
    }

    /// The Noise handshake (vectors and tests).
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }
}

/// One device's side of a pairing in role `R` ([`QrOwner`](super::QrOwner) or
/// [`Scanner`](super::Scanner)): its settings, its static key and where the pairing is. Each role
/// adds its own `handle`. Serialized as the three fields (the role is in the type only).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Participant<R> {
    pub(crate) config: PairingConfig,
    pub(crate) static_key: KeyPair,
    pub(crate) state: PairingState,
    role: PhantomData<R>,
}

impl<R> Participant<R> {
    /// A participant with this device's static key, in [`PairingState::Idle`].
    pub fn new(config: PairingConfig, static_key: KeyPair) -> Self {
        Self { config, static_key, state: PairingState::Idle, role: PhantomData }
    }

    /// The current state.
    pub fn state(&self) -> &PairingState {
        &self.state
    }

    /// The paired channel, once paired.
    pub fn session_mut(&mut self) -> Option<&mut PairedSession> {
        match &mut self.state {
            PairingState::Paired(session) => Some(session),
            _ => None,
        }
    }

    /// The authcode, once message b is done.
    pub fn authcode(&self) -> Option<Authcode> {
        match &self.state {
            PairingState::AwaitingConfirmation { exchange, .. } | PairingState::AwaitingPeerStatic(exchange) => {
                Some(exchange.authcode())
            }
            _ => None,
        }
    }

    /// Handles one event with `step`, which gets the state the event applies to. A passed
    /// deadline aborts the state first and only a `restart` proceeds past it. On `Err` nothing
    /// changes (the abort is then announced by the next event).
    pub(crate) fn run(
        &mut self,
        now: Timestamp,
        restart: bool,
        step: impl FnOnce(&Self, &PairingState) -> Result<Step, PairingError>,
    ) -> Result<Vec<PairingAction>, PairingError> {
        let expiry = expired(&self.state, now);
        let current = expiry.as_ref().map_or(&self.state, |(aborted, _)| aborted);
        let (state, more) = match expiry {
            Some(_) if !restart => (current.clone(), Vec::new()),
            _ => step(self, current)?,
        };
        let mut actions = expiry.map(|(_, announced)| announced).unwrap_or_default();
        actions.extend(more);
        self.state = state;
        Ok(actions)
    }

    /// The handshake of the QR owner (`owner`) or of the scanner, with our static key.
    pub(crate) fn handshake_config(&self, owner: bool) -> HandshakeConfig {
        let variant = self.config.variant;
        let role = match (owner, variant.owner_role()) {
            (true, role) => role,
            (false, Role::Initiator) => Role::Responder,
            (false, Role::Responder) => Role::Initiator,
        };
        HandshakeConfig::new(variant.pattern(), role).local_static(self.static_key.clone())
    }

    /// Message b is done (written or read): both users now compare the authcode, and the pairing
    /// timeout starts. `actions` come first (what sent message b). The handshake's role tells
    /// which side we are.
    pub(crate) fn after_message_b(
        &self,
        handshake: Handshake,
        topic: String,
        own_nonce: CommitmentNonce,
        peer_commitment: Commitment,
        now: Timestamp,
        actions: Vec<PairingAction>,
    ) -> Step {
        let owner = handshake.role() == self.config.variant.owner_role();
        let exchange = Exchange {
            authcode: Authcode::for_hash(handshake.handshake_hash()),
            handshake,
            topic,
            own_nonce,
            peer_commitment,
            sends_static_first: owner == self.config.variant.owner_sends_static_first(),
            deadline: now.saturating_add(self.config.pairing_timeout),
        };
        awaiting_confirmation(exchange, actions)
    }
}

#[cfg(test)]
impl<R> Participant<R> {
    pub(crate) fn static_key_for_tests(&self) -> &KeyPair {
        &self.static_key
    }
}

/// The outcome of a handshake step: a peer key with a non-contributory Diffie-Hellman output
/// (small order) aborts the pairing (`Ok(Err(aborted))`); any other failure refuses the input.
pub(crate) fn contributory<T>(result: Result<T, NoiseError>) -> Result<Result<T, Step>, PairingError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(NoiseError::Crypto(CryptoError::NonContributory)) => Ok(Err(abort(AbortReason::InvalidKey))),
        Err(e) => Err(PairingError::Noise(e)),
    }
}

/// Starts the confirmation phase: both users now compare `exchange.authcode`.
pub(crate) fn awaiting_confirmation(exchange: Exchange, mut actions: Vec<PairingAction>) -> Step {
    actions.push(PairingAction::ShowAuthcode(exchange.authcode));
    actions.push(PairingAction::SetTimer(exchange.deadline));
    (PairingState::AwaitingConfirmation { exchange, early: Vec::new() }, actions)
}

/// A message while the users compare: device A keeps the peer's message c for later.
pub(crate) fn early_message(
    exchange: &Exchange,
    early: &[PayloadV2],
    message: &WakuMessage,
) -> Result<Step, PairingError> {
    let payload = payload_on(message, &exchange.topic)?;
    if exchange.sends_static_first || payload.message_nametag != exchange.handshake.next_hkdf_nametag() {
        return Err(PairingError::UnexpectedNametag);
    }
    if early.len() >= MAX_EARLY_MESSAGES {
        return Err(PairingError::EarlyBufferFull);
    }
    let mut kept = early.to_vec();
    kept.push(payload);
    Ok((PairingState::AwaitingConfirmation { exchange: exchange.clone(), early: kept }, Vec::new()))
}

/// The user confirmed: device B sends message c; device A reads any early message c.
pub(crate) fn confirm(
    exchange: &Exchange,
    early: &[PayloadV2],
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    let mut exchange = exchange.clone();
    if exchange.sends_static_first {
        let sent = write_static(&mut exchange, now, entropy)?;
        return Ok((PairingState::AwaitingPeerStatic(exchange), vec![sent]));
    }
    for payload in early {
        if let Ok(step) = peer_static(&exchange, payload, now, entropy) {
            return Ok(step);
        }
    }
    Ok((PairingState::AwaitingPeerStatic(exchange), Vec::new()))
}

/// A message while waiting for the peer's static key.
pub(crate) fn peer_static_message(
    exchange: &Exchange,
    message: &WakuMessage,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    let payload = payload_on(message, &exchange.topic)?;
    peer_static(exchange, &payload, now, entropy)
}

/// Reads message c (device A) or d (device B), checks the commitment, and for device A answers
/// with message d; both then split.
fn peer_static(
    exchange: &Exchange,
    payload: &PayloadV2,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    let mut exchange = exchange.clone();
    let expected = exchange.handshake.next_hkdf_nametag();
    if payload.message_nametag != expected {
        return Err(PairingError::UnexpectedNametag);
    }
    let opening = match contributory(exchange.handshake.read_message(payload, &expected))? {
        Ok(opening) => opening,
        Err(aborted) => return Ok(aborted),
    };
    let Some(remote_static) = exchange.handshake.remote_static().copied() else {
        return Err(PairingError::Noise(NoiseError::MissingKeyInMessage("static")));
    };
    if !exchange.peer_commitment.is_opened_by(&remote_static, &opening) {
        return Ok(abort(AbortReason::CommitmentMismatch));
    }
    let mut actions = Vec::new();
    if !exchange.sends_static_first {
        actions.push(write_static(&mut exchange, now, entropy)?);
    }
    let transport = exchange.handshake.finalize().map_err(PairingError::Noise)?;
    actions.push(PairingAction::Paired { remote_static });
    Ok((PairingState::Paired(PairedSession::new(transport, exchange.topic, remote_static)), actions))
}

/// Writes our static-key message (c or d), opening our commitment.
fn write_static(
    exchange: &mut Exchange,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<PairingAction, PairingError> {
    let nametag = exchange.handshake.next_hkdf_nametag();
    let payload = exchange
        .handshake
        .write_message(entropy, exchange.own_nonce.as_bytes(), &nametag)
        .map_err(PairingError::Noise)?;
    publish(&payload, &exchange.topic, now)
}

/// Applies the deadline of the current state.
pub(crate) fn expired(state: &PairingState, now: Timestamp) -> Option<Step> {
    match state {
        PairingState::ShowingQr(exposure) if now >= exposure.expires_at() => Some(abort(AbortReason::QrExpired)),
        PairingState::AwaitingConfirmation { exchange, .. } | PairingState::AwaitingPeerStatic(exchange)
            if now >= exchange.deadline =>
        {
            Some(abort(AbortReason::TimedOut))
        }
        _ => None,
    }
}

/// The events every role accepts once message b is done.
pub(crate) enum Common<'a> {
    Message(&'a WakuMessage),
    Confirm,
    Reject,
    Tick,
    Send(&'a [u8]),
    Cancel,
}

impl Common<'_> {
    pub(crate) const fn name(&self) -> &'static str {
        match self {
            Self::Message(_) => "Message",
            Self::Confirm => "ConfirmAuthcode",
            Self::Reject => "RejectAuthcode",
            Self::Tick => "Tick",
            Self::Send(_) => "Send",
            Self::Cancel => "Cancel",
        }
    }
}

/// Handles a common event in `state` (after the deadline check).
pub(crate) fn handle_common(
    state: &PairingState,
    event: Common<'_>,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    use PairingState as S;
    let unexpected = PairingError::UnexpectedEvent { event: event.name(), state: state.name() };
    match (state, event) {
        (_, Common::Tick) => Ok((state.clone(), Vec::new())),
        (S::Idle | S::ShowingQr(_) | S::AwaitingConfirmation { .. } | S::AwaitingPeerStatic(_), Common::Cancel) => {
            Ok(abort(AbortReason::Cancelled))
        }
        (S::AwaitingConfirmation { .. }, Common::Reject) => Ok(abort(AbortReason::AuthcodeRejected)),
        (S::AwaitingConfirmation { exchange, early }, Common::Confirm) => confirm(exchange, early, now, entropy),
        (S::AwaitingConfirmation { exchange, early }, Common::Message(m)) => early_message(exchange, early, m),
        (S::AwaitingPeerStatic(exchange), Common::Message(m)) => peer_static_message(exchange, m, now, entropy),
        (S::Paired(session), Common::Message(m)) => {
            let mut session = session.clone();
            let plaintext = session.receive(m)?;
            Ok((S::Paired(session), vec![PairingAction::Received(plaintext)]))
        }
        (S::Paired(session), Common::Send(plaintext)) => {
            let mut session = session.clone();
            let message = session.send(plaintext, now).map_err(PairingError::Noise)?;
            Ok((S::Paired(session), vec![PairingAction::Publish(message)]))
        }
        _ => Err(unexpected),
    }
}
