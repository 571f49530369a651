//! Content topics (23/WAKU2-TOPICS) and the autosharding rule that maps them to pubsub topics.

use serde::{Deserialize, Serialize};

use crate::crypto::hash::sha256;

/// Why a string is not a content topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// It does not start with `/`.
    #[error("content topic must start with '/'")]
    MissingLeadingSlash,
    /// Fewer than the four parts application, version, name and encoding.
    #[error("content topic needs /application/version/name/encoding, got {0} parts")]
    TooFewParts(usize),
    /// An empty part (`//`, or a trailing `/`).
    #[error("content topic has an empty part")]
    EmptyPart,
    /// Longer than the limit.
    #[error("content topic of {0} bytes exceeds {MAX_CONTENT_TOPIC_LEN} bytes")]
    TooLong(usize),
}

/// Longest accepted content topic (a local sanity bound; no Waku spec sets one).
pub const MAX_CONTENT_TOPIC_LEN: usize = 1024;

/// A parsed content topic `/{generation}/{application}/{version}/{name...}/{encoding}`, where the
/// numeric generation prefix is optional and the name may be hierarchical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContentTopic {
    text: String,
    generation: Option<u32>,
    application: String,
    version: String,
}

impl ContentTopic {
    /// Parses and validates a content topic.
    pub fn parse(text: &str) -> Result<Self, TopicError> {
        if text.len() > MAX_CONTENT_TOPIC_LEN {
            return Err(TopicError::TooLong(text.len()));
        }
        let rest = text.strip_prefix('/').ok_or(TopicError::MissingLeadingSlash)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(TopicError::EmptyPart);
        }
        let generation = match parts.first().and_then(|p| p.parse::<u32>().ok()) {
            Some(g) if parts.len() >= 5 => Some(g),
            _ => None,
        };
        let skip = usize::from(generation.is_some());
        if parts.len() < 4 + skip {
            return Err(TopicError::TooFewParts(parts.len()));
        }
        Ok(Self {
            text: text.to_owned(),
            generation,
            application: parts[skip].to_owned(),
            version: parts[skip + 1].to_owned(),
        })
    }

    /// Builds `/{application}/{version}/{name}/{encoding}`.
    pub fn new(application: &str, version: &str, name: &str, encoding: &str) -> Result<Self, TopicError> {
        Self::parse(&format!("/{application}/{version}/{name}/{encoding}"))
    }

    /// The topic string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The application part.
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The version part.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The autosharding shard among `shard_count` shards: the last 8 bytes of
    /// `SHA-256(application || version)`, big-endian, modulo the count (nwaku `sharding.nim`,
    /// js-waku `contentTopicToShardIndex`).
    pub fn shard(&self, shard_count: u16) -> u16 {
        let digest = sha256(&[self.application.as_bytes(), self.version.as_bytes()]);
        let mut last8 = [0u8; 8];
        last8.copy_from_slice(&digest[24..]);
        let count = u64::from(shard_count.max(1));
        // The remainder is below `count`, itself at most u16::MAX.
        (u64::from_be_bytes(last8) % count) as u16
    }
}

impl std::fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autosharding_matches_the_implementation_rule() {
        // Values from ../shared/research/waku-network-model.md §1.4 (computed there in Python).
        let cases = [
            ("myapp", "1", 8, 0),
            ("waku", "2", 8, 1),
            ("status", "1", 8, 5),
            ("toychat", "2", 8, 3),
            ("status", "1", 3, 1),
            ("toychat", "2", 3, 1),
            ("myapp", "1", 1024, 296),
            ("toychat", "2", 1024, 1011),
        ];
        for (app, version, n, shard) in cases {
            let topic = ContentTopic::new(app, version, "x", "proto").unwrap();
            assert_eq!(topic.shard(n), shard, "{app}/{version} mod {n}");
        }
    }

    #[test]
    fn parses_hierarchical_names_and_generations() {
        let pairing = ContentTopic::parse("/waku-noise-sessions/0.1/wakunoise/1/sessions_shard-10/proto").unwrap();
        assert_eq!((pairing.application(), pairing.version()), ("waku-noise-sessions", "0.1"));
        let with_gen = ContentTopic::parse("/0/toychat/2/huilong/proto").unwrap();
        assert_eq!((with_gen.application(), with_gen.version()), ("toychat", "2"));
        assert_eq!(ContentTopic::parse("toychat/2/x/proto"), Err(TopicError::MissingLeadingSlash));
        assert_eq!(ContentTopic::parse("/toychat/2/proto"), Err(TopicError::TooFewParts(3)));
        assert_eq!(ContentTopic::parse("/toychat//x/proto"), Err(TopicError::EmptyPart));
    }
}
