//! A Waku Relay node (11/WAKU2-RELAY) on rust-libp2p: gossipsub under `/vac/waku/relay/2.0.0`
//! over TCP, Noise and yamux, with the settings nwaku and js-waku use, the sharded pubsub topics
//! of 51/WAKU2-RELAY-SHARDING and the 14/WAKU2-MESSAGE envelope of the protocol crate; optionally
//! a Store v3 server over what it relays, for light clients.
//!
//! [`WakuNode::start`] returns a handle and an event channel; the node runs as one tokio task
//! that owns the swarm. See `docs/waku-node.md`.

mod behaviour;
mod config;
mod driver;
mod error;
mod node;
pub mod relay;
pub mod store;
mod topic;

pub use config::{DEFAULT_CLUSTER_ID, DEFAULT_EVENT_CAPACITY, DEFAULT_IDLE_CONNECTION_TIMEOUT, WakuConfig};
pub use error::WakuError;
pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};
pub use node::{RelayStats, WakuEvent, WakuNode};
pub use relay::Rejection;
pub use topic::PubsubTopic;
