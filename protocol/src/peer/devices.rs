//! Our own devices (54 "Pairing", 37 NM "sync sessions"): pairing a new device with the
//! WakuPairing state machines, then proving over the paired channel that both devices belong to
//! the same account before the new device is enabled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Entropy;
use crate::identity::InstallationId;
use crate::pairing::{OwnerEvent, PairingAction, PairingError, QrOwner, Scanner, ScannerEvent};
use crate::time::Timestamp;

/// A device of our own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnDevice {
    /// When the pairing completed.
    pub paired_at: Timestamp,
    /// Enabled devices receive copies of what we send (54: removal is a manual disable).
    pub enabled: bool,
}

/// A pairing in progress, in one of the two roles of WAKU2-DEVICE-PAIRING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PairingFlow {
    /// We show the QR.
    Owner(QrOwner),
    /// We scanned a QR.
    Scanner(Scanner),
}

/// A user or network input for the pairing flow.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FlowInput<'a> {
    Message(&'a crate::waku::WakuMessage),
    Confirm(bool),
    Tick,
}

impl PairingFlow {
    pub(crate) fn handle(
        &mut self,
        input: FlowInput<'_>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<PairingAction>, PairingError> {
        match self {
            PairingFlow::Owner(owner) => {
                let event = match input {
                    FlowInput::Message(m) => OwnerEvent::Message(m),
                    FlowInput::Confirm(true) => OwnerEvent::ConfirmAuthcode,
                    FlowInput::Confirm(false) => OwnerEvent::RejectAuthcode,
                    FlowInput::Tick => OwnerEvent::Tick,
                };
                owner.handle(event, now, entropy)
            }
            PairingFlow::Scanner(scanner) => {
                let event = match input {
                    FlowInput::Message(m) => ScannerEvent::Message(m),
                    FlowInput::Confirm(true) => ScannerEvent::ConfirmAuthcode,
                    FlowInput::Confirm(false) => ScannerEvent::RejectAuthcode,
                    FlowInput::Tick => ScannerEvent::Tick,
                };
                scanner.handle(event, now, entropy)
            }
        }
    }

    /// The paired channel, once paired.
    pub(crate) fn take_session(&self) -> Option<crate::pairing::PairedSession> {
        match self {
            PairingFlow::Owner(o) => match o.state() {
                crate::pairing::PairingState::Paired(s) => Some(s.clone()),
                _ => None,
            },
            PairingFlow::Scanner(s) => match s.state() {
                crate::pairing::PairingState::Paired(s) => Some(s.clone()),
                _ => None,
            },
        }
    }
}

/// Own devices and the pairing in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Devices {
    pub(crate) own: BTreeMap<InstallationId, OwnDevice>,
    pub(crate) flow: Option<PairingFlow>,
    pub(crate) flow_topic: Option<String>,
    pub(crate) flow_timer: Option<Timestamp>,
}

impl Devices {
    /// Installation ids of enabled own devices.
    pub(crate) fn enabled(&self) -> impl Iterator<Item = &InstallationId> {
        self.own.iter().filter(|(_, d)| d.enabled).map(|(id, _)| id)
    }
}
