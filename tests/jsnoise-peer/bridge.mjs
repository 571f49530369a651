// Minimal stand-ins for the js-waku node objects that @waku/noise's WakuPairing talks to:
//   ISender   { send(encoder, message) }                    -> encoder.toWire(message), then "published"
//   IReceiver { toSubscriptionIterator(decoder) }           -> async iterator of decoded messages
// A FakeNetwork connects FakeNodes: a message published by one node is delivered (as WakuMessage
// protobuf bytes) to the subscriptions of every node on the network, including the publisher itself
// when `echo` is set (a Waku relay node also receives its own messages on a subscribed content
// topic; WakuPairing skips them through its nametag check). Delivered bytes go through the real
// js-noise decoder: decoder.fromWireToProtoObj(bytes) then decoder.fromProtoObj(pubsubTopic, proto).
import { WakuMessage } from "./lib.mjs";

export const DEFAULT_PUBSUB_TOPIC = "/waku/2/default-waku/proto";

class AsyncQueue {
  constructor() {
    this.items = [];
    this.waiters = [];
    this.closed = false;
  }
  push(v) {
    if (this.closed) return;
    const w = this.waiters.shift();
    if (w) w({ value: v, done: false });
    else this.items.push(v);
  }
  next() {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift(), done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  close() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}

export class FakeNetwork {
  constructor({ onPublish } = {}) {
    this.nodes = [];
    this.onPublish = onPublish ?? (() => {});
  }
  async publish(from, wire, contentTopic) {
    await this.onPublish({ from, wire, contentTopic });
    for (const node of this.nodes) {
      if (node === from && !node.echo) continue;
      await node.deliverWire(wire);
    }
  }
}

export class FakeNode {
  constructor(network, { echo = true, pubsubTopic = DEFAULT_PUBSUB_TOPIC, name = "node" } = {}) {
    this.network = network;
    this.echo = echo;
    this.pubsubTopic = pubsubTopic;
    this.name = name;
    this.subscriptions = [];
    this.pending = []; // wires delivered before the first subscription existed
    this.everSubscribed = false;
    this.sendCount = 0;
    network.nodes.push(this);
    const node = this;
    this.sender = {
      async send(encoder, message) {
        const wire = await encoder.toWire(message);
        if (!wire) return { recipients: [], errors: ["encoder produced no message"] };
        node.sendCount++;
        await node.network.publish(node, wire, encoder.contentTopic);
        return { recipients: [], errors: [] };
      },
    };
    this.receiver = {
      async toSubscriptionIterator(decoders) {
        const decs = Array.isArray(decoders) ? decoders : [decoders];
        const queue = new AsyncQueue();
        const sub = { decoders: decs, queue, active: true };
        node.subscriptions.push(sub);
        node.everSubscribed = true;
        const pending = node.pending.splice(0);
        for (const w of pending) await node.deliverWire(w);
        return {
          iterator: { next: () => queue.next(), [Symbol.asyncIterator]() { return this; } },
          stop: async () => {
            sub.active = false;
            queue.close();
          },
        };
      },
      async subscribe() {
        throw new Error("FakeNode.subscribe is not implemented (WakuPairing only uses toSubscriptionIterator)");
      },
      getActiveSubscriptions() {
        return new Map();
      },
    };
  }

  /** Deliver WakuMessage protobuf bytes to this node's active subscriptions. Returns the number of decoded deliveries. */
  async deliverWire(wire) {
    const subs = this.subscriptions.filter((s) => s.active);
    if (subs.length === 0) {
      // before the first subscription: keep (the peer may be fed before js subscribed);
      // after the subscriptions were stopped: drop, like a Waku node would
      if (!this.everSubscribed) this.pending.push(wire);
      return 0;
    }
    let delivered = 0;
    for (const sub of subs) {
      for (const dec of sub.decoders) {
        const proto = await dec.fromWireToProtoObj(wire);
        if (!proto || proto.contentTopic !== dec.contentTopic) continue;
        const msg = await dec.fromProtoObj(this.pubsubTopic, proto);
        if (msg) {
          sub.queue.push(msg);
          delivered++;
        }
      }
    }
    return delivered;
  }
}

/** WakuMessage bytes for a PayloadV2 using the same protobuf codec as js-noise's encoders. */
export function wrapPayloadV2(payloadV2, contentTopic, timestampNs, ephemeral = true) {
  return WakuMessage.encode({
    payload: payloadV2,
    contentTopic,
    version: 2,
    timestamp: timestampNs,
    ephemeral,
    meta: undefined,
    rateLimitProof: undefined,
  });
}
