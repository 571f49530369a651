//! The QR owner: exposes a QR, receives message b, and after the users' confirmation completes
//! the handshake in the order its [`Variant`](super::Variant) prescribes.

use std::time::Duration;

use super::commitment::{Commitment, CommitmentNonce};
use super::config::PairingConfig;
use super::exchange::{Common, Participant, contributory, handle_common};
use super::qr::PairingQr;
use super::{AbortReason, PairingAction, PairingError, PairingState, Step, abort, payload_on};
use crate::crypto::KeyPair;
use crate::entropy::Entropy;
use crate::noise::{Handshake, MessageNametag};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// A QR on display: what it contains and the secrets behind it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exposure {
    qr: PairingQr,
    nametag: MessageNametag,
    ephemeral: KeyPair,
    nonce: CommitmentNonce,
    expires_at: Timestamp,
}

impl Exposure {
    /// Draws a fresh ephemeral key, commitment nonce and nametag, in this order (32, 32 and 16
    /// bytes of entropy).
    fn generate(config: &PairingConfig, static_key: &KeyPair, now: Timestamp, entropy: &mut dyn Entropy) -> Self {
        let ephemeral = KeyPair::generate(entropy);
        let nonce = CommitmentNonce::generate(entropy);
        let mut nametag = [0u8; 16];
        entropy.fill(&mut nametag);
        let commitment = Commitment::commit(static_key.public(), &nonce);
        let qr = PairingQr::new(config.params.clone(), *ephemeral.public(), commitment);
        Self { qr, nametag: MessageNametag(nametag), ephemeral, nonce, expires_at: expiry(now, config.qr_lifetime) }
    }

    /// The QR on display.
    pub fn qr(&self) -> &PairingQr {
        &self.qr
    }

    /// The nametag of message b, passed out of band.
    pub fn nametag(&self) -> &MessageNametag {
        &self.nametag
    }

