//! The scanner: reads the QR, sends message b, and after the users' confirmation completes the
//! handshake in the order its [`Variant`](super::Variant) prescribes.

use super::authcode::Authcode;
use super::commitment::{Commitment, CommitmentNonce};
use super::config::PairingConfig;
use super::exchange::{Common, Exchange, awaiting_confirmation, expired, handle_common};
use super::qr::PairingQr;
use super::session::PairedSession;
use super::{AbortReason, PairingAction, PairingError, PairingState, Step, abort, publish};
use crate::crypto::{CryptoError, KeyPair};
use crate::entropy::Entropy;
use crate::noise::{Handshake, HandshakeConfig, MessageNametag, NoiseError, Role};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// What the scanner's application reports.
#[derive(Debug, Clone, Copy)]
pub enum ScannerEvent<'a> {
    /// The camera read a QR; its nametag came out of band. Accepted before a pairing and after
    /// an abort (starting over).
    Scan {
        /// The QR text.
        qr: &'a str,
        /// The nametag shown with it.
        nametag: MessageNametag,
    },
    /// A message arrived on the pairing content topic.
    Message(&'a WakuMessage),
    /// The user confirmed that both devices show the same authcode.
    ConfirmAuthcode,
    /// The user said the authcodes differ.
    RejectAuthcode,
    /// Time passed (a timer fired).
    Tick,
    /// Send data on the paired channel.
    Send(&'a [u8]),
    /// The user cancelled.
    Cancel,
}

impl ScannerEvent<'_> {
    /// The event's name in [`STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Scan { .. } => "Scan",
            Self::Message(_) => "Message",
            Self::ConfirmAuthcode => "ConfirmAuthcode",
            Self::RejectAuthcode => "RejectAuthcode",
            Self::Tick => "Tick",
            Self::Send(_) => "Send",
            Self::Cancel => "Cancel",
        }
    }
}

/// The rows of [`STATE_MACHINE`]: this role's own, then those shared with the other role.
const SCANNER_ROWS: [crate::diagram::Transition; 25] = {
    use crate::diagram::{OUTSIDE, Transition as T};
    super::with_shared_rows([
        T::new(OUTSIDE, "new", "Idle", ""),
        T::new("Idle", "Scan", "AwaitingConfirmation", "message b sent, ShowAuthcode"),
        T::new("Idle", "Scan", "Aborted", "WrongApplication or InvalidKey"),
        T::new("Idle", "Tick", "Idle", ""),
        T::new("Idle", "Cancel", "Aborted", "Cancelled"),
        T::new("Aborted", "Scan", "AwaitingConfirmation", "start over"),
        T::new("Aborted", "Scan", "Aborted", "WrongApplication or InvalidKey"),
        T::new("AwaitingConfirmation", "Scan", "AwaitingConfirmation", "deadline passed, TimedOut, then start over"),
        T::new("AwaitingPeerStatic", "Scan", "AwaitingConfirmation", "deadline passed, TimedOut, then start over"),
    ])
};

/// The scanner's transitions over [`PairingState`] ([`crate::diagram`]), both variants.
pub const STATE_MACHINE: crate::diagram::Machine = {
    crate::diagram::Machine {
        id: "pairing_scanner",
        title: "Device pairing: scanner (WAKU2-DEVICE-PAIRING)",
        code: "`pairing::PairingState` (`PairingState::name`) driven by `Scanner::handle`, \
               `protocol/src/pairing/scanner.rs` and `exchange.rs`",
        summary: "The device that scans the QR and sends message b with its commitment. In the standard \
                  variant it answers the owner's static key (message d); in the camera-less variant it sends \
                  its static key first. A passed deadline aborts before any event is looked at; only `Scan` \
                  starts over. The scanner never shows a QR, so it has no `ShowingQr` state.",
        transitions: &SCANNER_ROWS,
    }
};

/// The device that scans the QR.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scanner {
    config: PairingConfig,
    static_key: KeyPair,
    state: PairingState,
}

