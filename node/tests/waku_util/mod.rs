//! Helpers shared by the Waku node tests: nodes on loopback, bounded waits, test messages.

#![allow(dead_code)] // each test file uses its own subset

use std::future::Future;
use std::time::Duration;

use status_1to1::waku::WakuMessage;
use status_1to1_node::waku::{PeerId, PubsubTopic, WakuConfig, WakuEvent, WakuNode};
use tokio::sync::mpsc::Receiver;
use tokio::time::{Instant, sleep, timeout};

/// Every test finishes within this, or fails.
pub const TEST_DEADLINE: Duration = Duration::from_secs(30);
/// The longest a single expected step (a message, a mesh) may take.
pub const STEP: Duration = Duration::from_secs(15);

/// Runs a test body under [`TEST_DEADLINE`].
pub async fn bounded<F: Future>(body: F) -> F::Output {
    timeout(TEST_DEADLINE, body).await.expect("test exceeded its 30 s deadline")
}

/// A node on an ephemeral port of 127.0.0.1.
pub async fn start_node() -> (WakuNode, Receiver<WakuEvent>) {
    WakuNode::start(WakuConfig::default()).await.expect("node starts")
}

/// A version-0 message with a text payload.
pub fn text_message(content_topic: &str, text: &str) -> WakuMessage {
    WakuMessage {
        payload: text.as_bytes().to_vec(),
        content_topic: content_topic.to_owned(),
        version: None,
        timestamp: Some(1_765_000_000_000_000_000),
        meta: None,
        rate_limit_proof: None,
        ephemeral: None,
    }
}

/// The next message event, within [`STEP`].
pub async fn next_message(events: &mut Receiver<WakuEvent>) -> (PubsubTopic, WakuMessage) {
    match timeout(STEP, events.recv()).await {
        Ok(Some(WakuEvent::Message { pubsub_topic, message })) => (pubsub_topic, message),
        Ok(other) => panic!("expected a message event, got {other:?}"),
        Err(_) => panic!("no message within {STEP:?}"),
    }
}

/// Waits until `node`'s mesh for `topic` holds every peer in `peers`; returns how long it took.
pub async fn wait_for_mesh(node: &WakuNode, topic: PubsubTopic, peers: &[PeerId]) -> Duration {
    let started = Instant::now();
    loop {
        let mesh = node.mesh_peers(topic).await.expect("node runs");
        if peers.iter().all(|peer| mesh.contains(peer)) {
            return started.elapsed();
        }
        assert!(started.elapsed() < STEP, "mesh of {} for {topic} is {mesh:?}, want {peers:?}", node.peer_id());
        sleep(Duration::from_millis(20)).await;
    }
}
