#!/usr/bin/env node
// Self-test of peer.mjs: spawns two peer processes (A and B) and drives, through the stdin/stdout
// protocol only, full handshakes between them (XX, XK1, K1K1, XXpsk0 and WakuPairing with the
// low-level handshake_* ops; WakuPairing with the pairing_* ops, i.e. js-noise's WakuPairing class
// on both sides; and a mixed pairing: low-level initiator ops on A against a WakuPairing-class
// responder on B), then transport both ways including loss + skip, replay and tampering.
// Exit status 0 iff everything passed.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(HERE, "peer.mjs");
const VERBOSE = process.argv.includes("--verbose") || process.argv.includes("-v");
const VECTORS = (() => {
  const i = process.argv.indexOf("--vectors");
  return i > 0 ? path.resolve(process.argv[i + 1]) : path.resolve(HERE, "../../vectors/noise");
})();

const sha = (s) => createHash("sha256").update(s).digest();
const hexOf = (b) => Buffer.from(b).toString("hex");
const secret = (label, len = 32) => hexOf(sha("jsnoise-peer/selftest/" + label).subarray(0, len));
const utf8hex = (s) => Buffer.from(s, "utf8").toString("hex");

let failures = 0;
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  } else if (VERBOSE) console.error(`ok: ${what}`);
}
function must(resp, what) {
  check(resp.ok === true, `${what}: ${resp.ok ? "ok" : JSON.stringify(resp.error)}`);
  if (!resp.ok) throw new Error(`${what} failed: ${JSON.stringify(resp.error)}`);
  return resp;
}

