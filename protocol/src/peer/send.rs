//! The send side of the peer: new messages, sync copies to our devices, retries and
//! acknowledgements, over whichever key exchange the chat uses.

use super::contacts::{Contact, ContactCard};
use super::{Action, Device, Frame, FrameBody, KeyExchange, MessageId, Peer, PeerError, frame};
use crate::entropy::Entropy;
use crate::identity::IdentityKey;
use crate::time::Timestamp;

impl Peer {
    pub(super) fn send_text(
        &mut self,
        now: Timestamp,
        to: IdentityKey,
        body: Vec<u8>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if to == *self.identity() {
            return Err(PeerError::SelfMessage);
        }
        if body.len() > frame::MAX_BODY_LEN {
            return Err(PeerError::BodyTooLarge(body.len()));
        }
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        self.send_with_id(now, to, body, MessageId(id), entropy, actions)
    }

    /// Sends a chat message with a given id (a new one, or a relayed one in N11M).
    pub(super) fn send_with_id(
        &mut self,
        now: Timestamp,
        to: IdentityKey,
        body: Vec<u8>,
        id: MessageId,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if self.state.blocked.contains(&to) {
            return Err(PeerError::Blocked(to));
        }
        // Writing to a stranger whose request is pending accepts it.
        self.admit(now, &to, entropy, actions)?;
        let preferred = self.state.config.preferred_key_exchange;
        let contact =
            self.state.contacts.entry(to).or_insert_with(|| Contact::from_card(&ContactCard::identity_only(to)));
        let kx = contact.negotiate(preferred);
        let frame = Frame { id, sent_at_ms: now.as_millis(), body: FrameBody::Text(body) };
        actions.push(Action::Queued(frame.id));
        self.sync_to_own_devices(now, &to, &frame, entropy, actions)?;
        match kx {
            KeyExchange::Noise if self.relay_through_writer(&to) => self.relay(now, &to, &frame, entropy, actions),
            KeyExchange::Noise => self.send_frame_noise(now, &to, &frame, entropy, actions),
            KeyExchange::X3dh => self.send_frame_x3dh(now, &to, &frame, entropy, actions),
        }
    }

    /// Keeps `frame` open for devices of `to` that appear during the handshake window.
    fn open_for_new_devices(&mut self, now: Timestamp, to: &IdentityKey, frame: &Frame) {
        let until = now.saturating_add(self.state.config.handshake_timeout);
        self.state.open.insert(frame.id, (*to, until));
        self.state.outbox.enqueue_open(frame);
    }

    /// The installations of `to` a message fans out to: at most `max_devices`, most recently
    /// active first (54 "Sending messages to a paired group").
    pub(super) fn x3dh_targets(&self, to: &IdentityKey) -> Vec<Device> {
        let mut installations = self.state.x3dh.installations_of(to);
        if let Some(contact) = self.state.contacts.get(to) {
            let rank = |i: &crate::identity::InstallationId| contact.devices.get(i).map(|d| d.last_activity);
            installations.sort_by(|a, b| rank(b).cmp(&rank(a)).then_with(|| a.cmp(b)));
        }
        installations.truncate(self.state.config.max_devices);
        installations.into_iter().map(|installation| Device { identity: *to, installation }).collect()
    }

    /// Queues `frame` for the installations of `to` and sends one envelope with an entry for
    /// each; without any bundle, a no-bundle first message (no forward secrecy) open to whichever
    /// installation answers.
    fn send_frame_x3dh(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        frame: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let targets = self.x3dh_targets(to);
        let bytes = frame.encode();
        if targets.is_empty() {
            self.open_for_new_devices(now, to, frame);
            return self.send_blind(now, &frame.id, to, &bytes, entropy, actions);
        }
        self.state.outbox.enqueue(frame, targets.iter().cloned());
        // Devices of the contact learned during the delivery window (a bundle pushed after a
        // pairing) still get the message, up to the fan-out bound.
        self.open_for_new_devices(now, to, frame);
        let frames: Vec<_> = targets.iter().map(|d| (d.installation.clone(), bytes.clone())).collect();
        let (mut ctx, x3dh, enabled) = Self::ctx_x3dh(&mut self.state, now, entropy, actions);
        let sent = x3dh.send(&mut ctx, to, &frames, &enabled)?;
        for installation in sent {
            let device = Device { identity: *to, installation };
            self.state.outbox.mark_sent(&frame.id, &device, now, &self.state.config.delivery);
        }
        Ok(())
    }

