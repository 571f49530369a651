//! The receive side of the peer: Waku messages and store answers, routed to the key exchange
//! that owns them, then frames delivered once and acknowledged.

use super::delivery::OutboxEvent;
use super::devices::FlowInput;
use super::noise_path::{Introduced, NoiseInput};
use super::x3dh_path::{Standing, X3dhInput};
use super::{Action, Delivery, Device, Direction, Frame, FrameBody, KeyExchange, Notice, Peer, PeerError, RequestId};
use crate::entropy::Entropy;
use crate::identity::IdentityKey;
use crate::time::Timestamp;
use crate::waku::WakuMessage;

impl Peer {
    pub(super) fn on_store_result(
        &mut self,
        now: Timestamp,
        request: RequestId,
        messages: Vec<WakuMessage>,
        next_cursor: Option<Vec<u8>>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let query = self.state.store_queries.remove(&request).ok_or(PeerError::UnexpectedStoreResult(request))?;
        for message in messages {
            // A stored message that is not ours (or a duplicate) is expected on shared topics.
            let before = self.state.clone();
            let mut local = Vec::new();
            match self.on_received(now, &message, entropy, &mut local) {
                Ok(()) => actions.extend(local),
                Err(_) => self.state = before,
            }
        }
        if let Some(cursor) = next_cursor {
            self.query_store(query.topics, query.start, query.end, Some(cursor), actions);
        }
        Ok(())
    }

    pub(super) fn on_received(
        &mut self,
        now: Timestamp,
        message: &WakuMessage,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if !self.state.subscriptions.contains(&message.content_topic) {
            return Err(PeerError::UnknownTopic(message.content_topic.clone()));
        }
        if self.state.devices.flow_topic.as_deref() == Some(message.content_topic.as_str()) {
            return self.pairing_input(now, FlowInput::Message(message), entropy, actions);
        }
        // A public termination (37) is a version-0 message on a Noise session topic.
        let termination = crate::noise::sessions::parse_public_termination(message).is_some();
        if message.effective_version() != crate::waku::message::VERSION_NOISE && !termination {
            return self.on_x3dh_message(now, message, entropy, actions);
        }
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        match noise.on_message(&mut ctx, message)? {
            NoiseInput::PendingOwnFrame(index, plaintext) => {
                self.on_pending_own_frame(now, index, &plaintext, entropy, actions)
            }
            NoiseInput::HandshakeStep => Ok(()),
            NoiseInput::Introduced(introduced) => self.on_introduced(now, *introduced, entropy, actions),
            NoiseInput::Established(device) => self.on_established(now, device, entropy, actions),
            NoiseInput::Answered(device, session) => self.on_answered(now, device, session, entropy, actions),
            NoiseInput::Frame(device, plaintext) => self.on_frame(now, &device, &plaintext, entropy, actions),
            NoiseInput::MirrorFrame(device, plaintext) => self.on_mirror_frame(now, &device, &plaintext, actions),
            NoiseInput::Terminated(device) => {
                actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
                Ok(())
            }
        }
    }

    /// A `ProtocolMessage` (53): bundles are learned, our entry decrypted and its frame handled.
    fn on_x3dh_message(
        &mut self,
        now: Timestamp,
        message: &WakuMessage,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let enabled = self.state.devices.enabled().cloned().collect();
        let super::PeerState { me, config, x3dh, contacts, blocked, requests, .. } = &mut self.state;
        let own = *me.identity.public();
        let standing = |i: &IdentityKey| super::requests::standing(contacts, blocked, requests, &own, i);
        let mut ctx = super::Ctx { now, entropy, me, config, actions };
        let input = x3dh.on_message(&mut ctx, message, &enabled, &standing)?;
        let (device, plaintext, learned) = match input {
            X3dhInput::Frame(device, plaintext, learned) => (device, plaintext, learned),
            X3dhInput::Stranger(device, plaintext, held) => {
                self.on_stranger(device, plaintext, *held, KeyExchange::X3dh, actions);
                return Ok(());
            }
            X3dhInput::Nothing(learned) => {
                for identity in learned {
                    self.adopt_installations(now, &identity, entropy, actions)?;
                }
                return Ok(());
            }
        };
        for identity in learned.iter().filter(|i| **i != device.identity) {
            self.adopt_installations(now, identity, entropy, actions)?;
        }
        self.on_heard(now, &device, KeyExchange::X3dh, entropy, actions)?;
        if plaintext.is_empty() {
            // A bundle advert (54 "Partitioned devices"): the bundle was learned above.
            return Ok(());
        }
        self.on_frame(now, &device, &plaintext, entropy, actions)
    }

