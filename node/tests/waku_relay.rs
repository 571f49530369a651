//! Our Waku Relay nodes among themselves on loopback: a line A–B–C relays both ways through B,
//! invalid messages from a raw gossipsub peer are neither delivered nor forwarded, and API misuse
//! is a typed error. Every test is bounded by `waku_util::TEST_DEADLINE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod waku_util;

use std::num::NonZeroU16;

use futures::StreamExt as _;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, noise, tcp, yamux};
use status_1to1::waku::ContentTopic;
use status_1to1::waku::message::MAX_WAKU_MESSAGE_LEN;
use status_1to1_node::waku::{PubsubTopic, Rejection, WakuError, WakuNode, relay};
use tokio::time::{Instant, timeout};
use waku_util::{STEP, bounded, next_message, start_node, text_message, wait_for_mesh};

const CONTENT_TOPIC: &str = "/status-1to1/1/relay-test/proto";

/// The test shard, by autosharding over the 8 shards of cluster 1 (as on The Waku Network).
fn topic() -> PubsubTopic {
    let content_topic = ContentTopic::parse(CONTENT_TOPIC).unwrap();
    PubsubTopic::autoshard(1, NonZeroU16::new(8).unwrap(), &content_topic)
}

async fn first_listen_addr(node: &WakuNode) -> Multiaddr {
    node.listen_addrs().await.unwrap().into_iter().next().expect("a listen address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_of_three_relays_both_ways_through_the_middle() {
    bounded(async {
        let topic = topic();
        let ((a, mut a_events), (b, mut b_events), (c, mut c_events)) =
            (start_node().await, start_node().await, start_node().await);
        for node in [&a, &b, &c] {
            assert!(node.subscribe(topic).await.unwrap());
        }
        assert!(!a.subscribe(topic).await.unwrap(), "a second subscribe is a no-op");
        let b_addr = first_listen_addr(&b).await;
        assert_eq!(a.dial(b_addr.clone()).await.unwrap(), b.peer_id());
        assert_eq!(c.dial(b_addr).await.unwrap(), b.peer_id());

        let mesh_started = Instant::now();
        wait_for_mesh(&b, topic, &[a.peer_id(), c.peer_id()]).await;
        wait_for_mesh(&a, topic, &[b.peer_id()]).await;
        wait_for_mesh(&c, topic, &[b.peer_id()]).await;
        eprintln!("mesh A-B-C formed in {:?}", mesh_started.elapsed());

        let to_c = text_message(CONTENT_TOPIC, "A to C");
        let sent = Instant::now();
        let hash = a.publish(topic, to_c.clone()).await.unwrap();
        assert_eq!(next_message(&mut c_events).await, (topic, to_c.clone()));
        eprintln!("A→B→C latency {:?}", sent.elapsed());
        assert_eq!(next_message(&mut b_events).await, (topic, to_c.clone()));
        assert_eq!(hash, to_c.hash(&topic.to_string()));

        let to_a = text_message(CONTENT_TOPIC, "C to A");
        let sent = Instant::now();
        c.publish(topic, to_a.clone()).await.unwrap();
        assert_eq!(next_message(&mut a_events).await, (topic, to_a.clone()));
        eprintln!("C→B→A latency {:?}", sent.elapsed());
        assert_eq!(next_message(&mut b_events).await, (topic, to_a));

        // Nobody hears its own message back, nor anything twice.
        assert!(a_events.try_recv().is_err() && b_events.try_recv().is_err() && c_events.try_recv().is_err());
        let stats = b.stats().await.unwrap();
        assert_eq!((stats.delivered, stats.rejected, stats.dropped), (2, 0, 0));
    })
    .await;
}

/// A bare gossipsub peer with the relay's settings that publishes whatever bytes it is given:
/// what a buggy or hostile Waku peer looks like from the wire.
fn raw_peer() -> Swarm<gossipsub::Behaviour> {
    SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| {
            gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, relay::gossipsub_config().unwrap()).unwrap()
        })
        .unwrap()
        .build()
}

