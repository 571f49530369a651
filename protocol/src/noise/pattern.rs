//! Handshake patterns as token tables (35/WAKU2-NOISE appendix; WakuPairing from
//! WAKU2-DEVICE-PAIRING and js-noise `patterns.ts`).

use serde::{Deserialize, Serialize};

/// One token of a Noise message pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    /// Send or receive an ephemeral public key.
    E,
    /// Send or receive a static public key (encrypted once a key exists).
    S,
    /// DH(e, re).
    Ee,
    /// Initiator DH(e, rs); responder DH(s, re).
    Es,
    /// Initiator DH(s, re); responder DH(e, rs).
    Se,
    /// DH(s, rs).
    Ss,
    /// Mix the pre-shared key.
    Psk,
}

/// Who sends a message: `->` initiator to responder, `<-` responder to initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// `->`
    InitiatorToResponder,
    /// `<-`
    ResponderToInitiator,
}

/// One line of a pattern: a direction and its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagePattern {
    /// Who sends it.
    pub direction: Direction,
    /// What it carries and computes, in order.
    pub tokens: &'static [Token],
}

/// The handshakes this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HandshakePattern {
    /// `-> s`, `<- s` known to both; protocol id 10.
    K1K1,
    /// `<- s` known to the initiator; protocol id 11.
    XK1,
    /// No prior knowledge; protocol id 12.
    XX,
    /// XX strengthened with a pre-shared key; protocol id 13.
    XXpsk0,
    /// Device pairing: the responder's ephemeral key comes from a QR code; protocol id 14.
    WakuPairing,
    /// Device pairing with the roles of messages a and b swapped, for when the device that would
    /// scan has no camera (WAKU2-DEVICE-PAIRING "WakuPairing2"): the initiator's ephemeral key
    /// comes from the QR and the responder sends two messages in a row. Implemented nowhere else; protocol id 15 is our
    /// local assignment (unassigned in 35/WAKU2-NOISE and in js-noise, nwaku and go-noise).
    WakuPairing2,
}

use Direction::{InitiatorToResponder as I2R, ResponderToInitiator as R2I};
use Token::{E, Ee, Es, Psk, S, Se, Ss};

const fn msg(direction: Direction, tokens: &'static [Token]) -> MessagePattern {
    MessagePattern { direction, tokens }
}

const K1K1_PRE: &[MessagePattern] = &[msg(I2R, &[S]), msg(R2I, &[S])];
const K1K1_MSGS: &[MessagePattern] = &[msg(I2R, &[E]), msg(R2I, &[E, Ee, Es]), msg(I2R, &[Se])];
const XK1_PRE: &[MessagePattern] = &[msg(R2I, &[S])];
const XK1_MSGS: &[MessagePattern] = &[msg(I2R, &[E]), msg(R2I, &[E, Ee, Es]), msg(I2R, &[S, Se])];
const XX_MSGS: &[MessagePattern] = &[msg(I2R, &[E]), msg(R2I, &[E, Ee, S, Es]), msg(I2R, &[S, Se])];
const XXPSK0_MSGS: &[MessagePattern] = &[msg(I2R, &[Psk, E]), msg(R2I, &[E, Ee, S, Es]), msg(I2R, &[S, Se])];
const PAIRING_PRE: &[MessagePattern] = &[msg(R2I, &[E])];
const PAIRING_MSGS: &[MessagePattern] = &[msg(I2R, &[E, Ee]), msg(R2I, &[S, Es]), msg(I2R, &[S, Se, Ss])];
const PAIRING2_PRE: &[MessagePattern] = &[msg(I2R, &[E])];
const PAIRING2_MSGS: &[MessagePattern] = &[msg(R2I, &[E, Ee]), msg(R2I, &[S, Es]), msg(I2R, &[S, Se, Ss])];

impl HandshakePattern {
    /// Every supported pattern.
    pub const ALL: [HandshakePattern; 6] =
        [Self::K1K1, Self::XK1, Self::XX, Self::XXpsk0, Self::WakuPairing, Self::WakuPairing2];

