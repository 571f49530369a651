//! Pairing our own devices (WAKU2-DEVICE-PAIRING) and managing them, as part of the peer.

use super::devices::{FlowInput, OwnDevice, PairingFlow};
use super::{Action, Device, Frame, FrameBody, MessageId, Notice, Peer, PeerError, frame};
use crate::entropy::Entropy;
use crate::identity::InstallationId;
use crate::pairing::{ContentTopicParams, PairingAction, PairingConfig, QrOwner, Scanner};
use crate::time::Timestamp;

impl Peer {
    pub(super) fn pairing_config(&self) -> Result<PairingConfig, PeerError> {
        let c = &self.state.config;
        let params = ContentTopicParams::new(&c.app_name, &c.app_version, "0")
            .map_err(|_| PeerError::InvalidContact("application name or version unusable in a topic"))?;
        Ok(PairingConfig::new(params))
    }

    /// Shows a pairing QR for a new device of ours (WAKU2-DEVICE-PAIRING, QR owner).
    pub(super) fn start_pairing(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let owner = QrOwner::new(self.pairing_config()?, self.state.me.device_key.clone());
        self.state.devices.flow = Some(PairingFlow::Owner(owner));
        self.state.devices.flow_topic = None;
        let result = match &mut self.state.devices.flow {
            Some(PairingFlow::Owner(o)) => o.handle(crate::pairing::OwnerEvent::ExposeQr, now, entropy),
            _ => Ok(Vec::new()),
        };
        self.on_pairing_actions(now, result?, entropy, actions)
    }

    /// Pairs with a device of ours that shows a QR (scanner).
    pub(super) fn scan_pairing_qr(
        &mut self,
        now: Timestamp,
        qr: &str,
        nametag: [u8; 16],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let mut scanner = Scanner::new(self.pairing_config()?, self.state.me.device_key.clone());
        let event = crate::pairing::ScannerEvent::Scan { qr, nametag: crate::noise::MessageNametag(nametag) };
        let result = scanner.handle(event, now, entropy)?;
        self.state.devices.flow = Some(PairingFlow::Scanner(scanner));
        self.state.devices.flow_topic = None;
        self.on_pairing_actions(now, result, entropy, actions)
    }

    pub(super) fn pairing_input(
        &mut self,
        now: Timestamp,
        input: FlowInput<'_>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let flow = self.state.devices.flow.as_mut().ok_or(PeerError::NoPairing)?;
        let result = flow.handle(input, now, entropy)?;
        self.on_pairing_actions(now, result, entropy, actions)
    }

    /// Carries out what the pairing state machine asked for.
    pub(super) fn on_pairing_actions(
        &mut self,
        now: Timestamp,
        result: Vec<PairingAction>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        for action in result {
            match action {
                PairingAction::ShowQr { qr, nametag, expires_at } => {
                    actions.push(Action::ShowPairingQr { qr: qr.to_string(), nametag: nametag.0, expires_at })
                }
                PairingAction::Subscribe(topic) => self.state.devices.flow_topic = Some(topic),
                PairingAction::Publish(message) => actions.push(Action::Publish(message)),
                PairingAction::ShowAuthcode(code) => actions.push(Action::ShowAuthcode(code.digits())),
                PairingAction::SetTimer(at) => self.state.devices.flow_timer = Some(at),
                PairingAction::Paired { .. } => self.on_paired(now, entropy, actions)?,
                PairingAction::Received(_) => {}
                PairingAction::Aborted(reason) => {
                    actions.push(Action::Notice(Notice::PairingAborted(format!("{reason:?}"))));
                    self.end_pairing();
                }
            }
        }
        Ok(())
    }

    pub(super) fn end_pairing(&mut self) {
        self.state.devices.flow = None;
        self.state.devices.flow_topic = None;
        self.state.devices.flow_timer = None;
    }

    /// The pairing completed: move the channel to a 37 session and say who we are on it.
    pub(super) fn on_paired(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let Some(paired) = self.state.devices.flow.as_ref().and_then(PairingFlow::take_session) else { return Ok(()) };
        self.end_pairing();
        let c = &self.state.config;
        let session = crate::noise::sessions::NoiseSession::new(
            paired.into_transport(),
            &c.app_name,
            &c.app_version,
            c.noise_topics,
            now,
        )?;
        let hello = self.hello_frame(now, false, entropy);
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.add_pending_own(&mut ctx, session, hello)
    }

    /// Our hello: repeated on a freshly paired channel, or `answer`ing the other device's.
    pub(super) fn hello_frame(&self, now: Timestamp, answer: bool, entropy: &mut dyn Entropy) -> Vec<u8> {
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let me = &self.state.me;
        let body =
            FrameBody::DeviceHello { identity: *me.identity.public(), installation: me.installation.clone(), answer };
        Frame { id: MessageId(id), sent_at_ms: now.as_millis(), body }.encode()
    }

    /// The first frame on a freshly paired channel: the other device's hello.
    pub(super) fn on_pending_own_frame(
        &mut self,
        now: Timestamp,
        index: usize,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let frame = Frame::decode(plaintext)?;
        let FrameBody::DeviceHello { identity, installation, answer } = frame.body else {
            return Err(PeerError::NotForUs);
        };
        if identity != *self.identity() || installation == self.state.me.installation {
            self.state.noise.drop_pending(index);
            actions.push(Action::Notice(Notice::PairingAborted("the paired device belongs to another account".into())));
            return Ok(());
        }
        let device = Device { identity, installation: installation.clone() };
        {
            let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
            noise.promote_pending(&mut ctx, index, device.clone());
        }
        if !answer {
            // The other device has not heard our hello yet (ours may have been lost).
            self.answer_hello(now, &device, entropy, actions)?;
        }
        self.state.devices.own.insert(installation.clone(), OwnDevice { paired_at: now, enabled: true });
        // 54: the bundle now lists the new device; republish it so our devices learn each
        // other's prekeys, and push it to contacts.
        self.state.x3dh.invalidate_bundle(now);
        actions.push(Action::Notice(Notice::OwnDevicePaired(installation)));
        Ok(())
    }

    /// Answers a hello of our own `device` on the session we share with it. A device repeats
    /// its hello until it hears ours, so each repeat that reaches an already promoted session
    /// means our earlier answer was lost.
    pub(super) fn answer_hello(
        &mut self,
        now: Timestamp,
        device: &Device,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let hello = self.hello_frame(now, true, entropy);
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.send(&mut ctx, device, &hello)?;
        Ok(())
    }

    pub(super) fn remove_own_device(&mut self, now: Timestamp, installation: &InstallationId) -> Result<(), PeerError> {
        let device = self.state.devices.own.get_mut(installation).ok_or(PeerError::NoPairing)?;
        device.enabled = false;
        let device = Device { identity: *self.identity(), installation: installation.clone() };
        self.state.noise.forget_device(&device);
        self.state.x3dh.invalidate_bundle(now);
        Ok(())
    }
}