class Peer {
  constructor(name) {
    this.name = name;
    this.nextId = 1;
    this.pending = new Map();
    this.proc = spawn(process.execPath, [PEER], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, JSNOISE_PEER_QUIET: VERBOSE ? "0" : "1" } });
    this.stderr = "";
    this.proc.stderr.on("data", (d) => {
      this.stderr += d;
      if (VERBOSE) process.stderr.write(`[${name}] ${d}`);
    });
    this.badLines = [];
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        this.badLines.push(line);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) {
        this.badLines.push(line);
        return;
      }
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      p.resolve(msg);
    });
    this.exited = new Promise((r) => this.proc.on("exit", (code) => r(code)));
  }
  call(op, fields = {}, timeoutMs = 20000) {
    const id = this.nextId++;
    const req = { id, op, ...fields };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: timeout on ${op}`)), timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.proc.stdin.write(JSON.stringify(req) + "\n");
    });
  }
}

// ---------------------------------------------------------------------------------------------
async function lowLevelHandshake(A, B, pattern, opts = {}) {
  const tag = `${pattern}${opts.suffix ?? ""}`;
  const aSk = secret(`${tag}/a/static`);
  const bSk = secret(`${tag}/b/static`);
  const prologue = utf8hex(`selftest ${tag} prologue`);
  const psk = pattern === "XXpsk0" ? secret(`${tag}/psk`) : undefined;
  // static public keys: ask the peers (handshake_new returns static_pk)
  const base = { pattern, prologue, ...(psk ? { psk } : {}) };
  let aPk, bPk;
  {
    // throwaway handshakes to learn public keys
    aPk = must(await A.call("handshake_new", { pattern: "XX", initiator: true, static_sk: aSk }), "pk A").static_pk;
    bPk = must(await B.call("handshake_new", { pattern: "XX", initiator: true, static_sk: bSk }), "pk B").static_pk;
  }
  const aReq = { ...base, initiator: true, static_sk: aSk };
  const bReq = { ...base, initiator: false, static_sk: bSk };
  if (pattern === "K1K1" || pattern === "XK1") {
    aReq.remote_static_pk = bPk;
    if (pattern === "K1K1") bReq.remote_static_pk = aPk;
  }
  if (pattern === "WakuPairing") {
    const eSk = secret(`${tag}/b/pre-e`);
    bReq.pre_message_ephemeral_sk = eSk;
    const tmp = must(await B.call("handshake_new", { pattern: "XX", initiator: true, static_sk: eSk }), "pk eB");
    aReq.remote_pre_message_ephemeral_pk = tmp.static_pk;
  }
  if (opts.deterministic) {
    aReq.ephemeral_sks = [secret(`${tag}/a/e`)];
    bReq.ephemeral_sks = [secret(`${tag}/b/e`)];
  }
  const ha = must(await A.call("handshake_new", aReq), `${tag} A new`).handle;
  const hb = must(await B.call("handshake_new", bReq), `${tag} B new`).handle;
  const dirs = pattern === "WakuPairing" ? ["->", "<-", "->"] : ["->", "<-", "->"];
  const nametag0 = secret(`${tag}/nametag0`, 16);
  const wires = [];
  for (let i = 0; i < 3; i++) {
    const [W, hw, R, hr] = dirs[i] === "->" ? [A, ha, B, hb] : [B, hb, A, ha];
    let nt = nametag0;
    if (i > 0) {
      const sw = must(await W.call("handshake_state", { handle: hw }), `${tag} state W`);
      const sr = must(await R.call("handshake_state", { handle: hr }), `${tag} state R`);
      check(sw.next_nametag === sr.next_nametag, `${tag} msg ${i + 1}: both sides derive the same nametag`);
      check(sw.authcode === sr.authcode, `${tag} msg ${i + 1}: both sides show the same authcode`);
      nt = sw.next_nametag;
    }
    const payload = utf8hex(`${tag} handshake payload ${i + 1}`) + (i === 1 ? "ab".repeat(300) : "");
    const w = must(await W.call("handshake_write", { handle: hw, payload, nametag: nt }), `${tag} write ${i + 1}`);
    wires.push(w.wire);
    if (opts.deterministic && w.ephemeral) check(w.ephemeral.every((e) => e.source === "injected"), `${tag} msg ${i + 1}: ephemeral injected`);
    if (i === 1) {
      // negative: wrong nametag, then a tampered copy, then the genuine message
      const wrongTag = await R.call("handshake_read", { handle: hr, wire: w.wire, nametag: "00".repeat(16) });
      check(!wrongTag.ok && wrongTag.error.type === "NametagMismatch" && wrongTag.error.state_rolled_back === true, `${tag}: wrong nametag -> NametagMismatch`);
      const t = w.wire.slice(0, w.wire.length - 2) + (w.wire.endsWith("00") ? "01" : "00");
      const tampered = await R.call("handshake_read", { handle: hr, wire: t, nametag: nt });
      check(!tampered.ok && tampered.error.type === "DecryptFailed" && tampered.error.state_rolled_back === true, `${tag}: tampered message 2 -> DecryptFailed, rolled back`);
    }
    const r = must(await R.call("handshake_read", { handle: hr, wire: w.wire, nametag: nt }), `${tag} read ${i + 1}`);
    check(r.payload === payload, `${tag} msg ${i + 1}: payload`);
    check(r.h === w.h, `${tag} msg ${i + 1}: same h`);
    check(r.complete === (i === 2) && w.complete === (i === 2), `${tag} msg ${i + 1}: complete flag`);
  }
  const fa = must(await A.call("finalize", { handle: ha }), `${tag} finalize A`);
  const fb = must(await B.call("finalize", { handle: hb }), `${tag} finalize B`);
  check(fa.cs_outbound_k === fb.cs_inbound_k && fa.cs_inbound_k === fb.cs_outbound_k, `${tag}: split keys cross`);
  check(fa.nametag_secret_outbound === fb.nametag_secret_inbound && fa.nametag_secret_inbound === fb.nametag_secret_outbound, `${tag}: nametag secrets cross`);
  check(fa.h === fb.h, `${tag}: final h`);
  check(fa.rs === bPk && fb.rs === aPk, `${tag}: rs = peer static keys`);
  return { sa: fa.session, sb: fb.session, wires };
}

async function transport(A, sa, B, sb, tag, { viaWakuMessage = false } = {}) {
  const send = async (W, sw, R, sr, plaintext, label) => {
    const w = must(await W.call("transport_write", { session: sw, plaintext }), `${tag} ${label} write`);
    const rq = viaWakuMessage && w.waku_message ? { session: sr, waku_message: w.waku_message } : { session: sr, wire: w.wire };
    const r = must(await R.call("transport_read", rq), `${tag} ${label} read`);
    check(r.plaintext === plaintext, `${tag} ${label}: plaintext`);
    return w;
  };
  const big = "5a".repeat(600);
  await send(A, sa, B, sb, utf8hex("hello from A"), "A->B #0");
  await send(B, sb, A, sa, utf8hex("hello from B"), "B->A #0");
  await send(A, sa, B, sb, "", "A->B #1 (empty)");
  await send(A, sa, B, sb, big, "A->B #2 (600 bytes)");
  await send(B, sb, A, sa, "", "B->A #1 (empty)");
  // loss: A sends two, the first is lost
  must(await A.call("transport_write", { session: sa, plaintext: utf8hex("lost") }), `${tag} lost write`);
  const next = must(await A.call("transport_write", { session: sa, plaintext: utf8hex("after loss") }), `${tag} after-loss write`);
  const r1 = await B.call("transport_read", { session: sb, wire: next.wire });
  check(!r1.ok && r1.error.type === "NametagNotExpected" && r1.error.buffer_position === 1, `${tag}: message after a loss -> NametagNotExpected at position 1`);
  const sk = must(await B.call("transport_skip_inbound", { session: sb, count: 1 }), `${tag} skip`);
  check(sk.next_inbound_nametag === next.nametag, `${tag}: after skip the next inbound nametag is the one of the message`);
  const r2 = must(await B.call("transport_read", { session: sb, wire: next.wire }), `${tag} read after skip`);
  check(r2.plaintext === utf8hex("after loss"), `${tag}: read after skip`);
  // replay
  const r3 = await B.call("transport_read", { session: sb, wire: next.wire });
  check(!r3.ok && r3.error.type === "NametagNotExpected" && r3.error.buffer_position === -1, `${tag}: replay -> NametagNotExpected -1`);
  // tampered, then genuine
  const m = must(await B.call("transport_write", { session: sb, plaintext: utf8hex("tamper me") }), `${tag} tamper write`);
  const bad = m.wire.slice(0, 60) + (m.wire[60] === "0" ? "1" : "0") + m.wire.slice(61);
  const r4 = await A.call("transport_read", { session: sa, wire: bad });
  check(!r4.ok && r4.error.type === "DecryptFailed", `${tag}: tampered -> DecryptFailed`);
  const pid = m.wire.slice(0, 32) + "0c" + m.wire.slice(34);
  const r5 = await A.call("transport_read", { session: sa, wire: pid });
  check(!r5.ok && r5.error.type === "ProtocolIdNotZero", `${tag}: protocol id 12 -> ProtocolIdNotZero`);
  const r6 = must(await A.call("transport_read", { session: sa, wire: m.wire }), `${tag} genuine after tamper`);
  check(r6.plaintext === utf8hex("tamper me"), `${tag}: genuine after tamper`);
  // a burst crossing the 50-message nametag window, B -> A
  for (let i = 0; i < 55; i++) await send(B, sb, A, sa, utf8hex(`burst ${i}`), `B->A burst ${i}`);
}

// ---------------------------------------------------------------------------------------------
async function pump(pairs, until, what, timeoutMs = 15000) {
  // pairs: [{peer, handle, other: {peer, handle}, events: []}]
  const t0 = Date.now();
  while (!until()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${what}`);
    for (const p of pairs) {
      const r = must(await p.peer.call("pairing_poll", { handle: p.handle, wait_ms: 50 }), `${p.name} poll`);
      for (const ev of r.events) {
        p.events.push(ev);
        if (ev.type === "publish") {
          // forward to the other side, alternating payload_v2 and full WakuMessage delivery
          const fields = p.events.length % 2 ? { payload_v2: ev.payload_v2 } : { waku_message: ev.waku_message };
          must(await p.other.peer.call("pairing_deliver", { handle: p.other.handle, ...fields }), `${p.name} -> ${p.other.name} deliver`);
        }
        if (ev.type === "error") throw new Error(`${p.name} pairing error: ${ev.message}`);
      }
    }
  }
}

