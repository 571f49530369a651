//! A store node's archive with nwaku's rules (13/WAKU2-STORE v3; nwaku `waku_archive`).
//!
//! Rules, as read in nwaku (`waku/waku_archive/archive.nim`, `tools/confutils/cli_args.nim`;
//! waku-network-model.md §1.6): ephemeral messages are never stored; a message whose timestamp is
//! missing or more than 20 s from the store node's clock is refused (`invalidMessageOld` /
//! `invalidMessageFuture`); entries are keyed and deduplicated by the deterministic message
//! hash; results are ordered by (timestamp, hash); pages default to 20 and are capped at 100;
//! at most 10 content topics per query; a content filter needs the pubsub topic; time_start is
//! inclusive and time_end exclusive; cursors are message hashes, exclusive; pages come back in
//! forward order even for backward queries; retention is by time (default 2 days) with a
//! capacity bound (nwaku's `capacity:<n>` policy) so memory stays bounded.

use std::collections::BTreeMap;

use crate::hashing::FastMap;
use std::ops::Bound;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::envelope::Envelope;
use super::topics::Topics;
use crate::ids::TopicId;
use crate::node::{StoreEntry, StoreError, StorePage, StoreQuery};

/// Store-node parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Time retention (nwaku default `time:172800`, 2 days).
    pub retention_ms: u64,
    /// Capacity retention: at most this many messages, oldest evicted first.
    pub capacity: usize,
    /// How often time retention runs (nwaku: every 30 min).
    pub retention_interval_ms: u64,
    /// `DefaultPageSize`.
    pub default_page: u32,
    /// `MaxPageSize`.
    pub max_page: u32,
    /// `MaxContentTopicsPerQuery`.
    pub max_content_topics: usize,
    /// `MaxMessageTimestampVariance` (20 s).
    pub timestamp_variance_ms: u64,
    /// Server-side processing time, uniform in this range (FURPS: P95 hash queries < 10 ms,
    /// typical response < 2 s; the network legs are added separately).
    pub processing_ms: (u64, u64),
    /// Client-side request timeout (status-go missing-message check: 20 s).
    pub timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            retention_ms: 172_800_000,
            capacity: 250_000,
            retention_interval_ms: 30 * 60_000,
            default_page: 20,
            max_page: 100,
            max_content_topics: 10,
            timestamp_variance_ms: 20_000,
            processing_ms: (2, 20),
            timeout_ms: 20_000,
        }
    }
}

/// What the archive did with an incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArchiveOutcome {
    /// Stored.
    Stored,
    /// Same hash already stored.
    Duplicate,
    /// Ephemeral: never stored.
    Ephemeral,
    /// Timestamp missing, zero, or more than the variance in the past.
    TooOld,
    /// Timestamp more than the variance in the future.
    TooNew,
}

type Pos = (i64, [u8; 32]);

/// The archive of one store node.
#[derive(Debug, Default)]
pub struct Archive {
    by_topic: BTreeMap<(TopicId, i64, [u8; 32]), Rc<Envelope>>,
    by_time: BTreeMap<Pos, TopicId>,
    /// Lookup-only (see [`crate::hashing`]): ordering comes from the two B-trees.
    by_hash: FastMap<[u8; 32], (TopicId, i64)>,
}

impl Archive {
    /// Number of stored messages.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether a hash is stored.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Validates and stores `env` at store-node clock `now_ns`, evicting the oldest entries
    /// beyond the capacity.
    pub fn insert(&mut self, env: &Rc<Envelope>, now_ns: i64, cfg: &StoreConfig) -> ArchiveOutcome {
        if env.message.is_ephemeral() {
            return ArchiveOutcome::Ephemeral;
        }
        let ts = env.timestamp_ns();
        let variance = i64::try_from(cfg.timestamp_variance_ms).unwrap_or(i64::MAX).saturating_mul(1_000_000);
        if ts <= 0 || ts < now_ns.saturating_sub(variance) {
            return ArchiveOutcome::TooOld;
        }
        if ts > now_ns.saturating_add(variance) {
            return ArchiveOutcome::TooNew;
        }
        if self.by_hash.contains_key(&env.hash) {
            return ArchiveOutcome::Duplicate;
        }
        self.by_hash.insert(env.hash, (env.topic, ts));
        self.by_time.insert((ts, env.hash), env.topic);
        self.by_topic.insert((env.topic, ts, env.hash), Rc::clone(env));
        while self.by_hash.len() > cfg.capacity {
            if !self.evict_oldest() {
                break;
            }
        }
        ArchiveOutcome::Stored
    }

