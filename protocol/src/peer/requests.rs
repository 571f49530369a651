//! Contact requests: what a stranger (an identity that is not a contact) leaves with us. Its
//! first message surfaces as [`super::Action::ContactRequest`]; until the application accepts,
//! the request is all we keep about the stranger, in a bounded queue that evicts the oldest.
//!
//! A request holds what accepting needs and nothing more: the verified sender device, the first
//! frame, and the channel that proved the sender (the Noise session its handshake opened, or the
//! X3DH responder session and the sender's bundle). A Noise handshake reveals the initiator only
//! with message 3, before any chat message, so its request waits (unsurfaced, still counted) for
//! the first text on that session.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::action::{Action, ContactRequest, Notice};
use super::contacts::{Contact, KeyExchange};
use super::delivery::Device;
use super::error::PeerError;
use super::frame::{Frame, FrameBody};
use super::x3dh_path::Standing;
use crate::entropy::Entropy;
use crate::identity::IdentityKey;
use crate::noise::sessions::NoiseSession;
use crate::time::Timestamp;
use crate::waku::WakuMessage;
use crate::x3dh::{Session, VerifiedBundle};

/// The channel a stranger reached us on, kept so that accepting loses nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Held {
    /// A Noise session the stranger's handshake opened with us.
    Noise(Box<NoiseSession>),
    /// An X3DH first message: the responder session (none for a no-bundle message), the version
    /// of our prekey it was built on, and the sender's bundle if its message carried one.
    X3dh { session: Option<Box<(Session, u32)>>, bundle: Option<Box<VerifiedBundle>> },
}

/// One pending request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) device: Device,
    /// The first frame's plaintext (a text); `None` while a Noise request waits for it.
    pub(crate) first: Option<Vec<u8>>,
    pub(crate) held: Held,
    /// Noise sessions other devices of the same identity opened meanwhile (at most
    /// [`crate::x3dh::MAX_BUNDLE_INSTALLATIONS`]): their initiators consider them established,
    /// so dropping them would lose what they send after acceptance.
    pub(crate) more: Vec<(Device, Box<NoiseSession>)>,
}

/// The bounded queue of requests, oldest first, one per identity.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Requests {
    queue: VecDeque<Request>,
}

impl Requests {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn contains(&self, identity: &IdentityKey) -> bool {
        self.queue.iter().any(|r| r.device.identity == *identity)
    }

    /// Whether the application was shown a request of `identity`.
    fn shown(&self, identity: &IdentityKey) -> bool {
        self.queue.iter().any(|r| r.device.identity == *identity && r.first.is_some())
    }

    /// Adds a request (the caller checked none was shown for its identity), evicting down to
    /// `limit`: first requests still waiting for their first message, then the oldest. Returns
    /// the evicted identities whose request the application had seen.
    pub(crate) fn push(&mut self, mut request: Request, limit: usize) -> Vec<IdentityKey> {
        // A request still waiting for its first text (a Noise session on which the sender never
        // wrote, say because it moved the chat to X3DH) joins the new one.
        if let Some(waiting) = self.take(&request.device.identity) {
            if let Held::Noise(session) = waiting.held {
                request.more.push((waiting.device, session));
            }
            request.more.extend(waiting.more);
            request.more.truncate(crate::x3dh::MAX_BUNDLE_INSTALLATIONS);
        }
        let mut evicted = Vec::new();
        while !self.queue.is_empty() && self.queue.len() >= limit {
            let victim = self.queue.iter().position(|r| r.first.is_none()).unwrap_or(0);
            if let Some(gone) = self.queue.remove(victim)
                && gone.first.is_some()
            {
                evicted.push(gone.device.identity);
            }
        }
        if limit > 0 {
            self.queue.push_back(request);
        }
        evicted
    }

    /// Removes and returns the request of `identity`.
    pub(crate) fn take(&mut self, identity: &IdentityKey) -> Option<Request> {
        let index = self.queue.iter().position(|r| r.device.identity == *identity)?;
        self.queue.remove(index)
    }

    /// Inbound topics of the held Noise sessions (the first message arrives there).
    pub(crate) fn topics(&self, out: &mut BTreeSet<String>) {
        for request in &self.queue {
            if let Held::Noise(session) = &request.held {
                out.extend(session.inbound_topics().into_iter().map(|t| t.as_str().to_owned()));
            }
        }
        self.more_topics(out);
    }

    /// Keeps another Noise session of an identity whose request is pending (the oldest beyond
    /// the cap is dropped).
    pub(crate) fn add_session(&mut self, device: Device, session: Box<NoiseSession>) {
        let Some(request) = self.queue.iter_mut().find(|r| r.device.identity == device.identity) else { return };
        if request.more.len() >= crate::x3dh::MAX_BUNDLE_INSTALLATIONS {
            request.more.remove(0);
        }
        request.more.push((device, session));
    }

