//! Contacts: identities we chat with, their known devices, and which key exchange the chat uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::identity::{IdentityKey, InstallationId};
use crate::time::Timestamp;

/// The two key-exchange paths of 55/STATUS-1TO1-CHAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyExchange {
    /// 53/WAKU2-X3DH with the Double Ratchet and 54 sessions.
    X3dh,
    /// 35/WAKU2-NOISE (XK1 to the contact's identity key) with 37 sessions.
    Noise,
}

impl KeyExchange {
    /// The key exchange's name in [`NEGOTIATION`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::X3dh => "X3dh",
            Self::Noise => "Noise",
        }
    }
}

/// How the peer settles the key exchange of a chat ([`crate::diagram`]), observed on
/// [`Contact::negotiation_state`] across [`super::Peer::handle`] calls.
pub const NEGOTIATION: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "negotiation",
        title: "Key-exchange negotiation per contact (55/STATUS-1TO1-CHAT)",
        code: "`Contact::chosen` (`Contact::negotiation_state`) changed by `Contact::negotiate` and \
               `Contact::heard_via`, called from `Peer::handle` (`protocol/src/peer/contacts.rs`, `send.rs`, \
               `receive.rs`)",
        summary: "Which key exchange a chat uses, per contact, as the events of `Peer::handle` change it. A \
                  stranger becomes a contact only when the application accepts its request. A choice \
                  is sticky: only a contact that reached us over X3DH while we had chosen Noise moves the chat to \
                  X3DH (both sides apply the same rule, so a concurrent start converges). Events that leave the \
                  choice as it is are not drawn. What follows is the Noise path (handshake, sessions) or the \
                  X3DH path (sessions, ratchet) below.",
        transitions: &[
            T::new(OUTSIDE, "AddContact", "Undecided", "from a contact card"),
            T::new(OUTSIDE, "SendText", "X3dh", "unknown contact, we prefer X3DH"),
            T::new(OUTSIDE, "SendText", "Noise", "unknown contact, we prefer Noise"),
            T::new(OUTSIDE, "AcceptContactRequest", "X3dh", "a stranger's X3DH first message"),
            T::new(OUTSIDE, "AcceptContactRequest", "Noise", "a stranger's introduced Noise message 1"),
            T::new("Undecided", "SendText", "X3dh", "preferred and supported, or the contact's first"),
            T::new("Undecided", "SendText", "Noise", "preferred and supported, or the contact's first"),
            T::new("Undecided", "Received", "X3dh", "an X3DH message decrypts"),
            T::new("Undecided", "Received", "Noise", "a Noise handshake completes"),
            T::new("Noise", "Received", "X3dh", "the contact chose X3DH, converge on X3DH"),
        ],
    }
};

/// What a contact code or QR code tells about a peer (the identity-verification phase of 55).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    /// The verified identity.
    pub identity: IdentityKey,
    /// Key exchanges the contact supports, in its order of preference.
    pub supports: Vec<KeyExchange>,
    /// Its X3DH prekey bundle (protobuf), when the code carried one.
    pub bundle: Option<Vec<u8>>,
}

impl ContactCard {
    /// A card for an identity alone (Noise XK1 needs nothing more; X3DH then starts with a
    /// no-bundle message).
    pub fn identity_only(identity: IdentityKey) -> Self {
        Self { identity, supports: Vec::new(), bundle: None }
    }

    /// The card a scanned contact code describes: with a bundle the contact supports X3DH; every
    /// identity supports Noise.
    pub fn from_contact_code(code: &crate::identity::ContactCode) -> Self {
        let bundle = code.prekey_bundle().map(<[u8]>::to_vec);
        let mut supports = Vec::new();
        if bundle.is_some() {
            supports.push(KeyExchange::X3dh);
        }
        supports.push(KeyExchange::Noise);
        Self { identity: *code.identity(), supports, bundle }
    }
}

/// One device of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDevice {
    /// When we last heard from it (orders fan-out, 54 "Sending messages to a paired group").
    pub last_activity: Timestamp,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The identity.
    pub identity: IdentityKey,
    /// Key exchanges it supports (from its card; a first message proves support too).
    pub supports: Vec<KeyExchange>,
    /// The key exchange this chat uses, once negotiated.
    pub chosen: Option<KeyExchange>,
    /// Known devices.
    pub devices: BTreeMap<InstallationId, ContactDevice>,
}

impl Contact {
    /// A contact known only by its card.
    pub fn from_card(card: &ContactCard) -> Self {
        Self { identity: card.identity, supports: card.supports.clone(), chosen: None, devices: BTreeMap::new() }
    }

    /// A contact first heard of through a message using `kx`.
    pub fn from_first_message(identity: IdentityKey, kx: KeyExchange) -> Self {
        Self { identity, supports: vec![kx], chosen: Some(kx), devices: BTreeMap::new() }
    }

    /// Negotiates the key exchange: the recorded choice, else our preference if the contact
    /// supports it, else the contact's first supported one.
    pub fn negotiate(&mut self, preferred: KeyExchange) -> KeyExchange {
        let choice = self.chosen.unwrap_or_else(|| {
            if self.supports.is_empty() || self.supports.contains(&preferred) { preferred } else { self.supports[0] }
        });
        self.chosen = Some(choice);
        choice
    }

    /// Records that the contact used `kx` to reach us: adopt it if nothing was chosen, and when
    /// both sides chose differently converge on X3DH (both sides apply the same rule).
    pub fn heard_via(&mut self, kx: KeyExchange) {
        if !self.supports.contains(&kx) {
            self.supports.push(kx);
        }
        self.chosen = Some(match self.chosen {
            None => kx,
            Some(current) => current.min(kx),
        });
    }

    /// The negotiation state's name in [`NEGOTIATION`]: `Undecided` or the chosen exchange.
    pub const fn negotiation_state(&self) -> &'static str {
        match self.chosen {
            None => "Undecided",
            Some(kx) => kx.name(),
        }
    }

    /// Records activity of a device.
    pub fn saw_device(&mut self, installation: &InstallationId, now: Timestamp) {
        let device = self.devices.entry(installation.clone()).or_insert(ContactDevice { last_activity: now });
        device.last_activity = device.last_activity.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    #[test]
    fn negotiation_respects_support_and_sticks() {
        let identity = *IdentityKeyPair::from_seed([1; 32]).public();
        let mut c = Contact::from_card(&ContactCard { identity, supports: vec![KeyExchange::Noise], bundle: None });
        assert_eq!(c.negotiate(KeyExchange::X3dh), KeyExchange::Noise);
        c.supports.push(KeyExchange::X3dh);
        assert_eq!(c.negotiate(KeyExchange::X3dh), KeyExchange::Noise, "the recorded choice sticks");
        let mut both = Contact::from_card(&ContactCard {
            identity,
            supports: vec![KeyExchange::Noise, KeyExchange::X3dh],
            bundle: None,
        });
        assert_eq!(both.negotiate(KeyExchange::X3dh), KeyExchange::X3dh);
    }
}
