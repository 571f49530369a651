#!/usr/bin/env node
// A live js-noise (@waku/noise) peer driven over stdin/stdout with newline-delimited JSON.
// One request object per line on stdin, exactly one response object per line on stdout, in request
// order. Nothing else is written to stdout (js-noise's console output and all logs go to stderr).
// The protocol is documented in README.md next to this file.
import { createInterface } from "node:readline";

import * as L from "./lib.mjs";
import { FakeNetwork, FakeNode, DEFAULT_PUBSUB_TOPIC, wrapPayloadV2 } from "./bridge.mjs";

const { noise, hex, unhex, utf8, concat, sha256, withCtx, keyPairFromSk, pkOf } = L;

const QUIET = process.env.JSNOISE_PEER_QUIET === "1";
L.redirectConsole(QUIET ? "silent" : "stderr");
function log(...a) {
  if (!QUIET) process.stderr.write("[jsnoise-peer] " + a.join(" ") + "\n");
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

class ReqError extends Error {
  constructor(type, message, extra = {}) {
    super(message);
    this.type = type;
    this.extra = extra;
  }
}
const bad = (m) => new ReqError("BadRequest", m);

// ---------------------------------------------------------------------------------------------
// request field helpers
function fHex(req, name, { len, optional = false } = {}) {
  const v = req[name];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw bad(`missing field ${name}`);
  }
  let b;
  try {
    b = unhex(v, name);
  } catch (e) {
    throw bad(e.message);
  }
  if (len !== undefined && b.length !== len) throw bad(`${name}: expected ${len} bytes, got ${b.length}`);
  return b;
}
function fNum(req, name, { optional = false } = {}) {
  const v = req[name];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw bad(`missing field ${name}`);
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(`${name}: expected a non-negative integer`);
  return v;
}
function fBool(req, name, { optional = false, dflt } = {}) {
  const v = req[name];
  if (v === undefined || v === null) {
    if (optional) return dflt;
    throw bad(`missing field ${name}`);
  }
  if (typeof v !== "boolean") throw bad(`${name}: expected a boolean`);
  return v;
}
function fStr(req, name, { optional = false } = {}) {
  const v = req[name];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw bad(`missing field ${name}`);
  }
  if (typeof v !== "string") throw bad(`${name}: expected a string`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// handles
let nextHandle = 1;
const objects = new Map();
function register(kind, obj) {
  const h = nextHandle++;
  obj.kind = kind;
  obj.handle = h;
  objects.set(h, obj);
  return h;
}
function get(req, field, kind) {
  const h = req[field];
  if (typeof h !== "number") throw bad(`missing field ${field}`);
  const o = objects.get(h);
  if (!o) throw new ReqError("UnknownHandle", `no object with ${field} ${h}`);
  if (o.kind !== kind) throw new ReqError("UnknownHandle", `${field} ${h} is a ${o.kind}, not a ${kind}`);
  return o;
}

function sessionFields(res) {
  return {
    cs_outbound_k: hex(res.getCSOutbound().k),
    cs_inbound_k: hex(res.getCSInbound().k),
    nametag_secret_outbound: hex(res.nametagsOutbound.secret),
    nametag_secret_inbound: hex(res.nametagsInbound.secret),
    h: hex(res.h),
    rs: hex(res.rs),
  };
}
function newSession(res, codec) {
  return register("session", { res, codec });
}

// ---------------------------------------------------------------------------------------------
// ops
const ops = {};

ops.hello = () => ({
  implementation: "@waku/noise",
  version: L.NOISE_VERSION,
  node: process.version,
  protocol: "jsnoise-peer/1",
  ops: Object.keys(ops),
});

ops.handshake_new = (req) => {
  const pattern = fStr(req, "pattern");
  if (!L.PATTERN_NAMES[pattern]) throw bad(`pattern must be one of ${Object.keys(L.PATTERN_NAMES).join(", ")}`);
  const hsPattern = L.patternOf(pattern);
  const initiator = fBool(req, "initiator");
  const staticKey = keyPairFromSk(fHex(req, "static_sk", { len: 32 }));
  const prologue = fHex(req, "prologue", { optional: true }) ?? new Uint8Array();
  const psk = fHex(req, "psk", { optional: true }) ?? new Uint8Array();
  let ephemeralKey;
  let pre = [];
  if (pattern === "K1K1") {
    const remote = fHex(req, "remote_static_pk", { len: 32 });
    pre = initiator ? [staticKey.publicKey, remote] : [remote, staticKey.publicKey];
  } else if (pattern === "XK1") {
    pre = initiator ? [fHex(req, "remote_static_pk", { len: 32 })] : [staticKey.publicKey];
  } else if (pattern === "WakuPairing") {
    if (initiator) {
      pre = [fHex(req, "remote_pre_message_ephemeral_pk", { len: 32 })];
    } else {
      ephemeralKey = keyPairFromSk(fHex(req, "pre_message_ephemeral_sk", { len: 32 }));
      pre = [ephemeralKey.publicKey];
    }
  }
  const eph = req.ephemeral_sks;
  if (eph !== undefined && !Array.isArray(eph)) throw bad("ephemeral_sks: expected an array of hex strings");
  const ctx = { ephemerals: (eph ?? []).map((s, i) => fHex({ v: s }, "v", { len: 32 })), generated: [] };
  const hs = withCtx(ctx, () =>
    new noise.Handshake({
      hsPattern,
      ephemeralKey,
      staticKey,
      prologue,
      psk,
      preMessagePKs: pre.map((pk) => noise.NoisePublicKey.fromPublicKey(pk)),
      initiator,
    })
  );
  const handle = register("handshake", { hs, ctx, pattern });
  return { handle, h: hex(hs.hs.ss.h), static_pk: hex(staticKey.publicKey) };
};

ops.handshake_write = (req) => {
  const o = get(req, "handle", "handshake");
  const payload = fHex(req, "payload");
  const nametag = fHex(req, "nametag", { len: 16 });
  const turn = L.handshakeTurn(o.hs);
  if (turn !== "write") {
    throw new ReqError("Other", turn === null ? "handshake already complete (js stepHandshake would return an empty result)" : "it is this party's turn to read, not to write");
  }
  const before = o.ctx.generated.length;
  let step;
  try {
    step = withCtx(o.ctx, () => o.hs.stepHandshake({ transportMessage: payload, messageNametag: nametag }));
  } catch (e) {
    throw new ReqError("Other", String(e && e.message ? e.message : e));
  }
  const wire = step.payload2.serialize();
  const r = { wire: hex(wire), h: hex(o.hs.hs.ss.h), complete: L.handshakeComplete(o.hs) };
  const gen = o.ctx.generated.slice(before).filter((g) => g.kind === "ephemeral");
  if (gen.length) r.ephemeral = gen.map((g) => ({ pk: g.pk, source: g.source }));
  return r;
};

ops.handshake_read = (req) => {
  const o = get(req, "handle", "handshake");
  const wire = fHex(req, "wire");
  const nametag = fHex(req, "nametag", { len: 16 });
  const rollback = fBool(req, "rollback", { optional: true, dflt: true });
  const r = L.handshakeRead(o, wire, nametag, { rollback });
  if (!r.ok) throw new ReqError(r.error.type, r.error.message, r.error);
  return { payload: hex(r.payload), h: hex(o.hs.hs.ss.h), complete: L.handshakeComplete(o.hs) };
};

ops.handshake_state = (req) => {
  const o = get(req, "handle", "handshake");
  const hs = o.hs.hs;
  const r = {
    h: hex(hs.ss.h),
    next_nametag: hex(hs.toMessageNametag()),
    authcode: o.hs.genAuthcode(),
    msg_pattern_idx: hs.msgPatternIdx,
    complete: L.handshakeComplete(o.hs),
    turn: L.handshakeTurn(o.hs),
    ck: hex(hs.ss.ck),
    k: hex(hs.ss.cs.k),
    n: hs.ss.cs.n.getUint64(),
  };
  if (hs.rs) r.rs = hex(hs.rs);
  if (hs.re) r.re = hex(hs.re);
  if (hs.e) r.e_pk = hex(hs.e.publicKey);
  if (hs.s) r.s_pk = hex(hs.s.publicKey);
  return r;
};

ops.finalize = (req) => {
  const o = get(req, "handle", "handshake");
  const complete = L.handshakeComplete(o.hs);
  let res;
  try {
    res = o.hs.finalizeHandshake();
  } catch (e) {
    throw new ReqError("Other", String(e && e.message ? e.message : e));
  }
  const session = newSession(res, null);
  return { session, ...sessionFields(res), complete };
};

ops.transport_write = async (req) => {
  const o = get(req, "session", "session");
  const plaintext = fHex(req, "plaintext");
  const res = o.res;
  const nonce = res.getCSOutbound().n.getUint64();
  if (o.codec) {
    // WakuPairing session: js-noise's NoiseSecureTransferEncoder (calls HandshakeResult.writeMessage)
    const proto = await o.codec.encoder.toProtoObj({ payload: plaintext });
    return { wire: hex(proto.payload), nametag: hex(proto.payload.slice(0, 16)), nonce, waku_message: hex(L.WakuMessage.encode(proto)), content_topic: o.codec.contentTopic };
  }
  const p2 = res.writeMessage(plaintext);
  return { wire: hex(p2.serialize()), nametag: hex(p2.messageNametag), nonce };
};

ops.transport_read = async (req) => {
  const o = get(req, "session", "session");
  let wire;
  if (req.waku_message !== undefined) {
    const proto = L.WakuMessage.decode(fHex(req, "waku_message"));
    if ((proto.version ?? 0) !== 2) throw new ReqError("ParseError", `WakuMessage version ${proto.version ?? 0} != 2 (js-noise's decoders drop it)`);
    wire = proto.payload;
  } else {
    wire = fHex(req, "wire");
  }
  const r = await L.transportRead(
    o.res,
    wire,
    o.codec ? { decoder: o.codec.decoder, pubsubTopic: DEFAULT_PUBSUB_TOPIC, contentTopic: o.codec.contentTopic } : {}
  );
  if (!r.ok) throw new ReqError(r.error.type, r.error.message, r.error);
  return r.result;
};

ops.transport_skip_inbound = (req) => {
  const o = get(req, "session", "session");
  const count = fNum(req, "count");
  L.skipInbound(o.res, count);
  return { inbound_nonce: o.res.getCSInbound().n.getUint64(), next_inbound_nametag: hex(o.res.nametagsInbound.getNametagAtPosition(0)) };
};

ops.session_state = (req) => {
  const o = get(req, "session", "session");
  const res = o.res;
  return {
    ...sessionFields(res),
    outbound_nonce: res.getCSOutbound().n.getUint64(),
    inbound_nonce: res.getCSInbound().n.getUint64(),
    next_outbound_nametag: hex(res.nametagsOutbound.getNametagAtPosition(0)),
    next_inbound_nametag: hex(res.nametagsInbound.getNametagAtPosition(0)),
    content_topic: o.codec ? o.codec.contentTopic : null,
  };
};

ops.waku_message_encode = async (req) => {
  const payload = fHex(req, "payload_v2");
  const contentTopic = fStr(req, "content_topic");
  const ephemeral = fBool(req, "ephemeral", { optional: true, dflt: true });
  const tsStr = fStr(req, "timestamp_ns", { optional: true });
  let tsNs;
  if (tsStr !== undefined) {
    if (!/^-?[0-9]+$/.test(tsStr)) throw bad("timestamp_ns: expected a decimal string");
    tsNs = BigInt(tsStr);
  }
  // js-noise's NoiseHandshakeEncoder path with the given PayloadV2 bytes
  const encoder = new noise.NoiseHandshakeEncoder(contentTopic, { payload2: { serialize: () => payload } }, ephemeral);
  const proto = await encoder.toProtoObj({ payload: new Uint8Array(), timestamp: tsNs === undefined ? undefined : new Date(Number(tsNs / 1000000n)) });
  if (tsNs !== undefined) proto.timestamp = tsNs; // keep sub-millisecond precision
  const meta = fHex(req, "meta", { optional: true });
  if (meta !== undefined) proto.meta = meta;
  return { wire: hex(L.WakuMessage.encode(proto)), timestamp_ns: proto.timestamp.toString() };
};

ops.waku_message_decode = async (req) => {
  const wire = fHex(req, "wire");
  let proto;
  try {
    proto = await new noise.NoiseHandshakeDecoder("").fromWireToProtoObj(wire);
  } catch (e) {
    throw new ReqError("ParseError", String(e && e.message ? e.message : e));
  }
  return {
    payload_v2: hex(proto.payload ?? new Uint8Array()),
    content_topic: proto.contentTopic ?? "",
    version: proto.version ?? 0,
    version_present: proto.version !== undefined,
    timestamp_ns: proto.timestamp === undefined ? null : proto.timestamp.toString(),
    ephemeral: Boolean(proto.ephemeral),
    meta: proto.meta === undefined ? null : hex(proto.meta),
    accepted_by_noise_decoders: (proto.version ?? 0) === 2 && proto.payload !== undefined && proto.payload.length > 0,
  };
};

// ---- WakuPairing (js-noise's WakuPairing class, bridged) -------------------------------------
function seedValue(seed, label, len = 32) {
  return sha256(concat(seed, utf8(label))).slice(0, len);
}

ops.pairing_new = (req) => {
  const role = fStr(req, "role");
  if (role !== "initiator" && role !== "responder") throw bad("role must be initiator or responder");
  const staticKey = keyPairFromSk(fHex(req, "static_sk", { len: 32 }));
  const seed = req.seed === undefined ? undefined : typeof req.seed === "string" && /^([0-9a-fA-F]{2})*$/.test(req.seed) ? unhex(req.seed) : utf8(String(req.seed));
  let ephSk = fHex(req, "ephemeral_sk", { optional: true, len: 32 });
  if (!ephSk && seed) ephSk = seedValue(seed, "e");
  let randoms = [];
  if (req.random_bytes !== undefined) {
    if (!Array.isArray(req.random_bytes)) throw bad("random_bytes: expected an array of hex strings");
    randoms = req.random_bytes.map((v) => fHex({ v }, "v"));
  } else if (seed) {
    randoms = role === "responder" ? [seedValue(seed, "r"), seedValue(seed, "qr_nametag", 16)] : [seedValue(seed, "s")];
  }
  const echo = fBool(req, "echo_own", { optional: true, dflt: true });
  const autoConfirm = fBool(req, "auto_confirm", { optional: true, dflt: false });
  const timeoutMs = fNum(req, "timeout_ms", { optional: true }) ?? 60000;
  const ctx = { ephemerals: role === "initiator" && ephSk ? [ephSk] : [], randoms, generated: [] };
  const myEphemeral = ephSk ? keyPairFromSk(ephSk) : undefined;

  const st = { events: [], waiters: [], authcode: null, status: "running", role };
  const push = (ev) => {
    st.events.push(ev);
    for (const w of st.waiters.splice(0)) w();
  };
  const net = new FakeNetwork({
    onPublish: async ({ wire }) => {
      const proto = L.WakuMessage.decode(wire);
      push({ type: "publish", payload_v2: hex(proto.payload), content_topic: proto.contentTopic, waku_message: hex(wire) });
    },
  });
  const node = new FakeNode(net, { echo, name: role });
  let params;
  if (role === "responder") {
    params = new noise.ResponderParameters(fStr(req, "application_name", { optional: true }), fStr(req, "application_version", { optional: true }), fStr(req, "shard_id", { optional: true }));
  } else {
    const qr = fStr(req, "qr");
    const qrNametag = fHex(req, "qr_nametag", { len: 16 });
    params = new noise.InitiatorParameters(qr, qrNametag);
  }
  let pairing;
  try {
    pairing = withCtx(ctx, () => new noise.WakuPairing(node.sender, node.receiver, staticKey, params, myEphemeral));
  } catch (e) {
    throw new ReqError("Other", `WakuPairing constructor: ${e && e.message ? e.message : e}`);
  }
  st.pairing = pairing;
  st.node = node;
  st.ctx = ctx;
  const handle = register("pairing", st);
  pairing.getAuthCode().then((code) => {
    st.authcode = code;
    push({ type: "authcode", code });
    if (autoConfirm) pairing.validateAuthCode(true);
  });
  withCtx(ctx, () => pairing.execute(timeoutMs)).then(
    ([encoder, decoder]) => {
      const res = pairing.getHandshakeResult();
      const session = newSession(res, { encoder, decoder, contentTopic: pairing.contentTopic });
      st.status = "complete";
      st.session = session;
      push({ type: "complete", session, ...sessionFields(res) });
    },
    (err) => {
      st.status = "error";
      push({ type: "error", message: String(err && err.message ? err.message : err) });
    }
  );
  const info = pairing.getPairingInfo();
  const r = { handle, role, content_topic: pairing.contentTopic, static_pk: hex(staticKey.publicKey) };
  if (role === "responder") {
    r.qr = info.qrCode;
    r.qr_nametag = hex(info.qrMessageNameTag);
    r.ephemeral_pk = hex(noise.QR.from(info.qrCode).ephemeralKey);
  }
  r.injected = ctx.generated.map((g) => ({ kind: g.kind, source: g.source }));
  return r;
};

ops.pairing_deliver = async (req) => {
  const st = get(req, "handle", "pairing");
  let wire;
  if (req.waku_message !== undefined) wire = fHex(req, "waku_message");
  else wire = wrapPayloadV2(fHex(req, "payload_v2"), st.pairing.contentTopic, BigInt(Date.now()) * 1000000n, true);
  const delivered = await st.node.deliverWire(wire);
  return { delivered };
};

ops.pairing_poll = async (req) => {
  const st = get(req, "handle", "pairing");
  const waitMs = fNum(req, "wait_ms", { optional: true }) ?? 0;
  if (st.events.length === 0 && waitMs > 0) {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, waitMs);
      st.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return { events: st.events.splice(0), status: st.status, ...(st.session ? { session: st.session } : {}) };
};

ops.pairing_confirm = (req) => {
  const st = get(req, "handle", "pairing");
  const accept = fBool(req, "accept");
  if (st.authcode === null) throw new ReqError("Other", "no authcode yet (js-noise only listens for the confirmation after it emitted the authcode; poll for the authcode event first)");
  st.pairing.validateAuthCode(accept);
  return { authcode: st.authcode, accepted: accept };
};

ops.close = (req) => {
  const h = req.handle ?? req.session;
  if (typeof h !== "number" || !objects.has(h)) throw new ReqError("UnknownHandle", `no object ${h}`);
  objects.delete(h);
  return {};
};

ops.exit = () => ({});

// ---------------------------------------------------------------------------------------------
// main loop
async function handleLine(line) {
  if (line.trim() === "") return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    out({ id: null, ok: false, error: { type: "BadRequest", message: `invalid JSON: ${e.message}` } });
    return;
  }
  const id = req && typeof req === "object" && "id" in req ? req.id : null;
  if (!req || typeof req !== "object" || Array.isArray(req)) {
    out({ id, ok: false, error: { type: "BadRequest", message: "request must be a JSON object" } });
    return;
  }
  const fn = ops[req.op];
  if (typeof req.op !== "string" || !fn || !Object.prototype.hasOwnProperty.call(ops, req.op)) {
    out({ id, ok: false, error: { type: "BadRequest", message: `unknown op ${JSON.stringify(req.op)}` } });
    return;
  }
  try {
    const result = await fn(req);
    out({ id, ok: true, ...result });
  } catch (e) {
    const error = e instanceof ReqError ? { ...e.extra, type: e.type, message: e.message } : { type: "Other", message: String(e && e.stack ? e.stack : e) };
    if (!(e instanceof ReqError)) log(`op ${req.op} failed:`, error.message);
    out({ id, ok: false, error });
  }
  if (req.op === "exit") {
    await new Promise((r) => process.stdout.write("", r));
    process.exit(0);
  }
}

process.on("uncaughtException", (e) => log("uncaught exception:", e && e.stack ? e.stack : String(e)));
process.on("unhandledRejection", (e) => log("unhandled rejection:", e && e.stack ? e.stack : String(e)));

let chain = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
rl.on("line", (line) => {
  chain = chain.then(() => handleLine(line));
});
rl.on("close", () => {
  chain.then(() => new Promise((r) => process.stdout.write("", r))).then(() => process.exit(0));
});
log(`ready (@waku/noise ${L.NOISE_VERSION}, node ${process.version})`);
