// Two js-waku relay nodes, A and B, driven over stdin/stdout by node/tests/js_waku.rs.
// A and B are not connected to each other: the Rust node dials both, so every message between
// them crosses the Rust relay. One JSON object per line each way; payloads as lowercase hex.
//
// out: {"event":"ready","nodes":{"a":{"peerId","addrs"},"b":{...}}}
//      {"event":"message","node","contentTopic","payload","timestampMs"}
//      {"event":"mesh","node","peers":[peer ids]}  {"event":"sent","node","recipients":n}
//      {"event":"error","error"}
// in:  {"cmd":"mesh","node"}  {"cmd":"send","node","payload"}  {"cmd":"stop"}
import { createInterface } from "node:readline";
import { yamux } from "@chainsafe/libp2p-yamux";
import { tcp } from "@libp2p/tcp";
import { createDecoder, createEncoder } from "@waku/sdk";
import { createRelayNode } from "@waku/sdk/relay";

const CLUSTER_ID = 16;
const SHARD = 32;
const PUBSUB_TOPIC = `/waku/2/rs/${CLUSTER_ID}/${SHARD}`;
const CONTENT_TOPIC = process.env.CONTENT_TOPIC ?? "/status-1to1/1/relay-interop/proto";

const out = (object) => process.stdout.write(JSON.stringify(object) + "\n");
const hex = (bytes) => Buffer.from(bytes).toString("hex");

async function startNode(name) {
  const node = await createRelayNode({
    networkConfig: { clusterId: CLUSTER_ID, shards: [SHARD] },
    // Every peer is on 127.0.0.1: without this, IP colocation scoring graylists them.
    scoreParams: { IPColocationFactorWeight: 0 },
    libp2p: {
      // Read here, not at the top level: keeps js-waku's WebSocket banner off stdout.
      hideWebSocketInfo: true,
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      // js-waku defaults to mplex only; rust-libp2p speaks yamux.
      streamMuxers: [yamux()],
    },
  });
  await node.start();
  const decoder = createDecoder(CONTENT_TOPIC, PUBSUB_TOPIC);
  await node.relay.subscribe([decoder], (message) =>
    out({
      event: "message",
      node: name,
      contentTopic: message.contentTopic,
      payload: hex(message.payload),
      timestampMs: message.timestamp ? message.timestamp.getTime() : null,
    }),
  );
  return node;
}

const nodes = { a: await startNode("a"), b: await startNode("b") };
const encoder = createEncoder({ contentTopic: CONTENT_TOPIC, pubsubTopic: PUBSUB_TOPIC });

const describe = (node) => ({
  peerId: node.libp2p.peerId.toString(),
  addrs: node.libp2p.getMultiaddrs().map((addr) => addr.toString()),
});
out({ event: "ready", nodes: { a: describe(nodes.a), b: describe(nodes.b) } });

async function serve({ cmd, node: name, payload }) {
  const node = nodes[name];
  if (cmd === "mesh") {
    return { event: "mesh", node: name, peers: node.relay.getMeshPeers(PUBSUB_TOPIC).map(String) };
  }
  if (cmd === "send") {
    const result = await node.relay.send(encoder, { payload: Uint8Array.from(Buffer.from(payload, "hex")) });
    if (result.failures.length > 0) throw new Error(`send failed: ${JSON.stringify(result.failures)}`);
    return { event: "sent", node: name, recipients: result.successes.length };
  }
  throw new Error(`unknown command ${cmd}`);
}

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.cmd === "stop") break;
  try {
    out(await serve(command));
  } catch (error) {
    out({ event: "error", error: String(error) });
  }
}
await Promise.all(Object.values(nodes).map((node) => node.stop()));
process.exit(0);
