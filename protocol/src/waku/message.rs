//! The WakuMessage envelope (14/WAKU2-MESSAGE) and its deterministic hash.

use prost::Message as _;

use crate::crypto::hash::sha256;

/// Largest serialised WakuMessage nwaku relays (`DefaultMaxWakuMessageSize`, 64/WAKU2-NETWORK).
pub const MAX_WAKU_MESSAGE_LEN: usize = 150 * 1024;
/// Largest `meta` attribute (14/WAKU2-MESSAGE).
pub const MAX_META_LEN: usize = 64;
/// The payload version that carries a PayloadV2 (35/WAKU2-NOISE).
pub const VERSION_NOISE: u32 = 2;

/// The 14/WAKU2-MESSAGE protobuf, with its exact field numbers.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message, serde::Serialize, serde::Deserialize)]
pub struct WakuMessage {
    /// The payload (a PayloadV2 when `version` is 2).
    #[prost(bytes = "vec", tag = "1")]
    pub payload: Vec<u8>,
    /// The content topic (23/WAKU2-TOPICS).
    #[prost(string, tag = "2")]
    pub content_topic: String,
    /// The payload encryption version (absent means 0).
    #[prost(uint32, optional, tag = "3")]
    pub version: Option<u32>,
    /// Sender time in Unix nanoseconds (zig-zag `sint64`).
    #[prost(sint64, optional, tag = "10")]
    pub timestamp: Option<i64>,
    /// Application metadata, at most 64 bytes.
    #[prost(bytes = "vec", optional, tag = "11")]
    pub meta: Option<Vec<u8>>,
    /// An RLN proof (17/WAKU2-RLN-RELAY); carried, never interpreted here.
    #[prost(bytes = "vec", optional, tag = "21")]
    pub rate_limit_proof: Option<Vec<u8>>,
    /// Ask nodes not to store the message.
    #[prost(bool, optional, tag = "31")]
    pub ephemeral: Option<bool>,
}

/// Why bytes are not an acceptable WakuMessage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WakuMessageError {
    /// Not a valid protobuf encoding of the message.
    #[error("invalid WakuMessage protobuf: {0}")]
    Protobuf(String),
    /// Larger than the 150 KiB network limit.
    #[error("WakuMessage of {0} bytes exceeds the 150 KiB limit")]
    TooLarge(usize),
    /// `meta` longer than 64 bytes.
    #[error("meta of {0} bytes exceeds 64 bytes")]
    MetaTooLong(usize),
    /// The content topic does not parse.
    #[error("invalid content topic: {0}")]
    ContentTopic(#[from] super::TopicError),
    /// A version this layer does not handle (Noise needs 2).
    #[error("payload version {0:?} where 2 is required")]
    WrongVersion(Option<u32>),
}

impl WakuMessage {
    /// A version-2 (Noise) message with a timestamp.
    pub fn noise(payload: Vec<u8>, content_topic: impl Into<String>, timestamp_ns: i64, ephemeral: bool) -> Self {
        Self {
            payload,
            content_topic: content_topic.into(),
            version: Some(VERSION_NOISE),
            timestamp: Some(timestamp_ns),
            meta: None,
            rate_limit_proof: None,
            ephemeral: ephemeral.then_some(true),
        }
    }

    /// Serialises to protobuf.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Parses protobuf bytes and checks the network limits and the content topic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WakuMessageError> {
        if bytes.len() > MAX_WAKU_MESSAGE_LEN {
            return Err(WakuMessageError::TooLarge(bytes.len()));
        }
        let message = Self::decode(bytes).map_err(|e| WakuMessageError::Protobuf(e.to_string()))?;
        if let Some(meta) = &message.meta
            && meta.len() > MAX_META_LEN
        {
            return Err(WakuMessageError::MetaTooLong(meta.len()));
        }
        super::ContentTopic::parse(&message.content_topic)?;
        Ok(message)
    }

    /// The version, 0 when absent.
    pub fn effective_version(&self) -> u32 {
        self.version.unwrap_or(0)
    }

    /// The PayloadV2 bytes, if this is a version-2 message.
    pub fn noise_payload(&self) -> Result<&[u8], WakuMessageError> {
        match self.version {
            Some(VERSION_NOISE) => Ok(&self.payload),
            other => Err(WakuMessageError::WrongVersion(other)),
        }
    }

    /// Whether nodes are asked not to store it.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral.unwrap_or(false)
    }

    /// The deterministic message hash of 14/WAKU2-MESSAGE:
    /// `SHA-256(pubsub_topic || payload || content_topic || meta || timestamp_be64)`.
    /// Absent `meta` contributes nothing; an absent timestamp counts as 0 (nwaku, the store
    /// server, always hashes 8 bytes). `version`, `ephemeral` and the RLN proof are not hashed.
    pub fn hash(&self, pubsub_topic: &str) -> [u8; 32] {
        let timestamp = self.timestamp.unwrap_or(0).to_be_bytes();
        sha256(&[
            pubsub_topic.as_bytes(),
            &self.payload,
            self.content_topic.as_bytes(),
            self.meta.as_deref().unwrap_or_default(),
            &timestamp,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_message(meta: Option<Vec<u8>>, payload: Vec<u8>) -> WakuMessage {
        WakuMessage {
            payload,
            content_topic: "/waku/2/default-content/proto".into(),
            version: None,
            timestamp: Some(0x175789bfa23f8400),
            meta,
            rate_limit_proof: None,
            ephemeral: None,
        }
    }

    #[test]
    fn deterministic_hash_matches_the_four_spec_vectors() {
        let pubsub = "/waku/2/default-waku/proto";
        let payload = hex::decode("010203045445535405060708").unwrap();
        let meta12 = hex::decode("73757065722d736563726574").unwrap();
        let meta64: Vec<u8> = (0u8..64).collect();
        let cases = [
            (
                spec_message(Some(meta12.clone()), payload.clone()),
                "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05",
            ),
            (
                spec_message(Some(meta64), payload.clone()),
                "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
            ),
            (spec_message(None, payload), "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"),
            (spec_message(Some(meta12), vec![]), "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4"),
        ];
        for (message, expected) in cases {
            assert_eq!(hex::encode(message.hash(pubsub)), expected);
        }
    }

    #[test]
    fn round_trip_and_limits() {
        let m = WakuMessage::noise(vec![1, 2, 3], "/a/1/b/proto", 1_700_000_000_000_000_000, true);
        assert_eq!(WakuMessage::from_bytes(&m.to_bytes()), Ok(m.clone()));
        assert_eq!(m.noise_payload(), Ok(&[1u8, 2, 3][..]));
        let mut v1 = m.clone();
        v1.version = Some(1);
        assert_eq!(v1.noise_payload(), Err(WakuMessageError::WrongVersion(Some(1))));
        let mut long_meta = m.clone();
        long_meta.meta = Some(vec![0; 65]);
        assert_eq!(WakuMessage::from_bytes(&long_meta.to_bytes()), Err(WakuMessageError::MetaTooLong(65)));
        let mut bad_topic = m;
        bad_topic.content_topic = "no-slashes".into();
        assert!(matches!(WakuMessage::from_bytes(&bad_topic.to_bytes()), Err(WakuMessageError::ContentTopic(_))));
        assert!(matches!(WakuMessage::from_bytes(&[0xff, 0xff]), Err(WakuMessageError::Protobuf(_))));
    }
}
