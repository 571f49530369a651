//! The scanner: reads the QR, sends message b, and after the users' confirmation completes the
//! handshake in the order its [`Variant`](super::Variant) prescribes.

use super::authcode::Authcode;
use super::commitment::{Commitment, CommitmentNonce};
use super::config::PairingConfig;
use super::exchange::{Common, Participant, contributory, handle_common};
use super::qr::PairingQr;
use super::session::PairedSession;
use super::{AbortReason, PairingAction, PairingError, PairingState, Step, abort, publish};
use crate::crypto::KeyPair;
use crate::entropy::Entropy;
use crate::noise::{Handshake, MessageNametag};
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
pub struct Scanner(Participant);

impl Scanner {
    /// A scanner with this device's static key, in [`PairingState::Idle`].
    pub fn new(config: PairingConfig, static_key: KeyPair) -> Self {
        Self(Participant::new(config, static_key))
    }

    /// The current state.
    pub fn state(&self) -> &PairingState {
        &self.0.state
    }

    /// The paired channel, once paired.
    pub fn session_mut(&mut self) -> Option<&mut PairedSession> {
        self.0.session_mut()
    }

    /// The authcode, once message b was sent.
    pub fn authcode(&self) -> Option<Authcode> {
        self.0.authcode()
    }

    /// Handles one event. On `Err` the state is unchanged. A passed deadline aborts first; only
    /// `Scan` starts over past it.
    pub fn handle(
        &mut self,
        event: ScannerEvent<'_>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<PairingAction>, PairingError> {
        let restart = matches!(event, ScannerEvent::Scan { .. });
        self.0.handle(now, restart, |me, current| step(me, current, event, now, entropy))
    }
}

fn step(
    me: &Participant,
    current: &PairingState,
    event: ScannerEvent<'_>,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    let common = match event {
        ScannerEvent::Scan { qr, nametag } => return scan(me, current, qr, nametag, now, entropy),
        ScannerEvent::Message(message) => Common::Message(message),
        ScannerEvent::ConfirmAuthcode => Common::Confirm,
        ScannerEvent::RejectAuthcode => Common::Reject,
        ScannerEvent::Tick => Common::Tick,
        ScannerEvent::Send(data) => Common::Send(data),
        ScannerEvent::Cancel => Common::Cancel,
    };
    handle_common(current, common, now, entropy)
}

/// Parses the QR, checks the application, and sends message b with our commitment. Entropy:
/// the commitment nonce (32 bytes), then the ephemeral key (32 bytes).
fn scan(
    me: &Participant,
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
    let (ours, theirs) = (&me.config.params, qr.params());
    if !ours.same_application(theirs) {
        return Ok(abort(AbortReason::WrongApplication {
            expected: (ours.application_name().into(), ours.application_version().into()),
            found: (theirs.application_name().into(), theirs.application_version().into()),
        }));
    }
    let config = me.handshake_config(false).prologue(qr.prologue()).remote_ephemeral(*qr.ephemeral_key());
    let mut handshake = Handshake::new(config).map_err(PairingError::Noise)?;
    let own_nonce = CommitmentNonce::generate(entropy);
    let commitment = Commitment::commit(me.static_key.public(), &own_nonce);
    let message = match contributory(handshake.write_message(entropy, commitment.as_bytes(), &nametag))? {
        Ok(message) => message,
        Err(aborted) => return Ok(aborted),
    };
    let topic = theirs.content_topic().to_owned();
    let actions = vec![PairingAction::Subscribe(topic.clone()), publish(&message, &topic, now)?];
    Ok(me.after_message_b(handshake, topic, own_nonce, *qr.commitment(), now, actions))
}

#[cfg(test)]
impl Scanner {
    pub(crate) fn static_key_for_tests(&self) -> &KeyPair {
        &self.0.static_key
    }
}
