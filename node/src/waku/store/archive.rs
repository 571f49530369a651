//! The message archive behind the store server and its Store v3 query semantics, without IO:
//! messages ordered by (timestamp, hash), content filters, time windows, hash lookups and
//! cursor paging.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use status_1to1::waku::WakuMessage;

use super::wire::{StoreQueryRequest, StoreQueryResponse, WakuMessageKeyValue};
use super::{DEFAULT_PAGE_SIZE, MAX_CONTENT_TOPICS, MAX_PAGE_SIZE};
use crate::waku::PubsubTopic;

/// A 14/WAKU2-MESSAGE hash.
type Hash = [u8; 32];
/// Archive order: by sender timestamp, ties broken by hash (as nwaku's archive orders).
type Key = (i64, Hash);

/// Status codes of the store protocol.
const OK: u32 = 200;
const BAD_REQUEST: u32 = 400;

/// One page of matches, oldest first, and whether more lie beyond it.
struct Page<'a> {
    items: Vec<(&'a Key, &'a Entry)>,
    more: bool,
}

/// A stored message and the shard it came on.
#[derive(Debug, Clone)]
struct Entry {
    pubsub_topic: PubsubTopic,
    message: WakuMessage,
}

/// Why a query is refused (a 400 response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueryError {
    #[error("pubsub topic and content topics must be set together")]
    PartialContentFilter,
    #[error("at most {MAX_CONTENT_TOPICS} content topics per query, got {0}")]
    TooManyContentTopics(usize),
    #[error("a hash lookup cannot carry a content filter or time window")]
    MixedQuery,
    #[error("invalid pubsub topic")]
    PubsubTopic,
    #[error("message hashes and cursors are 32 bytes")]
    BadHash,
    #[error("cursor not found")]
    UnknownCursor,
}

/// Up to `capacity` messages; beyond it the oldest (by timestamp) go first.
#[derive(Debug)]
pub(crate) struct Archive {
    capacity: usize,
    entries: BTreeMap<Key, Entry>,
    keys: HashMap<Hash, Key>,
}

impl Archive {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, entries: BTreeMap::new(), keys: HashMap::new() }
    }

    /// Keeps a copy of a relayed or published message unless it is ephemeral, has no
    /// timestamp to order it by, or is already stored. Returns whether it was added. Without a
    /// store (capacity 0) this costs nothing: no hash, no copy.
    pub(crate) fn insert(&mut self, pubsub_topic: PubsubTopic, message: &WakuMessage) -> bool {
        let Some(timestamp) = message.timestamp.filter(|_| self.capacity > 0 && !message.is_ephemeral()) else {
            return false;
        };
        let hash = message.hash(&pubsub_topic.to_string());
        if self.keys.contains_key(&hash) {
            return false;
        }
        if self.entries.len() == self.capacity
            && let Some(((_, oldest), _)) = self.entries.pop_first()
        {
            self.keys.remove(&oldest);
        }
        self.keys.insert(hash, (timestamp, hash));
        self.entries.insert((timestamp, hash), Entry { pubsub_topic, message: message.clone() });
        true
    }

    /// Answers a query: a page, or a 400 saying why not.
    pub(crate) fn answer(&self, request: &StoreQueryRequest) -> StoreQueryResponse {
        let (status_code, status_desc, messages, pagination_cursor) = match self.page(request) {
            Ok(Page { items, more }) => {
                // Where the next page continues: past the newest for forward, the oldest for backward.
                let edge = if request.pagination_forward { items.last() } else { items.first() };
                let cursor = edge.filter(|_| more).map(|(key, _)| key.1.to_vec());
                let messages = items.iter().map(|(key, entry)| key_value(key, entry, request.include_data)).collect();
                (OK, "OK".to_owned(), messages, cursor)
            }
            Err(e) => (BAD_REQUEST, e.to_string(), Vec::new(), None),
        };
        StoreQueryResponse {
            request_id: request.request_id.clone(),
            status_code: Some(status_code),
            status_desc: Some(status_desc),
            messages,
            pagination_cursor,
        }
    }

    /// The page in chronological order. Backward pages hold the newest matches before the
    /// cursor, still oldest first (js-waku continues from the first message of a backward page
    /// and from the last of a forward one).
    fn page(&self, request: &StoreQueryRequest) -> Result<Page<'_>, QueryError> {
        let filter = Filter::parse(request)?;
        let cursor = request.pagination_cursor.as_deref().map(|c| self.cursor_key(c)).transpose()?;
        let beyond_cursor = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        let limit = page_limit(request.pagination_limit);
        let matches = |(key, entry): &(&Key, &Entry)| filter.matches(key, entry);
        let mut items: Vec<(&Key, &Entry)> = if request.pagination_forward {
            self.entries.range((beyond_cursor, Bound::Unbounded)).filter(matches).take(limit + 1).collect()
        } else {
            self.entries.range((Bound::Unbounded, beyond_cursor)).rev().filter(matches).take(limit + 1).collect()
        };
        let more = items.len() > limit;
        items.truncate(limit);
        if !request.pagination_forward {
            items.reverse();
        }
        Ok(Page { items, more })
    }

    fn cursor_key(&self, cursor: &[u8]) -> Result<Key, QueryError> {
        let hash: Hash = cursor.try_into().map_err(|_| QueryError::BadHash)?;
        self.keys.get(&hash).copied().ok_or(QueryError::UnknownCursor)
    }
}

