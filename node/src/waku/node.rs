//! The application's side of a Waku node: [`WakuNode::start`], a cloneable handle, and the
//! events and counters it reports.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use status_1to1::waku::WakuMessage;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::behaviour::{Behaviour, build_swarm};
use super::driver::{Command, Driver};
use super::store::Archive;
use super::{PubsubTopic, WakuConfig, WakuError};

/// How long start waits for its listeners to bind.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Commands queued towards the node's task before callers wait.
const COMMAND_CAPACITY: usize = 64;

/// What the node reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WakuEvent {
    /// A relayed message passed validation on a subscribed topic (and is being forwarded).
    /// Messages this node published are not reported back.
    Message {
        /// The shard it arrived on.
        pubsub_topic: PubsubTopic,
        /// The decoded message.
        message: WakuMessage,
    },
}

/// Counters of what the relay did with received messages, since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Messages accepted and handed to the event channel.
    pub delivered: u64,
    /// Messages refused by the validator: neither delivered nor forwarded.
    pub rejected: u64,
    /// Accepted messages (forwarded all the same) the full event channel could not take.
    pub dropped: u64,
}

/// A handle on a running Waku Relay node. Clones drive the same node; the node stops at
/// [`shutdown`](Self::shutdown) or when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct WakuNode {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
}

impl WakuNode {
    /// Builds the node, binds every listen address, and spawns its task on the current tokio
    /// runtime. Returns the handle and the event channel.
    pub async fn start(config: WakuConfig) -> Result<(Self, mpsc::Receiver<WakuEvent>), WakuError> {
        let keypair = config.keypair.unwrap_or_else(Keypair::generate_ed25519);
        let peer_id = keypair.public().to_peer_id();
        let mut swarm = build_swarm(keypair, config.idle_connection_timeout, config.store_capacity > 0)?;
        listen(&mut swarm, &config.listen_addrs).await?;
        let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (event_tx, events) = mpsc::channel(config.event_capacity.max(1));
        let archive = Archive::new(config.store_capacity);
        tokio::spawn(Driver::new(swarm, command_rx, event_tx, archive, config.cluster_id).run());
        Ok((Self { peer_id, commands }, events))
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Joins a shard: relays and delivers its messages. `Ok(false)` if already subscribed.
    pub async fn subscribe(&self, topic: PubsubTopic) -> Result<bool, WakuError> {
        self.request(|reply| Command::Subscribe(topic, reply)).await?
    }

    /// Leaves a shard. `Ok(false)` if not subscribed.
    pub async fn unsubscribe(&self, topic: PubsubTopic) -> Result<bool, WakuError> {
        self.request(|reply| Command::Unsubscribe(topic, reply)).await
    }

    /// Publishes a message on a shard (subscribed or not) and returns its 14/WAKU2-MESSAGE
    /// hash. Refused, without sending, if the relay validator would refuse it; fails with
    /// [`WakuError::NoPeers`] while no connected peer subscribes to the shard.
    pub async fn publish(&self, topic: PubsubTopic, message: WakuMessage) -> Result<[u8; 32], WakuError> {
        self.request(|reply| Command::Publish(topic, Box::new(message), reply)).await?
    }

    /// Connects to a peer and resolves once the connection (TCP, Noise, yamux) is up. An
    /// address ending in `/p2p/<peer id>` must reach that peer.
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, WakuError> {
        self.request(|reply| Command::Dial(addr, reply)).await?
    }

    /// The addresses the node listens on (ports resolved).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, WakuError> {
        self.request(Command::ListenAddrs).await
    }

    /// The peers in this node's gossipsub mesh for a shard.
    pub async fn mesh_peers(&self, topic: PubsubTopic) -> Result<Vec<PeerId>, WakuError> {
        self.request(|reply| Command::MeshPeers(topic, reply)).await
    }

    /// The relay counters.
    pub async fn stats(&self) -> Result<RelayStats, WakuError> {
        self.request(Command::Stats).await
    }

    /// Stops the node for every handle: connections close and later calls fail with
    /// [`WakuError::Stopped`].
    pub async fn shutdown(&self) {
        // Already stopped is as good as stopped.
        let _ = self.commands.send(Command::Shutdown).await;
    }

    async fn request<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, WakuError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).await.map_err(|_| WakuError::Stopped)?;
        answer.await.map_err(|_| WakuError::Stopped)
    }
}

/// Opens a listener per address and waits until each has bound (so `listen_addrs` reports real
/// ports from the first call), or fails with the first listener error.
async fn listen(swarm: &mut Swarm<Behaviour>, addrs: &[Multiaddr]) -> Result<(), WakuError> {
    let mut pending = HashMap::new();
    for addr in addrs {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| WakuError::Listen { addr: addr.clone(), reason: e.to_string() })?;
        pending.insert(id, addr.clone());
    }
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    while let Some(waiting) = pending.values().next().cloned() {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| WakuError::Listen { addr: waiting, reason: "timed out".to_owned() })?;
        let (listener_id, reason) = match event {
            SwarmEvent::NewListenAddr { listener_id, .. } => {
                pending.remove(&listener_id);
                continue;
            }
            SwarmEvent::ListenerError { listener_id, error } => (listener_id, error.to_string()),
            SwarmEvent::ListenerClosed { listener_id, reason, .. } => {
                (listener_id, reason.err().map_or_else(|| "closed".to_owned(), |e| e.to_string()))
            }
            _ => continue,
        };
        if let Some(addr) = pending.remove(&listener_id) {
            return Err(WakuError::Listen { addr, reason });
        }
    }
    Ok(())
}