    /// The Noise protocol name, hashed into the initial handshake state.
    pub const fn protocol_name(self) -> &'static str {
        match self {
            Self::K1K1 => "Noise_K1K1_25519_ChaChaPoly_SHA256",
            Self::XK1 => "Noise_XK1_25519_ChaChaPoly_SHA256",
            Self::XX => "Noise_XX_25519_ChaChaPoly_SHA256",
            Self::XXpsk0 => "Noise_XXpsk0_25519_ChaChaPoly_SHA256",
            Self::WakuPairing => "Noise_WakuPairing_25519_ChaChaPoly_SHA256",
            Self::WakuPairing2 => "Noise_WakuPairing2_25519_ChaChaPoly_SHA256",
        }
    }

    /// The PayloadV2 protocol id of its handshake messages.
    pub const fn protocol_id(self) -> u8 {
        match self {
            Self::K1K1 => 10,
            Self::XK1 => 11,
            Self::XX => 12,
            Self::XXpsk0 => 13,
            Self::WakuPairing => 14,
            Self::WakuPairing2 => 15,
        }
    }

    /// The pattern with this protocol id, if any.
    pub fn from_protocol_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.protocol_id() == id)
    }

    /// The pattern with this short name ("XX", "XXpsk0", ...), if any.
    pub fn from_short_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.short_name() == name)
    }

    /// The short name: "K1K1", "XK1", "XX", "XXpsk0", "WakuPairing" or "WakuPairing2".
    pub const fn short_name(self) -> &'static str {
        match self {
            Self::K1K1 => "K1K1",
            Self::XK1 => "XK1",
            Self::XX => "XX",
            Self::XXpsk0 => "XXpsk0",
            Self::WakuPairing => "WakuPairing",
            Self::WakuPairing2 => "WakuPairing2",
        }
    }

    /// Keys both sides know before the first message, mixed in this order after the prologue.
    pub const fn pre_messages(self) -> &'static [MessagePattern] {
        match self {
            Self::K1K1 => K1K1_PRE,
            Self::XK1 => XK1_PRE,
            Self::XX | Self::XXpsk0 => &[],
            Self::WakuPairing => PAIRING_PRE,
            Self::WakuPairing2 => PAIRING2_PRE,
        }
    }

    /// The handshake messages in order.
    pub const fn messages(self) -> &'static [MessagePattern] {
        match self {
            Self::K1K1 => K1K1_MSGS,
            Self::XK1 => XK1_MSGS,
            Self::XX => XX_MSGS,
            Self::XXpsk0 => XXPSK0_MSGS,
            Self::WakuPairing => PAIRING_MSGS,
            Self::WakuPairing2 => PAIRING2_MSGS,
        }
    }

    /// Whether the pattern mixes a pre-shared key: then every `e` is also `MixKey`ed
    /// (Noise specification §9; js-noise detects "psk" in the name).
    pub const fn uses_psk(self) -> bool {
        matches!(self, Self::XXpsk0)
    }
}

impl std::fmt::Display for HandshakePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_ids_round_trip_and_are_distinct() {
        for p in HandshakePattern::ALL {
            assert_eq!(HandshakePattern::from_protocol_id(p.protocol_id()), Some(p));
            assert_eq!(HandshakePattern::from_short_name(p.short_name()), Some(p));
            assert!(p.protocol_name().contains(p.short_name()));
        }
        assert_eq!(HandshakePattern::from_protocol_id(0), None);
        assert_eq!(HandshakePattern::from_protocol_id(30), None);
    }

    #[test]
    fn waku_pairing2_swaps_the_first_two_roles_of_waku_pairing() {
        let (one, two) = (HandshakePattern::WakuPairing, HandshakePattern::WakuPairing2);
        assert_eq!(one.pre_messages()[0].direction, R2I);
        assert_eq!(two.pre_messages()[0].direction, I2R);
        assert_eq!(two.messages()[0].direction, R2I);
        assert_eq!(one.messages()[1..], two.messages()[1..]);
    }

    #[test]
    fn every_pattern_alternates_directions_starting_with_the_initiator() {
        // WakuPairing2 is the exception by design: the responder sends messages b and c in a row,
        // with the users' authcode confirmation between them.
        for p in HandshakePattern::ALL.into_iter().filter(|p| *p != HandshakePattern::WakuPairing2) {
            for (i, m) in p.messages().iter().enumerate() {
                let expected = if i % 2 == 0 { I2R } else { R2I };
                assert_eq!(m.direction, expected, "{p} message {i}");
            }
        }
    }
}