    /// A contact's device reached us over `kx`: record it, and let it join what is open to new
    /// devices of the contact.
    pub(super) fn on_heard(
        &mut self,
        now: Timestamp,
        device: &Device,
        kx: KeyExchange,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if kx == KeyExchange::Noise {
            return self.on_established(now, device.clone(), entropy, actions);
        }
        if let Some(contact) = self.state.contacts.get_mut(&device.identity) {
            contact.heard_via(kx);
            contact.saw_device(&device.installation, now);
        }
        self.adopt_devices(now, device, entropy, actions)?;
        self.adopt_installations(now, &device.identity, entropy, actions)
    }

    /// A handshake we answered completed with `device`. We answer only contacts, so the caller
    /// is one unless it was blocked meanwhile: then the session is dropped.
    fn on_answered(
        &mut self,
        now: Timestamp,
        device: Device,
        session: Box<crate::noise::sessions::NoiseSession>,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if self.standing_of(&device.identity) != Standing::Contact {
            return Ok(());
        }
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        noise.add_answered(&mut ctx, device.clone(), *session);
        self.on_established(now, device, entropy, actions)
    }

    /// A Noise message 1 introduced its caller: a contact is answered, a stranger becomes a
    /// contact request (answered once accepted), a blocked identity or one whose request is
    /// pending is dropped (its caller repeats message 1, so nothing is lost by dropping it).
    fn on_introduced(
        &mut self,
        now: Timestamp,
        introduced: Introduced,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        match self.standing_of(&introduced.device.identity) {
            Standing::Contact => {
                let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
                noise.answer(&mut ctx, &introduced)
            }
            Standing::Blocked => Ok(()),
            Standing::Requested => {
                self.state.requests.add_noise_first(&introduced.device.identity, &introduced.message);
                Ok(())
            }
            Standing::Stranger => {
                self.on_noise_stranger(introduced.device, introduced.message, actions);
                Ok(())
            }
        }
    }

    fn standing_of(&self, identity: &IdentityKey) -> Standing {
        let s = &self.state;
        super::requests::standing(&s.contacts, &s.blocked, &s.requests, s.me.identity.public(), identity)
    }

    /// Installations of `identity` learned from its bundle join its open messages, up to the
    /// fan-out bound.
    fn adopt_installations(
        &mut self,
        now: Timestamp,
        identity: &crate::identity::IdentityKey,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if self.state.contacts.get(identity).and_then(|c| c.chosen) != Some(KeyExchange::X3dh) {
            return Ok(());
        }
        for device in self.x3dh_targets(identity) {
            self.adopt_devices(now, &device, entropy, actions)?;
        }
        Ok(())
    }

    /// A device of a contact became reachable: it joins the messages still open to new devices
    /// of that contact (up to the fan-out bound), and what waited for it is sent.
    fn adopt_devices(
        &mut self,
        now: Timestamp,
        device: &Device,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let bound = self.state.config.max_devices;
        for (id, (identity, until)) in &self.state.open {
            if *identity == device.identity && *until >= now && self.state.outbox.device_count(id) < bound {
                self.state.outbox.add_target(id, device.clone());
            }
        }
        for (id, frame) in self.state.outbox.waiting_for(device) {
            self.send_to_device(now, device, &id, &frame, entropy, actions)?;
        }
        Ok(())
    }

    /// A session with `device` exists: record the device, adopt it into open messages, and send
    /// what waited for it.
    pub(super) fn on_established(
        &mut self,
        now: Timestamp,
        device: Device,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        if device.identity != *self.identity() {
            if let Some(contact) = self.state.contacts.get_mut(&device.identity) {
                contact.heard_via(KeyExchange::Noise);
                contact.saw_device(&device.installation, now);
            }
            if self.state.config.noise_multi_device == super::NoiseMultiDevice::N11m {
                self.share_session(now, &device, entropy, actions)?;
            }
        }
        self.adopt_devices(now, &device, entropy, actions)
    }

    /// N11M: hands the session with `device` to our enabled devices, as read-only mirrors.
    fn share_session(
        &mut self,
        now: Timestamp,
        device: &Device,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let Some(bytes) = self.state.noise.export_session(device) else { return Ok(()) };
        let mut id = [0u8; super::frame::MESSAGE_ID_LEN];
        entropy.fill(&mut id);
        let sync = Frame { id: super::MessageId(id), sent_at_ms: now.as_millis(), body: FrameBody::StateSync(bytes) };
        self.send_to_own_devices(now, &sync, entropy, actions)
    }

