//! What a Waku node is started with.

use std::net::Ipv4Addr;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::multiaddr::{Multiaddr, Protocol};

/// Default capacity of the event channel.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;
/// Default idle timeout. Gossipsub keeps a connection alive only while the peer is in a mesh,
/// so a fresh connection must outlive the heartbeats that graft it, and a peer outside every
/// mesh still carries gossip (IHAVE/IWANT) worth keeping.
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);

/// The Waku Network's cluster (64/WAKU2-NETWORK); Status runs its own, 16.
pub const DEFAULT_CLUSTER_ID: u16 = 1;

/// Settings of a [`WakuNode`](super::WakuNode).
#[derive(Debug, Clone)]
pub struct WakuConfig {
    /// TCP addresses to listen on; port 0 picks a free port. Start returns once each is bound.
    pub listen_addrs: Vec<Multiaddr>,
    /// The node's libp2p identity; a fresh Ed25519 key when `None`.
    pub keypair: Option<Keypair>,
    /// Capacity of the event channel. Events the application has not taken by the time it is
    /// full are dropped and counted ([`RelayStats::dropped`](super::RelayStats)), so that a slow
    /// reader never stalls relaying for the rest of the mesh.
    pub event_capacity: usize,
    /// How long a connection without mesh membership or open streams stays up.
    pub idle_connection_timeout: Duration,
    /// The cluster the metadata handshake announces, with the shards of it we subscribe to.
    /// js-waku light clients only use service peers of their own cluster.
    pub cluster_id: u16,
    /// How many messages the store server keeps (oldest dropped first); 0 runs no store server.
    pub store_capacity: usize,
}

impl Default for WakuConfig {
    /// Listens on an ephemeral port of 127.0.0.1 only: exposing a node beyond the host is a
    /// decision the application makes by setting `listen_addrs`. No store server.
    fn default() -> Self {
        Self {
            listen_addrs: vec![loopback_ephemeral()],
            keypair: None,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            idle_connection_timeout: DEFAULT_IDLE_CONNECTION_TIMEOUT,
            cluster_id: DEFAULT_CLUSTER_ID,
            store_capacity: 0,
        }
    }
}

/// `/ip4/127.0.0.1/tcp/0`.
fn loopback_ephemeral() -> Multiaddr {
    Multiaddr::empty().with(Protocol::Ip4(Ipv4Addr::LOCALHOST)).with(Protocol::Tcp(0))
}