impl Scanner {
    /// A scanner with this device's static key, in [`PairingState::Idle`].
    pub fn new(config: PairingConfig, static_key: KeyPair) -> Self {
        Self { config, static_key, state: PairingState::Idle }
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

    /// The authcode, once message b was sent.
    pub fn authcode(&self) -> Option<Authcode> {
        match &self.state {
            PairingState::AwaitingConfirmation { exchange, .. } | PairingState::AwaitingPeerStatic(exchange) => {
                Some(exchange.authcode())
            }
            _ => None,
        }
    }

    /// Handles one event. On `Err` the state is unchanged.
    pub fn handle(
        &mut self,
        event: ScannerEvent<'_>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<PairingAction>, PairingError> {
        // A passed deadline aborts the state first; only a restart proceeds past it. On `Err`
        // nothing changes (the abort is then announced by the next event).
        let expiry = expired(&self.state, now);
        let current = expiry.as_ref().map_or(&self.state, |(aborted, _)| aborted);
        let (state, more) = match event {
            ScannerEvent::Scan { qr, nametag } => self.scan(current, qr, nametag, now, entropy)?,
            _ if expiry.is_some() => (current.clone(), Vec::new()),
            event => self.step(event, now, entropy)?,
        };
        let mut actions = expiry.map(|(_, announced)| announced).unwrap_or_default();
        actions.extend(more);
        self.state = state;
        Ok(actions)
    }

    fn step(&self, event: ScannerEvent<'_>, now: Timestamp, entropy: &mut dyn Entropy) -> Result<Step, PairingError> {
        let common = match event {
            ScannerEvent::Scan { qr, nametag } => return self.scan(&self.state, qr, nametag, now, entropy),
            ScannerEvent::Message(message) => Common::Message(message),
            ScannerEvent::ConfirmAuthcode => Common::Confirm,
            ScannerEvent::RejectAuthcode => Common::Reject,
            ScannerEvent::Tick => Common::Tick,
            ScannerEvent::Send(data) => Common::Send(data),
            ScannerEvent::Cancel => Common::Cancel,
        };
        handle_common(&self.state, common, now, entropy)
    }

    /// Parses the QR, checks the application, and sends message b with our commitment. Entropy:
    /// the commitment nonce (32 bytes), then the ephemeral key (32 bytes).
    fn scan(
        &self,
        current: &PairingState,
        text: &str,
        nametag: MessageNametag,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Step, PairingError> {
        if !matches!(current, PairingState::Idle | PairingState::Aborted(_)) {
            return Err(PairingError::UnexpectedEvent { event: "Scan", state: current.name() });
        }
        let qr = PairingQr::parse(text)?;
        let (ours, theirs) = (&self.config.params, qr.params());
        if !ours.same_application(theirs) {
            return Ok(abort(AbortReason::WrongApplication {
                expected: (ours.application_name().into(), ours.application_version().into()),
                found: (theirs.application_name().into(), theirs.application_version().into()),
            }));
        }
        let variant = self.config.variant;
        let role = match variant.owner_role() {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        };
        let config = HandshakeConfig::new(variant.pattern(), role)
            .prologue(qr.prologue())
            .local_static(self.static_key.clone())
            .remote_ephemeral(*qr.ephemeral_key());
        let mut handshake = Handshake::new(config).map_err(PairingError::Noise)?;
        let own_nonce = CommitmentNonce::generate(entropy);
        let commitment = Commitment::commit(self.static_key.public(), &own_nonce);
        let message = match handshake.write_message(entropy, commitment.as_bytes(), &nametag) {
            Ok(m) => m,
            Err(NoiseError::Crypto(CryptoError::NonContributory)) => return Ok(abort(AbortReason::InvalidKey)),
            Err(e) => return Err(PairingError::Noise(e)),
        };
        let topic = theirs.content_topic().to_owned();
        let actions = vec![PairingAction::Subscribe(topic.clone()), publish(&message, &topic, now)?];
        let exchange = Exchange {
            authcode: Authcode::for_hash(handshake.handshake_hash()),
            handshake,
            topic,
            own_nonce,
            peer_commitment: *qr.commitment(),
            sends_static_first: !variant.owner_sends_static_first(),
            deadline: now.saturating_add(self.config.pairing_timeout),
        };
        Ok(awaiting_confirmation(exchange, actions))
    }
}

#[cfg(test)]
impl Scanner {
    pub(crate) fn static_key_for_tests(&self) -> &KeyPair {
        &self.static_key
    }
}
