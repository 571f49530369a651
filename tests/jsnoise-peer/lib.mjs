// Shared plumbing for gen-vectors.mjs and peer.mjs.
//
// * loads @waku/noise (the published npm package, pinned in package.json) and the internal
//   modules it uses, resolved FROM the package itself so that we get the very same module
//   instances js-noise runs with (required for the runtime patches below);
// * randomness injection: js-noise draws randomness in exactly two places
//     - DH25519.prototype.generateKeyPair()  (dist/dh25519.js; called by HandshakeState for every
//       written "e" token and by the WakuPairing constructor when no ephemeral key is passed)
//     - the module-level HMACDRBG instance of dist/pairing.js (`randomBytes(32, rng)` for r / s and
//       `randomBytes(16, rng)` for the QR message nametag), i.e. HMACDRBG.prototype.randomBytes
//   Both prototype methods are wrapped at runtime (node_modules is never modified). The wrapper
//   consults the AsyncLocalStorage context of the caller: if the context carries an injection
//   queue the next value is taken from it, otherwise (peer.mjs default) the original random
//   source is used. Contexts propagate through awaits, so concurrent WakuPairing objects each
//   get their own queue.
// * tracing: SymmetricState methods (mixHash, mixKey, mixKeyAndHash, encryptAndHash,
//   decryptAndHash, split) and DH25519.prototype.DH are wrapped to record every top-level
//   operation with the state before/after, when the current context carries a `trace` array.
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";

import * as noise from "@waku/noise";

export { noise };

export const NOISE_URL = import.meta.resolve("@waku/noise"); // .../node_modules/@waku/noise/dist/index.js
const requireFromNoise = createRequire(NOISE_URL);

// CommonJS dependencies of @waku/noise, resolved exactly as dist/*.js resolve them.
export const { HMACDRBG } = requireFromNoise("@stablelib/hmac-drbg");
export const x25519 = requireFromNoise("@stablelib/x25519");
export const stableSha256 = requireFromNoise("@stablelib/sha256");
export const { HKDF: StableHKDF } = requireFromNoise("@stablelib/hkdf");
export const pkcs7 = requireFromNoise("pkcs7-padding");

// Internal ES modules of @waku/noise (not exported from its index). Importing them by file URL
// yields the same module instances that dist/index.js uses.
export const noiseCrypto = await import(new URL("./crypto.js", NOISE_URL).href); // HKDF, hash, commitPublicKey
export const noiseMessagenametag = await import(new URL("./messagenametag.js", NOISE_URL).href);
export const noiseHandshakeState = await import(new URL("./handshake_state.js", NOISE_URL).href); // HandshakeState, NoisePaddingBlockSize

// The WakuMessage protobuf codec @waku/noise's codec.ts uses (@waku/proto, deduplicated by npm).
export const { WakuMessage } = await import("@waku/proto");

export const NOISE_PKG = JSON.parse(
  readFileSync(fileURLToPath(new URL("../package.json", NOISE_URL)), "utf8")
);
export const NOISE_VERSION = NOISE_PKG.version;

