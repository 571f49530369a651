//! The secure-transfer phase: a paired Noise channel on the pairing content topic
//! (WAKU2-DEVICE-PAIRING "Secure Transfer"; js-noise `NoiseSecureTransferEncoder/Decoder`).

use super::PairingError;
use super::export::ExportedSession;
use crate::crypto::PublicKey;
use crate::noise::{NoiseError, TransportState};
use crate::time::Timestamp;
use crate::waku::WakuMessage;

/// Two paired devices' channel.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairedSession {
    transport: TransportState,
    content_topic: String,
    remote_static: PublicKey,
}

impl PairedSession {
    pub(crate) fn new(transport: TransportState, content_topic: String, remote_static: PublicKey) -> Self {
        Self { transport, content_topic, remote_static }
    }

    /// The peer device's static key, authenticated by the handshake and its commitment.
    pub fn remote_static(&self) -> &PublicKey {
        &self.remote_static
    }

    /// The content topic both devices publish on.
    pub fn content_topic(&self) -> &str {
        &self.content_topic
    }

    /// The underlying Noise channel.
    pub fn transport(&self) -> &TransportState {
        &self.transport
    }

    /// Encrypts `plaintext` into a WakuMessage for the peer (version 2, ephemeral, like js-noise).
    pub fn send(&mut self, plaintext: &[u8], now: Timestamp) -> Result<WakuMessage, NoiseError> {
        let payload = self.transport.write_message(plaintext)?;
        Ok(WakuMessage::noise(payload, self.content_topic.clone(), now.as_nanos_i64(), true))
    }

    /// Authenticates and decrypts a WakuMessage from the peer. Messages on other topics, of
    /// other versions, with unknown nametags (our own echoes) or failing authentication are
    /// refused with the state unchanged.
    pub fn receive(&mut self, message: &WakuMessage) -> Result<Vec<u8>, PairingError> {
        if message.content_topic != self.content_topic {
            return Err(PairingError::OtherContentTopic);
        }
        let payload = message.noise_payload().map_err(|_| PairingError::NotNoise)?;
        self.transport.read_message(payload).map_err(PairingError::Noise)
    }

    /// The 176-byte session form of the pairing spec.
    pub fn export(&self) -> ExportedSession {
        ExportedSession::from_transport(&self.transport)
    }

    /// The Noise channel, for use outside the pairing.
    pub fn into_transport(self) -> TransportState {
        self.transport
    }
}

impl std::fmt::Debug for PairedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairedSession")
            .field("content_topic", &self.content_topic)
            .field("remote_static", &self.remote_static)
            .field("transport", &self.transport)
            .finish()
    }
}