async function classPairing(A, B, { seeded }) {
  const tag = seeded ? "pairing-class (seeded)" : "pairing-class (random)";
  const rq = { role: "responder", static_sk: secret(`${tag}/b/static`), application_name: "selftest-app", application_version: "1", shard_id: "7" };
  if (seeded) rq.seed = utf8hex("selftest seed B");
  const b = must(await B.call("pairing_new", rq), `${tag} B new`);
  check(typeof b.qr === "string" && b.qr.split(":").length === 5 && /^[0-9a-f]{32}$/.test(b.qr_nametag), `${tag}: QR and nametag`);
  const iq = { role: "initiator", static_sk: secret(`${tag}/a/static`), qr: b.qr, qr_nametag: b.qr_nametag };
  if (seeded) iq.seed = utf8hex("selftest seed A");
  const a = must(await A.call("pairing_new", iq), `${tag} A new`);
  check(a.content_topic === b.content_topic && b.content_topic === "/selftest-app/1/wakunoise/1/sessions_shard-7/proto", `${tag}: content topic`);
  const pa = { name: "A", peer: A, handle: a.handle, events: [] };
  const pb = { name: "B", peer: B, handle: b.handle, events: [] };
  pa.other = pb;
  pb.other = pa;
  const has = (p, type) => p.events.some((e) => e.type === type);
  await pump([pa, pb], () => has(pa, "authcode") && has(pb, "authcode"), `${tag} authcodes`);
  const codeA = pa.events.find((e) => e.type === "authcode").code;
  const codeB = pb.events.find((e) => e.type === "authcode").code;
  check(codeA === codeB && /^[0-9]{8}$/.test(codeA), `${tag}: authcodes match (${codeA})`);
  must(await A.call("pairing_confirm", { handle: a.handle, accept: true }), `${tag} A confirm`);
  must(await B.call("pairing_confirm", { handle: b.handle, accept: true }), `${tag} B confirm`);
  await pump([pa, pb], () => has(pa, "complete") && has(pb, "complete"), `${tag} completion`);
  const ca = pa.events.find((e) => e.type === "complete");
  const cb = pb.events.find((e) => e.type === "complete");
  check(ca.cs_outbound_k === cb.cs_inbound_k && ca.h === cb.h, `${tag}: sessions agree`);
  check(pa.events.filter((e) => e.type === "publish").length === 2 && pb.events.filter((e) => e.type === "publish").length === 1, `${tag}: 3 handshake messages published`);
  await transport(A, ca.session, B, cb.session, tag, { viaWakuMessage: true });
  return { a, b, ca, cb };
}