/// The page size: the default when absent or 0, capped at the maximum.
fn page_limit(asked: Option<u64>) -> usize {
    match asked {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
    }
}

fn key_value(key: &Key, entry: &Entry, include_data: bool) -> WakuMessageKeyValue {
    WakuMessageKeyValue {
        message_hash: Some(key.1.to_vec()),
        message: include_data.then(|| entry.message.clone()),
        pubsub_topic: include_data.then(|| entry.pubsub_topic.to_string()),
    }
}

/// What a query selects.
enum Filter {
    /// Messages with these hashes.
    Hashes(Vec<Hash>),
    /// Messages in a time window, on a shard and content topics if given.
    Content { topics: Option<(PubsubTopic, Vec<String>)>, start: Option<i64>, end: Option<i64> },
}

impl Filter {
    /// Checks the query's shape (WAKU2-STORE v3): a hash lookup or a content filter, never both;
    /// a pubsub topic exactly with content topics, at most ten of them.
    fn parse(request: &StoreQueryRequest) -> Result<Self, QueryError> {
        let has_filter = request.pubsub_topic.is_some()
            || !request.content_topics.is_empty()
            || request.time_start.is_some()
            || request.time_end.is_some();
        if !request.message_hashes.is_empty() {
            if has_filter {
                return Err(QueryError::MixedQuery);
            }
            let hashes =
                request.message_hashes.iter().map(|h| h.as_slice().try_into().map_err(|_| QueryError::BadHash));
            return hashes.collect::<Result<_, _>>().map(Filter::Hashes);
        }
        let topics = match (&request.pubsub_topic, request.content_topics.len()) {
            (None, 0) => None,
            (Some(_), n) if n > MAX_CONTENT_TOPICS => return Err(QueryError::TooManyContentTopics(n)),
            (Some(topic), n) if n > 0 => {
                let topic = topic.parse().map_err(|_| QueryError::PubsubTopic)?;
                Some((topic, request.content_topics.clone()))
            }
            _ => return Err(QueryError::PartialContentFilter),
        };
        Ok(Filter::Content { topics, start: request.time_start, end: request.time_end })
    }

