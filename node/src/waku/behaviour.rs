//! The libp2p stack of a Waku node: TCP, Noise, yamux; gossipsub as Waku Relay, identify and
//! ping, the protocols js-waku and nwaku relay peers run; the metadata handshake and, when
//! enabled, the store server.

use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{Swarm, SwarmBuilder, identify, noise, ping, tcp, yamux};

use super::store::{self, MetadataBehaviour, StoreBehaviour};
use super::{WakuError, relay};

/// The identify protocol version js-libp2p and nim-libp2p announce.
const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";

/// The protocols of one node, driven together by the swarm.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Waku Relay.
    pub(crate) relay: gossipsub::Behaviour,
    /// Tells peers which protocols we speak (js-waku checks for the relay codec).
    identify: identify::Behaviour,
    /// Answers and sends liveness pings (js-waku pings its peers).
    ping: ping::Behaviour,
    /// Tells light clients our cluster and shards.
    pub(crate) metadata: MetadataBehaviour,
    /// Store v3 queries, when the node keeps an archive (off: not even announced).
    pub(crate) store: Toggle<StoreBehaviour>,
}

/// Builds the swarm for `keypair`. Anonymous gossipsub: the relay carries no author identity.
pub(crate) fn build_swarm(
    keypair: Keypair,
    idle_connection_timeout: Duration,
    store: bool,
) -> Result<Swarm<Behaviour>, WakuError> {
    let relay = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, relay::gossipsub_config()?)
        .map_err(|e| WakuError::Config(e.to_owned()))?;
    let identify = identify::Behaviour::new(
        identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), keypair.public())
            .with_agent_version(concat!("status-1to1/", env!("CARGO_PKG_VERSION")).to_owned()),
    );
    let behaviour = Behaviour {
        relay,
        identify,
        ping: ping::Behaviour::default(),
        metadata: store::metadata_behaviour(),
        store: store.then(store::store_behaviour).into(),
    };
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| WakuError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| WakuError::Transport(e.to_string()))?
        .with_swarm_config(|config| config.with_idle_connection_timeout(idle_connection_timeout))
        .build();
    Ok(swarm)
}
