//! What both devices must agree on before pairing, and the local time limits.

use std::time::Duration;

use super::topic::ContentTopicParams;
use crate::noise::{HandshakePattern, Role};

/// Default QR exposure before it is replaced (WAKU2-DEVICE-PAIRING "Timebox QR exposure").
pub const DEFAULT_QR_LIFETIME: Duration = Duration::from_secs(30);
/// Default limit for the whole handshake after the first message (js-noise `execute(60000)`).
pub const DEFAULT_PAIRING_TIMEOUT: Duration = Duration::from_secs(60);

/// Which of the spec's two handshakes runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum Variant {
    /// `WakuPairing`: the QR owner is device B (Noise responder) and sends its static key first;
    /// the scanner is device A (initiator). What js-noise and nwaku implement.
    #[default]
    Standard,
    /// `WakuPairing2`, for when device A has no camera: A exposes the QR (and is the Noise
    /// initiator), B scans it and sends messages b and c, A sends d. Only this crate implements it.
    NoCamera,
}

impl Variant {
    /// The Noise pattern.
    pub const fn pattern(self) -> HandshakePattern {
        match self {
            Self::Standard => HandshakePattern::WakuPairing,
            Self::NoCamera => HandshakePattern::WakuPairing2,
        }
    }

    /// The Noise role of the QR owner (the scanner has the other one).
    pub const fn owner_role(self) -> Role {
        match self {
            Self::Standard => Role::Responder,
            Self::NoCamera => Role::Initiator,
        }
    }

    /// Whether the QR owner is the device that sends its static key first (device B).
    pub const fn owner_sends_static_first(self) -> bool {
        matches!(self, Self::Standard)
    }
}

/// A pairing's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairingConfig {
    /// The application, version and shard both devices use (the scanner refuses a QR for another
    /// application or version).
    pub params: ContentTopicParams,
    /// Standard or camera-less handshake.
    pub variant: Variant,
    /// How long a QR is accepted after it is exposed.
    pub qr_lifetime: Duration,
    /// How long the handshake may take after its first message.
    pub pairing_timeout: Duration,
}

impl PairingConfig {
    /// The standard variant with default time limits.
    pub fn new(params: ContentTopicParams) -> Self {
        Self {
            params,
            variant: Variant::Standard,
            qr_lifetime: DEFAULT_QR_LIFETIME,
            pairing_timeout: DEFAULT_PAIRING_TIMEOUT,
        }
    }

    /// The same settings with another variant.
    pub fn with_variant(mut self, variant: Variant) -> Self {
        self.variant = variant;
        self
    }

    /// The same settings with another QR lifetime.
    pub fn with_qr_lifetime(mut self, lifetime: Duration) -> Self {
        self.qr_lifetime = lifetime;
        self
    }
}