async function mixedPairing(A, B) {
  // A: low-level handshake ops playing the WakuPairing initiator; B: js-noise WakuPairing class.
  const tag = "pairing-mixed";
  const b = must(await B.call("pairing_new", { role: "responder", static_sk: secret(`${tag}/b/static`) }), `${tag} B new`);
  const fields = b.qr.split(":").map((f) => Buffer.from(f.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
  const eB = hexOf(fields[3]);
  const commitB = hexOf(fields[4]);
  check(eB === b.ephemeral_pk, `${tag}: QR carries the responder ephemeral key`);
  const aSk = secret(`${tag}/a/static`);
  const s = secret(`${tag}/a/s`);
  const h = must(await A.call("handshake_new", { pattern: "WakuPairing", initiator: true, static_sk: aSk, prologue: utf8hex(b.qr), remote_pre_message_ephemeral_pk: eB }), `${tag} A new`);
  const aPk = h.static_pk;
  const commitA = hexOf(sha(Buffer.concat([Buffer.from(aPk, "hex"), Buffer.from(s, "hex")])));
  const m1 = must(await A.call("handshake_write", { handle: h.handle, payload: commitA, nametag: b.qr_nametag }), `${tag} write 1`);
  must(await B.call("pairing_deliver", { handle: b.handle, payload_v2: m1.wire }), `${tag} deliver 1`);
  const pb = { name: "B", peer: B, handle: b.handle, events: [] };
  const sink = { name: "A(low-level)", events: [] };
  const pollB = async (pred, what) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 15000) throw new Error(`timeout: ${what}`);
      const r = must(await B.call("pairing_poll", { handle: b.handle, wait_ms: 50 }), `${tag} poll`);
      pb.events.push(...r.events);
      const err = r.events.find((e) => e.type === "error");
      if (err) throw new Error(`B error: ${err.message}`);
    }
  };
  await pollB(() => pb.events.some((e) => e.type === "authcode"), "authcode");
  const st = must(await A.call("handshake_state", { handle: h.handle }), `${tag} A state`);
  check(st.authcode === pb.events.find((e) => e.type === "authcode").code, `${tag}: low-level authcode = WakuPairing authcode`);
  must(await B.call("pairing_confirm", { handle: b.handle, accept: true }), `${tag} B confirm`);
  await pollB(() => pb.events.some((e) => e.type === "publish"), "message 2");
  const m2 = pb.events.find((e) => e.type === "publish");
  const r2 = must(await A.call("handshake_read", { handle: h.handle, wire: m2.payload_v2, nametag: st.next_nametag }), `${tag} read 2`);
  const st2 = must(await A.call("handshake_state", { handle: h.handle }), `${tag} A state 2`);
  const opened = hexOf(sha(Buffer.concat([Buffer.from(st2.rs, "hex"), Buffer.from(r2.payload, "hex")])));
  check(opened === commitB, `${tag}: H(rs || r) opens the QR commitment`);
  const m3 = must(await A.call("handshake_write", { handle: h.handle, payload: s, nametag: st2.next_nametag }), `${tag} write 3`);
  must(await B.call("pairing_deliver", { handle: b.handle, payload_v2: m3.wire }), `${tag} deliver 3`);
  await pollB(() => pb.events.some((e) => e.type === "complete"), "completion");
  const cb = pb.events.find((e) => e.type === "complete");
  const fa = must(await A.call("finalize", { handle: h.handle }), `${tag} finalize A`);
  check(fa.cs_outbound_k === cb.cs_inbound_k && fa.h === cb.h && cb.rs === aPk, `${tag}: sessions agree`);
  await transport(A, fa.session, B, cb.session, tag);
  void sink;
}

