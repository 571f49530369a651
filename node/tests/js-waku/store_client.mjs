// js-waku's real Store v3 client (createLightNode) against our store server, for
// node/tests/js_waku.rs. argv[2] is JSON:
//   {"addr", "queries": [{"contentTopics", "pageSize", "forward", "timeStartMs"?, "timeEndMs"?}]}
// prints {"results": [{"pages": [[{"payload", "contentTopic", "timestampMs", "hash"}]]} | {"error"}]}
// where "hash" is js-waku's own 14/WAKU2-MESSAGE hash of the message it decoded.
import { yamux } from "@chainsafe/libp2p-yamux";
import { tcp } from "@libp2p/tcp";
import { createDecoder, createLightNode, Protocols, waitForRemotePeer } from "@waku/sdk";

const PUBSUB_TOPIC = "/waku/2/rs/16/32";
const plan = JSON.parse(process.argv[2]);
const hex = (bytes) => Buffer.from(bytes).toString("hex");

const node = await createLightNode({
  networkConfig: { clusterId: 16, shards: [32] },
  libp2p: {
    hideWebSocketInfo: true,
    addresses: { listen: [] },
    transports: [tcp()],
    streamMuxers: [yamux()],
  },
});
await node.start();
await node.dial(plan.addr, [Protocols.Store]);
// Resolves once the peer speaks store and the metadata handshake put it in our cluster.
await waitForRemotePeer(node, [Protocols.Store], 10_000);

async function run({ contentTopics, pageSize, forward, timeStartMs, timeEndMs }) {
  const decoders = contentTopics.map((topic) => createDecoder(topic, PUBSUB_TOPIC));
  const options = { paginationLimit: pageSize, paginationForward: forward };
  if (timeStartMs !== undefined) options.timeStart = new Date(timeStartMs);
  if (timeEndMs !== undefined) options.timeEnd = new Date(timeEndMs);
  const pages = [];
  try {
    for await (const page of node.store.queryGenerator(decoders, options)) {
      const messages = (await Promise.all(page)).filter(Boolean);
      pages.push(
        messages.map((message) => ({
          payload: hex(message.payload),
          contentTopic: message.contentTopic,
          timestampMs: message.timestamp ? message.timestamp.getTime() : null,
          hash: hex(node.store.createCursor(message)),
        })),
      );
    }
    return { pages };
  } catch (error) {
    return { error: String(error) };
  }
}

const results = [];
for (const query of plan.queries) results.push(await run(query));
process.stdout.write(JSON.stringify({ results }) + "\n");
await node.stop();
process.exit(0);