    /// Reads a message on a held Noise session. `Some(true)` when it carried the first text and
    /// the request is now to be surfaced, `Some(false)` for anything else a held session reads
    /// (dropped: the sender retries once we accept), `None` if no held session reads it (topics
    /// may be shared, so the message may still be for another session).
    pub(crate) fn read_noise(&mut self, message: &WakuMessage, now: Timestamp) -> Option<(bool, Device, Vec<u8>)> {
        let topic = message.content_topic.as_str();
        for request in &mut self.queue {
            for (device, session) in &mut request.more {
                if session.owns_topic(topic) && session.receive(message, now).is_ok() {
                    return Some((false, device.clone(), Vec::new()));
                }
            }
            let Held::Noise(session) = &mut request.held else { continue };
            if !session.owns_topic(topic) {
                continue;
            }
            let Ok((plaintext, _)) = session.receive(message, now) else { continue };
            if request.first.is_some() || !is_text(&plaintext) {
                return Some((false, request.device.clone(), Vec::new()));
            }
            request.first = Some(plaintext.clone());
            return Some((true, request.device.clone(), plaintext));
        }
        None
    }

    /// Inbound topics of the extra sessions.
    fn more_topics(&self, out: &mut BTreeSet<String>) {
        for (_, session) in self.queue.iter().flat_map(|r| r.more.iter()) {
            out.extend(session.inbound_topics().into_iter().map(|t| t.as_str().to_owned()));
        }
    }
}

/// Whether a frame is a chat text (only a text makes a request).
pub(crate) fn is_text(plaintext: &[u8]) -> bool {
    Frame::decode(plaintext).is_ok_and(|f| matches!(f.body, FrameBody::Text(_)))
}

impl super::Peer {
    /// A stranger's first frame arrived on a channel that proves it: a text becomes a contact
    /// request shown to the application; anything else is dropped and nothing is kept.
    pub(super) fn on_stranger(
        &mut self,
        device: Device,
        plaintext: Vec<u8>,
        held: Held,
        kx: KeyExchange,
        actions: &mut Vec<Action>,
    ) {
        let Some(request) = shown_request(&device, &plaintext, kx) else { return };
        actions.push(Action::ContactRequest(request));
        self.hold(Request { device, first: Some(plaintext), held, more: Vec::new() }, actions);
    }

    /// Queues a request, telling the application about the shown ones it evicts.
    pub(super) fn hold(&mut self, request: Request, actions: &mut Vec<Action>) {
        let limit = self.state.config.max_contact_requests;
        for identity in self.state.requests.push(request, limit) {
            actions.push(Action::Notice(Notice::ContactRequestEvicted(identity)));
        }
    }

    /// Accepts the pending request of `identity`, if any: it becomes a contact, the channel it
    /// came on is kept, and its first message is delivered and acknowledged. False if there was
    /// no request.
    pub(super) fn admit(
        &mut self,
        now: Timestamp,
        identity: &IdentityKey,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) -> Result<bool, PeerError> {
        let Some(Request { device, first, held, more }) = self.state.requests.take(identity) else {
            return Ok(false);
        };
        for (other, session) in more {
            let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
            noise.add_answered(&mut ctx, other.clone(), *session);
            self.on_heard(now, &other, KeyExchange::Noise, entropy, actions)?;
        }
        let kx = match held {
            Held::Noise(session) => {
                let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
                noise.add_answered(&mut ctx, device.clone(), *session);
                KeyExchange::Noise
            }
            Held::X3dh { session, bundle } => {
                if session.is_some() {
                    actions.push(Action::Notice(Notice::SessionEstablished {
                        identity: device.identity,
                        installation: device.installation.clone(),
                        key_exchange: KeyExchange::X3dh,
                    }));
                }
                self.state.x3dh.adopt_request(&device, session.map(|s| *s), bundle.map(|b| *b));
                KeyExchange::X3dh
            }
        };
        self.state.contacts.entry(device.identity).or_insert_with(|| Contact::from_first_message(device.identity, kx));
        self.on_heard(now, &device, kx, entropy, actions)?;
        if let Some(frame) = first {
            self.on_frame(now, &device, &frame, entropy, actions)?;
        }
        Ok(true)
    }

    /// Blocks `identity`: forgets its request, and the contact with its sessions if it was one.
    pub(super) fn block(&mut self, identity: &IdentityKey) -> Result<(), PeerError> {
        if identity == self.identity() {
            return Err(PeerError::InvalidContact("our own identity"));
        }
        self.state.requests.take(identity);
        self.state.contacts.remove(identity);
        self.state.x3dh.forget(identity);
        self.state.noise.forget_identity(identity);
        self.state.open.retain(|_, (to, _)| to != identity);
        self.state.blocked.insert(*identity);
        Ok(())
    }
}

/// How we stand with `identity` (our own identity counts as a contact).
pub(super) fn standing(
    contacts: &std::collections::BTreeMap<IdentityKey, Contact>,
    blocked: &BTreeSet<IdentityKey>,
    requests: &Requests,
    me: &IdentityKey,
    identity: &IdentityKey,
) -> Standing {
    if contacts.contains_key(identity) || identity == me {
        Standing::Contact
    } else if blocked.contains(identity) {
        Standing::Blocked
    } else if requests.shown(identity) {
        Standing::Requested
    } else {
        Standing::Stranger
    }
}

/// What the application is shown of a stranger's first frame, if it is a text.
pub(super) fn shown_request(device: &Device, plaintext: &[u8], kx: KeyExchange) -> Option<ContactRequest> {
    let Ok(Frame { id, sent_at_ms, body: FrameBody::Text(body) }) = Frame::decode(plaintext) else { return None };
    Some(ContactRequest {
        from: device.identity,
        from_installation: device.installation.clone(),
        key_exchange: kx,
        id,
        body,
        sent_at: Timestamp::from_millis(sent_at_ms),
    })
}