    fn evict_oldest(&mut self) -> bool {
        let Some(((ts, hash), topic)) = self.by_time.pop_first() else { return false };
        self.by_hash.remove(&hash);
        self.by_topic.remove(&(topic, ts, hash));
        true
    }

    /// Time retention: drops entries older than `now_ns - retention`. Returns how many.
    pub fn expire(&mut self, now_ns: i64, cfg: &StoreConfig) -> usize {
        let cutoff =
            now_ns.saturating_sub(i64::try_from(cfg.retention_ms).unwrap_or(i64::MAX).saturating_mul(1_000_000));
        let mut n = 0;
        while let Some((&(ts, _), _)) = self.by_time.first_key_value() {
            if ts >= cutoff || !self.evict_oldest() {
                break;
            }
            n += 1;
        }
        n
    }

    /// Answers a store v3 query.
    pub fn query(&self, q: &StoreQuery, topics: &Topics, cfg: &StoreConfig) -> Result<StorePage, StoreError> {
        let has_content = !q.content_topics.is_empty();
        if !q.message_hashes.is_empty() && (has_content || q.pubsub_topic.is_some()) {
            return Err(StoreError::BadRequest("hash lookup cannot carry a content filter"));
        }
        if has_content && q.pubsub_topic.is_none() {
            return Err(StoreError::BadRequest("content topics need a pubsub topic"));
        }
        if q.content_topics.len() > cfg.max_content_topics {
            return Err(StoreError::BadRequest("too many content topics"));
        }
        let limit = match q.page_limit {
            None | Some(0) => cfg.default_page,
            Some(n) => n.min(cfg.max_page),
        } as usize;
        let cursor = match &q.cursor {
            Some(h) => {
                let (_, ts) = self.by_hash.get(h).ok_or(StoreError::InvalidCursor)?;
                Some((*ts, *h))
            }
            None => None,
        };
        let pubsub = match &q.pubsub_topic {
            Some(p) => Some(topics.pubsub_index(p).ok_or(StoreError::BadRequest("unknown pubsub topic"))?),
            None => None,
        };
        let (lo, hi) = bounds(q, cursor);
        let mut found: Vec<(Pos, &Rc<Envelope>)> = Vec::new();
        if !q.message_hashes.is_empty() {
            self.collect_hashes(&q.message_hashes, (lo, hi), &mut found);
        } else if has_content {
            for name in &q.content_topics {
                if let Some(t) = topics.get(name) {
                    self.collect_topic(t, pubsub, (lo, hi), q.forward, limit + 1, &mut found);
                }
            }
        } else {
            self.collect_all(pubsub, (lo, hi), q.forward, limit + 1, &mut found);
        }
        Ok(paginate(found, q.forward, limit, q.include_data))
    }

    fn collect_hashes<'a>(
        &'a self,
        hashes: &[[u8; 32]],
        range: (Bound<Pos>, Bound<Pos>),
        out: &mut Vec<(Pos, &'a Rc<Envelope>)>,
    ) {
        for h in hashes {
            if let Some((topic, ts)) = self.by_hash.get(h)
                && let Some(env) = self.by_topic.get(&(*topic, *ts, *h))
                && within(&(*ts, *h), &range)
            {
                out.push(((*ts, *h), env));
            }
        }
        out.sort_by_key(|a| a.0);
        out.dedup_by(|a, b| a.0 == b.0);
    }

