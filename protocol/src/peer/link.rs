//! The Noise link with one remote device, as the peer holds it (37, NM): what the Noise path's
//! per-device sessions amount to, for diagnostics and for the state diagrams.

use super::{Device, Peer};

/// Where the Noise link with one device stands (the device's active session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseLink {
    /// We completed the handshake as initiator and have not heard from the device on the session
    /// yet: our message 3 is repeated before every message to it, since it may have been lost.
    Unconfirmed,
    /// Messages flow both ways.
    Active,
    /// Terminated or silent: nothing is sent on it; the next message to the device starts a
    /// handshake that re-activates it.
    Stale,
}

impl NoiseLink {
    /// The state's name in [`STATE_MACHINE`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unconfirmed => "Unconfirmed",
            Self::Active => "Active",
            Self::Stale => "Stale",
        }
    }
}

impl Peer {
    /// The Noise link with `device`, `None` while we hold no session with it.
    pub fn noise_link(&self, device: &Device) -> Option<NoiseLink> {
        self.state.noise.link(device)
    }

    /// N11M: the read-only mirror we hold of a session a device of ours writes with `device`
    /// (`Active` or `Stale`), `None` without one.
    pub fn noise_mirror(&self, device: &Device) -> Option<NoiseLink> {
        self.state.noise.mirror_link(device)
    }
}

/// The link's transitions across [`Peer::handle`] calls ([`crate::diagram`]).
pub const STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "noise_link",
        title: "Noise link with one device (37, NM)",
        code: "`peer::NoiseLink` (`Peer::noise_link`), from the per-device sessions of `protocol/src/peer/noise_path.rs`",
        summary: "The peer's view of its Noise sessions with one device of a contact (or of our own account), as \
                  the events of `Peer::handle` change it: the state of the device's active session, and whether \
                  the device has been heard from since our last completed handshake with it. Several sessions with \
                  one device may exist (concurrent handshakes, rediscovery, re-activation); the active one with \
                  the smallest session id is used, the others stay readable. Handshakes in flight are not a state \
                  of the link: it exists once a handshake completed. Events that leave the link as it is are not \
                  drawn.",
        transitions: &[
            T::new(OUTSIDE, "Received", "Unconfirmed", "message 2 answers our handshake, message 3 sent"),
            T::new(
                OUTSIDE,
                "Received",
                "Active",
                "message 3 of a contact's handshake we answered, or the hello of our paired device",
            ),
            T::new("Unconfirmed", "Received", "Active", "the device is heard from on the session"),
            T::new("Unconfirmed", "EndChat", "Stale", "we terminate"),
            T::new("Unconfirmed", "Timer", "Stale", "nothing read for 30 days"),
            T::new(
                "Active",
                "Received",
                "Unconfirmed",
                "a handshake of ours completes too (concurrent start, discovery)",
            ),
            T::new("Active", "EndChat", "Stale", "we terminate, publicly or privately"),
            T::new("Active", "Received", "Stale", "the device terminates, publicly or privately"),
            T::new("Active", "Timer", "Stale", "nothing read for 30 days"),
            T::new("Stale", "Received", "Unconfirmed", "our re-activation handshake is answered"),
            T::new("Stale", "Received", "Active", "we answered a re-activation handshake"),
            T::new("Active", "RemoveOwnDevice", OUTSIDE, "a device of ours disabled, its sessions forgotten"),
        ],
    }
};
