//! What runs on a simulated device: the [`SimNode`] trait and its event and action types.
//!
//! The simulator owns the network, the clocks and persistence; a node only sees `(now, event)`
//! and answers with actions, exactly like the sans-IO peer of the protocol crate. The real peer
//! (issue 5) has its own event/action enums; an adapter implementing [`SimNode`] translates them
//! (its `poll_timeout` becomes a [`NodeAction::SetTimer`] with a fixed token, its "deliver to the
//! application" becomes [`Notification::Delivered`], identities map to [`UserId`]/[`DeviceId`]
//! through the [`crate::Directory`]).

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use status_1to1::peer::{ChangeSet, Records};
use status_1to1::{SeededEntropy, Timestamp, waku::WakuMessage};

use crate::ids::{DeviceId, MessageId, UserId};
use crate::net::envelope::Envelope;

/// How a device talks to Waku (64/WAKU2-NETWORK roles; waku-network-model.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientMode {
    /// A full relay node (desktop): publishes and receives on the relay mesh.
    Relay,
    /// A light client (mobile): receives through filter, sends through lightpush.
    Light,
}

/// Which key exchange the peers use. The real peer's adapter reads it from [`DeviceSpec`]; the
/// stand-in node ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub enum KeyExchange {
    /// X3DH + Double Ratchet (53/, 54/).
    #[default]
    X3dh,
    /// Waku Noise sessions (35/, 37/).
    Noise,
    /// Each pair of users picks one of the two (seeded).
    Mixed,
}

/// Static facts about one device, handed to the [`NodeFactory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// This device.
    pub device: DeviceId,
    /// Its user.
    pub user: UserId,
    /// Relay or light client.
    pub mode: ClientMode,
    /// The key exchange of the scenario.
    pub key_exchange: KeyExchange,
    /// How many store nodes the device may address (`NodeAction::StoreQuery::store` is taken
    /// modulo this).
    pub store_nodes: u8,
    /// Cluster id of the pubsub topics (`/waku/2/rs/<cluster>/<shard>`).
    pub cluster: u16,
    /// Autosharding shard count.
    pub shards: u16,
}

impl DeviceSpec {
    /// The autosharded pubsub topic of a content topic, as the network computes it.
    pub fn pubsub_topic(&self, content_topic: &str) -> Option<String> {
        let t = status_1to1::waku::ContentTopic::parse(content_topic).ok()?;
        Some(format!("/waku/2/rs/{}/{}", self.cluster, t.shard(self.shards.max(1))))
    }
}

/// A command from the simulated user to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppCommand {
    /// Send `body` to every installation of `to`. `id` is unique in the run; the body embeds it
    /// (see [`crate::workload::body_for`]) so the invariant checker can authenticate deliveries
    /// without trusting the node.
    SendText {
        /// Workload-assigned id.
        id: MessageId,
        /// Recipient user.
        to: UserId,
        /// The plaintext.
        body: Vec<u8>,
    },
}

/// Which Waku path delivered a message to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MessageSource {
    /// Relay (gossipsub) delivery to a subscribed relay node.
    Relay,
    /// Filter push from a filter service node to a light client.
    Filter,
}

/// How to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PublishVia {
    /// Publish on the relay mesh (relay-mode devices only; light devices fall back to lightpush).
    Relay,
    /// Ask a lightpush service node to relay it.
    LightPush,
}

/// A successful publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    /// Relay peers the message was handed to (lightpush v3 `relay_peer_count`). A 200 with 0 is a
    /// silent loss (waku-network-model.md §1.8).
    pub relay_peer_count: u32,
}

/// Why a publish failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The device has no connectivity.
    #[error("offline")]
    Offline,
    /// Identical bytes were published within the gossipsub seen TTL (js-waku `PublishError.Duplicate`).
    #[error("duplicate within seen TTL")]
    Duplicate,
    /// Larger than the 150 KiB limit (lightpush 413).
    #[error("payload too large")]
    TooLarge,
    /// Lightpush 429.
    #[error("too many requests")]
    TooManyRequests,
    /// Lightpush 500.
    #[error("internal server error")]
    Internal,
    /// Lightpush 503 NO_PEERS_TO_RELAY.
    #[error("no peers to relay")]
    NoPeers,
    /// No answer within the request timeout.
    #[error("timeout")]
    Timeout,
    /// The content topic does not parse, so it has no shard.
    #[error("invalid content topic")]
    InvalidTopic,
}

/// Why a store query failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The device has no connectivity.
    #[error("offline")]
    Offline,
    /// No answer within the request timeout (node down, partitioned, or injected).
    #[error("timeout")]
    Timeout,
    /// 429 TOO_MANY_REQUESTS (injected).
    #[error("too many requests")]
    TooManyRequests,
    /// 503 SERVICE_UNAVAILABLE (injected).
    #[error("service unavailable")]
    Unavailable,
    /// 400 BAD_REQUEST: a query the store refuses (nwaku rules).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The cursor is not (or no longer) in the archive.
    #[error("invalid cursor")]
    InvalidCursor,
}