    fn collect_topic<'a>(
        &'a self,
        topic: TopicId,
        pubsub: Option<u16>,
        (lo, hi): (Bound<Pos>, Bound<Pos>),
        forward: bool,
        take: usize,
        out: &mut Vec<(Pos, &'a Rc<Envelope>)>,
    ) {
        let key = |b: Bound<Pos>, end: bool| match b {
            Bound::Included((ts, h)) => Bound::Included((topic, ts, h)),
            Bound::Excluded((ts, h)) => Bound::Excluded((topic, ts, h)),
            Bound::Unbounded if end => Bound::Included((topic, i64::MAX, [0xff; 32])),
            Bound::Unbounded => Bound::Included((topic, i64::MIN, [0; 32])),
        };
        let range = self.by_topic.range((key(lo, false), key(hi, true)));
        let keep = |(k, env): (&(TopicId, i64, [u8; 32]), &'a Rc<Envelope>)| {
            (pubsub.is_none_or(|p| env.pubsub == p)).then_some(((k.1, k.2), env))
        };
        if forward {
            out.extend(range.filter_map(keep).take(take));
        } else {
            out.extend(range.rev().filter_map(keep).take(take));
        }
    }

    fn collect_all<'a>(
        &'a self,
        pubsub: Option<u16>,
        range: (Bound<Pos>, Bound<Pos>),
        forward: bool,
        take: usize,
        out: &mut Vec<(Pos, &'a Rc<Envelope>)>,
    ) {
        let iter = self.by_time.range(range);
        let keep = |(pos, topic): (&Pos, &TopicId)| {
            let env = self.by_topic.get(&(*topic, pos.0, pos.1))?;
            (pubsub.is_none_or(|p| env.pubsub == p)).then_some((*pos, env))
        };
        if forward {
            out.extend(iter.filter_map(keep).take(take));
        } else {
            out.extend(iter.rev().filter_map(keep).take(take));
        }
    }
}

/// The (timestamp, hash) window of a query: time bounds intersected with the cursor.
fn bounds(q: &StoreQuery, cursor: Option<Pos>) -> (Bound<Pos>, Bound<Pos>) {
    let mut lo = q.time_start.map_or(Bound::Unbounded, |t| Bound::Included((t, [0u8; 32])));
    let mut hi = q.time_end.map_or(Bound::Unbounded, |t| Bound::Excluded((t, [0u8; 32])));
    if let Some(c) = cursor {
        if q.forward {
            if lower_key(&lo).is_none_or(|k| c >= k) {
                lo = Bound::Excluded(c);
            }
        } else if upper_key(&hi).is_none_or(|k| c <= k) {
            hi = Bound::Excluded(c);
        }
    }
    // An empty window makes BTreeMap::range panic; normalise it to a valid empty one.
    if let (Some(l), Some(h)) = (lower_key(&lo), upper_key(&hi))
        && (l > h || (l == h && (matches!(lo, Bound::Excluded(_)) || matches!(hi, Bound::Excluded(_)))))
    {
        return (Bound::Excluded((i64::MIN, [0; 32])), Bound::Excluded((i64::MIN, [1; 32])));
    }
    (lo, hi)
}

fn lower_key(b: &Bound<Pos>) -> Option<Pos> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(*k),
        Bound::Unbounded => None,
    }
}

fn upper_key(b: &Bound<Pos>) -> Option<Pos> {
    lower_key(b)
}

fn within(pos: &Pos, (lo, hi): &(Bound<Pos>, Bound<Pos>)) -> bool {
    let above = match lo {
        Bound::Included(k) => pos >= k,
        Bound::Excluded(k) => pos > k,
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(k) => pos <= k,
        Bound::Excluded(k) => pos < k,
        Bound::Unbounded => true,
    };
    above && below
}

