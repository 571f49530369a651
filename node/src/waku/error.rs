//! Why a Waku node call failed.

use libp2p::Multiaddr;

use super::{PubsubTopic, Rejection};

/// A Waku node error. Network input never produces one of these: a bad message from a peer is
/// refused by the relay validator ([`Rejection`]) and counted, not returned to the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WakuError {
    /// Not a canonical `/waku/2/rs/<cluster>/<shard>` topic.
    #[error("invalid pubsub topic {0:?}: expected /waku/2/rs/<cluster>/<shard>")]
    PubsubTopic(String),
    /// A message this node refuses to publish, for the reason the relay would refuse it.
    #[error("message refused: {0}")]
    InvalidMessage(#[from] Rejection),
    /// The gossipsub or swarm configuration was refused (a bug in the constants).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The TCP/Noise/yamux transport could not be built.
    #[error("transport setup failed: {0}")]
    Transport(String),
    /// A listen address was refused or its listener failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: Multiaddr,
        /// What the transport said.
        reason: String,
    },
    /// The dial failed (refused, unreachable, handshake or protocol failure).
    #[error("dial failed: {0}")]
    Dial(String),
    /// Gossipsub refused the subscription.
    #[error("subscribe failed: {0}")]
    Subscribe(String),
    /// No connected peer subscribes to the topic, so the message went nowhere.
    #[error("no peer subscribed to {0}")]
    NoPeers(PubsubTopic),
    /// The same message (same data, so the same id) was already published or seen.
    #[error("duplicate message")]
    Duplicate,
    /// Gossipsub could not send the message (all peer queues full, or too large after framing).
    #[error("publish failed: {0}")]
    Publish(String),
    /// The node's task has ended, so the call could not be served.
    #[error("the node has stopped")]
    Stopped,
}