/// A store v3 query (13/WAKU2-STORE `StoreQueryRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreQuery {
    /// Return message bodies (false = presence/hash-only query).
    pub include_data: bool,
    /// Required together with `content_topics`.
    pub pubsub_topic: Option<String>,
    /// At most 10 (nwaku `MaxContentTopicsPerQuery`).
    pub content_topics: Vec<String>,
    /// Inclusive lower bound on the message timestamp, in ns.
    pub time_start: Option<i64>,
    /// Exclusive upper bound on the message timestamp, in ns.
    pub time_end: Option<i64>,
    /// Hash lookup; must not be combined with a content filter.
    pub message_hashes: Vec<[u8; 32]>,
    /// Continue after (forward) or before (backward) this message hash.
    pub cursor: Option<[u8; 32]>,
    /// Default is backward (`false`), as in the spec.
    pub forward: bool,
    /// Default 20, capped at 100 (nwaku `DefaultPageSize`, `MaxPageSize`).
    pub page_limit: Option<u32>,
}

/// One entry of a store response.
#[derive(Debug, Clone)]
pub struct StoreEntry {
    envelope: Rc<Envelope>,
    include_data: bool,
}

impl StoreEntry {
    pub(crate) fn new(envelope: Rc<Envelope>, include_data: bool) -> Self {
        Self { envelope, include_data }
    }

    /// The deterministic message hash (14/WAKU2-MESSAGE).
    pub fn hash(&self) -> &[u8; 32] {
        &self.envelope.hash
    }

    /// The message, if the query asked for data.
    pub fn message(&self) -> Option<&WakuMessage> {
        self.include_data.then_some(&self.envelope.message)
    }
}

/// One page of a store response. Entries are always in forward (timestamp, hash) order, even for
/// backward queries (13/WAKU2-STORE).
#[derive(Debug, Clone, Default)]
pub struct StorePage {
    /// The entries.
    pub entries: Vec<StoreEntry>,
    /// Present when more results exist; pass it back as `StoreQuery::cursor`.
    pub cursor: Option<[u8; 32]>,
}

/// What a device receives.
#[derive(Debug)]
pub enum NodeEvent<'a> {
    /// First boot (`restored: false`) or a restart after a crash, after restoring the last
    /// persisted snapshot (`restored: true`). The node must re-subscribe and re-arm its timers:
    /// neither survives a crash.
    Start {
        /// Whether the node was rebuilt from a snapshot.
        restored: bool,
    },
    /// Connectivity changed (churn). A real Waku client learns this from its connection manager.
    Connectivity {
        /// Whether the device is now online.
        online: bool,
    },
    /// The user did something.
    App(&'a AppCommand),
    /// A WakuMessage arrived live.
    Message {
        /// The message.
        message: &'a WakuMessage,
        /// Its deterministic hash on `pubsub_topic`.
        hash: &'a [u8; 32],
        /// The pubsub topic (autosharded).
        pubsub_topic: &'a str,
        /// Relay or filter.
        source: MessageSource,
    },
    /// The outcome of a lightpush publish (relay publishes only report failures).
    PublishResult {
        /// The request id of the publish action.
        request: u64,
        /// Success or the failure.
        result: Result<PublishAck, PublishError>,
    },
    /// The answer to a store query.
    StoreResult {
        /// The request id of the query action.
        request: u64,
        /// A page, or why there is none.
        result: Result<&'a StorePage, StoreError>,
    },
    /// A timer set with [`NodeAction::SetTimer`] fired.
    Timer {
        /// The token it was set with.
        token: u64,
    },
}