async function negativePairing(A, B) {
  // the initiator (class) rejects a responder whose r does not open the QR commitment
  const tag = "pairing-bad-commitment";
  // B: low-level responder with pre-message e; the QR is built by the test with a WRONG commitment
  const eSk = secret(`${tag}/b/e`);
  const bSk = secret(`${tag}/b/static`);
  const tmp = must(await B.call("handshake_new", { pattern: "XX", initiator: true, static_sk: eSk }), `${tag} eB`);
  const eB = Buffer.from(tmp.static_pk, "hex");
  const b64 = (b) => Buffer.from(b).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
  const qr = [b64(Buffer.from("waku-noise-sessions")), b64(Buffer.from("0.1")), b64(Buffer.from("10")), b64(eB), b64(sha("not the commitment"))].join(":");
  const qrNametag = secret(`${tag}/nametag`, 16);
  const a = must(await A.call("pairing_new", { role: "initiator", static_sk: secret(`${tag}/a/static`), qr, qr_nametag: qrNametag }), `${tag} A new`);
  const hb = must(await B.call("handshake_new", { pattern: "WakuPairing", initiator: false, static_sk: bSk, prologue: utf8hex(qr), pre_message_ephemeral_sk: eSk }), `${tag} B new`).handle;
  const events = [];
  const pollA = async (pred, what) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 15000) throw new Error(`timeout: ${what}`);
      const r = must(await A.call("pairing_poll", { handle: a.handle, wait_ms: 50 }), `${tag} poll`);
      events.push(...r.events);
    }
  };
  await pollA(() => events.some((e) => e.type === "publish"), "message 1");
  const m1 = events.find((e) => e.type === "publish");
  must(await B.call("handshake_read", { handle: hb, wire: m1.payload_v2, nametag: qrNametag }), `${tag} B read 1`);
  await pollA(() => events.some((e) => e.type === "authcode"), "authcode");
  must(await A.call("pairing_confirm", { handle: a.handle, accept: true }), `${tag} confirm`);
  const st = must(await B.call("handshake_state", { handle: hb }), `${tag} B state`);
  const m2 = must(await B.call("handshake_write", { handle: hb, payload: secret(`${tag}/r`), nametag: st.next_nametag }), `${tag} B write 2`);
  must(await A.call("pairing_deliver", { handle: a.handle, payload_v2: m2.wire }), `${tag} deliver 2`);
  await pollA(() => events.some((e) => e.type === "error" || e.type === "complete"), "outcome");
  const err = events.find((e) => e.type === "error");
  check(err && /committed static key does not match/.test(err.message), `${tag}: WakuPairing initiator rejects the wrong commitment (${err ? err.message : "no error"})`);
}

