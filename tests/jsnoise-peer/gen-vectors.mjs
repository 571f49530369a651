#!/usr/bin/env node
// Regenerates the js-noise interop vectors (schemas jsnoise-peer/transcript/v1, jsnoise-peer/primitives/v1,
// jsnoise-peer/negative/v1) by driving the published @waku/noise package with injected randomness.
//
//   npm ci --prefix tests/jsnoise-peer && node tests/jsnoise-peer/gen-vectors.mjs --out vectors/noise
//
// Every byte in the output comes from js-noise objects (Handshake.stepHandshake, finalizeHandshake,
// HandshakeResult.writeMessage/readMessage, PayloadV2, QR, WakuPairing, the codecs); this program
// only chooses the inputs, injects the randomness (see lib.mjs) and records what js-noise did.
// The output is deterministic: no timestamps, no real randomness (strict injection: any attempt of
// js-noise to draw randomness that was not injected aborts the run).
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as L from "./lib.mjs";
import { FakeNetwork, FakeNode, DEFAULT_PUBSUB_TOPIC } from "./bridge.mjs";

const { noise, hex, utf8, concat, equal, sha256, withCtx, hsState, symState, keyPairFromSk, pkOf } = L;

// ---------------------------------------------------------------------------------------------
// command line
const HERE = path.dirname(fileURLToPath(import.meta.url));
function parseArgs(argv) {
  const o = { out: path.resolve(HERE, "../../vectors/noise"), verbose: false };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") o.out = path.resolve(argv[++i]);
    else if (a.startsWith("--out=")) o.out = path.resolve(a.slice(6));
    else if (a === "--verbose" || a === "-v") o.verbose = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: node gen-vectors.mjs [--out DIR] [--verbose]\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}
const ARGS = parseArgs(process.argv);
L.redirectConsole(ARGS.verbose ? "stderr" : "silent");

function assert(cond, msg) {
  if (!cond) throw new Error("assertion failed: " + msg);
}

// ---------------------------------------------------------------------------------------------
// common blocks
const PREFIX = "status-1to1/jsnoise/v1/";
/** SHA-256(PREFIX || label), truncated. The label is the exact string hashed (after the prefix). */
function secret(label, len = 32) {
  return sha256(utf8(PREFIX + label)).slice(0, len);
}
/** Non-secret filler bytes: SHA-256(PREFIX || "filler/" || label) repeated to n bytes. */
function filler(label, n) {
  const seed = sha256(utf8(PREFIX + "filler/" + label));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = seed[i % 32];
  return out;
}
function labelled(label, len = 32) {
  return { label, value: hex(secret(label, len)) };
}
function keyEntry(label) {
  const sk = secret(label);
  return { label, sk: hex(sk), pk: hex(pkOf(sk)) };
}

function lockIntegrity() {
  for (const p of [path.join(HERE, "package-lock.json"), path.join(HERE, "node_modules/.package-lock.json")]) {
    if (!existsSync(p)) continue;
    const lock = JSON.parse(readFileSync(p, "utf8"));
    const e = lock.packages && lock.packages["node_modules/@waku/noise"];
    if (e && e.integrity) return e.integrity;
  }
  return "unknown";
}

const GENERATOR = {
  tool: "tests/jsnoise-peer/gen-vectors.mjs",
  implementation: "@waku/noise",
  implementation_version: L.NOISE_VERSION,
  implementation_source: `npm @waku/noise@${L.NOISE_VERSION} (dist/ as published, integrity ${lockIntegrity()}; the version names github.com/waku-org/js-noise commit a19e968)`,
  node: `v${process.versions.node.split(".")[0]}`,
  secret_derivation: `every *_sk / r / s / psk / nametag input is SHA-256("${PREFIX}<label>") (truncated to the needed length); the exact label string is given next to each value. Non-secret filler plaintexts are SHA-256("${PREFIX}filler/<label>") repeated.`,
};

const CONVENTIONS = {
  hex: "all byte strings are lowercase hex",
  wire: "PayloadV2 serialization = nametag(16) || protocol_id(1) || handshake_message_len(1) || handshake_message || transport_message_len(8, little-endian) || transport_message. This is the WakuMessage.payload (version 2).",
  payload_padded: "PKCS#7 padding to a multiple of 248 bytes, applied by js-noise to every handshake payload and transport message before encryption (empty payload -> 248 bytes of 0xf8)",
  ops: "writer_ops / reader_ops list every top-level SymmetricState operation (mixHash, mixKey, mixKeyAndHash, encryptAndHash, decryptAndHash, split) and DH, with the state before/after",
  ad: "handshake payload AD = h || message_nametag; encrypted static key AD = h only; transport message AD = message_nametag only",
  nonce: "ChaChaPoly nonce = 4 zero bytes || little-endian 64-bit counter (js-noise writes only 32 bits; identical below 2^32)",
  state: "state.n is the nonce of the handshake CipherState; state.k all-zero means 'no key'",
  nametag_source: "qr = random nametag shared out of band with the QR; hkdf = HKDF(salt=h, ikm='')[0..16] of the handshake hash before the message; explicit = fixed value chosen by the generator",
};

const SHA256 = L.stableSha256.SHA256;
const pad248 = (b) => L.pkcs7.pad(b, 248);

// ---------------------------------------------------------------------------------------------
// handshake engine (js-noise objects, traced)
function newParty({ pattern, initiator, staticSk, ownPreMessageEphemeralSk, prologue, psk, preMessagePKs }) {
  const trace = [];
  const hs = withCtx({ trace, strict: true }, () =>
    new noise.Handshake({
      hsPattern: pattern,
      ephemeralKey: ownPreMessageEphemeralSk ? keyPairFromSk(ownPreMessageEphemeralSk) : undefined,
      staticKey: keyPairFromSk(staticSk),
      prologue,
      psk: psk ?? new Uint8Array(),
      preMessagePKs: preMessagePKs.map((pk) => noise.NoisePublicKey.fromPublicKey(pk)),
      initiator,
    })
  );
  return { hs, initTrace: trace };
}

function symmetricInit(pattern, I, R, prologue, withPreMessages) {
  const SS = L.SymmetricState;
  const h0 = new SS(pattern).h;
  const first = I.initTrace[0];
  assert(first && first.op === "mixHash" && first.data === hex(prologue), "first init op is MixHash(prologue)");
  assert(equal(I.hs.hs.ss.h, R.hs.hs.ss.h), "both sides agree on h after init");
  const o = {
    protocol_name: pattern.name,
    protocol_name_len: utf8(pattern.name).length,
    h_protocol_name: hex(h0),
    ck_initial: hex(h0),
    h_after_prologue: first.after.h,
  };
  if (withPreMessages) o.h_after_pre_messages = hex(I.hs.hs.ss.h);
  o.initiator_state_after_init = hsState(I.hs.hs);
  o.responder_state_after_init = hsState(R.hs.hs);
  return o;
}

/**
 * One handshake message: writer.stepHandshake (write), serialize, PayloadV2.deserialize,
 * reader.stepHandshake (read). Returns the transcript record plus the raw objects.
 */