// ---------------------------------------------------------------------------------------------
// bytes helpers
export function hex(u8) {
  if (u8 === undefined || u8 === null) return null;
  return Buffer.from(u8.buffer ? new Uint8Array(u8.buffer, u8.byteOffset, u8.byteLength) : u8).toString("hex");
}
export function unhex(s, what = "hex") {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new TypeError(`${what}: expected an even-length hex string`);
  }
  return new Uint8Array(Buffer.from(s, "hex"));
}
export function utf8(s) {
  return new TextEncoder().encode(s);
}
export function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
export function equal(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export function sha256(data) {
  return stableSha256.hash(data);
}
/** RFC 5869 HKDF-SHA256(salt, ikm, info = empty), `n` 32-byte blocks (independent of js-noise's wrapper). */
export function hkdfBlocks(salt, ikm, n) {
  const okm = new StableHKDF(stableSha256.SHA256, ikm, salt).expand(32 * n);
  const out = [];
  for (let i = 0; i < n; i++) out.push(okm.slice(32 * i, 32 * i + 32));
  return out;
}
export function u64le(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

// ---------------------------------------------------------------------------------------------
// keys
const dh = new noise.X25519DHKey();
/** js-noise's own keypair-from-seed (the secret key is kept as given, clamped inside X25519). */
export function keyPairFromSk(sk) {
  if (sk.length !== 32) throw new TypeError("secret key must be 32 bytes");
  return dh.generateKeyPairFromSeed(sk);
}
export function pkOf(sk) {
  return x25519.scalarMultBase(sk);
}

// ---------------------------------------------------------------------------------------------
// context (AsyncLocalStorage) for injection and tracing
export const als = new AsyncLocalStorage();
/**
 * Run fn with a context. Recognised context fields:
 *   ephemerals: Uint8Array[]  secret keys handed out (in order) by DH25519.generateKeyPair
 *   randoms:    Uint8Array[]  values handed out (in order) by HMACDRBG.randomBytes (lengths must match)
 *   strict:     boolean       throw instead of falling back to real randomness when a queue is empty
 *   generated:  array         receives {kind, sk|value, pk?, source: "injected"|"random"} records
 *   trace:      array         receives top-level SymmetricState / DH operations
 */
export function withCtx(ctx, fn) {
  return als.run(ctx, fn);
}
function ctx() {
  return als.getStore();
}

const DHProto = noise.X25519DHKey.prototype;
const origGenerateKeyPair = DHProto.generateKeyPair;
DHProto.generateKeyPair = function patchedGenerateKeyPair(...args) {
  const c = ctx();
  if (c && c.ephemerals && c.ephemerals.length > 0) {
    const sk = c.ephemerals.shift();
    const kp = this.generateKeyPairFromSeed(sk);
    if (c.generated) c.generated.push({ kind: "ephemeral", sk: hex(kp.privateKey), pk: hex(kp.publicKey), source: "injected" });
    return kp;
  }
  if (c && c.strict) throw new Error("injection: js-noise asked for an ephemeral key but none is queued");
  const kp = origGenerateKeyPair.apply(this, args);
  if (c && c.generated) c.generated.push({ kind: "ephemeral", sk: hex(kp.privateKey), pk: hex(kp.publicKey), source: "random" });
  return kp;
};

const origRandomBytes = HMACDRBG.prototype.randomBytes;
HMACDRBG.prototype.randomBytes = function patchedRandomBytes(length) {
  const c = ctx();
  if (c && c.randoms && c.randoms.length > 0) {
    const v = c.randoms.shift();
    if (v.length !== length) {
      throw new Error(`injection: js-noise asked for ${length} random bytes, queued value has ${v.length}`);
    }
    if (c.generated) c.generated.push({ kind: "random_bytes", value: hex(v), source: "injected" });
    return new Uint8Array(v);
  }
  if (c && c.strict) throw new Error(`injection: js-noise asked for ${length} random bytes but none are queued`);
  const out = origRandomBytes.call(this, length);
  if (c && c.generated) c.generated.push({ kind: "random_bytes", value: hex(out), source: "random" });
  return out;
};

// ---------------------------------------------------------------------------------------------
// state snapshots
export function symState(ss) {
  return {
    h: hex(ss.h),
    ck: hex(ss.ck),
    k: hex(ss.cs.k),
    n: ss.cs.n.getUint64(),
  };
}
export function hsState(hs) {
  return {
    msg_pattern_idx: hs.msgPatternIdx,
    initiator: hs.initiator,
    h: hex(hs.ss.h),
    ck: hex(hs.ss.ck),
    k: hex(hs.ss.cs.k),
    n: hs.ss.cs.n.getUint64(),
    s_pk: hs.s ? hex(hs.s.publicKey) : null,
    e_pk: hs.e ? hex(hs.e.publicKey) : null,
    rs: hs.rs ? hex(hs.rs) : null,
    re: hs.re ? hex(hs.re) : null,
  };
}
function isZero(k) {
  for (const b of k) if (b !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// tracing
const probe = new noise.Handshake({ hsPattern: noise.NoiseHandshakePatterns.Noise_XX_25519_ChaChaPoly_SHA256 });
export const SymmetricState = probe.hs.ss.constructor;
export const HandshakeStateClass = probe.hs.constructor;
const SSProto = SymmetricState.prototype;
let depth = 0;

function traced(name, describe) {
  const orig = SSProto[name];
  SSProto[name] = function (...args) {
    const c = ctx();
    const record = depth === 0 && c && Array.isArray(c.trace);
    if (!record) {
      depth++;
      try {
        return orig.apply(this, args);
      } finally {
        depth--;
      }
    }
    const before = symState(this);
    const pre = describe.pre ? describe.pre(this, args) : {};
    depth++;
    let result;
    try {
      result = orig.apply(this, args);
    } catch (err) {
      depth--;
      c.trace.push({ op: name, ...pre, error: String(err && err.message ? err.message : err), before, after: symState(this) });
      throw err;
    }
    depth--;
    const post = describe.post ? describe.post(this, args, result) : {};
    c.trace.push({ op: name, ...pre, ...post, before, after: symState(this) });
    return result;
  };
}
traced("mixHash", { pre: (ss, [data]) => ({ data: hex(data) }) });
traced("mixKey", { pre: (ss, [ikm]) => ({ ikm: hex(ikm) }) });
traced("mixKeyAndHash", { pre: (ss, [ikm]) => ({ ikm: hex(ikm) }) });
traced("encryptAndHash", {
  pre: (ss, [plaintext, extraAd]) => ({
    plaintext: hex(plaintext),
    extra_ad: hex(extraAd ?? new Uint8Array()),
    ad: hex(concat(ss.h, extraAd ?? new Uint8Array())),
    key_used: hex(ss.cs.k),
    nonce_used: isZero(ss.cs.k) ? null : ss.cs.n.getUint64(),
  }),
  post: (ss, args, ct) => ({ ciphertext: hex(ct) }),
});
traced("decryptAndHash", {
  pre: (ss, [ciphertext, extraAd]) => ({
    ciphertext: hex(ciphertext),
    extra_ad: hex(extraAd ?? new Uint8Array()),
    ad: hex(concat(ss.h, extraAd ?? new Uint8Array())),
    key_used: hex(ss.cs.k),
    nonce_used: isZero(ss.cs.k) ? null : ss.cs.n.getUint64(),
  }),
  post: (ss, args, pt) => ({ plaintext: hex(pt) }),
});
traced("split", {
  post: (ss, args, r) => ({ cs1_k: hex(r.cs1.k), cs2_k: hex(r.cs2.k) }),
});

const origDH = DHProto.DH;
DHProto.DH = function patchedDH(privateKey, publicKey) {
  const shared = origDH.call(this, privateKey, publicKey);
  const c = ctx();
  if (depth === 0 && c && Array.isArray(c.trace)) {
    c.trace.push({ op: "dh", local_pk: hex(pkOf(privateKey)), remote_pk: hex(publicKey), shared: hex(shared) });
  }
  return shared;
};

// ---------------------------------------------------------------------------------------------
// misc js-noise helpers
export const PATTERN_NAMES = {
  K1K1: "Noise_K1K1_25519_ChaChaPoly_SHA256",
  XK1: "Noise_XK1_25519_ChaChaPoly_SHA256",
  XX: "Noise_XX_25519_ChaChaPoly_SHA256",
  XXpsk0: "Noise_XXpsk0_25519_ChaChaPoly_SHA256",
  WakuPairing: "Noise_WakuPairing_25519_ChaChaPoly_SHA256",
};
export function patternOf(shortName) {
  const full = PATTERN_NAMES[shortName];
  if (!full) throw new Error(`unknown pattern ${shortName}`);
  return noise.NoiseHandshakePatterns[full];
}
export function describePattern(p) {
  return {
    name: p.name,
    protocol_id: noise.PayloadV2ProtocolIDs[p.name],
    pre_messages: p.preMessagePatterns.map((m) => `${m.direction} ${m.tokens.join(", ")}`),
    messages: p.messagePatterns.map((m) => `${m.direction} ${m.tokens.join(", ")}`),
  };
}
export function payloadV2Fields(p, serializedLen) {
  const o = {
    message_nametag: hex(p.messageNametag),
    protocol_id: p.protocolId,
    handshake_message: p.handshakeMessage.map((k) => ({ flag: k.flag, pk: hex(k.pk) })),
    handshake_message_len: p.handshakeMessage.reduce((a, k) => a + 1 + k.pk.length, 0),
    transport_message_len: p.transportMessage.length,
    transport_message: hex(p.transportMessage),
  };
  if (serializedLen !== undefined) o.serialized_len = serializedLen;
  return o;
}
/** js genAuthcode-equivalent inputs and the nwaku reading (little-endian, no padding). */
export function authcodeInfo(h) {
  const first8 = hkdfBlocks(h, new Uint8Array(), 1)[0].slice(0, 8);
  const be = BigInt("0x" + hex(first8));
  const le = BigInt("0x" + hex(Uint8Array.from(first8).reverse()));
  return {
    first8: hex(first8),
    js: (be % 100000000n).toString().padStart(8, "0"),
    nwaku: (le % 100000000n).toString(),
  };
}
export function nametagAt(secret, i) {
  return sha256(concat(secret, u64le(i))).slice(0, 16);
}
export function bufferHead(buf, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(hex(buf.getNametagAtPosition(i)));
  return out;
}
/**
 * Route js-noise's console output away from stdout. js-noise writes diagnostics with console.log /
 * console.debug, which go to STDOUT in Node (WakuPairing's constructor logs its ephemeral public key,
 * HandshakeResult.readMessage logs swallowed decryption failures, ...).
 * mode "stderr": everything to stderr; mode "silent": drop console.log/debug/info/warn.
 */
export function redirectConsole(mode) {
  const toErr = (...a) => process.stderr.write(a.map((x) => (typeof x === "string" ? x : inspect(x, { depth: 2, breakLength: Infinity }))).join(" ") + "\n");
  const sink = mode === "stderr" ? toErr : () => {};
  console.log = sink;
  console.debug = sink;
  console.info = sink;
  console.warn = sink;
}

/**
 * Copy of a js-noise Handshake object. (js-noise's own Handshake.clone() throws for every pattern
 * with pre-messages - K1K1, XK1, WakuPairing - because it constructs a fresh Handshake without the
 * pre-message keys; HandshakeState.clone() works, so we use it directly.)
 */
export function cloneHandshake(h) {
  const c = Object.create(Object.getPrototypeOf(h));
  c.hs = h.hs.clone();
  return c;
}
export function handshakeComplete(h) {
  return h.hs.msgPatternIdx >= h.hs.handshakePattern.messagePatterns.length;
}
/** "write" | "read" | null (complete) for the next handshake message of this party. */
export function handshakeTurn(h) {
  if (handshakeComplete(h)) return null;
  const dir = h.hs.handshakePattern.messagePatterns[h.hs.msgPatternIdx].direction;
  const { writing } = h.hs.getReadingWritingState(dir);
  return writing ? "write" : "read";
}
function classifyHandshakeError(e) {
  const msg = String(e && e.message ? e.message : e);
  if (e instanceof noise.MessageNametagError) return "NametagMismatch";
  if (/decryptWithAd failed/.test(msg)) return "DecryptFailed";
  if (/invalid public key length|expected a public key|incorrect encryption flag|invalid flag|invalid serialized key|protocolId not found|beyond buffer|out of range/i.test(msg)) return "ParseError";
  return "Other";
}
/**
 * Read a handshake message with js-noise (holder.hs is the Handshake object; it is replaced by the
 * pre-read copy on failure when rollback is set). js-noise itself never rolls back: on a decryption
 * failure the tokens before the failing decryptAndHash have already updated the state.
 */
export function handshakeRead(holder, wire, nametag, { rollback = true } = {}) {
  const turn = handshakeTurn(holder.hs);
  if (turn !== "read") {
    return { ok: false, error: { type: "Other", message: turn === null ? "handshake already complete (js stepHandshake would return an empty result)" : "it is this party's turn to write, not to read", state_rolled_back: true, js_state_mutated: false } };
  }
  let p;
  try {
    p = noise.PayloadV2.deserialize(wire);
  } catch (e) {
    return { ok: false, error: { type: "ParseError", message: String(e), state_rolled_back: true, js_state_mutated: false } };
  }
  const copy = cloneHandshake(holder.hs);
  const snap = JSON.stringify(hsState(holder.hs.hs));
  try {
    const step = holder.hs.stepHandshake({ readPayloadV2: p, messageNametag: nametag });
    return { ok: true, step, payload: step.transportMessage, parsed: p };
  } catch (e) {
    const mutated = JSON.stringify(hsState(holder.hs.hs)) !== snap;
    if (rollback) holder.hs = copy;
    const type = classifyHandshakeError(e);
    const error = { type, message: String(e && e.message ? e.message : e) };
    if (type === "NametagMismatch") {
      error.expected_nametag = hex(e.expectedNametag);
      error.actual_nametag = hex(e.actualNametag);
    }
    error.state_rolled_back = rollback || !mutated;
    error.js_state_mutated = mutated;
    return { ok: false, error };
  }
}

/**
 * Transport read with js-noise's HandshakeResult.readMessage (or, when `decoder` is given, with
 * js-noise's NoiseSecureTransferDecoder, which calls the same method) and classification of what
 * js did. js-noise reports nametag problems by throwing, but SWALLOWS decryption failures and
 * protocol-id != 0 (it returns an empty message), so the outcome is derived from the inbound nonce
 * and nametag-buffer counter before/after the call.
 */
export async function transportRead(res, wire, { decoder, pubsubTopic, contentTopic } = {}) {
  let p;
  try {
    p = noise.PayloadV2.deserialize(wire);
  } catch (e) {
    return { ok: false, error: { type: "ParseError", message: String(e), js_behaviour: "PayloadV2.deserialize threw; nothing advanced" } };
  }
  const inbound = res.nametagsInbound;
  const pos = inbound.getNametagPosition(p.messageNametag);
  const n0 = res.getCSInbound().n.getUint64();
  const c0 = inbound.counter;
  let out;
  if (decoder) {
    const msg = await decoder.fromProtoObj(pubsubTopic, { payload: wire, contentTopic, version: 2, timestamp: undefined, ephemeral: true, meta: undefined, rateLimitProof: undefined });
    if (!msg) {
      return { ok: false, error: nametagError(pos, "NoiseSecureTransferDecoder.fromProtoObj returned undefined (readMessage threw 'nametag is not ok'); nothing advanced") };
    }
    out = msg.payload;
  } else {
    try {
      out = res.readMessage(p);
    } catch (e) {
      return { ok: false, error: nametagError(pos, `HandshakeResult.readMessage threw '${e.message}'; nothing advanced`) };
    }
  }
  const n1 = res.getCSInbound().n.getUint64();
  const c1 = inbound.counter;
  if (p.protocolId !== 0) {
    return { ok: false, error: { type: "ProtocolIdNotZero", message: `protocol id ${p.protocolId}: js-noise returns an empty message without decrypting`, js_behaviour: "returned empty plaintext, nothing advanced" } };
  }
  if (n1 === n0 + 1 && c1 === c0 + 1) {
    return { ok: true, result: { plaintext: hex(out), nametag: hex(p.messageNametag), nonce: n0 } };
  }
  if (n1 === n0) {
    return { ok: false, error: { type: "DecryptFailed", message: "ChaChaPoly authentication failed", js_behaviour: "HandshakeResult.readMessage swallowed the error and returned an empty plaintext; nonce and nametag buffer not advanced" } };
  }
  return {
    ok: false,
    error: {
      type: "InvalidPadding",
      message: "decryption succeeded but PKCS#7 unpadding failed",
      js_behaviour: "js-noise swallowed the unpad error and returned an empty plaintext AFTER the inbound nonce had advanced; the nametag buffer was not advanced, so nonce and nametag are now out of step (the next genuine message will fail)",
    },
  };
}
function nametagError(pos, behaviour) {
  return {
    type: "NametagNotExpected",
    message: pos > 0 ? `message nametag is at buffer position ${pos} (earlier messages lost or reordered)` : "message nametag not in the inbound buffer",
    buffer_position: pos,
    js_behaviour: behaviour,
  };
}
/**
 * Harness-side recovery from lost messages: drop `count` inbound nametags and advance the inbound
 * nonce by `count` (message #k always carries nametag #k and nonce k). js's delete(n) silently caps
 * n at 50 (the buffer size) while advancing its counter only by the capped value, so larger skips
 * are done in chunks of 50.
 */
export function skipInbound(res, count) {
  let left = count;
  while (left > 0) {
    const k = Math.min(left, 50);
    res.nametagsInbound.delete(k);
    left -= k;
  }
  const cs = res.getCSInbound();
  cs.setNonce(new noise.Nonce(cs.n.getUint64() + count));
}