// ---------------------------------------------------------------------------------------------
// Replay of the generated vectors through the peer protocol (ties peer.mjs to gen-vectors.mjs)
async function replayLowLevel(A, B, file) {
  const d = JSON.parse(readFileSync(path.join(VECTORS, file), "utf8"));
  const tag = `replay ${file}`;
  const inp = d.inputs;
  const short = d.pattern.name.split("_")[1];
  const pairing = !!d.pairing;
  const aReq = { pattern: short, initiator: true, static_sk: inp.initiator.static.sk, prologue: inp.prologue };
  const bReq = { pattern: short, initiator: false, static_sk: inp.responder.static.sk, prologue: inp.prologue };
  if (inp.psk) aReq.psk = bReq.psk = inp.psk;
  if (short === "K1K1") {
    aReq.remote_static_pk = inp.responder.static.pk;
    bReq.remote_static_pk = inp.initiator.static.pk;
  }
  if (short === "XK1") aReq.remote_static_pk = inp.responder.static.pk;
  if (pairing) {
    aReq.remote_pre_message_ephemeral_pk = inp.responder.ephemeral_pre_message.pk;
    bReq.pre_message_ephemeral_sk = inp.responder.ephemeral_pre_message.sk;
    aReq.ephemeral_sks = [inp.initiator.ephemeral_message1.sk];
  } else {
    aReq.ephemeral_sks = [inp.ephemerals.initiator_message1.sk];
    bReq.ephemeral_sks = [inp.ephemerals.responder_message2.sk];
  }
  const ha = must(await A.call("handshake_new", aReq), `${tag} A new`).handle;
  const hb = must(await B.call("handshake_new", bReq), `${tag} B new`).handle;
  for (const m of d.handshake) {
    const [W, hw, R, hr] = m.writer === "initiator" ? [A, ha, B, hb] : [B, hb, A, ha];
    if (m.nametag_source === "hkdf") {
      const st = must(await W.call("handshake_state", { handle: hw }), `${tag} state`);
      check(st.next_nametag === m.nametag, `${tag} msg ${m.index + 1}: HKDF nametag`);
    }
    const w = must(await W.call("handshake_write", { handle: hw, payload: m.payload, nametag: m.nametag }), `${tag} write ${m.index + 1}`);
    check(w.wire === m.wire, `${tag} msg ${m.index + 1}: wire identical to the vector`);
    check(w.h === m.writer_state_after.h, `${tag} msg ${m.index + 1}: h`);
    const r = must(await R.call("handshake_read", { handle: hr, wire: m.wire, nametag: m.nametag }), `${tag} read ${m.index + 1}`);
    check(r.payload === m.payload, `${tag} msg ${m.index + 1}: payload`);
  }
  const fa = must(await A.call("finalize", { handle: ha }), `${tag} finalize A`);
  const fb = must(await B.call("finalize", { handle: hb }), `${tag} finalize B`);
  const si = d.split.initiator;
  check(fa.cs_outbound_k === si.cs_outbound.k && fa.cs_inbound_k === si.cs_inbound.k && fa.nametag_secret_outbound === si.nametag_secret_outbound && fa.h === si.h, `${tag}: split`);
  check(fb.cs_outbound_k === d.split.responder.cs_outbound.k, `${tag}: responder split`);
  let same = 0;
  for (const t of d.transport) {
    const [W, sw, R, sr] = t.from === "initiator" ? [A, fa.session, B, fb.session] : [B, fb.session, A, fa.session];
    const w = must(await W.call("transport_write", { session: sw, plaintext: t.plaintext }), `${tag} transport ${t.index}`);
    const r = must(await R.call("transport_read", { session: sr, wire: t.wire }), `${tag} transport read ${t.index}`);
    if (w.wire === t.wire && r.plaintext === t.plaintext) same++;
  }
  check(same === d.transport.length, `${tag}: ${same}/${d.transport.length} transport wires identical to the vector`);
}