/// Cuts candidates (from one or several topic ranges) to one page in forward order, with a
/// cursor when more results exist.
fn paginate(mut found: Vec<(Pos, &Rc<Envelope>)>, forward: bool, limit: usize, include_data: bool) -> StorePage {
    found.sort_by_key(|a| a.0);
    let more = found.len() > limit;
    if more {
        if forward {
            found.truncate(limit);
        } else {
            found.drain(..found.len() - limit);
        }
    }
    let cursor =
        if more { if forward { found.last().map(|e| e.0.1) } else { found.first().map(|e| e.0.1) } } else { None };
    StorePage {
        entries: found.into_iter().map(|(_, env)| StoreEntry::new(Rc::clone(env), include_data)).collect(),
        cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NetAddr;
    use crate::time::SimTime;
    use status_1to1::waku::WakuMessage;

    const S: i64 = 1_000_000_000;

    fn env(topics: &mut Topics, topic: &str, ts_s: i64, payload: u8, ephemeral: bool) -> Rc<Envelope> {
        let t = topics.intern(topic).unwrap();
        let pubsub = topics.shard(t);
        let mut message = WakuMessage::noise(vec![payload], topic, ts_s * S, ephemeral);
        message.version = Some(0);
        let hash = message.hash(topics.pubsub(pubsub));
        Rc::new(Envelope {
            message,
            topic: t,
            pubsub,
            hash,
            size: 10,
            origin: NetAddr::Adversary,
            published_at: SimTime::ZERO,
        })
    }

    fn setup() -> (Topics, Archive, StoreConfig, Vec<Rc<Envelope>>) {
        let mut topics = Topics::new(1, 8);
        let cfg = StoreConfig::default();
        let mut a = Archive::default();
        let mut all = Vec::new();
        for i in 0..25u8 {
            let e = env(&mut topics, "/app/1/a/proto", 1000 + i64::from(i), i, false);
            assert_eq!(a.insert(&e, 1010 * S, &cfg), ArchiveOutcome::Stored);
            all.push(e);
        }
        (topics, a, cfg, all)
    }

    fn q(topics: &Topics, forward: bool, limit: Option<u32>) -> StoreQuery {
        StoreQuery {
            include_data: true,
            pubsub_topic: Some(topics.pubsub(topics.shard(topics.get("/app/1/a/proto").unwrap())).to_owned()),
            content_topics: vec!["/app/1/a/proto".into()],
            forward,
            page_limit: limit,
            ..StoreQuery::default()
        }
    }

    #[test]
    fn validation_rules() {
        let mut topics = Topics::new(1, 8);
        let cfg = StoreConfig::default();
        let mut a = Archive::default();
        let now = 1000 * S;
        assert_eq!(a.insert(&env(&mut topics, "/app/1/a/proto", 1000, 1, true), now, &cfg), ArchiveOutcome::Ephemeral);
        assert_eq!(a.insert(&env(&mut topics, "/app/1/a/proto", 979, 2, false), now, &cfg), ArchiveOutcome::TooOld);
        assert_eq!(a.insert(&env(&mut topics, "/app/1/a/proto", 1021, 3, false), now, &cfg), ArchiveOutcome::TooNew);
        assert_eq!(a.insert(&env(&mut topics, "/app/1/a/proto", 0, 4, false), now, &cfg), ArchiveOutcome::TooOld);
        let ok = env(&mut topics, "/app/1/a/proto", 1020, 5, false);
        assert_eq!(a.insert(&ok, now, &cfg), ArchiveOutcome::Stored);
        assert_eq!(a.insert(&ok, now, &cfg), ArchiveOutcome::Duplicate);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn forward_paging_walks_everything_once() {
        let (topics, a, cfg, all) = setup();
        let mut query = q(&topics, true, Some(10));
        let mut seen = Vec::new();
        loop {
            let page = a.query(&query, &topics, &cfg).unwrap();
            seen.extend(page.entries.iter().map(|e| *e.hash()));
            match page.cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all.iter().map(|e| e.hash).collect::<Vec<_>>());
    }

    #[test]
    fn backward_paging_returns_newest_first_pages_in_forward_order() {
        let (topics, a, cfg, all) = setup();
        let mut query = q(&topics, false, Some(10));
        let page = a.query(&query, &topics, &cfg).unwrap();
        let hashes: Vec<_> = page.entries.iter().map(|e| *e.hash()).collect();
        assert_eq!(hashes, all[15..].iter().map(|e| e.hash).collect::<Vec<_>>());
        assert_eq!(page.cursor, Some(all[15].hash));
        query.cursor = page.cursor;
        let page2 = a.query(&query, &topics, &cfg).unwrap();
        assert_eq!(page2.entries.len(), 10);
        assert_eq!(*page2.entries[0].hash(), all[5].hash);
        query.cursor = page2.cursor;
        let page3 = a.query(&query, &topics, &cfg).unwrap();
        assert_eq!(page3.entries.len(), 5);
        assert_eq!(page3.cursor, None);
    }

    #[test]
    fn page_size_defaults_and_caps() {
        let (topics, a, cfg, _) = setup();
        assert_eq!(a.query(&q(&topics, true, None), &topics, &cfg).unwrap().entries.len(), 20);
        let mut small = cfg.clone();
        small.max_page = 7;
        assert_eq!(a.query(&q(&topics, true, Some(1000)), &topics, &small).unwrap().entries.len(), 7);
    }

    #[test]
    fn time_window_is_start_inclusive_end_exclusive() {
        let (topics, a, cfg, all) = setup();
        let mut query = q(&topics, true, Some(100));
        query.time_start = Some(1005 * S);
        query.time_end = Some(1010 * S);
        let page = a.query(&query, &topics, &cfg).unwrap();
        assert_eq!(
            page.entries.iter().map(|e| *e.hash()).collect::<Vec<_>>(),
            all[5..10].iter().map(|e| e.hash).collect::<Vec<_>>()
        );
        query.time_start = Some(1010 * S);
        query.time_end = Some(1010 * S);
        assert!(a.query(&query, &topics, &cfg).unwrap().entries.is_empty());
    }

    #[test]
    fn hash_lookup_and_bad_requests() {
        let (topics, a, cfg, all) = setup();
        let lookup = StoreQuery { message_hashes: vec![all[3].hash, [9; 32], all[1].hash], ..StoreQuery::default() };
        let page = a.query(&lookup, &topics, &cfg).unwrap();
        assert_eq!(page.entries.iter().map(|e| *e.hash()).collect::<Vec<_>>(), vec![all[1].hash, all[3].hash]);
        assert!(page.entries[0].message().is_none(), "presence query carries no data");
        let mut mixed = q(&topics, true, None);
        mixed.message_hashes = vec![all[0].hash];
        assert!(matches!(a.query(&mixed, &topics, &cfg), Err(StoreError::BadRequest(_))));
        let mut no_pubsub = q(&topics, true, None);
        no_pubsub.pubsub_topic = None;
        assert!(matches!(a.query(&no_pubsub, &topics, &cfg), Err(StoreError::BadRequest(_))));
        let mut many = q(&topics, true, None);
        many.content_topics = (0..11).map(|i| format!("/app/1/t{i}/proto")).collect();
        assert!(matches!(a.query(&many, &topics, &cfg), Err(StoreError::BadRequest(_))));
        let mut bad_cursor = q(&topics, true, None);
        bad_cursor.cursor = Some([7; 32]);
        assert_eq!(a.query(&bad_cursor, &topics, &cfg).unwrap_err(), StoreError::InvalidCursor);
    }

    #[test]
    fn retention_by_time_and_capacity() {
        let (_, mut a, mut cfg, all) = setup();
        cfg.retention_ms = 10_000;
        assert_eq!(a.expire(1020 * S, &cfg), 10);
        assert!(!a.contains(&all[9].hash) && a.contains(&all[10].hash));
        cfg.capacity = 5;
        let mut topics = Topics::new(1, 8);
        let extra = env(&mut topics, "/app/1/a/proto", 1030, 99, false);
        assert_eq!(a.insert(&extra, 1030 * S, &cfg), ArchiveOutcome::Stored);
        assert_eq!(a.len(), 5);
        assert!(a.contains(&extra.hash));
    }
}
