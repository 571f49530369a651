//! Pubsub topics of the sharded Waku network (51/WAKU2-RELAY-SHARDING): `/waku/2/rs/<cluster>/<shard>`,
//! named directly (static sharding) or derived from a content topic (autosharding).

use std::fmt;
use std::num::NonZeroU16;
use std::str::FromStr;

use libp2p::gossipsub::{IdentTopic, TopicHash};
use status_1to1::waku::ContentTopic;

use super::WakuError;

/// The prefix every static-shard pubsub topic starts with.
const PREFIX: &str = "/waku/2/rs/";

/// A relay shard: one gossipsub topic, `/waku/2/rs/<cluster>/<shard>`.
///
/// Kept as two numbers rather than a string so that only the canonical spelling (no leading
/// zeros, no sign) ever reaches gossipsub, where topics are compared byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PubsubTopic {
    cluster: u16,
    shard: u16,
}

impl PubsubTopic {
    /// The shard `shard` of cluster `cluster` (static sharding).
    pub const fn static_shard(cluster: u16, shard: u16) -> Self {
        Self { cluster, shard }
    }

    /// The shard autosharding assigns `content_topic` in a cluster of `shard_count` shards:
    /// the last 8 bytes of `SHA-256(application || version)` as a big-endian integer, modulo
    /// the shard count (51/WAKU2-RELAY-SHARDING; the hash is the protocol crate's
    /// [`ContentTopic::shard`]).
    pub fn autoshard(cluster: u16, shard_count: NonZeroU16, content_topic: &ContentTopic) -> Self {
        Self::static_shard(cluster, content_topic.shard(shard_count.get()))
    }

    /// The cluster index.
    pub const fn cluster(&self) -> u16 {
        self.cluster
    }

    /// The shard index within the cluster.
    pub const fn shard(&self) -> u16 {
        self.shard
    }

    /// The gossipsub topic hash (the identity hash: the topic string itself).
    pub(crate) fn topic_hash(&self) -> TopicHash {
        IdentTopic::new(self.to_string()).hash()
    }
}

impl fmt::Display for PubsubTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{}", self.cluster, self.shard)
    }
}

impl FromStr for PubsubTopic {
    type Err = WakuError;

    /// Parses the canonical form only, so that `parse(t.to_string()) == t` and back.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || WakuError::PubsubTopic(text.to_owned());
        let (cluster, shard) = text.strip_prefix(PREFIX).and_then(|rest| rest.split_once('/')).ok_or_else(invalid)?;
        let topic =
            Self::static_shard(canonical_u16(cluster).ok_or_else(invalid)?, canonical_u16(shard).ok_or_else(invalid)?);
        Ok(topic)
    }
}

/// A decimal `u16` without sign or leading zeros.
fn canonical_u16(text: &str) -> Option<u16> {
    let value: u16 = text.parse().ok()?;
    (value.to_string() == text).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_the_canonical_form_only() {
        let topic = PubsubTopic::static_shard(16, 32);
        assert_eq!(topic.to_string(), "/waku/2/rs/16/32");
        assert_eq!("/waku/2/rs/16/32".parse::<PubsubTopic>().ok(), Some(topic));
        assert_eq!(topic.topic_hash().as_str(), "/waku/2/rs/16/32");
        for bad in [
            "/waku/2/rs/16/032",
            "/waku/2/rs/+16/32",
            "/waku/2/rs/16",
            "/waku/2/rs/16/32/",
            "/waku/2/rs/65536/0",
            "/waku/2/default-waku/proto",
            "",
        ] {
            assert!(matches!(bad.parse::<PubsubTopic>(), Err(WakuError::PubsubTopic(t)) if t == bad), "{bad}");
        }
    }

    #[test]
    fn autoshard_uses_the_content_topic_hash() {
        // Values from ../shared/research/waku-network-model.md §1.4, checked against js-waku's
        // contentTopicToShardIndex by tests/js_waku.rs.
        let eight = NonZeroU16::new(8).unwrap();
        let status = ContentTopic::parse("/status/1/x/proto").unwrap();
        assert_eq!(PubsubTopic::autoshard(1, eight, &status), PubsubTopic::static_shard(1, 5));
        let toychat = ContentTopic::parse("/0/toychat/2/huilong/proto").unwrap();
        assert_eq!(PubsubTopic::autoshard(1, eight, &toychat).to_string(), "/waku/2/rs/1/3");
    }
}