    /// When the QR stops being accepted.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

fn expiry(now: Timestamp, lifetime: Duration) -> Timestamp {
    now.saturating_add(lifetime)
}

/// What the QR owner's application reports.
#[derive(Debug, Clone, Copy)]
pub enum OwnerEvent<'a> {
    /// Show a (new) QR: fresh ephemeral key, commitment and nametag. Accepted before a pairing,
    /// while a QR is shown (replacing it) and after an abort (starting over).
    ExposeQr,
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

impl<'a> OwnerEvent<'a> {
    /// The event's name in [`STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self.common() {
            Some(common) => common.name(),
            None => "ExposeQr",
        }
    }

    /// The event as one both roles handle alike; `None` for this role's own.
    const fn common(&self) -> Option<Common<'a>> {
        Some(match *self {
            Self::ExposeQr => return None,
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
const OWNER_ROWS: [crate::diagram::Transition; 29] = {
    use crate::diagram::{ANY_EVENT, OUTSIDE, Transition as T};
    super::with_shared_rows([
        T::new(OUTSIDE, "new", "Idle", ""),
        T::new("Idle", "ExposeQr", "ShowingQr", "fresh ephemeral key, commitment and nametag"),
        T::new("Idle", "Tick", "Idle", ""),
        T::new("Idle", "Cancel", "Aborted", "Cancelled"),
        T::new("ShowingQr", "ExposeQr", "ShowingQr", "a new QR replaces the old one"),
        T::new("ShowingQr", "Tick", "ShowingQr", "before the QR expires"),
        T::new("ShowingQr", "Message", "AwaitingConfirmation", "message b reads, ShowAuthcode"),
        T::new("ShowingQr", "Message", "Aborted", "InvalidKey or MalformedCommitment"),
        T::new("ShowingQr", "Cancel", "Aborted", "Cancelled"),
        T::new("Aborted", "ExposeQr", "ShowingQr", "start over"),
        T::new("AwaitingConfirmation", "ExposeQr", "ShowingQr", "deadline passed, TimedOut, then start over"),
        T::new("AwaitingPeerStatic", "ExposeQr", "ShowingQr", "deadline passed, TimedOut, then start over"),
        T::new("ShowingQr", ANY_EVENT, "Aborted", "QR expired, QrExpired"),
    ])
};

/// The QR owner's transitions over [`PairingState`] ([`crate::diagram`]), both variants.
pub const STATE_MACHINE: crate::diagram::Machine = {
    crate::diagram::Machine {
        id: "pairing_owner",
        title: "Device pairing: QR owner (WAKU2-DEVICE-PAIRING)",
        code: "`pairing::PairingState` (`PairingState::name`) driven by `QrOwner::handle`, \
               `protocol/src/pairing/owner.rs` and `exchange.rs`",
        summary: "The device that shows the QR. In the standard variant it sends its static key first (message \
                  c) after the user confirms; in the camera-less variant it answers the scanner's. A passed \
                  deadline (QR lifetime, then pairing timeout) aborts before any event is looked at; only \
                  `ExposeQr` starts over. The peer (`peer/own_pairing.rs`) wraps this machine and turns `Paired` \
                  into a Noise session with the new device.",
        transitions: &OWNER_ROWS,
    }
};

/// The device that shows the QR.
pub type QrOwner = Participant<Owner>;

/// The role of [`QrOwner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner;

impl QrOwner {
    /// Handles one event. On `Err` the state is unchanged. A passed deadline aborts first; only
    /// `ExposeQr` starts over past it.
    pub fn handle(
        &mut self,
        event: OwnerEvent<'_>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<PairingAction>, PairingError> {
        let restart = matches!(event, OwnerEvent::ExposeQr);
        self.run(now, restart, |me, current| step(me, current, event, now, entropy))
    }
}

fn step(
    me: &QrOwner,
    current: &PairingState,
    event: OwnerEvent<'_>,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    let Some(common) = event.common() else { return expose(me, current, now, entropy) };
    if let (Common::Message(message), PairingState::ShowingQr(exposure)) = (&common, current) {
        return first_message(me, exposure, message, now);
    }
    handle_common(current, common, now, entropy)
}

fn expose(
    me: &QrOwner,
    current: &PairingState,
    now: Timestamp,
    entropy: &mut dyn Entropy,
) -> Result<Step, PairingError> {
    if !matches!(current, PairingState::Idle | PairingState::ShowingQr(_) | PairingState::Aborted(_)) {
        return Err(PairingError::UnexpectedEvent { event: "ExposeQr", state: current.name() });
    }
    let exposure = Exposure::generate(&me.config, &me.static_key, now, entropy);
    let actions = vec![
        PairingAction::ShowQr { qr: exposure.qr.clone(), nametag: exposure.nametag, expires_at: exposure.expires_at },
        PairingAction::Subscribe(me.config.params.content_topic().to_owned()),
        PairingAction::SetTimer(exposure.expires_at),
    ];
    Ok((PairingState::ShowingQr(exposure), actions))
}

/// Message b: the scanner's ephemeral key and its commitment.
fn first_message(
    me: &QrOwner,
    exposure: &Exposure,
    message: &WakuMessage,
    now: Timestamp,
) -> Result<Step, PairingError> {
    let topic = me.config.params.content_topic();
    let payload = payload_on(message, topic)?;
    if payload.message_nametag != exposure.nametag {
        return Err(PairingError::UnexpectedNametag);
    }
    let config = me.handshake_config(true).prologue(exposure.qr.prologue()).local_ephemeral(exposure.ephemeral.clone());
    let mut handshake = Handshake::new(config).map_err(PairingError::Noise)?;
    let opening = match contributory(handshake.read_message(&payload, &exposure.nametag))? {
        Ok(opening) => opening,
        Err(aborted) => return Ok(aborted),
    };
    let Some(peer_commitment) = Commitment::from_slice(&opening) else {
        return Ok(abort(AbortReason::MalformedCommitment));
    };
    Ok(me.after_message_b(handshake, topic.to_owned(), exposure.nonce.clone(), peer_commitment, now, Vec::new()))
}

#[cfg(test)]
impl Exposure {
    pub(crate) fn ephemeral_for_tests(&self) -> &KeyPair {
        &self.ephemeral
    }

    pub(crate) fn nonce_for_tests(&self) -> &CommitmentNonce {
        &self.nonce
    }
}
