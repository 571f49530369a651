//! The scanner: reads the QR, sends message b, and after the users' confirmation completes the
//! handshake in the order its [`Variant`](super::Variant) prescribes.

use super::commitment::{Commitment, CommitmentNonce};
use super::exchange::{Common, Participant, contributory, handle_common};
use super::qr::PairingQr;
use super::{AbortReason, PairingAction, PairingError, PairingState, Step, abort, publish};
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

impl<'a> ScannerEvent<'a> {
    /// The event's name in [`STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self.common() {
            Ok(common) => common.name(),
            Err(_) => "Scan",
        }
    }

    /// The event as one both roles handle alike, or the QR and nametag of a `Scan`.
    const fn common(&self) -> Result<Common<'a>, (&'a str, MessageNametag)> {
        Ok(match *self {
            Self::Scan { qr, nametag } => return Err((qr, nametag)),
            Self::Message(message) => Common::Message(message),
            Self::ConfirmAuthcode => Common::Confirm,
            Self::RejectAuthcode => Common::Reject,
            Self::Tick => Common::Tick,
            Self::Send(data) => Common::Send(data),
            Self::Cancel => Common::Cancel,
        })
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
pub type Scanner = Participant<Scanning>;

/// The role of [`Scanner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scanning;

impl Scanner {
    /// Handles one event. On `Err` the state is unchanged. A passed deadline aborts first; only
    /// `Scan` starts over past it.
    pub fn handle(
        &mut self,
        event: ScannerEvent<'_>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<PairingAction>, PairingError> {
        let restart = matches!(event, ScannerEvent::Scan { .. });
        self.run(now, restart, |me, current| step(me, current, event, now, entropy))
    }
}

fn step(
    me: &Scanner,
    current: &PairingState,
    event: ScannerEvent<'_>,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    match event.common() {
        Ok(common) => handle_common(current, common, now, entropy),
        Err((qr, nametag)) => scan(me, current, qr, nametag, now, entropy),
    }
}

/// Parses the QR, checks the application, and sends message b with our commitment. Entropy:
/// the commitment nonce (32 bytes), then the ephemeral key (32 bytes).
fn scan(
    me: &Scanner,
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
