//! Waku Relay (11/WAKU2-RELAY) as gossipsub settings and a message validator: what must match
//! nwaku and js-waku for a mesh to form and for messages to be accepted and forwarded.

use std::time::Duration;

use libp2p::gossipsub::{self, MessageId, ValidationMode, Version};
use prost::Message as _;
use sha2::{Digest, Sha256};
use status_1to1::waku::WakuMessage;
use status_1to1::waku::message::MAX_WAKU_MESSAGE_LEN;

use super::WakuError;

/// The relay's libp2p protocol id, used verbatim (nwaku's `WakuRelayCodec`). Gossipsub's prefix
/// API would append a version and produce an id nwaku refuses (rust-libp2p#2709).
pub const RELAY_PROTOCOL: &str = "/vac/waku/relay/2.0.0";
/// Target mesh degree D (nwaku; rust-libp2p's default is also 6).
pub const MESH_N: usize = 6;
/// D_low: below this many mesh peers the heartbeat grafts more (nwaku 4, rust-libp2p 5).
pub const MESH_N_LOW: usize = 4;
/// D_high: above this many the heartbeat prunes (nwaku 8, rust-libp2p 12).
pub const MESH_N_HIGH: usize = 8;
/// Heartbeats of message history kept for IWANT answers (nwaku 6, rust-libp2p 5).
pub const HISTORY_LENGTH: usize = 6;
/// How long a seen message id suppresses a duplicate (nwaku's seenTTL 120 s, rust-libp2p 60 s).
/// Shorter than the network's and a message gossiped late would be delivered twice.
pub const SEEN_TTL: Duration = Duration::from_secs(120);
/// Headroom for the gossipsub RPC around one WakuMessage: the topic, protobuf framing and any
/// piggybacked control messages (nwaku's `DefaultSafetyBufferProtocolOverhead`, 64 KiB).
pub const RPC_OVERHEAD: usize = 64 * 1024;
/// The largest gossipsub frame sent or read: a 150 KiB WakuMessage plus [`RPC_OVERHEAD`].
/// rust-libp2p's default, 64 KiB, would silently drop most large Waku messages.
pub const MAX_TRANSMIT_SIZE: usize = MAX_WAKU_MESSAGE_LEN + RPC_OVERHEAD;

/// Why the relay refuses a message: it is neither delivered nor forwarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Larger than Waku's 150 KiB message limit (64/WAKU2-NETWORK).
    #[error("message of {0} bytes exceeds the 150 KiB limit")]
    TooLarge(usize),
    /// Not a WakuMessage protobuf.
    #[error("not a WakuMessage: {0}")]
    Undecodable(String),
    /// An empty payload (js-waku's validator rejects it).
    #[error("empty payload")]
    EmptyPayload,
    /// An empty content topic (js-waku's validator rejects it).
    #[error("empty content topic")]
    EmptyContentTopic,
}

/// Checks relayed bytes the way the js-waku validator does, plus the size limit nwaku applies,
/// and returns the decoded message. Deliberately no stricter: a relay that refused what the rest
/// of the network forwards (say, a content topic outside 23/WAKU2-TOPICS form) would split it.
pub fn validate(data: &[u8]) -> Result<WakuMessage, Rejection> {
    if data.len() > MAX_WAKU_MESSAGE_LEN {
        return Err(Rejection::TooLarge(data.len()));
    }
    let message = WakuMessage::decode(data).map_err(|e| Rejection::Undecodable(e.to_string()))?;
    if message.payload.is_empty() {
        return Err(Rejection::EmptyPayload);
    }
    if message.content_topic.is_empty() {
        return Err(Rejection::EmptyContentTopic);
    }
    Ok(message)
}

/// The gossipsub message id Waku uses: SHA-256 of the message data. Without `from`/`seqno`
/// (anonymous messages) this is what deduplicates a message across all implementations.
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::new(&Sha256::digest(data))
}

/// The gossipsub configuration of a Waku relay: the protocol id, anonymous messages (js-waku's
/// StrictNoSign: no `from`, `seqno` or signature, and messages carrying them are refused),
/// nwaku's mesh parameters, the Waku size limit and explicit validation, so that nothing is
/// forwarded before [`validate`] accepts it.
pub fn gossipsub_config() -> Result<gossipsub::Config, WakuError> {
    gossipsub::ConfigBuilder::default()
        .protocol_id(RELAY_PROTOCOL, Version::V1_1)
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(|message: &gossipsub::Message| message_id(&message.data))
        .mesh_n(MESH_N)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n_high(MESH_N_HIGH)
        .history_length(HISTORY_LENGTH)
        .duplicate_cache_time(SEEN_TTL)
        .max_transmit_size(MAX_TRANSMIT_SIZE)
        .validate_messages()
        .build()
        .map_err(|e| WakuError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &[u8], content_topic: &str) -> WakuMessage {
        WakuMessage {
            payload: payload.to_vec(),
            content_topic: content_topic.into(),
            version: None,
            timestamp: Some(1_700_000_000_000_000_000),
            meta: None,
            rate_limit_proof: None,
            ephemeral: None,
        }
    }

    #[test]
    fn accepts_what_js_waku_accepts() {
        let ok = message(b"hi", "/app/1/chat/proto");
        assert_eq!(validate(&ok.to_bytes()), Ok(ok));
        // Not 23/ form, but js-waku and nwaku relay it, so must we.
        let loose = message(b"hi", "status-topic");
        assert_eq!(validate(&loose.to_bytes()), Ok(loose));
    }

    #[test]
    fn rejects_empty_undecodable_and_oversize() {
        assert_eq!(validate(&message(b"", "/app/1/chat/proto").to_bytes()), Err(Rejection::EmptyPayload));
        assert_eq!(validate(&message(b"x", "").to_bytes()), Err(Rejection::EmptyContentTopic));
        assert!(matches!(validate(&[0xff, 0xff, 0xff]), Err(Rejection::Undecodable(_))));
        let at_limit = vec![0u8; MAX_WAKU_MESSAGE_LEN];
        assert!(!matches!(validate(&at_limit), Err(Rejection::TooLarge(_))));
        let over = vec![0u8; MAX_WAKU_MESSAGE_LEN + 1];
        assert_eq!(validate(&over), Err(Rejection::TooLarge(MAX_WAKU_MESSAGE_LEN + 1)));
    }

    #[test]
    fn message_id_is_sha256_of_the_data() {
        let id = message_id(b"abc");
        assert_eq!(hex::encode(id.0), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn config_carries_the_waku_parameters() {
        let config = gossipsub_config().unwrap();
        assert_eq!((config.mesh_n(), config.mesh_n_low(), config.mesh_n_high()), (6, 4, 8));
        assert_eq!(config.history_length(), 6);
        assert_eq!(config.duplicate_cache_time(), Duration::from_secs(120));
        assert_eq!(config.max_transmit_size(), 150 * 1024 + 64 * 1024);
        assert!(config.validate_messages());
        assert!(matches!(config.validation_mode(), ValidationMode::Anonymous));
    }
}