function exchange(pattern, I, R, index, { payload, nametag, nametagSource, ephemeralSk, pairingCheck }) {
  const mp = pattern.messagePatterns[index];
  const writerIsInit = mp.direction === "->";
  const W = writerIsInit ? I : R;
  const Rd = writerIsInit ? R : I;
  assert(W.hs.hs.msgPatternIdx === index && Rd.hs.hs.msgPatternIdx === index, "message index in step");
  let writerNametag = nametag;
  let readerNametag = nametag;
  if (nametagSource === "hkdf") {
    writerNametag = W.hs.hs.toMessageNametag();
    readerNametag = Rd.hs.hs.toMessageNametag();
    assert(equal(writerNametag, readerNametag), "both sides derive the same HKDF nametag");
  }
  const wctx = { trace: [], ephemerals: ephemeralSk ? [ephemeralSk] : [], generated: [], strict: true };
  const step = withCtx(wctx, () => W.hs.stepHandshake({ transportMessage: payload, messageNametag: writerNametag }));
  assert(wctx.ephemerals.length === 0, "injected ephemeral consumed");
  const wire = step.payload2.serialize();
  const parsed = noise.PayloadV2.deserialize(wire);
  const rctx = { trace: [], strict: true };
  const rstep = withCtx(rctx, () => Rd.hs.stepHandshake({ readPayloadV2: parsed, messageNametag: readerNametag }));
  assert(equal(rstep.transportMessage, payload), "reader recovers the payload");
  assert(equal(W.hs.hs.ss.h, Rd.hs.hs.ss.h), "h agrees after message");
  const authW = W.hs.genAuthcode();
  const authR = Rd.hs.genAuthcode();
  assert(authW === authR, "authcodes agree");
  const ai = L.authcodeInfo(W.hs.hs.ss.h);
  assert(ai.js === authW, "independent authcode formula matches js genAuthcode");
  const record = {
    index,
    direction: mp.direction,
    tokens: [...mp.tokens],
    writer: writerIsInit ? "initiator" : "responder",
    reader: writerIsInit ? "responder" : "initiator",
    nametag: hex(writerNametag),
    nametag_source: nametagSource,
    payload: hex(payload),
    payload_padded: hex(pad248(payload)),
    wire: hex(wire),
    wire_len: wire.length,
    // (a fresh parse: js-noise's reader empties readPayloadV2.handshakeMessage while processing it)
    payload_v2: L.payloadV2Fields(noise.PayloadV2.deserialize(wire), wire.length),
    ephemeral_generated: wctx.generated.filter((g) => g.kind === "ephemeral").map((g) => ({ sk: g.sk, pk: g.pk, source: g.source })),
    writer_ops: wctx.trace,
    reader_ops: rctx.trace,
    writer_state_after: hsState(W.hs.hs),
    reader_state_after: hsState(Rd.hs.hs),
    reader_payload: hex(rstep.transportMessage),
  };
  if (pairingCheck) record.reader_pairing_check = pairingCheck(Rd, rstep.transportMessage);
  record.authcode_after = authW;
  record.authcode_hkdf_first8 = ai.first8;
  record.next_nametag_hkdf = hex(W.hs.hs.toMessageNametag());
  return { record, step, wire };
}

function resultBlock(res, headLen) {
  return {
    cs_outbound: { k: hex(res.getCSOutbound().k), n: res.getCSOutbound().n.getUint64() },
    cs_inbound: { k: hex(res.getCSInbound().k), n: res.getCSInbound().n.getUint64() },
    nametag_secret_outbound: hex(res.nametagsOutbound.secret),
    nametag_secret_inbound: hex(res.nametagsInbound.secret),
    nametags_outbound_head: L.bufferHead(res.nametagsOutbound, headLen),
    nametags_inbound_head: L.bufferHead(res.nametagsInbound, headLen),
    nametags_outbound_counter: res.nametagsOutbound.counter,
    nametags_inbound_counter: res.nametagsInbound.counter,
    h: hex(res.h),
    rs: hex(res.rs),
  };
}

function finalizeBoth(I, R) {
  const out = {};
  const results = {};
  for (const [name, P] of [["initiator", I], ["responder", R]]) {
    const ctx = { trace: [], strict: true };
    const res = withCtx(ctx, () => P.hs.finalizeHandshake());
    const { nms1, nms2 } = P.hs.hs.genMessageNametagSecrets();
    out[name] = { ...resultBlock(res, 5), nms1: hex(nms1), nms2: hex(nms2), ops: ctx.trace };
    results[name] = res;
  }
  assert(equal(results.initiator.getCSOutbound().k, results.responder.getCSInbound().k), "split keys cross");
  assert(equal(results.initiator.nametagsOutbound.secret, results.responder.nametagsInbound.secret), "nametag secrets cross");
  return { split: out, resI: results.initiator, resR: results.responder };
}