    /// A decrypted frame from `device`.
    pub(super) fn on_frame(
        &mut self,
        now: Timestamp,
        device: &Device,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let frame = Frame::decode(plaintext)?;
        if let Some(contact) = self.state.contacts.get_mut(&device.identity) {
            contact.saw_device(&device.installation, now);
        }
        let config = self.state.config.delivery;
        match frame.body {
            FrameBody::Ack(ids) => {
                for id in ids {
                    // A device that answered a message still open to new devices (a no-bundle
                    // first contact, a discovery) counts once it acknowledges.
                    if self.state.open.get(&id).is_some_and(|(identity, _)| *identity == device.identity) {
                        self.state.outbox.add_target(&id, device.clone());
                    }
                    match self.state.outbox.acknowledge(&id, device) {
                        Some(OutboxEvent::Delivered(id)) => actions.push(Action::Delivered(id)),
                        Some(OutboxEvent::GaveUp(..)) | None => {}
                    }
                }
                return Ok(());
            }
            FrameBody::Terminate(token) => {
                if self.state.noise.on_private_termination(device, &token, now) {
                    actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
                }
                return Ok(());
            }
            FrameBody::Text(body) => self.deliver_text(now, device, frame.id, frame.sent_at_ms, body, actions),
            FrameBody::SentSync { to, body } if device.identity == *self.identity() => {
                if self.state.dedup.first_time(&device.identity, &frame.id, now, &config) {
                    actions.push(Action::Deliver(Delivery {
                        id: frame.id,
                        from: device.identity,
                        from_installation: device.installation.clone(),
                        chat: to,
                        direction: Direction::OutgoingFromOwnDevice,
                        body,
                        sent_at: Timestamp::from_millis(frame.sent_at_ms),
                    }));
                }
            }
            FrameBody::StateSync(bytes) if device.identity == *self.identity() => {
                // N11M: a session one of our devices holds, which we mirror read-only, or one
                // it marked stale, which we then hold stale too.
                if let Some(stale) = self.state.noise.on_state_sync(&device.installation, &bytes, now)? {
                    actions.push(Action::Notice(Notice::SessionStale { identity: stale.identity }));
                }
            }
            FrameBody::Relay { to, body } if device.identity == *self.identity() => {
                // N11M: a device of ours without a writable session asks us to send. The
                // relay frame's id is kept, so a repeated relay is not sent twice.
                if self.state.dedup.first_time(&device.identity, &frame.id, now, &config) {
                    self.send_with_id(now, to, body, frame.id, entropy, actions)?;
                }
            }
            FrameBody::DeviceHello { identity, installation, answer: false }
                if device.identity == *self.identity()
                    && identity == device.identity
                    && installation == device.installation =>
            {
                return self.answer_hello(now, device, entropy, actions);
            }
            FrameBody::DeviceHello { .. } => return Ok(()),
            FrameBody::SentSync { .. } | FrameBody::StateSync(_) | FrameBody::Relay { .. } => {
                return Err(PeerError::NotForUs);
            }
        }
        self.state.acks.owe(device.clone(), frame.id, now, &config);
        Ok(())
    }

    /// Delivers a chat message once per sender and message id.
    fn deliver_text(
        &mut self,
        now: Timestamp,
        device: &Device,
        id: super::MessageId,
        sent_at_ms: u64,
        body: Vec<u8>,
        actions: &mut Vec<Action>,
    ) {
        if self.state.dedup.first_time(&device.identity, &id, now, &self.state.config.delivery) {
            actions.push(Action::Deliver(Delivery {
                id,
                from: device.identity,
                from_installation: device.installation.clone(),
                chat: device.identity,
                direction: Direction::Incoming,
                body,
                sent_at: Timestamp::from_millis(sent_at_ms),
            }));
        } else {
            actions.push(Action::Notice(Notice::DuplicateSuppressed(id)));
        }
    }

    /// N11M: a frame on a session a device of ours writes. Chat messages are delivered here too
    /// and a termination makes the mirror stale (our other devices are then told); acknowledging
    /// is the writer's job, and everything else is for the writer alone.
    fn on_mirror_frame(
        &mut self,
        now: Timestamp,
        device: &Device,
        plaintext: &[u8],
        actions: &mut Vec<Action>,
    ) -> Result<(), PeerError> {
        let frame = Frame::decode(plaintext)?;
        match frame.body {
            FrameBody::Text(body) => self.deliver_text(now, device, frame.id, frame.sent_at_ms, body, actions),
            FrameBody::Terminate(token) if self.state.noise.on_mirror_termination(device, &token, now) => {
                actions.push(Action::Notice(Notice::SessionStale { identity: device.identity }));
            }
            _ => {}
        }
        Ok(())
    }
}