    /// A no-bundle message to any installation of `to` (no device known yet), retried until a
    /// device of `to` becomes reachable.
    pub(super) fn send_blind(
        &mut self,
        now: Timestamp,
        id: &MessageId,
        to: &IdentityKey,
        frame: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let (mut ctx, x3dh, enabled) = Self::ctx_x3dh(&mut self.state, now, entropy, actions);
        x3dh.send_without_bundle(&mut ctx, to, frame, &enabled)?;
        self.state.outbox.mark_blind_sent(id, to, now, &self.state.config.delivery);
        Ok(())
    }

    /// Encrypts `frame` for one device over the key exchange its chat uses (our own devices:
    /// the Noise sync sessions from pairing) and publishes it. False if no session could carry it.
    pub(super) fn transmit(
        &mut self,
        now: Timestamp,
        device: &Device,
        frame: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<bool, PeerError> {
        let own = device.identity == *self.identity();
        let chosen = self.state.contacts.get(&device.identity).and_then(|c| c.chosen);
        if !own && chosen == Some(KeyExchange::X3dh) {
            let (mut ctx, x3dh, enabled) = Self::ctx_x3dh(&mut self.state, now, entropy, actions);
            let sent =
                x3dh.send(&mut ctx, &device.identity, &[(device.installation.clone(), frame.to_vec())], &enabled)?;
            if sent.is_empty() && !x3dh.installations_of(&device.identity).contains(&device.installation) {
                // A device we know without its bundle (it reached us over Noise while our chat
                // is X3DH): the no-bundle fallback carries the frame and our bundle, so the
                // device answers over X3DH (§6.7: both sides converge on X3DH). Waiting would
                // wait for a session nothing creates.
                x3dh.send_without_bundle(&mut ctx, &device.identity, frame, &enabled)?;
                return Ok(true);
            }
            return Ok(!sent.is_empty());
        }
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.send(&mut ctx, device, frame)
    }

    /// N11M: whether a device of ours writes the session with `to` while we hold none ourselves.
    fn relay_through_writer(&self, to: &IdentityKey) -> bool {
        self.state.config.noise_multi_device == super::NoiseMultiDevice::N11m
            && self.state.noise.devices_of(to).is_empty()
            && self.state.noise.mirror_writer_for(to).is_some()
    }

    /// N11M: asks the writer of the shared session with `to` to send `frame`'s body.
    fn relay(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        frame: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let (Some(writer), FrameBody::Text(body)) = (self.state.noise.mirror_writer_for(to), &frame.body) else {
            return Ok(());
        };
        let relay = Frame {
            id: frame.id,
            sent_at_ms: frame.sent_at_ms,
            body: FrameBody::Relay { to: *to, body: body.clone() },
        };
        let device = Device { identity: *self.identity(), installation: writer };
        self.state.outbox.enqueue(&relay, [device.clone()]);
        self.send_to_device(now, &device, &relay.id, &relay.encode(), entropy, actions)
    }

    /// Queues `frame` for every enabled device of ours we share a sync session with.
    pub(super) fn send_to_own_devices(
        &mut self,
        now: Timestamp,
        frame: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let me = *self.identity();
        let synced = self.state.noise.devices_of(&me);
        let targets: Vec<Device> = self
            .state
            .devices
            .enabled()
            .map(|installation| Device { identity: me, installation: installation.clone() })
            .filter(|d| synced.contains(d))
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        self.state.outbox.enqueue(frame, targets.iter().cloned());
        let bytes = frame.encode();
        for device in targets {
            self.send_to_device(now, &device, &frame.id, &bytes, entropy, actions)?;
        }
        Ok(())
    }

    /// Sends a copy of a message we sent to every enabled device of ours (37 NM sync sessions).
    pub(super) fn sync_to_own_devices(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        sent: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let FrameBody::Text(body) = &sent.body else { return Ok(()) };
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let copy = Frame {
            id: MessageId(id),
            sent_at_ms: sent.sent_at_ms,
            body: FrameBody::SentSync { to: *to, body: body.clone() },
        };
        self.send_to_own_devices(now, &copy, entropy, actions)
    }

    /// Queues `frame` for every active device of `to` and sends it to them; while a discovery
    /// handshake runs (at first contact, then daily) devices that answer it join the message.
    pub(super) fn send_frame_noise(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        frame: &Frame,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let devices = self.state.noise.devices_of(to);
        self.state.outbox.enqueue(frame, devices.iter().cloned());
        if self.reach_noise_contact(now, to, devices.is_empty(), entropy, actions)? {
            self.open_for_new_devices(now, to, frame);
        }
        for device in devices {
            self.send_to_device(now, &device, &frame.id, &frame.encode(), entropy, actions)?;
        }
        Ok(())
    }

    /// Starts a discovery handshake with `to` when one is due and, when it has no usable session
    /// (`no_session`), re-activation handshakes for its stale sessions. True if a handshake
    /// started, so new devices may still join what is being sent.
    fn reach_noise_contact(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        no_session: bool,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<bool, PeerError> {
        let stale = if no_session { self.state.noise.stale_devices_of(to) } else { Vec::new() };
        self.reach_noise_devices(now, to, stale, entropy, actions)
    }

    /// Like [`Self::reach_noise_contact`], re-activating the given stale sessions.
    fn reach_noise_devices(
        &mut self,
        now: Timestamp,
        to: &IdentityKey,
        stale: Vec<([u8; 32], crate::noise::sessions::SessionId)>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<bool, PeerError> {
        let discover = self.state.noise.discovering(to, now);
        if !discover && stale.is_empty() {
            return Ok(false);
        }
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        if discover {
            noise.start(&mut ctx, to)?;
        }
        // 37: a stale session is not re-opened; a new handshake binds it through its prologue.
        for (ct_id, sid) in &stale {
            noise.reactivate(&mut ctx, to, *ct_id, sid)?;
        }
        Ok(true)
    }

    /// Encrypts a queued frame for one device and records the send. Without a usable session
    /// the message waits for one (a handshake with a Noise contact is started if due), so a
    /// retry never spins on a device it cannot reach.
    pub(super) fn send_to_device(
        &mut self,
        now: Timestamp,
        device: &Device,
        id: &MessageId,
        frame: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if self.transmit(now, device, frame, entropy, actions)? {
            self.state.outbox.mark_sent(id, device, now, &self.state.config.delivery);
            return Ok(());
        }
        self.state.outbox.mark_waiting(id, device);
        let noise_contact =
            self.state.contacts.get(&device.identity).and_then(|c| c.chosen) == Some(KeyExchange::Noise);
        if noise_contact && device.identity != *self.identity() {
            // This device's own stale session is re-activated even while the contact's other
            // devices have active ones (it turned stale unanswered, say).
            let stale = match self.state.noise.stale_session_of(device) {
                Some(own) => vec![own],
                None if self.state.noise.devices_of(&device.identity).is_empty() => {
                    self.state.noise.stale_devices_of(&device.identity)
                }
                None => Vec::new(),
            };
            self.reach_noise_devices(now, &device.identity, stale, entropy, actions)?;
        }
        Ok(())
    }

    pub(super) fn flush_acks(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        for (device, ids) in self.state.acks.due(now) {
            let mut id = [0u8; frame::MESSAGE_ID_LEN];
            entropy.fill(&mut id);
            let ack = Frame { id: MessageId(id), sent_at_ms: now.as_millis(), body: FrameBody::Ack(ids) };
            self.transmit(now, &device, &ack.encode(), entropy, actions)?;
        }
        Ok(())
    }

    /// Ends the chat with `with`: its Noise sessions (37 termination, public or private) and its
    /// X3DH sessions (retired, see [`super::Event::EndChat`]).
    pub(super) fn end_chat(
        &mut self,
        now: Timestamp,
        with: &IdentityKey,
        public: bool,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let mut id = [0u8; frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let terminate = |sid: &crate::noise::sessions::SessionId| {
            Frame {
                id: MessageId(id),
                sent_at_ms: now.as_millis(),
                body: FrameBody::Terminate(sid.termination_token()),
            }
            .encode()
        };
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        let ended = noise.end_sessions(&mut ctx, with, public, terminate)? + self.state.x3dh.end_sessions(with);
        if ended == 0 {
            return Err(PeerError::UnknownContact(*with));
        }
        Ok(())
    }
}
