//! The node's task: owns the swarm, serves the handle's commands, validates relayed messages,
//! archives and hands the accepted ones to the application, and answers metadata and store
//! requests.

use std::collections::HashMap;

use futures::StreamExt as _;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm};
use status_1to1::waku::WakuMessage;
use tokio::sync::{mpsc, oneshot};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::store::{Archive, StoreQueryRequest, WakuMetadata};
use super::{PubsubTopic, RelayStats, WakuError, WakuEvent, relay};

/// A reply channel.
type Reply<T> = oneshot::Sender<T>;

/// What a [`WakuNode`](super::WakuNode) handle asks of the task.
pub(crate) enum Command {
    Subscribe(PubsubTopic, Reply<Result<bool, WakuError>>),
    Unsubscribe(PubsubTopic, Reply<bool>),
    Publish(PubsubTopic, Box<WakuMessage>, Reply<Result<[u8; 32], WakuError>>),
    Dial(Multiaddr, Reply<Result<PeerId, WakuError>>),
    ListenAddrs(Reply<Vec<Multiaddr>>),
    MeshPeers(PubsubTopic, Reply<Vec<PeerId>>),
    Stats(Reply<RelayStats>),
    Shutdown,
}

/// The task state.
pub(crate) struct Driver {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<WakuEvent>,
    /// Dials awaiting their outcome, by the connection they will open.
    dials: HashMap<ConnectionId, Reply<Result<PeerId, WakuError>>>,
    stats: RelayStats,
    /// What the store server answers from (capacity 0 when there is none).
    archive: Archive,
    /// The cluster the metadata handshake announces.
    cluster_id: u16,
}

impl Driver {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<WakuEvent>,
        archive: Archive,
        cluster_id: u16,
    ) -> Self {
        Self { swarm, commands, events, dials: HashMap::new(), stats: RelayStats::default(), archive, cluster_id }
    }

    /// Runs until a shutdown command or until every handle is dropped; the swarm, and with it
    /// every connection, goes when this returns.
    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            }
        }
    }

    /// Serves one command. A caller that stopped waiting is not an error: replies are best effort.
    fn on_command(&mut self, command: Command) {
        let relay = &mut self.swarm.behaviour_mut().relay;
        match command {
            Command::Subscribe(topic, reply) => {
                let result = relay
                    .subscribe(&gossipsub::IdentTopic::new(topic.to_string()))
                    .map_err(|e| WakuError::Subscribe(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Unsubscribe(topic, reply) => {
                let _ = reply.send(relay.unsubscribe(&gossipsub::IdentTopic::new(topic.to_string())));
            }
            Command::Publish(topic, message, reply) => {
                let result = publish(relay, topic, &message);
                if result.is_ok() {
                    self.archive.insert(topic, &message);
                }
                let _ = reply.send(result);
            }
            Command::MeshPeers(topic, reply) => {
                let _ = reply.send(relay.mesh_peers(&topic.topic_hash()).copied().collect());
            }
            Command::Dial(addr, reply) => self.dial(addr, reply),
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.stats.clone());
            }
            // `run` stops before dispatching it here.
            Command::Shutdown => {}
        }
    }

    /// Starts a dial; the reply waits for the connection (or its failure). An address ending in
    /// `/p2p/<peer id>` must reach that peer: the swarm checks the Noise identity against it.
    fn dial(&mut self, addr: Multiaddr, reply: Reply<Result<PeerId, WakuError>>) {
        let opts = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => {
                DialOpts::peer_id(peer).addresses(vec![addr]).condition(PeerCondition::Always).build()
            }
            _ => DialOpts::unknown_peer_id().address(addr).build(),
        };
        let connection = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dials.insert(connection, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(WakuError::Dial(e.to_string())));
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Relay(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_relayed(propagation_source, &message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Store(request_response::Event::Message {
                message: request_response::Message::Request { request, channel, .. },
                ..
            })) => self.on_store_query(&request, channel),
            SwarmEvent::Behaviour(BehaviourEvent::Metadata(request_response::Event::Message {
                message: request_response::Message::Request { channel, .. },
                ..
            })) => self.on_metadata_request(channel),
            SwarmEvent::ConnectionEstablished { connection_id, peer_id, .. } => {
                if let Some(reply) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
            }
            SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
                if let Some(reply) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Err(WakuError::Dial(error.to_string())));
                }
            }
            _ => {}
        }
    }

    /// Validates a message gossipsub received and holds until we decide: accepted ones are
    /// forwarded and delivered, refused ones dropped (and the sender penalised where scoring
    /// is on).
    fn on_relayed(&mut self, source: PeerId, id: &gossipsub::MessageId, message: gossipsub::Message) {
        let verdict = message.topic.as_str().parse::<PubsubTopic>().ok().zip(relay::validate(&message.data).ok());
        let acceptance = if verdict.is_some() { MessageAcceptance::Accept } else { MessageAcceptance::Reject };
        self.swarm.behaviour_mut().relay.report_message_validation_result(id, &source, acceptance);
        match verdict {
            Some((pubsub_topic, message)) => {
                self.archive.insert(pubsub_topic, &message);
                self.deliver(WakuEvent::Message { pubsub_topic, message });
            }
            None => self.stats.rejected += 1,
        }
    }

    /// Answers a store query from the archive. A peer that hung up meanwhile gets nothing.
    fn on_store_query(
        &mut self,
        request: &StoreQueryRequest,
        channel: request_response::ResponseChannel<super::store::StoreQueryResponse>,
    ) {
        let response = self.archive.answer(request);
        if let Some(store) = self.swarm.behaviour_mut().store.as_mut() {
            let _ = store.send_response(channel, response);
        }
    }

    /// Answers the metadata handshake with our cluster and the shards of it we subscribe to,
    /// whatever the peer announced (deciding whether to keep a peer is the client's business).
    fn on_metadata_request(&mut self, channel: request_response::ResponseChannel<WakuMetadata>) {
        let relay = &self.swarm.behaviour().relay;
        let mut shards: Vec<u32> = relay
            .topics()
            .filter_map(|hash| hash.as_str().parse::<PubsubTopic>().ok())
            .filter(|topic| topic.cluster() == self.cluster_id)
            .map(|topic| u32::from(topic.shard()))
            .collect();
        shards.sort_unstable();
        let response = WakuMetadata { cluster_id: Some(u32::from(self.cluster_id)), shards };
        let _ = self.swarm.behaviour_mut().metadata.send_response(channel, response);
    }

    /// Hands an event to the application without waiting (see `WakuConfig::event_capacity`).
    fn deliver(&mut self, event: WakuEvent) {
        match self.events.try_send(event) {
            Ok(()) => self.stats.delivered += 1,
            Err(mpsc::error::TrySendError::Full(_)) => self.stats.dropped += 1,
            // Nobody listens: the node still relays, there is just no one to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Publishes after the same validation relayed messages get, so that we never send what our
/// peers would refuse, and returns the message's 14/WAKU2-MESSAGE hash.
fn publish(relay: &mut gossipsub::Behaviour, topic: PubsubTopic, message: &WakuMessage) -> Result<[u8; 32], WakuError> {
    let data = message.to_bytes();
    relay::validate(&data)?;
    relay.publish(topic.topic_hash(), data).map_err(|e| match e {
        gossipsub::PublishError::NoPeersSubscribedToTopic => WakuError::NoPeers(topic),
        gossipsub::PublishError::Duplicate => WakuError::Duplicate,
        other => WakuError::Publish(other.to_string()),
    })?;
    Ok(message.hash(&topic.to_string()))
}
