//! Interop with js-waku 0.0.27 (`tests/js-waku/`, Node 20): two js relay nodes that are not
//! connected to each other, and our node dialling both, so every js→js message crosses our relay
//! (`/waku/2/rs/16/32`, the shard Status uses); js-waku's real store client paging through our
//! store server; our autosharding against js-waku's `contentTopicToShardIndex`.
//!
//! Without `node` or `tests/js-waku/node_modules` the tests print why and pass, except when `CI`
//! is set: there a missing peer is a failure (`.ci/run` installs it with `npm ci`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod waku_util;

use std::num::NonZeroU16;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use status_1to1::waku::{ContentTopic, WakuMessage};
use status_1to1_node::waku::{Multiaddr, PeerId, PubsubTopic, WakuConfig, WakuEvent, WakuNode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc::Receiver;
use tokio::time::{Instant, sleep, timeout};
use waku_util::{STEP, bounded, next_message, start_node, text_message, wait_for_mesh};

const CONTENT_TOPIC: &str = "/status-1to1/1/relay-interop/proto";
const TOPIC: PubsubTopic = PubsubTopic::static_shard(16, 32);

/// A node of Status's cluster, with a store of `store_capacity` messages (0: none).
fn status_config(store_capacity: usize) -> WakuConfig {
    WakuConfig { cluster_id: 16, store_capacity, ..WakuConfig::default() }
}

/// The harness directory, or `None` (after saying why) when the test cannot run here.
fn harness_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js-waku");
    let node = std::process::Command::new("node").arg("--version").output();
    let missing = match node {
        Ok(out) if out.status.success() => (!dir.join("node_modules/@waku/sdk").is_dir())
            .then_some("node_modules (run `npm ci` in node/tests/js-waku)"),
        _ => Some("the `node` executable"),
    };
    match missing {
        None => Some(dir),
        Some(what) if std::env::var_os("CI").is_some() => panic!("CI is set but {what} is missing"),
        Some(what) => {
            eprintln!("SKIPPED: js-waku interop needs {what}");
            None
        }
    }
}

/// The running harness: its stdin for commands, its stdout lines for events.
struct Harness {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Harness {
    async fn spawn(dir: PathBuf) -> Self {
        let mut child = Command::new("node")
            .arg("harness.mjs")
            .current_dir(dir)
            .env("CONTENT_TOPIC", CONTENT_TOPIC)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, stdin, lines }
    }

    async fn send(&mut self, command: Value) {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
    }

    /// The next JSON event; lines that are not JSON (library chatter) are skipped.
    async fn event(&mut self) -> Value {
        loop {
            let line = timeout(STEP, self.lines.next_line())
                .await
                .expect("the harness answers in time")
                .unwrap()
                .expect("the harness is still running");
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                assert_ne!(value["event"], "error", "harness error: {value}");
                return value;
            }
        }
    }

    /// Waits for an event of `kind`, returning those of other kinds seen meanwhile.
    async fn expect(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut others = Vec::new();
        loop {
            let event = self.event().await;
            if event["event"] == kind {
                return (event, others);
            }
            others.push(event);
        }
    }

    async fn mesh(&mut self, node: &str) -> Vec<String> {
        self.send(json!({"cmd": "mesh", "node": node})).await;
        let (event, others) = self.expect("mesh").await;
        assert!(others.is_empty(), "unexpected events {others:?}");
        event["peers"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect()
    }

    async fn stop(mut self) {
        self.send(json!({"cmd": "stop"})).await;
        let status = timeout(STEP, self.child.wait()).await.expect("the harness stops").unwrap();
        assert!(status.success(), "harness exited with {status}");
    }
}

/// The js node `name` from the ready event: its peer id and first address.
fn js_node(ready: &Value, name: &str) -> (PeerId, Multiaddr) {
    let node = &ready["nodes"][name];
    let peer = node["peerId"].as_str().unwrap().parse().unwrap();
    let addr = node["addrs"][0].as_str().unwrap().parse().unwrap();
    (peer, addr)
}

/// Waits until each js node has our node in its mesh and ours has both of them.
async fn until_meshed(harness: &mut Harness, ours: &WakuNode, js: [PeerId; 2]) {
    let started = Instant::now();
    loop {
        let our_mesh = ours.mesh_peers(TOPIC).await.unwrap();
        let (mesh_a, mesh_b) = (harness.mesh("a").await, harness.mesh("b").await);
        let me = ours.peer_id().to_string();
        if js.iter().all(|p| our_mesh.contains(p)) && mesh_a.contains(&me) && mesh_b.contains(&me) {
            // A and B must meet only through us, or the test proves nothing about our relay.
            assert_eq!((mesh_a.len(), mesh_b.len()), (1, 1), "js nodes meshed directly: a {mesh_a:?}, b {mesh_b:?}");
            return;
        }
        assert!(started.elapsed() < STEP, "no mesh: ours {our_mesh:?}, a {mesh_a:?}, b {mesh_b:?}");
        sleep(Duration::from_millis(50)).await;
    }
}