async function replayPairingClass(A, B, file) {
  const d = JSON.parse(readFileSync(path.join(VECTORS, file), "utf8"));
  const tag = `replay ${file} (WakuPairing class)`;
  const inp = d.inputs;
  const b = must(
    await B.call("pairing_new", {
      role: "responder",
      static_sk: inp.responder.static.sk,
      ephemeral_sk: inp.responder.ephemeral_pre_message.sk,
      random_bytes: [inp.responder.r.value, inp.qr_nametag.value],
      application_name: inp.application_name,
      application_version: inp.application_version,
      shard_id: inp.shard_id,
    }),
    `${tag} B new`
  );
  check(b.qr === d.pairing.qr && b.qr_nametag === inp.qr_nametag.value, `${tag}: QR and QR nametag identical to the vector`);
  const a = must(
    await A.call("pairing_new", { role: "initiator", static_sk: inp.initiator.static.sk, ephemeral_sk: inp.initiator.ephemeral_message1.sk, random_bytes: [inp.initiator.s.value], qr: b.qr, qr_nametag: b.qr_nametag, auto_confirm: true }),
    `${tag} A new`
  );
  const pa = { name: "A", peer: A, handle: a.handle, events: [] };
  const pb = { name: "B", peer: B, handle: b.handle, events: [] };
  pa.other = pb;
  pb.other = pa;
  const has = (p, type) => p.events.some((e) => e.type === type);
  await pump([pa, pb], () => has(pb, "authcode"), `${tag} authcode`);
  must(await B.call("pairing_confirm", { handle: b.handle, accept: true }), `${tag} B confirm`);
  await pump([pa, pb], () => has(pa, "complete") && has(pb, "complete"), `${tag} completion`);
  const published = [...pa.events, ...pb.events].filter((e) => e.type === "publish").map((e) => e.payload_v2).sort();
  check(JSON.stringify(published) === JSON.stringify(d.handshake.map((m) => m.wire).sort()), `${tag}: published handshake messages identical to the vector`);
  check(pb.events.find((e) => e.type === "authcode").code === d.pairing.authcode, `${tag}: authcode`);
  const ca = pa.events.find((e) => e.type === "complete");
  check(ca.h === d.split.initiator.h && ca.cs_outbound_k === d.split.initiator.cs_outbound.k, `${tag}: session keys`);
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const A = new Peer("A");
  const B = new Peer("B");
  try {
    const ha = must(await A.call("hello"), "hello A");
    must(await B.call("hello"), "hello B");
    check(ha.implementation === "@waku/noise" && ha.version === "0.0.3-a19e968", "hello reports @waku/noise 0.0.3-a19e968");
    const unknown = await A.call("no_such_op");
    check(unknown.ok === false && unknown.error.type === "BadRequest", "unknown op -> BadRequest");
    const badHandle = await A.call("handshake_state", { handle: 99999 });
    check(badHandle.ok === false && badHandle.error.type === "UnknownHandle", "unknown handle -> UnknownHandle");

    for (const pattern of ["XX", "XK1", "K1K1", "XXpsk0", "WakuPairing"]) {
      const { sa, sb } = await lowLevelHandshake(A, B, pattern);
      await transport(A, sa, B, sb, pattern);
    }
    // deterministic ephemerals give identical wires on a second run
    const d1 = await lowLevelHandshake(A, B, "XX", { deterministic: true, suffix: "-det" });
    const d2 = await lowLevelHandshake(B, A, "XX", { deterministic: true, suffix: "-det" });
    check(d1.wires.join() === d2.wires.join(), "XX with injected ephemerals: identical wires when the roles run on the other process");

    // WakuMessage envelope
    const enc = must(await A.call("waku_message_encode", { payload_v2: d1.wires[0], content_topic: "/selftest/1/x/proto", timestamp_ns: "1700000000000000123" }), "waku_message_encode");
    const dec = must(await B.call("waku_message_decode", { wire: enc.wire }), "waku_message_decode");
    check(dec.payload_v2 === d1.wires[0] && dec.content_topic === "/selftest/1/x/proto" && dec.version === 2 && dec.timestamp_ns === "1700000000000000123" && dec.ephemeral === true, "WakuMessage round trip");

    await classPairing(A, B, { seeded: false });
    const s1 = await classPairing(A, B, { seeded: true });
    const s2 = await classPairing(B, A, { seeded: true });
    check(s1.b.qr === s2.b.qr && s1.b.qr_nametag === s2.b.qr_nametag && s1.ca.h === s2.ca.h, "seeded WakuPairing is reproducible across processes");
    await mixedPairing(A, B);
    await negativePairing(A, B);

    if (existsSync(path.join(VECTORS, "xx.json"))) {
      for (const f of ["xx.json", "xxpsk0.json", "k1k1.json", "xk1.json", "waku-pairing.json", "xx-long.json", "k1k1-long.json"]) await replayLowLevel(A, B, f);
      await replayPairingClass(A, B, "waku-pairing.json");
      await replayPairingClass(B, A, "waku-pairing-long.json");
    } else {
      console.error(`note: ${VECTORS} has no vectors; replay skipped`);
    }

    check(A.badLines.length === 0 && B.badLines.length === 0, `stdout carries only protocol responses (${A.badLines.length + B.badLines.length} stray lines)`);
    must(await A.call("exit"), "exit A");
    B.proc.stdin.end(); // EOF also terminates the peer
    const [ca, cb] = await Promise.all([A.exited, B.exited]);
    check(ca === 0 && cb === 0, `peers exit with status 0 (exit op: ${ca}, stdin EOF: ${cb})`);
  } catch (e) {
    failures++;
    console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
    if (A.stderr && !VERBOSE) console.error(`--- peer A stderr (tail) ---\n${A.stderr.slice(-2000)}`);
    if (B.stderr && !VERBOSE) console.error(`--- peer B stderr (tail) ---\n${B.stderr.slice(-2000)}`);
    A.proc.kill();
    B.proc.kill();
  }
  console.log(failures === 0 ? `selftest OK (${checks} checks)` : `selftest FAILED (${failures} of ${checks} checks)`);
  process.exit(failures === 0 ? 0 : 1);
}

main();