    fn matches(&self, key: &Key, entry: &Entry) -> bool {
        match self {
            Filter::Hashes(hashes) => hashes.contains(&key.1),
            Filter::Content { topics, start, end } => {
                let in_window = start.is_none_or(|s| key.0 >= s) && end.is_none_or(|e| key.0 <= e);
                let on_topics = topics.as_ref().is_none_or(|(pubsub, content)| {
                    entry.pubsub_topic == *pubsub && content.contains(&entry.message.content_topic)
                });
                in_window && on_topics
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARD: PubsubTopic = PubsubTopic::static_shard(16, 32);

    fn message(content_topic: &str, timestamp: i64) -> WakuMessage {
        WakuMessage {
            payload: timestamp.to_be_bytes().to_vec(),
            content_topic: content_topic.into(),
            version: None,
            timestamp: Some(timestamp),
            meta: None,
            rate_limit_proof: None,
            ephemeral: None,
        }
    }

    /// Ten messages at t = 1..=10 on /a/1/x/proto, odd ones also on /b/1/x/proto.
    fn archive() -> Archive {
        let mut archive = Archive::new(100);
        for t in 1..=10 {
            assert!(archive.insert(SHARD, &message("/a/1/x/proto", t)));
            if t % 2 == 1 {
                assert!(archive.insert(SHARD, &message("/b/1/x/proto", t)));
            }
        }
        archive
    }

    fn query(topics: &[&str]) -> StoreQueryRequest {
        StoreQueryRequest {
            request_id: "q".into(),
            include_data: true,
            pubsub_topic: Some(SHARD.to_string()),
            content_topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            pagination_forward: true,
            ..Default::default()
        }
    }

    fn timestamps(response: &StoreQueryResponse) -> Vec<i64> {
        response.messages.iter().map(|kv| kv.message.as_ref().unwrap().timestamp.unwrap()).collect()
    }

    /// Follows cursors the way js-waku does, until an empty page.
    fn all_pages(archive: &Archive, mut request: StoreQueryRequest) -> Vec<Vec<i64>> {
        let mut pages = Vec::new();
        loop {
            let response = archive.answer(&request);
            assert_eq!(response.status_code, Some(200), "{:?}", response.status_desc);
            if response.messages.is_empty() {
                return pages;
            }
            let edge = if request.pagination_forward { response.messages.last() } else { response.messages.first() };
            request.pagination_cursor = edge.unwrap().message_hash.clone();
            pages.push(timestamps(&response));
        }
    }

    #[test]
    fn pages_forward_and_backward_in_chronological_order() {
        let archive = archive();
        let mut forward = query(&["/a/1/x/proto"]);
        forward.pagination_limit = Some(4);
        assert_eq!(all_pages(&archive, forward.clone()), [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]);
        let first = archive.answer(&forward);
        assert_eq!(first.pagination_cursor, first.messages[3].message_hash, "a cursor when more follow");
        let mut backward = forward;
        backward.pagination_forward = false;
        assert_eq!(all_pages(&archive, backward.clone()), [vec![7, 8, 9, 10], vec![3, 4, 5, 6], vec![1, 2]]);
        let first = archive.answer(&backward);
        assert_eq!(first.pagination_cursor, first.messages[0].message_hash, "backward continues from the oldest");
    }

    #[test]
    fn filters_by_content_topics_and_inclusive_time_window() {
        let archive = archive();
        let mut request = query(&["/b/1/x/proto"]);
        assert_eq!(timestamps(&archive.answer(&request)), [1, 3, 5, 7, 9]);
        request.content_topics.push("/a/1/x/proto".into());
        request.time_start = Some(3);
        request.time_end = Some(5);
        assert_eq!(timestamps(&archive.answer(&request)), [3, 3, 4, 5, 5]);
        let last = archive.answer(&request);
        assert_eq!(last.pagination_cursor, None, "no cursor on the last page");
        let mut other_shard = query(&["/a/1/x/proto"]);
        other_shard.pubsub_topic = Some("/waku/2/rs/16/33".into());
        assert!(archive.answer(&other_shard).messages.is_empty());
    }

    #[test]
    fn looks_up_hashes_and_can_leave_out_data() {
        let archive = archive();
        let wanted = message("/a/1/x/proto", 6);
        let request = StoreQueryRequest {
            message_hashes: vec![wanted.hash(&SHARD.to_string()).to_vec(), vec![0; 32]],
            ..Default::default()
        };
        let response = archive.answer(&request);
        assert_eq!(response.messages.len(), 1);
        assert_eq!(response.messages[0].message, None, "include_data was false");
        assert_eq!(response.messages[0].message_hash, Some(wanted.hash(&SHARD.to_string()).to_vec()));
    }

    #[test]
    fn refuses_malformed_queries_with_400() {
        let archive = archive();
        let eleven: Vec<String> = (0..11).map(|i| format!("/t/1/{i}/proto")).collect();
        let mut too_many = query(&[]);
        too_many.content_topics = eleven;
        let mut partial = query(&[]);
        partial.pubsub_topic = Some(SHARD.to_string());
        let mut mixed = query(&["/a/1/x/proto"]);
        mixed.message_hashes = vec![vec![0; 32]];
        let mut unknown_cursor = query(&["/a/1/x/proto"]);
        unknown_cursor.pagination_cursor = Some(vec![9; 32]);
        let mut short_cursor = query(&["/a/1/x/proto"]);
        short_cursor.pagination_cursor = Some(vec![9; 31]);
        let mut bad_topic = query(&["/a/1/x/proto"]);
        bad_topic.pubsub_topic = Some("/waku/2/default-waku/proto".into());
        for (request, why) in [
            (too_many, "at most 10 content topics per query, got 11"),
            (partial, "pubsub topic and content topics must be set together"),
            (mixed, "a hash lookup cannot carry a content filter or time window"),
            (unknown_cursor, "cursor not found"),
            (short_cursor, "message hashes and cursors are 32 bytes"),
            (bad_topic, "invalid pubsub topic"),
        ] {
            let response = archive.answer(&request);
            assert_eq!((response.status_code, response.status_desc.as_deref()), (Some(400), Some(why)));
            assert!(response.messages.is_empty());
        }
    }

    #[test]
    fn keeps_capacity_drops_oldest_and_skips_ephemeral_untimed_and_repeats() {
        let mut archive = Archive::new(3);
        for t in [5, 1, 9, 7] {
            archive.insert(SHARD, &message("/a/1/x/proto", t));
        }
        assert!(!archive.insert(SHARD, &message("/a/1/x/proto", 9)), "a repeat");
        let mut ephemeral = message("/a/1/x/proto", 11);
        ephemeral.ephemeral = Some(true);
        assert!(!archive.insert(SHARD, &ephemeral));
        let mut untimed = message("/a/1/x/proto", 12);
        untimed.timestamp = None;
        assert!(!archive.insert(SHARD, &untimed));
        assert_eq!(timestamps(&archive.answer(&query(&["/a/1/x/proto"]))), [5, 7, 9]);
        assert!(!Archive::new(0).insert(SHARD, &message("/a/1/x/proto", 1)), "no store, nothing kept");
        let unbounded = StoreQueryRequest { pagination_limit: Some(u64::MAX), ..query(&["/a/1/x/proto"]) };
        assert_eq!(page_limit(unbounded.pagination_limit), MAX_PAGE_SIZE);
        assert_eq!(page_limit(Some(0)), DEFAULT_PAGE_SIZE);
    }
}