function runTransport(resI, resR, plan) {
  const counts = { initiator: 0, responder: 0 };
  return plan.map((m, index) => {
    const from = m.from;
    const to = from === "initiator" ? "responder" : "initiator";
    const W = from === "initiator" ? resI : resR;
    const Rd = from === "initiator" ? resR : resI;
    const k = counts[from]++;
    const nonce = W.getCSOutbound().n.getUint64();
    assert(nonce === k, "message #k uses nonce k");
    const expectedTag = L.nametagAt(W.nametagsOutbound.secret, k);
    const p2 = W.writeMessage(m.plaintext);
    assert(equal(p2.messageNametag, expectedTag), "message #k uses nametag #k");
    const wire = p2.serialize();
    const parsed = noise.PayloadV2.deserialize(wire);
    const rn = Rd.getCSInbound().n.getUint64();
    const dec = Rd.readMessage(parsed);
    assert(Rd.getCSInbound().n.getUint64() === rn + 1, "reader nonce advanced");
    assert(equal(dec, m.plaintext), "reader decrypts the plaintext");
    return {
      index,
      from,
      to,
      per_direction_index: k,
      plaintext: hex(m.plaintext),
      plaintext_len: m.plaintext.length,
      padded_len: pad248(m.plaintext).length,
      nametag: hex(p2.messageNametag),
      nametag_counter: k,
      nonce,
      ad: hex(p2.messageNametag),
      wire: hex(wire),
      wire_len: wire.length,
      payload_v2: L.payloadV2Fields(parsed, wire.length),
      decrypted: hex(dec),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// transport plans
function shortPlan(lp) {
  return [
    { from: "initiator", plaintext: utf8("hello from the initiator") },
    { from: "responder", plaintext: utf8("hello from the responder") },
    { from: "initiator", plaintext: new Uint8Array() },
    { from: "initiator", plaintext: filler(`${lp}/transport/initiator-248`, 248) },
    { from: "responder", plaintext: utf8("x") },
    { from: "responder", plaintext: filler(`${lp}/transport/responder-300`, 300) },
  ];
}
const LONG_SIZES = [0, 1, 24, 247, 248, 249, 495, 496, 497, 600, 744];
const LONG_PER_DIRECTION = 60;
/** LONG_PER_DIRECTION messages per direction, interleaved in irregular bursts; every size of LONG_SIZES in both directions. */
function longPlan(lp) {
  const bursts = [1, 1, 3, 2, 1, 4, 2, 3, 5, 1, 2, 6];
  const counts = { initiator: 0, responder: 0 };
  const plan = [];
  let side = "initiator";
  let b = 0;
  while (counts.initiator < LONG_PER_DIRECTION || counts.responder < LONG_PER_DIRECTION) {
    const n = bursts[b++ % bursts.length];
    for (let j = 0; j < n && counts[side] < LONG_PER_DIRECTION; j++) {
      const k = counts[side]++;
      const size = LONG_SIZES[(k * 5 + (side === "initiator" ? 0 : 7)) % LONG_SIZES.length];
      plan.push({ from: side, plaintext: filler(`${lp}/transport/${side}/${k}`, size) });
    }
    side = side === "initiator" ? "responder" : "initiator";
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// low-level transcripts (K1K1, XK1, XX, XXpsk0)
const LOW_LEVEL_DESCRIPTION = (p) =>
  `${p.name} between two js-noise Handshake objects, then transport messages both ways. Handshake message 1 uses a fixed explicit nametag; later handshake messages use HKDF(h) nametags (the convention WakuPairing uses; js-noise itself does not mandate any nametag for these patterns).`;

function lowLevel({ shortName, lp, payloads, plan, prologueUtf8, extraDescription = "" }) {
  const pattern = L.patternOf(shortName);
  const iStatic = keyEntry(`${lp}/initiator/static`);
  const rStatic = keyEntry(`${lp}/responder/static`);
  const iEph = keyEntry(`${lp}/initiator/ephemeral`);
  const rEph = keyEntry(`${lp}/responder/ephemeral`);
  const isPsk = shortName === "XXpsk0";
  const psk = isPsk ? secret(`${lp}/psk`) : new Uint8Array();
  const nt0 = labelled(`${lp}/first-nametag`, 16);
  const prologue = utf8(prologueUtf8);
  const iPk = pkOf(secret(iStatic.label));
  const rPk = pkOf(secret(rStatic.label));
  const preI = shortName === "K1K1" ? [iPk, rPk] : shortName === "XK1" ? [rPk] : [];
  const preR = preI; // pre-message keys are given in pattern order on both sides
  const I = newParty({ pattern, initiator: true, staticSk: secret(iStatic.label), prologue, psk, preMessagePKs: preI });
  const R = newParty({ pattern, initiator: false, staticSk: secret(rStatic.label), prologue, psk, preMessagePKs: preR });
  const sym = symmetricInit(pattern, I, R, prologue, false);
  const handshake = [];
  for (let i = 0; i < pattern.messagePatterns.length; i++) {
    const mp = pattern.messagePatterns[i];
    const writesE = mp.tokens.includes("e");
    const ephemeralSk = writesE ? secret(mp.direction === "->" ? iEph.label : rEph.label) : null;
    const { record } = exchange(pattern, I, R, i, {
      payload: payloads[i],
      nametag: i === 0 ? secret(nt0.label, 16) : null,
      nametagSource: i === 0 ? "explicit" : "hkdf",
      ephemeralSk,
    });
    handshake.push(record);
  }
  const { split, resI, resR } = finalizeBoth(I, R);
  const transport = runTransport(resI, resR, plan);
  return {
    schema: "jsnoise-peer/transcript/v1",
    name: shortName,
    description: LOW_LEVEL_DESCRIPTION(pattern) + extraDescription,
    generator: GENERATOR,
    conventions: CONVENTIONS,
    pattern: L.describePattern(pattern),
    inputs: {
      initiator: { static: iStatic },
      responder: { static: rStatic },
      ephemerals: { initiator_message1: iEph, responder_message2: rEph },
      prologue: hex(prologue),
      prologue_utf8: prologueUtf8,
      psk: hex(psk),
      psk_label: isPsk ? `${lp}/psk` : null,
      pre_message_pks: preI.map(hex),
      first_nametag: nt0,
    },
    symmetric_init: sym,
    handshake,
    split,
    transport,
  };
}

// ---------------------------------------------------------------------------------------------
// WakuPairing
const PAIRING_DESCRIPTION =
  "Complete WakuPairing (device B exposes the QR and is the Noise responder; device A scans it and is the initiator), then transport messages both ways. Mirrors js-noise src/pairing.ts (WakuPairing) and nwaku tests/test_waku_noise_sessions.nim.";

function pairingSetup(lp, { applicationName, applicationVersion, shardId }) {
  const s = {
    lp,
    applicationName,
    applicationVersion,
    shardId,
    iStatic: keyEntry(`${lp}/initiator/static`),
    rStatic: keyEntry(`${lp}/responder/static`),
    iEph: keyEntry(`${lp}/initiator/ephemeral`),
    rEph: keyEntry(`${lp}/responder/ephemeral`),
    sVal: labelled(`${lp}/initiator/s`),
    rVal: labelled(`${lp}/responder/r`),
    qrNametag: labelled(`${lp}/qr_nametag`, 16),
  };
  const pattern = L.patternOf("WakuPairing");
  s.pattern = pattern;
  s.commitB = L.noiseCrypto.commitPublicKey(pattern.hash, L.unhex(s.rStatic.pk), L.unhex(s.rVal.value));
  s.commitA = L.noiseCrypto.commitPublicKey(pattern.hash, L.unhex(s.iStatic.pk), L.unhex(s.sVal.value));
  s.qr = new noise.QR(applicationName, applicationVersion, shardId, L.unhex(s.rEph.pk), s.commitB);
  s.qrString = s.qr.toString();
  s.prologue = s.qr.toByteArray();
  s.contentTopic = `/${applicationName}/${applicationVersion}/wakunoise/1/sessions_shard-${shardId}/proto`;
  return s;
}

function pairingParties(s) {
  const scanned = noise.QR.from(s.qrString); // the initiator re-serialises the scanned QR
  const I = newParty({
    pattern: s.pattern,
    initiator: true,
    staticSk: secret(s.iStatic.label),
    prologue: scanned.toByteArray(),
    preMessagePKs: [scanned.ephemeralKey],
  });
  const R = newParty({
    pattern: s.pattern,
    initiator: false,
    staticSk: secret(s.rStatic.label),
    ownPreMessageEphemeralSk: secret(s.rEph.label),
    prologue: s.prologue,
    preMessagePKs: [L.unhex(s.rEph.pk)],
  });
  return { I, R };
}

function pairingMessages(s) {
  return [
    { payload: s.commitA, nametagSource: "qr", ephemeralSk: secret(s.iEph.label) },
    { payload: L.unhex(s.rVal.value), nametagSource: "hkdf", ephemeralSk: null },
    { payload: L.unhex(s.sVal.value), nametagSource: "hkdf", ephemeralSk: null },
  ];
}

function pairingCheckFor(s, index, state) {
  const hash = s.pattern.hash;
  return (reader, payload) => {
    if (index === 0) {
      state.storedCommitment = new Uint8Array(payload);
      return { stored_peer_commitment: hex(payload) };
    }
    const computed = L.noiseCrypto.commitPublicKey(hash, reader.hs.hs.rs, payload);
    const expected = index === 1 ? s.qr.committedStaticKey : state.storedCommitment;
    return { commitment_check: equal(computed, expected), computed: hex(computed), expected: hex(expected) };
  };
}

/** Run the low-level pairing handshake; returns the parties, records, steps and wires. */
function runPairingHandshake(s, { upTo = 3 } = {}) {
  const { I, R } = pairingParties(s);
  const msgs = pairingMessages(s);
  const state = {};
  const records = [];
  const steps = [];
  const wires = [];
  for (let i = 0; i < upTo; i++) {
    const m = msgs[i];
    const { record, step, wire } = exchange(s.pattern, I, R, i, {
      payload: m.payload,
      nametag: i === 0 ? secret(s.qrNametag.label, 16) : null,
      nametagSource: m.nametagSource,
      ephemeralSk: m.ephemeralSk,
      pairingCheck: pairingCheckFor(s, i, state),
    });
    records.push(record);
    steps.push(step);
    wires.push(wire);
  }
  return { I, R, records, steps, wires };
}

async function wakuPairingObjectRun(s, { onPublish, responderFeed } = {}) {
  // Two js-noise WakuPairing objects on a fake Waku network (own messages echoed back).
  const published = [];
  const net = new FakeNetwork({
    onPublish: async ({ from, wire }) => {
      const proto = L.WakuMessage.decode(wire);
      published.push({ from: from.name, payload: proto.payload, contentTopic: proto.contentTopic });
      if (onPublish) await onPublish({ from, wire, proto });
    },
  });
  const nodeA = new FakeNode(net, { echo: true, name: "A" });
  const nodeB = responderFeed ? null : new FakeNode(net, { echo: true, name: "B" });
  const ctxA = { randoms: [L.unhex(s.sVal.value)], ephemerals: [secret(s.iEph.label)], generated: [], strict: true };
  const ctxB = { randoms: [L.unhex(s.rVal.value), L.unhex(s.qrNametag.value)], ephemerals: [], generated: [], strict: true };
  let B = null;
  let qrCode = s.qrString;
  let qrNametag = L.unhex(s.qrNametag.value);
  if (!responderFeed) {
    B = withCtx(ctxB, () =>
      new noise.WakuPairing(nodeB.sender, nodeB.receiver, keyPairFromSk(secret(s.rStatic.label)), new noise.ResponderParameters(s.applicationName, s.applicationVersion, s.shardId), keyPairFromSk(secret(s.rEph.label)))
    );
    const info = B.getPairingInfo();
    qrCode = info.qrCode;
    qrNametag = info.qrMessageNameTag;
  }
  // The initiator gets its message-1 ephemeral both as constructor argument (so the constructor does
  // not draw one) and through the injected generateKeyPair queue (stepHandshake always generates).
  const A = withCtx(ctxA, () =>
    new noise.WakuPairing(nodeA.sender, nodeA.receiver, keyPairFromSk(secret(s.iStatic.label)), new noise.InitiatorParameters(qrCode, qrNametag), keyPairFromSk(secret(s.iEph.label)))
  );
  const authcodes = { A: [], B: [] };
  A.getAuthCode().then((c) => {
    authcodes.A.push(c);
    A.validateAuthCode(true);
  });
  if (B) {
    B.getAuthCode().then((c) => {
      authcodes.B.push(c);
      B.validateAuthCode(true);
    });
  }
  const pA = withCtx(ctxA, () => A.execute(30000));
  const pB = B ? withCtx(ctxB, () => B.execute(30000)) : null;
  if (responderFeed) await responderFeed(nodeA, published);
  const settled = await Promise.allSettled(B ? [pA, pB] : [pA]);
  return { A, B, nodeA, nodeB, ctxA, ctxB, authcodes, settled, published, qrCode, qrNametag, net };
}

async function wakuPairingTranscript(s, { name, description, plan }) {
  const { I, R, records, steps } = runPairingHandshake(s);
  const sym = (() => {
    const fresh = pairingParties(s);
    return symmetricInit(s.pattern, fresh.I, fresh.R, s.prologue, true);
  })();
  const { split, resI, resR } = finalizeBoth(I, R);
  const transport = runTransport(resI, resR, plan);
  const h1 = records[0].writer_state_after.h;
  const ai = L.authcodeInfo(L.unhex(h1));

  // WakuMessage example: message 1 through js-noise's NoiseHandshakeEncoder / NoiseHandshakeDecoder.
  const tsMs = 1700000000000;
  const enc = new noise.NoiseHandshakeEncoder(s.contentTopic, steps[0]);
  const wmWire = await enc.toWire({ payload: new Uint8Array(), timestamp: new Date(tsMs) });
  const dec = new noise.NoiseHandshakeDecoder(s.contentTopic);
  const proto = await dec.fromWireToProtoObj(wmWire);
  const decoded = await dec.fromProtoObj(DEFAULT_PUBSUB_TOPIC, proto);
  assert(decoded && equal(decoded.payload, L.unhex(records[0].wire)), "WakuMessage example round-trips");

  // The same pairing through js-noise's WakuPairing class.
  const run = await wakuPairingObjectRun(s);
  for (const st of run.settled) if (st.status !== "fulfilled") throw st.reason;
  assert(run.ctxA.randoms.length === 0 && run.ctxA.ephemerals.length === 0 && run.ctxB.randoms.length === 0, "WakuPairing consumed the injected randomness");
  assert(run.A.contentTopic === s.contentTopic, "content topic formula");
  assert(run.qrCode === s.qrString, "WakuPairing QR equals the low-level QR");
  const [[encA, decA], [encB, decB]] = run.settled.map((x) => x.value);
  const resA = run.A.getHandshakeResult();
  const resB = run.B.getHandshakeResult();
  const resultA = resultBlock(resA, 3);
  const resultB = resultBlock(resB, 3);
  const hsPayloads = run.published.map((p) => hex(p.payload));
  const secure = async (encoder, decoder, plaintext) => {
    const w = await encoder.toWire({ payload: plaintext, timestamp: new Date(tsMs) });
    const pr = await decoder.fromWireToProtoObj(w);
    const m = await decoder.fromProtoObj(DEFAULT_PUBSUB_TOPIC, pr);
    return { payloadV2: hex(pr.payload), received: m ? hex(m.payload) : null };
  };
  // the first transport message of each direction, sent through the WakuPairing codecs
  const ab = await secure(encA, decB, plan.find((t) => t.from === "initiator").plaintext);
  const ba = await secure(encB, decA, plan.find((t) => t.from === "responder").plaintext);
  const sendEvents = run.nodeA.sendCount + run.nodeB.sendCount;

  return {
    schema: "jsnoise-peer/transcript/v1",
    name,
    description,
    generator: GENERATOR,
    conventions: CONVENTIONS,
    pattern: L.describePattern(s.pattern),
    inputs: {
      initiator: { role: "device A (scans QR)", static: s.iStatic, ephemeral_message1: s.iEph, s: s.sVal },
      responder: { role: "device B (shows QR)", static: s.rStatic, ephemeral_pre_message: s.rEph, r: s.rVal },
      application_name: s.applicationName,
      application_version: s.applicationVersion,
      shard_id: s.shardId,
      qr_nametag: s.qrNametag,
      prologue: hex(s.prologue),
      psk: "",
    },
    pairing: {
      qr: s.qrString,
      qr_fields: {
        application_name: s.applicationName,
        application_version: s.applicationVersion,
        shard_id: s.shardId,
        ephemeral_pk: s.rEph.pk,
        committed_static_key: hex(s.commitB),
      },
      qr_format:
        "base64url_pad(application_name) ':' base64url_pad(application_version) ':' base64url_pad(shard_id) ':' base64url_pad(eB, 32 bytes) ':' base64url_pad(H(sB||r), 32 bytes). RFC 4648 section 5 alphabet WITH '=' padding. The QR nametag is NOT part of the string.",
      prologue_is: "UTF-8 bytes of the QR string (as re-serialised by QR.toString() on both sides)",
      content_topic: run.A.contentTopic,
      content_topic_js_master_unreleased: `/${s.applicationName}/${s.applicationVersion}/${s.shardId}/proto`,
      responder_commitment: { formula: "SHA-256(sB_pub || r)", value: hex(s.commitB) },
      initiator_commitment: { formula: "SHA-256(sA_pub || s)", value: hex(s.commitA) },
      authcode: records[0].authcode_after,
      authcode_hkdf_first8: ai.first8,
      authcode_formula:
        "js-noise: BigInt(big-endian HKDF(salt=h, ikm='')[0..8]) mod 10^8, left-padded with '0' to 8 digits; h = handshake hash after message 1",
      authcode_nwaku_formula_little_endian_unpadded: ai.nwaku,
    },
    symmetric_init: sym,
    handshake: records,
    split,
    transport,
    waku_message_example: {
      note: "message 1 wrapped in a WakuMessage protobuf by js-noise's NoiseHandshakeEncoder (version 2, ephemeral true, timestamp = 1700000000000 ms * 10^6 ns)",
      content_topic: s.contentTopic,
      wire: hex(wmWire),
      payload_v2_wire: records[0].wire,
      decoded_by_reader: {
        content_topic: decoded.contentTopic,
        version: decoded.version,
        timestamp: proto.timestamp.toString(),
      },
    },
    wakupairing_object_check: {
      description:
        "the same pairing run through js-noise's WakuPairing class (bridged sender/receiver, own messages echoed back), with the same injected randomness",
      qr: run.qrCode,
      authcodes: run.authcodes,
      handshake_payload_v2: hsPayloads,
      handshake_waku_message_note:
        "the WakuMessages the object published carry wall-clock timestamps, so only their PayloadV2 payloads are stored",
      secure_a_to_b_payload_v2: ab.payloadV2,
      secure_a_to_b_received: ab.received,
      secure_b_to_a_payload_v2: ba.payloadV2,
      secure_b_to_a_received: ba.received,
      result_A: resultA,
      result_B: resultB,
      total_send_events: sendEvents,
      handshake_payloads_match_low_level: hsPayloads.length === 3 && hsPayloads.every((p, i) => p === records[i].wire),
      first_secure_message_each_way_matches_low_level:
        ab.payloadV2 === transport.find((t) => t.from === "initiator").wire && ba.payloadV2 === transport.find((t) => t.from === "responder").wire,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// primitives.json
function primitives() {
  const SS = L.SymmetricState;
  const protocol_names = Object.keys(L.PATTERN_NAMES).map((k) => {
    const p = L.patternOf(k);
    const len = utf8(p.name).length;
    return { name: p.name, len, hashed: len > 32, h0: hex(new SS(p).h), protocol_id: noise.PayloadV2ProtocolIDs[p.name] };
  });
  const jsHKDF = (ck, ikm, n) => L.noiseCrypto.HKDF(SHA256, ck, ikm, 32, n);
  const hkdfCases = [
    [secret("primitives/hkdf/0/ck"), secret("primitives/hkdf/0/ikm")],
    [secret("primitives/hkdf/1/ck"), secret("primitives/hkdf/1/ikm")],
    [secret("primitives/hkdf/2/ck"), new Uint8Array()],
    [secret("primitives/hkdf/3/ck"), secret("primitives/hkdf/3/ikm").slice(0, 5)],
  ].map(([ck, ikm]) => {
    const [o1, o2, o3] = jsHKDF(ck, ikm, 3);
    const ref = L.hkdfBlocks(ck, ikm, 3);
    assert(equal(o1, ref[0]) && equal(o2, ref[1]) && equal(o3, ref[2]), "js HKDF = RFC 5869");
    return { ck: hex(ck), ikm: hex(ikm), output1: hex(o1), output2: hex(o2), output3: hex(o3) };
  });
  const probe = new noise.Handshake({ hsPattern: L.patternOf("XX") });
  const fromH = [0, 1, 2, 3].map((i) => {
    const h = secret(`primitives/h/${i}`);
    probe.hs.ss.h = h;
    const jsTag = probe.hs.toMessageNametag();
    const { nms1, nms2 } = probe.hs.genMessageNametagSecrets();
    const ai = L.authcodeInfo(h);
    assert(ai.js === probe.genAuthcode(), "authcode");
    return {
      h: hex(h),
      handshake_message_nametag: hex(L.hkdfBlocks(h, new Uint8Array(), 1)[0].slice(0, 16)),
      handshake_message_nametag_from_js: hex(jsTag),
      nametag_secret_1: hex(nms1),
      nametag_secret_2: hex(nms2),
      authcode_hkdf_first8: ai.first8,
      authcode_js: probe.genAuthcode(),
      authcode_nwaku_reading_little_endian_no_padding: ai.nwaku,
    };
  });
  const nbSecret = secret("primitives/nametag-buffer/secret");
  const buf = new noise.MessageNametagBuffer();
  buf.secret = nbSecret;
  buf.initNametagsBuffer();
  const nametags = [];
  for (let i = 0; i < 60; i++) {
    const t = buf.pop();
    assert(equal(t, L.nametagAt(nbSecret, i)), "nametag buffer = SHA-256(secret||u64le(i))");
    nametags.push(hex(t));
  }
  const pkcs7Cases = [0, 1, 31, 247, 248, 249, 495, 496].map((n) => {
    const padded = pad248(new Uint8Array(n));
    return { plaintext_len: n, padded_len: padded.length, pad_byte: padded[padded.length - 1] };
  });
  const ccKey = secret("primitives/chachapoly/key");
  const ccAd = secret("primitives/chachapoly/ad", 16);
  const ccPt = utf8("chachapoly test plaintext");
  const cs = new noise.CipherState(L.patternOf("XX").cipher, ccKey);
  const chacha = [0, 1, 2, 255, 256, 65536, 4294967295].map((n) => {
    const nonce = new noise.Nonce(n);
    const ct = cs.cipher.encrypt(ccKey, nonce, ccAd, ccPt);
    const pt = cs.cipher.decrypt(ccKey, new noise.Nonce(n), ccAd, ct);
    assert(pt && equal(pt, ccPt), "chachapoly round trip");
    return { key: hex(ccKey), n, nonce_bytes: hex(new noise.Nonce(n).getBytes(true)), ad: hex(ccAd), plaintext: hex(ccPt), ciphertext_and_tag: hex(ct) };
  });
  const cPk = pkOf(secret("primitives/commitment/sk"));
  const cR = secret("primitives/commitment/r");
  const commitment = { pk: hex(cPk), r: hex(cR), value: hex(L.noiseCrypto.commitPublicKey(SHA256, cPk, cR)), formula: "SHA-256(pk || r)" };

  const exTag = secret("primitives/payload-v2/nametag", 16);
  const encKey = filler("primitives/payload-v2/encrypted-key", 48);
  const ex = (name, note, p) => {
    const ser = p.serialize();
    let rt;
    try {
      rt = noise.PayloadV2.deserialize(ser).equals(p);
    } catch {
      rt = false; // e.g. short transport messages: js's readUIntLE(payload, i, i + 7) needs i + (i + 7) <= length
    }
    return { name, note, fields: L.payloadV2Fields(p, ser.length), serialized: hex(ser), js_deserialize_round_trips: rt };
  };
  const NPK = noise.NoisePublicKey;
  const examples = [
    ex("handshake, one clear key", "flag 0 + 32-byte key", new noise.PayloadV2(exTag, 12, [NPK.fromPublicKey(cPk)], utf8("transport"))),
    ex("handshake, encrypted key", "flag 1 + 48 bytes (32 ciphertext + 16 tag)", new noise.PayloadV2(exTag, 14, [new NPK(1, encKey)], utf8("transport"))),
    ex("handshake, clear + encrypted key", "handshake_message_len = 33 + 49 = 82", new noise.PayloadV2(exTag, 13, [NPK.fromPublicKey(cPk), new NPK(1, encKey)], new Uint8Array())),
    ex("after-handshake (protocol id 0)", "no keys", new noise.PayloadV2(exTag, 0, [], secret("primitives/payload-v2/transport"))),
  ];
  // quirk: stepHandshake without a messageNametag -> toMessageNametag(empty) = empty -> no nametag bytes
  {
    const q = new noise.PayloadV2(new Uint8Array(), 12, [], new Uint8Array([1, 2, 3]));
    const ser = q.serialize();
    examples.push({
      name: "quirk: empty nametag",
      note: "js-noise stepHandshake({}) with no messageNametag serialises NO nametag bytes at all (toMessageNametag(empty) = empty); nwaku zero-pads to 16 bytes instead",
      fields: L.payloadV2Fields(q, ser.length),
      serialized: hex(ser),
      js_deserialize_round_trips: (() => {
        try {
          return noise.PayloadV2.deserialize(ser).equals(q);
        } catch {
          return false;
        }
      })(),
    });
  }
  const wellFormed = L.unhex(examples[3].serialized);
  const clearKeyProto0 = concat(exTag, new Uint8Array([0, 33, 0]), cPk, L.u64le(300), new Uint8Array(300));
  const flag2 = concat(exTag, new Uint8Array([12, 33, 2]), cPk, L.u64le(300), new Uint8Array(300));
  const parseCase = (name, note, input) => {
    let js;
    try {
      const p = noise.PayloadV2.deserialize(input);
      const f = L.payloadV2Fields(p);
      js = { ok: true, fields: f };
    } catch (e) {
      js = { ok: false, error: String(e) };
    }
    return { name, note, input: hex(input), js };
  };
  const parse = [
    parseCase("well formed", "", wellFormed),
    parseCase(
      "trailing bytes",
      "js-noise reads transport_message_len with a wrong byte count (readUIntLE(payload, i, i+7)); with non-zero bytes after the 8 length bytes the result is huge and subarray() clamps: transport message = rest of the buffer",
      concat(wellFormed, new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    ),
    parseCase("truncated transport message", "no error: the transport message is just shorter", wellFormed.slice(0, wellFormed.length - 10)),
    parseCase(
      "transport message shorter than offset-1",
      "js-noise throws RangeError when fewer than (offset+7) bytes follow the length field's start; real messages are always >= 264 bytes so this never bites in practice",
      concat(exTag, new Uint8Array([0, 0]), L.u64le(5), new Uint8Array([1, 2, 3, 4, 5]))
    ),
    parseCase("unknown protocol id 99", "", concat(wellFormed.slice(0, 16), new Uint8Array([99]), wellFormed.slice(17))),
    parseCase(
      "protocol id 0 with a clear key",
      "js-noise uses key size 0 for protocol ids without a pattern (0, 30): keys cannot be carried in after-handshake messages",
      clearKeyProto0
    ),
    parseCase("flag 2", "", flag2),
    parseCase("empty input", "", new Uint8Array()),
  ];
  // QR
  const qrPk = cPk;
  const qrCommit = L.noiseCrypto.commitPublicKey(SHA256, pkOf(secret("primitives/qr/static")), secret("primitives/qr/r"));
  const qr = new noise.QR("waku-noise-sessions", "0.1", "10", qrPk, qrCommit);
  const qrStr = qr.toString();
  const tryQr = (input) => {
    try {
      return { ok: true, reserialised: noise.QR.from(input).toString() };
    } catch (e) {
      return { ok: false, error: e.message };
    }
  };
  const unpadded = qrStr.replace(/=/g, "");
  const std = qrStr.replace(/-/g, "+").replace(/_/g, "/");
  const four = qrStr.split(":").slice(0, 4).join(":");
  return {
    schema: "jsnoise-peer/primitives/v1",
    generator: GENERATOR,
    protocol_names,
    noise_hkdf: {
      note: "Noise HKDF(ck, ikm) = RFC 5869 HKDF-SHA256 with salt = ck, IKM = ikm, info = empty; outputs are consecutive 32-byte blocks (computed with js-noise's own HKDF from dist/crypto.js)",
      cases: hkdfCases,
    },
    from_handshake_hash: {
      note: "handshake nametag = HKDF(salt=h, ikm=empty)[0..16]; nametag secrets (nms1, nms2) = the first two 32-byte HKDF(salt=h, ikm=empty) outputs of the FINAL h; authcode uses the first 8 bytes",
      cases: fromH,
    },
    nametag_buffer: {
      note: "MessageNametagBuffer: nametag #i = SHA-256(secret || uint64_le(i))[0..16] (plain SHA-256, not HKDF); buffer holds 50; pop() returns #counter and appends #(counter+50)",
      secret: hex(nbSecret),
      nametags,
    },
    pkcs7: { block: 248, cases: pkcs7Cases },
    chachapoly: { note: "IETF ChaCha20-Poly1305; output = ciphertext || 16-byte tag", cases: chacha },
    commitment,
    payload_v2_examples: examples,
    payload_v2_parse_behaviour: parse,
    qr: {
      fields: {
        application_name: qr.applicationName,
        application_version: qr.applicationVersion,
        shard_id: qr.shardId,
        ephemeral_pk: hex(qrPk),
        committed_static_key: hex(qrCommit),
      },
      string: qrStr,
      prologue: hex(qr.toByteArray()),
      decode_leniency: {
        unpadded: { input: unpadded, js: tryQr(unpadded) },
        standard_alphabet: { input: std, js: tryQr(std) },
        four_fields: { input: four, js: tryQr(four) },
      },
    },
    message_nametag_length: L.noiseMessagenametag.MessageNametagLength,
    message_nametag_buffer_size: L.noiseMessagenametag.MessageNametagBufferSize,
    padding_block_size: L.noiseHandshakeState.NoisePaddingBlockSize,
    protocol_ids: { ...noise.PayloadV2ProtocolIDs },
  };
}

// ---------------------------------------------------------------------------------------------
// negative.json
function flip(bytes, index, mask = 0x01) {
  const b = new Uint8Array(bytes);
  b[index] ^= mask;
  return b;
}
function freshPairingSession(s) {
  const run = runPairingHandshake(s);
  const { resI, resR } = finalizeBoth(run.I, run.R);
  return { ...run, resI, resR };
}
function noRecord(x) {
  // strip internal fields of handshakeRead results
  if (x.ok) return { ok: true };
  return { ok: false, error: x.error };
}

async function negative(s, xxInfo, xxpskInfo) {
  const cases = [];
  const base = runPairingHandshake(s); // genuine messages
  const [w0, w1] = base.wires;

  // 1. handshake message 1 read with an unexpected nametag
  {
    const { R } = pairingParties(s);
    const zero = new Uint8Array(16);
    const r1 = L.handshakeRead(R, w0, zero, { rollback: true });
    const r2 = L.handshakeRead(R, w0, secret(s.qrNametag.label, 16), { rollback: true });
    assert(!r1.ok && r1.error.type === "NametagMismatch" && r2.ok, "nametag case");
    cases.push({
      name: "handshake message with unexpected nametag",
      wire: hex(w0),
      expected_nametag: hex(zero),
      js: noRecord(r1),
      then_correct_nametag: { ok: r2.ok },
      note: "js-noise stepHandshake throws MessageNametagError before touching the state; WakuPairing logs and waits for the next message",
    });
  }
  // helper: initiator state after message 1
  const initiatorAfter1 = () => {
    const run = runPairingHandshake(s, { upTo: 1 });
    return run;
  };
  // 2. flipped tag bit in message 2
  {
    const run = initiatorAfter1();
    const bad = flip(w1, w1.length - 1, 0x01);
    const r = L.handshakeRead(run.I, bad, run.I.hs.hs.toMessageNametag(), { rollback: true });
    assert(!r.ok && r.error.type === "DecryptFailed", "flipped tag");
    cases.push({
      name: "handshake message 2 with a flipped tag bit",
      wire: hex(bad),
      js: noRecord(r),
      note: "decryptWithAd throws; js-noise does NOT roll the handshake state back (js_state_mutated: the s / es tokens were already processed); the harness peer restores its copy (state_rolled_back) unless rollback:false; WakuPairing aborts the pairing",
    });
  }
  // 3. corrupted encrypted static key (first ciphertext byte of the flag-1 key)
  {
    const run = initiatorAfter1();
    const bad = flip(w1, 19, 0x80);
    const r = L.handshakeRead(run.I, bad, run.I.hs.hs.toMessageNametag(), { rollback: true });
    assert(!r.ok && r.error.type === "DecryptFailed", "corrupted static");
    cases.push({ name: "handshake message 2 with a corrupted encrypted static key", wire: hex(bad), js: noRecord(r) });
  }
  // 4. pairing commitment mismatch: the responder sends a wrong r in message 2
  {
    const run = initiatorAfter1();
    const wrongR = secret(`${s.lp}/responder/wrong-r`);
    const nt = run.R.hs.hs.toMessageNametag();
    const step = withCtx({ strict: true }, () => run.R.hs.stepHandshake({ transportMessage: wrongR, messageNametag: nt }));
    const wire = step.payload2.serialize();
    const expectedNt = run.I.hs.hs.toMessageNametag();
    const r = L.handshakeRead(run.I, wire, expectedNt, { rollback: false });
    assert(r.ok, "message with wrong r is valid Noise");
    const computed = L.noiseCrypto.commitPublicKey(s.pattern.hash, run.I.hs.hs.rs, r.payload);
    const ok = equal(computed, s.qr.committedStaticKey);
    assert(!ok, "commitment must mismatch");
    // the same message fed to a js-noise WakuPairing initiator object
    const objErr = await wakuPairingRejects(s, wire);
    cases.push({
      name: "pairing commitment mismatch (wrong r in message 2)",
      wire: hex(wire),
      wrong_r: { label: `${s.lp}/responder/wrong-r`, value: hex(wrongR) },
      js: {
        ok: false,
        error: {
          type: "CommitmentMismatch",
          message: "H(sB||r) does not match the QR commitment",
          message_index: 1,
          direction: "<-",
          tokens: ["s", "es"],
          expected_nametag: hex(expectedNt),
          nametag_source: "hkdf",
          payload: hex(r.payload),
          state: hsState(run.I.hs.hs),
          next_nametag_hkdf: hex(run.I.hs.hs.toMessageNametag()),
          handshake_complete: L.handshakeComplete(run.I.hs),
          pairing: { commitment_check: ok, computed: hex(computed), expected: hex(s.qr.committedStaticKey) },
        },
        wakupairing_class_error: objErr,
      },
      note: "WakuPairing throws 'expected committed static key does not match the responder actual committed static key' and aborts",
    });
  }
  // transport cases on fresh (identical, deterministic) pairing sessions, initiator -> responder
  const m = (text) => utf8(text);
  // 5 + 6. out of order, then replay
  {
    const S = freshPairingSession(s);
    const m0 = S.resI.writeMessage(m("m0")).serialize();
    const m1 = S.resI.writeMessage(m("m1")).serialize();
    const a = await L.transportRead(S.resR, m1);
    const b = await L.transportRead(S.resR, m0);
    const c = await L.transportRead(S.resR, m1);
    assert(!a.ok && b.ok && c.ok, "out of order");
    cases.push({
      name: "transport: out of order delivery",
      m0: hex(m0),
      m1: hex(m1),
      read_m1_first: a,
      then_m0: b,
      then_m1: c,
      note: "only the nametag at buffer position 0 is accepted; a later message is rejected (not buffered) and must be re-delivered",
    });
    const d = await L.transportRead(S.resR, m0);
    assert(!d.ok && d.error.buffer_position === -1, "replay");
    cases.push({ name: "transport: replay", m0: hex(m0), second_read: d });
  }
  // 7. tampered ciphertext
  {
    const S = freshPairingSession(s);
    const m0 = S.resI.writeMessage(m("m0")).serialize();
    const bad = flip(m0, 26 + 5, 0x04);
    const a = await L.transportRead(S.resR, bad);
    const b = await L.transportRead(S.resR, m0);
    assert(!a.ok && a.error.type === "DecryptFailed" && b.ok, "tampered");
    cases.push({ name: "transport: tampered ciphertext", tampered: hex(bad), js: a, then_genuine: b });
  }
  // 8. protocol id changed
  {
    const S = freshPairingSession(s);
    const m0 = S.resI.writeMessage(m("m0")).serialize();
    const bad = new Uint8Array(m0);
    bad[16] = 12;
    const a = await L.transportRead(S.resR, bad);
    assert(!a.ok && a.error.type === "ProtocolIdNotZero", "pid");
    cases.push({ name: "transport: protocol id changed to 12", wire: hex(bad), js: a });
  }
  // 9. first message lost, harness skip
  {
    const S = freshPairingSession(s);
    const lost = S.resI.writeMessage(m("lost")).serialize();
    const m1 = S.resI.writeMessage(m("m1")).serialize();
    const a = await L.transportRead(S.resR, m1);
    L.skipInbound(S.resR, 1);
    const skip = { inbound_nonce: S.resR.getCSInbound().n.getUint64(), nametags_inbound_head: L.bufferHead(S.resR.nametagsInbound, 1) };
    const b = await L.transportRead(S.resR, m1);
    assert(!a.ok && a.error.buffer_position === 1 && b.ok, "lost");
    cases.push({
      name: "transport: first message lost",
      lost: hex(lost),
      m1: hex(m1),
      read_m1: a,
      harness_skip_inbound_1: skip,
      read_m1_after_skip: b,
      note: "js-noise never recovers by itself (m1 stays at buffer position 1). Because message #k always uses nametag #k AND nonce k, a receiver MAY skip: drop k nametags and advance the nonce by k (peer.mjs op transport_skip_inbound) and then decrypt. Wire-compatible, receiver-local policy.",
    });
  }
  // 10. AD is the nametag
  {
    const S = freshPairingSession(s);
    const p2 = S.resI.writeMessage(m("ad check"));
    const wire = p2.serialize();
    const cs = S.resR.getCSInbound();
    const withTag = cs.cipher.decrypt(cs.k, new noise.Nonce(0), p2.messageNametag, p2.transportMessage);
    const withEmpty = cs.cipher.decrypt(cs.k, new noise.Nonce(0), new Uint8Array(), p2.transportMessage);
    cases.push({ name: "transport AD is the message nametag", wire: hex(wire), decrypt_with_ad_nametag_ok: !!withTag, decrypt_with_empty_ad_ok: !!withEmpty });
  }
  // 11. XXpsk0 with a wrong psk
  {
    const wrongPsk = secret(`${xxpskInfo.lp}/wrong-psk`);
    const pattern = L.patternOf("XXpsk0");
    const R = newParty({ pattern, initiator: false, staticSk: secret(`${xxpskInfo.lp}/responder/static`), prologue: utf8(xxpskInfo.prologueUtf8), psk: wrongPsk, preMessagePKs: [] });
    const wire = L.unhex(xxpskInfo.doc.handshake[0].wire);
    const r = L.handshakeRead(R, wire, L.unhex(xxpskInfo.doc.inputs.first_nametag.value), { rollback: true });
    assert(!r.ok && r.error.type === "DecryptFailed", "wrong psk");
    cases.push({
      name: "XXpsk0: responder with a wrong psk",
      base: "xxpsk0.json",
      wire: hex(wire),
      responder_psk: { label: `${xxpskInfo.lp}/wrong-psk`, value: hex(wrongPsk) },
      js: noRecord(r),
      note: "message 1 of XXpsk0 is already encrypted (psk token first), so the wrong psk is detected on the first message",
    });
  }
  // 12. XX with a different prologue on the responder
  {
    const pattern = L.patternOf("XX");
    const wrongPrologueUtf8 = xxInfo.prologueUtf8 + " (different)";
    const R = newParty({ pattern, initiator: false, staticSk: secret(`${xxInfo.lp}/responder/static`), prologue: utf8(wrongPrologueUtf8), preMessagePKs: [] });
    const I = newParty({ pattern, initiator: true, staticSk: secret(`${xxInfo.lp}/initiator/static`), prologue: utf8(xxInfo.prologueUtf8), preMessagePKs: [] });
    const nt0 = L.unhex(xxInfo.doc.inputs.first_nametag.value);
    const m1 = withCtx({ ephemerals: [secret(`${xxInfo.lp}/initiator/ephemeral`)], strict: true }, () => I.hs.stepHandshake({ transportMessage: L.unhex(xxInfo.doc.handshake[0].payload), messageNametag: nt0 }));
    const w1x = m1.payload2.serialize();
    assert(hex(w1x) === xxInfo.doc.handshake[0].wire, "xx message 1 reproduced");
    const r1 = L.handshakeRead(R, w1x, nt0, { rollback: true });
    assert(r1.ok, "message 1 is cleartext and accepted");
    const nt1 = R.hs.hs.toMessageNametag();
    const m2 = withCtx({ ephemerals: [secret(`${xxInfo.lp}/responder/ephemeral`)], strict: true }, () => R.hs.stepHandshake({ transportMessage: L.unhex(xxInfo.doc.handshake[1].payload), messageNametag: nt1 }));
    const w2x = m2.payload2.serialize();
    const r2a = L.handshakeRead(I, w2x, I.hs.hs.toMessageNametag(), { rollback: true });
    const r2b = L.handshakeRead(I, w2x, nt1, { rollback: true });
    assert(!r2a.ok && r2a.error.type === "NametagMismatch" && !r2b.ok && r2b.error.type === "DecryptFailed", "wrong prologue");
    cases.push({
      name: "XX: responder with a different prologue",
      base: "xx.json",
      responder_prologue: hex(utf8(wrongPrologueUtf8)),
      responder_prologue_utf8: wrongPrologueUtf8,
      message1_wire: hex(w1x),
      read_message1_by_responder: { ok: r1.ok, payload: hex(r1.payload) },
      message2_wire: hex(w2x),
      message2_nametag: hex(nt1),
      initiator_read_message2_expected_nametag: noRecord(r2a),
      initiator_read_message2_with_writer_nametag: noRecord(r2b),
      note: "message 1 of XX carries no key (cleartext payload), so the responder accepts it; the responder's HKDF(h) nametag for message 2 already differs from the initiator's (NametagMismatch), and even with the writer's nametag the encrypted static key fails (AD = h differs)",
    });
  }
  // 13. truncated handshake wire
  {
    const { R } = pairingParties(s);
    const cut = w0.slice(0, 60);
    const r = L.handshakeRead(R, cut, secret(s.qrNametag.label, 16), { rollback: true });
    assert(!r.ok && r.error.type === "ParseError", "truncated handshake");
    cases.push({ name: "handshake message 1 truncated to 60 bytes", wire: hex(cut), js: noRecord(r), note: "PayloadV2.deserialize throws (readUIntLE beyond the buffer); nothing is processed" });
  }
  // 14. truncated transport wire
  {
    const S = freshPairingSession(s);
    const m0 = S.resI.writeMessage(m("m0")).serialize();
    const cut = m0.slice(0, m0.length - 1);
    const a = await L.transportRead(S.resR, cut);
    const b = await L.transportRead(S.resR, m0);
    assert(!a.ok && a.error.type === "DecryptFailed" && b.ok, "truncated transport");
    cases.push({
      name: "transport: last byte removed",
      truncated: hex(cut),
      js: a,
      then_genuine: b,
      note: "js-noise parses the shorter message without complaint (transport_message_len is clamped to the available bytes) and then fails authentication, which it swallows",
    });
  }
  return {
    schema: "jsnoise-peer/negative/v1",
    generator: GENERATOR,
    description: "Error and edge behaviour of js-noise, on the deterministic pairing of waku-pairing.json (and, where stated in `base`, on xx.json / xxpsk0.json)",
    cases,
  };
}

/** Feed a (bad) message 2 to a js-noise WakuPairing initiator object and return its rejection message. */
async function wakuPairingRejects(s, badMessage2) {
  const run = await wakuPairingObjectRun(s, {
    responderFeed: async (nodeA, published) => {
      // wait until A has published message 1, then answer with the bad message 2
      for (let i = 0; i < 200 && published.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      // A subscribes before publishing; deliver after its authcode confirmation is possible
      const wire = L.WakuMessage.encode({ payload: badMessage2, contentTopic: s.contentTopic, version: 2, timestamp: 1700000000000000000n, ephemeral: true });
      await nodeA.deliverWire(wire);
    },
  });
  const st = run.settled[0];
  assert(st.status === "rejected", "WakuPairing must reject a wrong commitment");
  return String(st.reason && st.reason.message ? st.reason.message : st.reason);
}

// ---------------------------------------------------------------------------------------------
// main
async function main() {
  mkdirSync(ARGS.out, { recursive: true });
  const files = {};
  const P = (n) => `status-1to1 jsnoise ${n} prologue`;

  // basic transcripts (like the samples)
  const basic = {};
  for (const [shortName, lp, file] of [
    ["XX", "xx", "xx.json"],
    ["XXpsk0", "xxpsk0", "xxpsk0.json"],
    ["K1K1", "k1k1", "k1k1.json"],
    ["XK1", "xk1", "xk1.json"],
  ]) {
    const payloads = [0, 1, 2].map((i) => utf8(`${shortName} handshake message ${i + 1} from the ${i === 1 ? "responder" : "initiator"}`));
    const doc = lowLevel({ shortName, lp, payloads, plan: shortPlan(lp), prologueUtf8: P(shortName) });
    basic[shortName] = { lp, prologueUtf8: P(shortName), doc };
    files[file] = doc;
  }
  // long variants: handshake payload sizes spread over the patterns (3 messages per handshake)
  const LONG = [
    ["XX", "xx-long", "xx-long.json", [0, 247, 600]],
    ["XXpsk0", "xxpsk0-long", "xxpsk0-long.json", [248, 249, 0]],
    ["K1K1", "k1k1-long", "k1k1-long.json", [249, 600, 247]],
    ["XK1", "xk1-long", "xk1-long.json", [600, 0, 248]],
  ];
  for (const [shortName, lp, file, sizes] of LONG) {
    const payloads = sizes.map((n, i) => filler(`${lp}/handshake/${i}`, n));
    files[file] = lowLevel({
      shortName,
      lp,
      payloads,
      plan: longPlan(lp),
      prologueUtf8: P(`${shortName} long`),
      extraDescription: ` Long variant: handshake payload sizes ${sizes.join(", ")} bytes; ${LONG_PER_DIRECTION} transport messages per direction, interleaved in bursts (nametag buffer windows of 50 are crossed), plaintext sizes ${LONG_SIZES.join(", ")}.`,
    });
  }
  // pairing
  const pairing = pairingSetup("pairing", { applicationName: "waku-noise-sessions", applicationVersion: "0.1", shardId: "10" });
  files["waku-pairing.json"] = await wakuPairingTranscript(pairing, { name: "waku-pairing", description: PAIRING_DESCRIPTION, plan: shortPlan("pairing") });
  const pairingLong = pairingSetup("pairing-long", { applicationName: "jsnoise-interop", applicationVersion: "1.2.3", shardId: "1234" });
  files["waku-pairing-long.json"] = await wakuPairingTranscript(pairingLong, {
    name: "waku-pairing-long",
    description:
      PAIRING_DESCRIPTION +
      ` Long variant: other QR parameters (base64url padding variants), ${LONG_PER_DIRECTION} transport messages per direction interleaved in bursts (nametag buffer windows of 50 are crossed), plaintext sizes ${LONG_SIZES.join(", ")}. The WakuPairing handshake payloads are fixed by the protocol (32-byte H(sA||s), r, s), so the handshake payload size coverage is in the other *-long.json files.`,
    plan: longPlan("pairing-long"),
  });
  files["primitives.json"] = primitives();
  files["negative.json"] = await negative(pairing, basic.XX, basic.XXpsk0);

  const order = [
    "waku-pairing.json",
    "xx.json",
    "xxpsk0.json",
    "k1k1.json",
    "xk1.json",
    "waku-pairing-long.json",
    "xx-long.json",
    "xxpsk0-long.json",
    "k1k1-long.json",
    "xk1-long.json",
    "primitives.json",
    "negative.json",
  ];
  for (const f of order) {
    const text = JSON.stringify(files[f], null, 2) + "\n";
    writeFileSync(path.join(ARGS.out, f), text);
    const d = files[f];
    const info = d.handshake ? `${d.handshake.length} handshake + ${d.transport.length} transport messages` : d.cases ? `${d.cases.length} cases` : "";
    process.stderr.write(`wrote ${path.join(ARGS.out, f)} (${text.length} bytes) ${info}\n`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`gen-vectors failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);