/// What a device asks the world to do. Actions are applied in order; a crash may cut the list
/// after any action (a torn crash), which is how "persist before send" is tested.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeAction {
    /// Publish a message.
    Publish {
        /// Echoed in [`NodeEvent::PublishResult`].
        request: u64,
        /// The message (its pubsub topic is derived by autosharding).
        message: WakuMessage,
        /// Relay or lightpush.
        via: PublishVia,
    },
    /// Start receiving these content topics (relay subscription or filter subscription).
    Subscribe {
        /// Content topics.
        content_topics: Vec<String>,
    },
    /// Stop receiving these content topics.
    Unsubscribe {
        /// Content topics.
        content_topics: Vec<String>,
    },
    /// Query a store node.
    StoreQuery {
        /// Echoed in [`NodeEvent::StoreResult`].
        request: u64,
        /// Which of the device's store nodes (modulo [`DeviceSpec::store_nodes`]).
        store: u8,
        /// The query.
        query: StoreQuery,
    },
    /// Fire [`NodeEvent::Timer`] at local time `at` (the device's skewed clock). Replaces any
    /// pending timer with the same token.
    SetTimer {
        /// Identifies the timer.
        token: u64,
        /// Local deadline.
        at: Timestamp,
    },
    /// Cancel the pending timer with this token, if any.
    CancelTimer {
        /// Identifies the timer.
        token: u64,
    },
    /// Durably store the node's whole state; a crash restores the latest one.
    Persist {
        /// Opaque snapshot bytes.
        snapshot: Vec<u8>,
    },
    /// Durably apply one change set to the node's record store; a crash restores the records
    /// as of the last change set applied.
    Apply {
        /// The records one event wrote and deleted.
        changes: ChangeSet,
    },
    /// Tell the application (and the invariant checker) something.
    Notify(Notification),
}

/// Why a node dropped an input on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RejectReason {
    /// Not parseable as this protocol's frame.
    Malformed,
    /// Authentication (AEAD tag) failed: tampered or forged.
    Unauthenticated,
    /// Addressed to someone else or from an unknown sender.
    Misaddressed,
}

/// Observable facts a node reports; the invariant checker and the metrics consume them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// The send was durably queued: from now on it must eventually be delivered.
    Accepted {
        /// The message.
        id: MessageId,
    },
    /// The send was refused (e.g. a full outbox); it is not owed.
    SendRefused {
        /// The message.
        id: MessageId,
    },
    /// A plaintext was delivered to the application, i.e. written to its message store. The
    /// store is part of the node's persisted state: the delivery becomes durable with the
    /// node's next [`NodeAction::Persist`] and is rolled back if the device crashes first. So
    /// the dedup state that records the delivery must be persisted by that same `Persist`.
    Delivered {
        /// Claimed sender identity.
        from_user: UserId,
        /// Claimed sender installation.
        from_device: DeviceId,
        /// The plaintext.
        body: Vec<u8>,
    },
    /// An end-to-end acknowledgement arrived.
    Acked {
        /// The message.
        id: MessageId,
        /// The acknowledging installation.
        by: DeviceId,
    },
    /// A message was sent again because no ack came.
    Retransmitted {
        /// The message.
        id: MessageId,
    },
    /// A message already delivered arrived again and was dropped.
    DuplicateSuppressed,
    /// An input was dropped on purpose.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
    /// An AEAD encryption: `(key, nonce)` must never repeat with a different plaintext, across
    /// all devices and across crashes. Keys and plaintexts are reported as fingerprints.
    KeyUse {
        /// SHA-256 of the key (never the key itself).
        key: [u8; 32],
        /// The nonce.
        nonce: [u8; 12],
        /// SHA-256 of the plaintext and associated data.
        plaintext: [u8; 32],
    },
    /// A documented state bound; `value > limit` is a violation.
    Bound {
        /// What is bounded.
        name: &'static str,
        /// Current size.
        value: u64,
        /// Documented maximum.
        limit: u64,
    },
    /// A typed error the node returned for an input (counted, not a violation by itself).
    Error {
        /// Short description.
        detail: String,
    },
}

/// The program running on one simulated device.
pub trait SimNode {
    /// Handles one event at local time `now` (the device's skewed clock) and appends actions to
    /// `out` (which the caller clears; reusing it avoids an allocation per event).
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>);

    /// Approximate bytes of state held (memory accounting; 0 if unknown).
    fn state_bytes(&self) -> usize {
        0
    }
}

/// What a device's store holds across crashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stored {
    /// Nothing persisted yet.
    #[default]
    Empty,
    /// The last snapshot ([`NodeAction::Persist`]).
    Snapshot(Box<[u8]>),
    /// Records, with every change set applied ([`NodeAction::Apply`]).
    Records(Records),
}

impl Stored {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Stored::Empty => 0,
            Stored::Snapshot(s) => s.len(),
            Stored::Records(r) => r.bytes(),
        }
    }
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot restore snapshot: {0}")]
pub struct RestoreError(pub String);

/// Builds nodes: fresh ones at first boot, restored ones after a crash.
pub trait NodeFactory {
    /// The node type.
    type Node: SimNode;

    /// A new node for `spec` with its own entropy stream.
    fn create(&mut self, spec: &DeviceSpec, entropy: SeededEntropy) -> Self::Node;

    /// A node rebuilt from what its store holds (never [`Stored::Empty`]), with a fresh entropy
    /// stream (a real device draws fresh OS randomness after a restart).
    fn restore(
        &mut self,
        spec: &DeviceSpec,
        stored: &Stored,
        entropy: SeededEntropy,
    ) -> Result<Self::Node, RestoreError>;
}