/// Drives `swarm` until the peer `b` has told it that it subscribes to `topic`.
async fn until_subscribed(swarm: &mut Swarm<gossipsub::Behaviour>, b: PeerId, topic: PubsubTopic) {
    timeout(STEP, async {
        loop {
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic: t }) =
                swarm.select_next_some().await
                && peer_id == b
                && t.as_str() == topic.to_string()
            {
                return;
            }
        }
    })
    .await
    .expect("the relay announces its subscription");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_messages_are_neither_delivered_nor_forwarded() {
    bounded(async {
        let topic = topic();
        let ((b, mut b_events), (c, mut c_events)) = (start_node().await, start_node().await);
        b.subscribe(topic).await.unwrap();
        c.subscribe(topic).await.unwrap();
        let b_addr = first_listen_addr(&b).await;
        c.dial(b_addr.clone()).await.unwrap();
        wait_for_mesh(&b, topic, &[c.peer_id()]).await;

        let mut raw = raw_peer();
        raw.behaviour_mut().subscribe(&IdentTopic::new(topic.to_string())).unwrap();
        raw.dial(b_addr).unwrap();
        until_subscribed(&mut raw, b.peer_id(), topic).await;

        let mut oversize = text_message(CONTENT_TOPIC, "");
        oversize.payload = vec![7; MAX_WAKU_MESSAGE_LEN];
        let invalid: Vec<Vec<u8>> = vec![
            text_message(CONTENT_TOPIC, "").to_bytes(),
            text_message("", "no content topic").to_bytes(),
            vec![0xff, 0xff, 0xff],
            oversize.to_bytes(),
        ];
        let marker = text_message(CONTENT_TOPIC, "valid, sent last");
        for data in invalid.into_iter().chain([marker.to_bytes()]) {
            raw.behaviour_mut().publish(IdentTopic::new(topic.to_string()), data).unwrap();
        }
        tokio::spawn(async move {
            loop {
                raw.select_next_some().await;
            }
        });

        // Sent last over the same streams, so anything forwarded before it arrives before it.
        assert_eq!(next_message(&mut b_events).await.1, marker);
        assert_eq!(next_message(&mut c_events).await.1, marker);
        let (b_stats, c_stats) = (b.stats().await.unwrap(), c.stats().await.unwrap());
        assert_eq!((b_stats.delivered, b_stats.rejected), (1, 4), "B refused all four");
        assert_eq!((c_stats.delivered, c_stats.rejected), (1, 0), "B forwarded none of them");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misuse_is_a_typed_error() {
    bounded(async {
        let topic = topic();
        let (a, _events) = start_node().await;
        let lonely = a.publish(topic, text_message(CONTENT_TOPIC, "nobody listens")).await;
        assert!(matches!(lonely, Err(WakuError::NoPeers(t)) if t == topic));
        let empty = a.publish(topic, text_message(CONTENT_TOPIC, "")).await;
        assert!(matches!(empty, Err(WakuError::InvalidMessage(Rejection::EmptyPayload))));
        let mut big = text_message(CONTENT_TOPIC, "x");
        big.payload = vec![1; MAX_WAKU_MESSAGE_LEN];
        assert!(matches!(a.publish(topic, big).await, Err(WakuError::InvalidMessage(Rejection::TooLarge(_)))));

        // A port nothing listens on: bind one, note it, close it.
        let closed = {
            let (probe, _) = start_node().await;
            let addr = first_listen_addr(&probe).await;
            probe.shutdown().await;
            addr
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(matches!(a.dial(closed).await, Err(WakuError::Dial(_))));
        // The right address but the wrong identity: Noise authenticates the real one.
        let (b, _b_events) = start_node().await;
        let wrong_peer = first_listen_addr(&b).await.with(Protocol::P2p(PeerId::random()));
        assert!(matches!(a.dial(wrong_peer).await, Err(WakuError::Dial(_))));
        let right_peer = first_listen_addr(&b).await.with(Protocol::P2p(b.peer_id()));
        assert_eq!(a.dial(right_peer).await.unwrap(), b.peer_id());

        assert!(matches!("/waku/2/rs/1".parse::<PubsubTopic>(), Err(WakuError::PubsubTopic(_))));
        assert!(!a.unsubscribe(topic).await.unwrap());
        a.shutdown().await;
        assert!(matches!(a.listen_addrs().await, Err(WakuError::Stopped)));
    })
    .await;
}
