//! Content-topic interning and autosharding (23/WAKU2-TOPICS, relay-sharding).

use std::collections::BTreeMap;

use status_1to1::waku::ContentTopic;

use crate::ids::TopicId;

/// Interned content topics and the pubsub topics they shard to.
#[derive(Debug, Clone, Default)]
pub struct Topics {
    by_name: BTreeMap<String, TopicId>,
    names: Vec<String>,
    shard_of: Vec<u16>,
    pubsub: Vec<String>,
    cluster: u16,
    shards: u16,
}

impl Topics {
    /// An empty table for `shards` autosharded shards of `cluster`
    /// (`/waku/2/rs/<cluster>/<shard>`).
    pub fn new(cluster: u16, shards: u16) -> Self {
        let shards = shards.max(1);
        let pubsub = (0..shards).map(|s| format!("/waku/2/rs/{cluster}/{s}")).collect();
        Self { by_name: BTreeMap::new(), names: Vec::new(), shard_of: Vec::new(), pubsub, cluster, shards }
    }

    /// The id of a known topic.
    pub fn get(&self, name: &str) -> Option<TopicId> {
        self.by_name.get(name).copied()
    }

    /// The id of `name`, interning it; `None` if it is not a valid content topic.
    pub fn intern(&mut self, name: &str) -> Option<TopicId> {
        if let Some(id) = self.by_name.get(name) {
            return Some(*id);
        }
        let parsed = ContentTopic::parse(name).ok()?;
        let id = TopicId(u32::try_from(self.names.len()).ok()?);
        self.by_name.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        self.shard_of.push(parsed.shard(self.shards));
        Some(id)
    }

    /// The topic string.
    pub fn name(&self, id: TopicId) -> &str {
        self.names.get(id.0 as usize).map_or("", String::as_str)
    }

    /// The shard index of a topic.
    pub fn shard(&self, id: TopicId) -> u16 {
        self.shard_of.get(id.0 as usize).copied().unwrap_or(0)
    }

    /// The pubsub topic string of a shard index.
    pub fn pubsub(&self, shard: u16) -> &str {
        self.pubsub.get(usize::from(shard)).map_or("", String::as_str)
    }

    /// The shard index of a pubsub topic string, if it is one of ours.
    pub fn pubsub_index(&self, name: &str) -> Option<u16> {
        self.pubsub.iter().position(|p| p == name).and_then(|i| u16::try_from(i).ok())
    }

    /// Number of interned topics.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no topic is interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The cluster id.
    pub fn cluster(&self) -> u16 {
        self.cluster
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_and_sharding() {
        let mut t = Topics::new(1, 8);
        let a = t.intern("/status/1/x/proto").unwrap();
        assert_eq!(t.intern("/status/1/x/proto"), Some(a));
        assert_eq!(t.shard(a), 5); // status/1 mod 8 = 5 (waku-network-model.md §1.4)
        assert_eq!(t.pubsub(t.shard(a)), "/waku/2/rs/1/5");
        assert_eq!(t.pubsub_index("/waku/2/rs/1/5"), Some(5));
        assert_eq!(t.intern("bad"), None);
        assert_eq!(t.name(a), "/status/1/x/proto");
        assert_eq!(t.len(), 1);
    }
}