/// A js node publishes `text`; returns when the other js node got it, having checked ours did.
async fn js_to_js(harness: &mut Harness, events: &mut Receiver<WakuEvent>, from: &str, to: &str, text: &str) {
    let payload = hex::encode(text);
    let sent = Instant::now();
    harness.send(json!({"cmd": "send", "node": from, "payload": payload})).await;
    let (topic, message) = next_message(events).await;
    let rust_latency = sent.elapsed();
    assert_eq!(
        (topic, message.payload.as_slice(), message.content_topic.as_str()),
        (TOPIC, text.as_bytes(), CONTENT_TOPIC)
    );
    assert!(message.timestamp.is_some_and(|t| t > 0), "js stamps its messages");
    let (event, _) = harness.expect("message").await;
    assert_eq!((event["node"].as_str(), event["payload"].as_str()), (Some(to), Some(payload.as_str())));
    eprintln!("js {from} → rust {rust_latency:?} → js {to} {:?}", sent.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_waku_nodes_relay_through_ours_both_ways() {
    let Some(dir) = harness_dir() else { return };
    bounded(async {
        let started = Instant::now();
        let mut harness = Harness::spawn(dir).await;
        let (ready, _) = harness.expect("ready").await;
        let ((a, a_addr), (b, b_addr)) = (js_node(&ready, "a"), js_node(&ready, "b"));
        let (ours, mut events) = WakuNode::start(status_config(0)).await.unwrap();
        ours.subscribe(TOPIC).await.unwrap();
        assert_eq!(ours.dial(a_addr).await.unwrap(), a);
        assert_eq!(ours.dial(b_addr).await.unwrap(), b);
        let dialled = Instant::now();
        until_meshed(&mut harness, &ours, [a, b]).await;
        eprintln!("harness ready in {:?}, mesh in {:?}", dialled - started, dialled.elapsed());

        js_to_js(&mut harness, &mut events, "a", "b", "from js a").await;
        js_to_js(&mut harness, &mut events, "b", "a", "from js b").await;

        let ours_message = text_message(CONTENT_TOPIC, "from rust");
        ours.publish(TOPIC, ours_message.clone()).await.unwrap();
        let mut heard = Vec::new();
        for _ in 0..2 {
            let (event, _) = harness.expect("message").await;
            assert_eq!(event["payload"].as_str(), Some(hex::encode("from rust").as_str()));
            assert_eq!(event["contentTopic"].as_str(), Some(CONTENT_TOPIC));
            // js reads our nanosecond timestamp as milliseconds.
            assert_eq!(event["timestampMs"].as_i64(), ours_message.timestamp.map(|t| t / 1_000_000));
            heard.push(event["node"].as_str().unwrap().to_owned());
        }
        heard.sort();
        assert_eq!(heard, ["a", "b"]);
        harness.stop().await;
        assert_eq!(ours.stats().await.unwrap().rejected, 0);
    })
    .await;
}

const STORE_A: &str = "/status-1to1/1/store-a/proto";
const STORE_B: &str = "/status-1to1/1/store-b/proto";
/// Timestamps of the stored messages start here (ms precision, as js reads them).
const BASE_MS: i64 = 1_765_000_000_000;

/// A message on `content_topic` stamped `BASE_MS + offset_ms`.
fn stamped(content_topic: &str, offset_ms: i64) -> WakuMessage {
    let mut message = text_message(content_topic, &format!("{content_topic} at +{offset_ms} ms"));
    message.timestamp = Some((BASE_MS + offset_ms) * 1_000_000);
    message
}

/// Runs js-waku's store client with `queries` against `addr`; one result per query.
async fn js_store_queries(dir: PathBuf, addr: &Multiaddr, queries: Value) -> Vec<Value> {
    let plan = json!({"addr": addr.to_string(), "queries": queries});
    let output =
        Command::new("node").arg("store_client.mjs").arg(plan.to_string()).current_dir(dir).kill_on_drop(true).output();
    let output = timeout(STEP, output).await.expect("the store client finishes").unwrap();
    assert!(output.status.success(), "store client failed: {}", String::from_utf8_lossy(&output.stderr));
    let line = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_owned();
    let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    parsed["results"].as_array().unwrap().clone()
}

/// The pages of a query result as lists of (payload, hash), checking what js decoded.
fn pages(result: &Value) -> Vec<Vec<(String, String)>> {
    let pages = result["pages"].as_array().unwrap_or_else(|| panic!("query failed: {result}"));
    let to_pair = |m: &Value| (m["payload"].as_str().unwrap().to_owned(), m["hash"].as_str().unwrap().to_owned());
    pages.iter().map(|page| page.as_array().unwrap().iter().map(to_pair).collect()).collect()
}

/// What js should see for `messages`: payload and our 14/ hash on the test shard.
fn expected(messages: &[&WakuMessage]) -> Vec<(String, String)> {
    messages.iter().map(|m| (hex::encode(&m.payload), hex::encode(m.hash(&TOPIC.to_string())))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_waku_store_client_pages_through_our_store() {
    let Some(dir) = harness_dir() else { return };
    bounded(async {
        let (store, mut store_events) = WakuNode::start(status_config(1000)).await.unwrap();
        let (publisher, _events) = start_node().await;
        for node in [&store, &publisher] {
            node.subscribe(TOPIC).await.unwrap();
        }
        publisher.dial(store.listen_addrs().await.unwrap()[0].clone()).await.unwrap();
        wait_for_mesh(&store, TOPIC, &[publisher.peer_id()]).await;

        // 25 relayed on A (out of timestamp order), 5 relayed and 1 published by the store on B,
        // 2 ms apart: js-waku turns a time bound into nanoseconds in floating point
        // (`getTime() * 1e6`, off by up to 128 ns here), so no bound may sit on a message.
        let on_a: Vec<WakuMessage> = (0..25).map(|i| stamped(STORE_A, 2 * i)).collect();
        let on_b: Vec<WakuMessage> = (0..6).map(|i| stamped(STORE_B, 100 + 2 * i)).collect();
        for message in on_a.iter().rev().chain(&on_b[..5]) {
            publisher.publish(TOPIC, message.clone()).await.unwrap();
        }
        for _ in 0..30 {
            next_message(&mut store_events).await;
        }
        store.publish(TOPIC, on_b[5].clone()).await.unwrap();

        let mut store_addr = store.listen_addrs().await.unwrap()[0].clone();
        store_addr.push(libp2p::multiaddr::Protocol::P2p(store.peer_id()));
        let eleven: Vec<String> = (0..11).map(|i| format!("/status-1to1/1/t{i}/proto")).collect();
        let queried = Instant::now();
        let results = js_store_queries(
            dir,
            &store_addr,
            json!([
                {"contentTopics": [STORE_A], "pageSize": 10, "forward": true},
                {"contentTopics": [STORE_B], "pageSize": 4, "forward": false},
                {"contentTopics": [STORE_A, STORE_B], "pageSize": 100, "forward": true,
                 "timeStartMs": BASE_MS + 39, "timeEndMs": BASE_MS + 103},
                {"contentTopics": eleven, "pageSize": 10, "forward": true},
            ]),
        )
        .await;
        eprintln!("js store client: start, handshake and 4 queries in {:?}", queried.elapsed());

        let a: Vec<&WakuMessage> = on_a.iter().collect();
        assert_eq!(pages(&results[0]), [expected(&a[..10]), expected(&a[10..20]), expected(&a[20..])]);
        let b: Vec<&WakuMessage> = on_b.iter().collect();
        assert_eq!(pages(&results[1]), [expected(&b[2..]), expected(&b[..2])], "newest first, each page in order");
        let window: Vec<&WakuMessage> = a[20..].iter().chain(&b[..2]).copied().collect();
        assert_eq!(pages(&results[2]), [expected(&window)], "a time window over two topics");
        let refused = results[3]["error"].as_str().unwrap_or_else(|| panic!("11 topics accepted: {}", results[3]));
        assert!(refused.contains("status code: 400"), "{refused}");
    })
    .await;
}

#[tokio::test]
async fn autosharding_matches_js_waku() {
    let Some(dir) = harness_dir() else { return };
    let cases: Vec<(&str, u16)> = vec![
        ("/status/1/x/proto", 8),
        ("/0/toychat/2/huilong/proto", 8),
        ("/waku/2/default-content/proto", 8),
        ("/status-1to1/1/relay-interop/proto", 8),
        ("/myapp/1/x/proto", 1024),
        ("/toychat/2/huilong/proto", 3),
        ("/app-π/10/name/rfc26", 64),
        ("/a/b/c/d", 1),
    ];
    let output = bounded(
        Command::new("node")
            .arg("shards.mjs")
            .arg(json!(cases).to_string())
            .current_dir(dir)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let js: Vec<u16> = serde_json::from_slice(&output.stdout).unwrap();
    let ours: Vec<u16> = cases
        .iter()
        .map(|(topic, count)| {
            let content_topic = ContentTopic::parse(topic).unwrap();
            PubsubTopic::autoshard(1, NonZeroU16::new(*count).unwrap(), &content_topic).shard()
        })
        .collect();
    assert_eq!(ours, js);
}
