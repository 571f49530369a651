//! The protobufs of Store v3 (`/vac/waku/store-query/3.0.0`, WAKU2-STORE v3) and of Waku Metadata
//! (`/vac/waku/metadata/1.0.0`, 66/WAKU2-METADATA), with the field numbers js-waku's
//! `@waku/proto` 0.0.8 (`store_v3.js`, `metadata.js`) reads and writes.

use status_1to1::waku::WakuMessage;

/// A store query: by content filter (pubsub topic, content topics, time window) or by message
/// hashes, one page at a time.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoreQueryRequest {
    /// Echoed in the response.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// Whether to return the messages or only their hashes.
    #[prost(bool, tag = "2")]
    pub include_data: bool,
    /// The shard to search; set exactly when `content_topics` is.
    #[prost(string, optional, tag = "10")]
    pub pubsub_topic: Option<String>,
    /// The content topics to match (at most [`MAX_CONTENT_TOPICS`](super::MAX_CONTENT_TOPICS)).
    #[prost(string, repeated, tag = "11")]
    pub content_topics: Vec<String>,
    /// Earliest message timestamp, Unix nanoseconds, inclusive.
    #[prost(sint64, optional, tag = "12")]
    pub time_start: Option<i64>,
    /// Latest message timestamp, Unix nanoseconds, inclusive.
    #[prost(sint64, optional, tag = "13")]
    pub time_end: Option<i64>,
    /// Messages to look up by 14/WAKU2-MESSAGE hash (excludes the content filter).
    #[prost(bytes = "vec", repeated, tag = "20")]
    pub message_hashes: Vec<Vec<u8>>,
    /// The hash of the message the previous page ended at.
    #[prost(bytes = "vec", optional, tag = "51")]
    pub pagination_cursor: Option<Vec<u8>>,
    /// Oldest first when true, newest first when false.
    #[prost(bool, tag = "52")]
    pub pagination_forward: bool,
    /// Page size wanted.
    #[prost(uint64, optional, tag = "53")]
    pub pagination_limit: Option<u64>,
}

/// One result: the message hash, and the message with its shard when data was asked for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WakuMessageKeyValue {
    /// The 14/WAKU2-MESSAGE deterministic hash.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub message_hash: Option<Vec<u8>>,
    /// The message.
    #[prost(message, optional, tag = "2")]
    pub message: Option<WakuMessage>,
    /// The shard it was relayed on.
    #[prost(string, optional, tag = "3")]
    pub pubsub_topic: Option<String>,
}

/// A page of results, or a status code saying why there is none.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoreQueryResponse {
    /// The request's id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// HTTP-like: 200 OK, 400 bad request.
    #[prost(uint32, optional, tag = "10")]
    pub status_code: Option<u32>,
    /// Human-readable status.
    #[prost(string, optional, tag = "11")]
    pub status_desc: Option<String>,
    /// The page.
    #[prost(message, repeated, tag = "20")]
    pub messages: Vec<WakuMessageKeyValue>,
    /// Set when more results follow: the hash to pass as the next request's cursor.
    #[prost(bytes = "vec", optional, tag = "51")]
    pub pagination_cursor: Option<Vec<u8>>,
}

/// The metadata handshake: the cluster and shards a node serves. Request and response have the
/// same shape. `shards` is not packed: js-waku's decoder reads one varint per field entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WakuMetadata {
    /// The cluster id.
    #[prost(uint32, optional, tag = "1")]
    pub cluster_id: Option<u32>,
    /// The shard indexes.
    #[prost(uint32, repeated, packed = "false", tag = "2")]
    pub shards: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn metadata_shards_are_unpacked_as_js_waku_writes_them() {
        let metadata = WakuMetadata { cluster_id: Some(16), shards: vec![32, 64] };
        // 08 10 | 10 20 | 10 40: one tag per shard, as @waku/proto's encoder emits.
        assert_eq!(hex::encode(metadata.encode_to_vec()), "0810102010 40".replace(' ', ""));
    }

    #[test]
    fn store_request_field_numbers_match_js_waku() {
        let request = StoreQueryRequest {
            request_id: "r".into(),
            include_data: true,
            pubsub_topic: Some("p".into()),
            content_topics: vec!["c".into()],
            time_start: Some(-1),
            time_end: Some(1),
            message_hashes: vec![vec![0xaa]],
            pagination_cursor: Some(vec![0xbb]),
            pagination_forward: true,
            pagination_limit: Some(5),
        };
        // Tags 1, 2, 10, 11, 12 (zig-zag -1 = 1), 13 (zig-zag 1 = 2), 20, 51, 52, 53: the bytes
        // @waku/proto's StoreQueryRequest.encode writes for the same object.
        let expected = "0a0172 1001 520170 5a0163 6001 6802 a20101aa 9a0301bb a00301 a80305";
        assert_eq!(hex::encode(request.encode_to_vec()), expected.replace(' ', ""));
    }
}
