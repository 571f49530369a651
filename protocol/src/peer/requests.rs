//! Contact requests: what a stranger (an identity that is not a contact) leaves with us. Its
//! first message surfaces as [`super::Action::ContactRequest`]; until the application accepts,
//! the request is all we keep about the stranger, in a bounded queue that evicts the oldest.
//!
//! A request holds what accepting needs and nothing more: the verified sender device, the first
//! text, and what proved the sender. For X3DH that is the responder session and the sender's
//! bundle. For Noise it is the handshake's message 1, whose introduction
//! ([`super::noise_intro`]) named and proved the caller: it is answered only once the request is
//! accepted, so a stranger never makes us send anything, and its text follows acceptance.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::action::{Action, ContactRequest, FirstText, Notice};
use super::contacts::{Contact, KeyExchange};
use super::delivery::Device;
use super::error::PeerError;
use super::frame::{Frame, FrameBody};
use super::x3dh_path::Standing;
use crate::entropy::Entropy;
use crate::identity::IdentityKey;
use crate::time::Timestamp;
use crate::waku::WakuMessage;
use crate::x3dh::{Session, VerifiedBundle};

/// The channel a stranger reached us on, kept so that accepting loses nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Held {
    /// The Noise message 1s of the stranger's devices (at most
    /// [`crate::x3dh::MAX_BUNDLE_INSTALLATIONS`]), answered when the request is accepted.
    Noise(Vec<WakuMessage>),
    /// An X3DH first message: the responder session (none for a no-bundle message), the version
    /// of our prekey it was built on, and the sender's bundle if its message carried one.
    X3dh { session: Option<Box<(Session, u32)>>, bundle: Option<Box<VerifiedBundle>> },
}

/// One pending request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) device: Device,
    /// The first frame's plaintext (an X3DH text); `None` for a Noise request.
    pub(crate) first: Option<Vec<u8>>,
    pub(crate) held: Held,
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

    /// Adds a request (the caller checked there was none for its identity), evicting the oldest
    /// down to `limit`. Returns the evicted identities.
    pub(crate) fn push(&mut self, request: Request, limit: usize) -> Vec<IdentityKey> {
        let mut evicted = Vec::new();
        while self.queue.len() >= limit.max(1) {
            let Some(gone) = self.queue.pop_front() else { break };
            evicted.push(gone.device.identity);
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

    /// Keeps the message 1 of another device of an identity whose Noise request is pending.
    /// False when there is no such request (an X3DH one, say): the message is then dropped, and
    /// the caller's retries are answered once the request is accepted.
    pub(crate) fn add_noise_first(&mut self, identity: &IdentityKey, first: &WakuMessage) -> bool {
        let Some(request) = self.queue.iter_mut().find(|r| r.device.identity == *identity) else { return false };
        let Held::Noise(firsts) = &mut request.held else { return false };
        if !firsts.contains(first) {
            if firsts.len() >= crate::x3dh::MAX_BUNDLE_INSTALLATIONS {
                firsts.remove(0);
            }
            firsts.push(first.clone());
        }
        true
    }
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
        let Some(text) = first_text(&plaintext) else { return };
        actions.push(Action::ContactRequest(ContactRequest {
            from: device.identity,
            from_installation: device.installation.clone(),
            key_exchange: kx,
            first: Some(text),
        }));
        self.hold(Request { device, first: Some(plaintext), held }, actions);
    }

    /// A stranger's Noise message 1 introduced `device`: shown as a request without a text (the
    /// handshake is answered, and the text sent, only once the application accepts).
    pub(super) fn on_noise_stranger(&mut self, device: Device, first: WakuMessage, actions: &mut Vec<Action>) {
        actions.push(Action::ContactRequest(ContactRequest {
            from: device.identity,
            from_installation: device.installation.clone(),
            key_exchange: KeyExchange::Noise,
            first: None,
        }));
        self.hold(Request { device, first: None, held: Held::Noise(vec![first]) }, actions);
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
        let Some(Request { device, first, held }) = self.state.requests.take(identity) else {
            return Ok(false);
        };
        let kx = match &held {
            Held::Noise(_) => KeyExchange::Noise,
            Held::X3dh { .. } => KeyExchange::X3dh,
        };
        self.state.contacts.entry(device.identity).or_insert_with(|| Contact::from_first_message(device.identity, kx));
        match held {
            Held::Noise(firsts) => {
                for message in firsts {
                    self.answer_held_first(now, &message, entropy, actions);
                }
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
                self.on_heard(now, &device, kx, entropy, actions)?;
            }
        }
        if let Some(frame) = first {
            self.on_frame(now, &device, &frame, entropy, actions)?;
        }
        Ok(true)
    }

    /// Answers a held Noise message 1 of a request just accepted. One that no longer opens (it
    /// named a session to re-activate that is gone, say) is dropped: its caller starts again.
    fn answer_held_first(
        &mut self,
        now: Timestamp,
        message: &WakuMessage,
        entropy: &mut dyn Entropy,
        actions: &mut Vec<Action>,
    ) {
        let (mut ctx, noise) = Self::ctx(&mut self.state, now, entropy, actions);
        if let Ok(super::noise_path::NoiseInput::Introduced(introduced)) = noise.on_message(&mut ctx, message) {
            let _ = noise.answer(&mut ctx, &introduced);
        }
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
    } else if requests.contains(identity) {
        Standing::Requested
    } else {
        Standing::Stranger
    }
}

/// The first text of a stranger's first frame, if it is a text (only a text makes a request).
fn first_text(plaintext: &[u8]) -> Option<FirstText> {
    let Ok(Frame { id, sent_at_ms, body: FrameBody::Text(body) }) = Frame::decode(plaintext) else { return None };
    Some(FirstText { id, body, sent_at: Timestamp::from_millis(sent_at_ms) })
}
