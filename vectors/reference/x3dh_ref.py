#!/usr/bin/env python3
"""Independent reference implementation of the X3DH / Double Ratchet profile ("Suite D").

Written from docs/profile.md §5 alone (a section number N below means §5.N there), without calling or
reading the Rust code. It uses the `cryptography` package for X25519, Ed25519, HKDF and
AES-256-GCM, and implements itself what that package lacks: the Ed25519 point checks and the
Ed25519 -> X25519 birational map, Keccak-256, and protobuf encoding.

    x3dh_ref.py check [FILE|DIR ...]   recompute every value of the vectors (default: ../x3dh),
                                       exit 1 on any mismatch
    x3dh_ref.py generate DIR           write the vector files from the built-in scenarios

`check` removes every "expected" object from a vector, recomputes the whole document from its
inputs, and compares it with the file value by value.
"""

import copy
import hashlib
import hmac
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# --- constants (§11) ---------------------------------------------------------------------------

INFO_X3DH = b"WAKU2-1TO1-v1/X3DH"
INFO_ROOT = b"WAKU2-1TO1-v1/Root"
INFO_MESSAGE_KEYS = b"WAKU2-1TO1-v1/MessageKeys"
INFO_NO_BUNDLE = b"WAKU2-1TO1-v1/NoBundle"
INFO_TOPIC = b"WAKU2-1TO1-v1/Topic"
INFO_TOPIC_KEY = b"WAKU2-1TO1-v1/TopicKey"
BUNDLE_DOMAIN = b"WAKU2-1TO1-v1/Bundle"
SESSION_ID_DOMAIN = b"WAKU2-1TO1-v1/SessionId"
F = b"\xff" * 32
ZERO32 = b"\x00" * 32
SUITE_D = 1
PROTOCOL_VERSION = 1
MAX_SKIP = 1000
MAX_STORED = 2000
MAX_AGE = 3000
MAX_CHAINS = 5
PARTITIONS = 5000
PBKDF2_ITERATIONS = 65356
NONE = "none"
U32_MAX = 2**32 - 1
GENERATING = False  # set by `generate`: unused scenario secrets are dropped instead of refused


class Refused(Exception):
    """A refusal, named as in §10."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


def u32be(v):
    return v.to_bytes(4, "big")


def i64be(v):
    return v.to_bytes(8, "big", signed=True)


# --- hash functions ----------------------------------------------------------------------------


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


_KECCAK_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_KECCAK_ROT = [
    [0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14],
]
_M64 = 2**64 - 1


def _rol(v, n):
    return ((v << n) | (v >> (64 - n))) & _M64 if n else v


def _keccak_f(a):
    for rc in _KECCAK_RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _KECCAK_ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data):
    """Keccak-256 with the original padding (0x01 ... 0x80), rate 136 bytes."""
    rate = 136
    padded = bytearray(data) + b"\x01" + b"\x00" * ((-len(data) - 1) % rate)
    padded[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(padded), rate):
        block = padded[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        a = _keccak_f(a)
    out = b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

# --- Ed25519 points and the birational map (§1) ------------------------------------------------

P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _ed_decode(b):
    """RFC 8032 §5.1.3 point decoding; None if not a point."""
    y = int.from_bytes(b, "little") & (2**255 - 1)
    sign = b[31] >> 7
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None
        x = (x * SQRT_M1) % P
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, (x * y) % P)


def _ed_add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a, b = ((y1 - x1) * (y2 - x2)) % P, ((y1 + x1) * (y2 + x2)) % P
    c, d = (t1 * 2 * D * t2) % P, (z1 * 2 * z2) % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return ((e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P)


def ed_is_small_order(point):
    q = point
    for _ in range(3):
        q = _ed_add(q, q)
    x, y, z, _ = q
    return x % P == 0 and (y - z) % P == 0


def check_identity(ik):
    """A received identity key: 32 bytes, a point, not small order (§1)."""
    if len(ik) != 32:
        raise Refused("invalid-identity")
    point = _ed_decode(ik)
    if point is None:
        raise Refused("invalid-identity")
    if ed_is_small_order(point):
        raise Refused("weak-identity")


def ed_to_x_public(ik):
    """u = (1 + y) / (1 - y) mod p."""
    y = int.from_bytes(ik, "little") & (2**255 - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


class Identity:
    def __init__(self, seed):
        self.seed = seed
        self.signing = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.signing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.x_secret = hashlib.sha512(seed).digest()[:32]
        self.x_public = ed_to_x_public(self.public)
        # The two routes to the X25519 public key must agree (§1).
        assert x25519_public(self.x_secret) == self.x_public

    def sign(self, msg):
        return self.signing.sign(msg)


def ed_verify(ik, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(ik).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


# --- X25519 ------------------------------------------------------------------------------------


def x25519_public(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def dh(secret, public):
    """X25519, refusing an all-zero output (§1, contributory)."""
    try:
        out = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        raise Refused("non-contributory")
    if out == ZERO32:
        raise Refused("non-contributory")
    return out


def is_canonical(public):
    """A canonical u-coordinate: bit 255 clear and below p (§1); X25519 would accept an alias."""
    return int.from_bytes(public, "little") < P


def x25519_is_small_order(public):
    """Small order iff the DH with some secret is zero (for clamped secrets: any secret)."""
    try:
        dh(b"\x42" * 32, public)
        return False
    except Refused:
        return True


# --- protobuf (§2) -----------------------------------------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(num, wire):
    return varint((num << 3) | wire)


def pb_bytes(num, b):
    return _key(num, 2) + varint(len(b)) + b if b else b""


def pb_uint(num, v):
    return _key(num, 0) + varint(v) if v else b""


def pb_int64(num, v):
    return _key(num, 0) + varint(v & (2**64 - 1)) if v else b""


def pb_msg(num, m):
    return b"" if m is None else _key(num, 2) + varint(len(m)) + m


def pb_map(num, entries):
    out = b""
    for k in sorted(entries, key=lambda s: s.encode()):
        v = entries[k]
        entry = pb_bytes(1, k.encode()) + (pb_msg(2, v) if v else b"")
        out += _key(num, 2) + varint(len(entry)) + entry
    return out


def pb_parse(data):
    """Minimal decoder: {field number: [values]} (ints for varints, bytes for length-delimited)."""
    fields, i = {}, 0

    def read_varint():
        nonlocal i
        shift, value = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        k = read_varint()
        num, wire = k >> 3, k & 7
        if wire == 0:
            value = read_varint()
        elif wire == 2:
            n = read_varint()
            value = data[i:i + n]
            i += n
        else:
            raise ValueError("unsupported wire type")
        fields.setdefault(num, []).append(value)
    return fields


def encode_signed_prekey(key, version, protocol_version):
    return pb_bytes(1, key) + pb_uint(2, version) + pb_uint(3, protocol_version)


def encode_bundle(identity, prekeys, signature, timestamp_ns, suite):
    """prekeys: {installation id: (key, version, protocol_version)}."""
    entries = {i: encode_signed_prekey(*p) for i, p in prekeys.items()}
    return (pb_bytes(1, identity) + pb_map(2, entries) + pb_bytes(4, signature) + pb_int64(5, timestamp_ns)
            + pb_uint(6, suite))


def decode_bundle(data):
    f = pb_parse(data)
    prekeys = {}
    for entry in f.get(2, []):
        e = pb_parse(entry)
        inst = e.get(1, [b""])[-1].decode()
        spk = pb_parse(e.get(2, [b""])[-1])
        prekeys[inst] = (spk.get(1, [b""])[-1], spk.get(2, [0])[-1], spk.get(3, [0])[-1])
    ts = f.get(5, [0])[-1]
    if ts >= 2**63:
        ts -= 2**64
    return {"identity": f.get(1, [b""])[-1], "prekeys": prekeys, "signature": f.get(4, [b""])[-1],
            "timestamp": ts, "suite": f.get(6, [0])[-1]}


def encode_x3dh_header(ek, spk, ik):
    return pb_bytes(1, ek) + pb_bytes(4, spk) + pb_bytes(5, ik)


def encode_dr_header(key, n, pn, bundle_id):
    return pb_bytes(1, key) + pb_uint(2, n) + pb_uint(3, pn) + pb_bytes(4, bundle_id)


def encode_entry(x3dh=None, dr=None, payload=b"", dh_header=None):
    return pb_msg(1, x3dh) + pb_msg(2, dr) + pb_bytes(3, payload) + pb_msg(101, dh_header)


def encode_protocol_message(installation_id, bundles, entries, public_message=b""):
    return (pb_bytes(2, installation_id.encode()) + b"".join(pb_msg(3, b) for b in bundles)
            + pb_map(101, entries) + pb_bytes(102, public_message))


# --- encodings (§1, §5) ------------------------------------------------------------------------


def encode_ed(ik):
    return b"\xed" + ik


def encode_x(pk):
    return b"\x05" + pk


def associated_data(ik_a, ik_b, inst_a, inst_b):
    a, b = inst_a.encode(), inst_b.encode()
    return b"\x01" + encode_ed(ik_a) + encode_ed(ik_b) + bytes([len(a)]) + a + bytes([len(b)]) + b


def session_id(ik_a, ek_a, spk_b, ik_b):
    return hashlib.sha256(SESSION_ID_DOMAIN + encode_ed(ik_a) + encode_x(ek_a) + encode_x(spk_b)
                          + encode_ed(ik_b)).digest()


def is_uuid_v4(s):
    if len(s) != 36:
        return False
    for i, c in enumerate(s):
        if i in (8, 13, 18, 23):
            if c != "-":
                return False
        elif c not in "0123456789abcdef":
            return False
    return s[14] == "4" and s[19] in "89ab"


# --- bundles (§3) ------------------------------------------------------------------------------


def bundle_signature_input(ik, timestamp_ns, prekeys):
    out = BUNDLE_DOMAIN + b"\x00" + encode_ed(ik) + i64be(timestamp_ns) + u32be(len(prekeys))
    for inst in sorted(prekeys, key=lambda s: s.encode()):
        key, version, protocol_version = prekeys[inst]
        out += bytes([len(inst.encode())]) + inst.encode() + encode_x(key) + u32be(version) + u32be(protocol_version)
    return out


def verify_bundle(data):
    """§3 verification order; returns the decoded bundle or raises Refused."""
    b = decode_bundle(data)
    if b["suite"] != SUITE_D:
        raise Refused("unsupported-suite")
    check_identity(b["identity"])
    if len(b["signature"]) != 64:
        raise Refused("malformed-signature")
    if not b["prekeys"]:
        raise Refused("no-prekeys")
    for inst, (key, _, _) in sorted(b["prekeys"].items()):
        if not is_uuid_v4(inst):
            raise Refused("invalid-installation-id")
        if len(key) != 32:
            raise Refused("malformed-prekey")
    if not ed_verify(b["identity"], b["signature"], bundle_signature_input(b["identity"], b["timestamp"], b["prekeys"])):
        raise Refused("bad-signature")
    for inst, (key, _, _) in sorted(b["prekeys"].items()):
        if x25519_is_small_order(key):
            raise Refused("weak-prekey")
    return b


# --- Double Ratchet (§6, §7) -------------------------------------------------------------------


def kdf_rk(rk, dh_out):
    okm = hkdf(rk, dh_out, INFO_ROOT, 64)
    return okm[:32], okm[32:]


def kdf_ck(ck):
    return hmac_sha256(ck, b"\x02"), hmac_sha256(ck, b"\x01")  # (next chain key, message key)


def message_keys(mk):
    okm = hkdf(ZERO32, mk, INFO_MESSAGE_KEYS, 44)
    return okm[:32], okm[32:]


def header_bytes(key, pn, n):
    return b"\x01" + key + u32be(pn) + u32be(n)


def seal(mk, aad, pt):
    key, nonce = message_keys(mk)
    return AESGCM(key).encrypt(nonce, pt, aad)


def open_(mk, aad, ct):
    key, nonce = message_keys(mk)
    try:
        return AESGCM(key).decrypt(nonce, ct, aad)
    except Exception:
        raise Refused("authentication-failed")


class Ratchet:
    def __init__(self):
        self.root = None
        self.sending = None  # None = pending, else dict(secret, public, ck, n)
        self.pn = 0
        self.recv = None  # dict(key, ck, next)
        self.chains = []  # [dict(key, keys=[(n, seq, mk)])], oldest first
        self.derived = 0

    def encrypt(self, pt, ad, draw):
        root, sending = self.root, self.sending
        if sending is None:
            secret = draw()
            public = x25519_public(secret)
            root, ck = kdf_rk(root, dh(secret, self.recv["key"]))
            sending = {"secret": secret, "public": public, "ck": ck, "n": 0}
        if sending["n"] == U32_MAX:
            raise Refused("chain-exhausted")
        ck, mk = kdf_ck(sending["ck"])
        header = (sending["public"], self.pn, sending["n"])
        ct = seal(mk, ad + header_bytes(*header), pt)
        self.root = root
        self.sending = dict(sending, ck=ck, n=sending["n"] + 1)
        return header, ct, mk

    @staticmethod
    def _skip(ck, start, until):
        keys = []
        for n in range(start, until):
            ck, mk = kdf_ck(ck)
            keys.append((n, mk))
        return ck, keys

    def _find_chain(self, key):
        for c in self.chains:
            if c["key"] == key:
                return c
        return None

    def _store(self, key, keys):
        chain = self._find_chain(key)
        for n, mk in keys:
            if chain is not None:
                chain["keys"].append((n, self.derived, mk))
            self.derived += 1

    def _limits(self):
        for c in self.chains:
            c["keys"] = [k for k in c["keys"] if self.derived - k[1] <= MAX_AGE]
        stored = sorted(k[1] for c in self.chains for k in c["keys"])
        if len(stored) > MAX_STORED:
            cutoff = stored[len(stored) - MAX_STORED]
            for c in self.chains:
                c["keys"] = [k for k in c["keys"] if k[1] >= cutoff]

    def decrypt(self, key, pn, n, ct, ad):
        aad = ad + header_bytes(key, pn, n)
        if self.recv is not None and self.recv["key"] == key and n >= self.recv["next"]:
            if n == U32_MAX:
                raise Refused("chain-exhausted")
            if n - self.recv["next"] > MAX_SKIP:
                raise Refused("too-many-skipped")
            ck, skipped = self._skip(self.recv["ck"], self.recv["next"], n)
            ck, mk = kdf_ck(ck)
            pt = open_(mk, aad, ct)
            self.recv = {"key": key, "ck": ck, "next": n + 1}
            self._store(key, skipped)
            self.derived += 1
            self._limits()
            return pt
        chain = self._find_chain(key)
        if chain is not None:
            for i, (kn, _, mk) in enumerate(chain["keys"]):
                if kn == n:
                    pt = open_(mk, aad, ct)
                    del chain["keys"][i]
                    return pt
            raise Refused("duplicate")
        if self.sending is None:
            raise Refused("unexpected-ratchet-key")
        if n == U32_MAX:
            raise Refused("chain-exhausted")
        if self.recv is not None and pn - self.recv["next"] > MAX_SKIP:
            raise Refused("too-many-skipped")
        if n > MAX_SKIP:
            raise Refused("too-many-skipped")
        root, ck = kdf_rk(self.root, dh(self.sending["secret"], key))
        ck, skipped = self._skip(ck, 0, n)
        ck, mk = kdf_ck(ck)
        pt = open_(mk, aad, ct)
        if self.recv is not None:
            _, old = self._skip(self.recv["ck"], self.recv["next"], pn)
            self._store(self.recv["key"], old)
        if len(self.chains) >= MAX_CHAINS:
            self.chains.pop(0)
        self.chains.append({"key": key, "keys": []})
        self._store(key, skipped)
        self.derived += 1
        self._limits()
        self.root = root
        self.recv = {"key": key, "ck": ck, "next": n + 1}
        self.pn = self.sending["n"]
        self.sending = None
        return pt

    def stored(self):
        return sum(len(c["keys"]) for c in self.chains)


# --- sessions (§5) -----------------------------------------------------------------------------


class Session:
    def __init__(self, sid, initiator, local, peer, bundle_id, awaiting, ratchet):
        self.sid, self.initiator, self.local, self.peer = sid, initiator, local, peer
        self.bundle_id, self.awaiting, self.ratchet = bundle_id, awaiting, ratchet

    def ad(self):
        a, b = (self.local, self.peer) if self.initiator else (self.peer, self.local)
        return associated_data(a[0], b[0], a[1], b[1])

    def encrypt(self, pt, draw):
        header, ct, mk = self.ratchet.encrypt(pt, self.ad(), draw)
        return {"initial": self.awaiting, "key": header[0], "pn": header[1], "n": header[2],
                "bundle_id": self.bundle_id, "ciphertext": ct}, mk

    def decrypt(self, m):
        if m["bundle_id"] != self.bundle_id:
            raise Refused("wrong-session")
        if m["initial"] is not None:
            ik, ek, spk = m["initial"]
            if session_id(ik, ek, spk, self.local[0]) != self.sid:
                raise Refused("wrong-session")
        pt = self.ratchet.decrypt(m["key"], m["pn"], m["n"], m["ciphertext"], self.ad())
        self.awaiting = None
        return pt


def x3dh_initiator(alice, ek_secret, ik_b, spk_b):
    dh1 = dh(alice.x_secret, spk_b)
    dh2 = dh(ek_secret, ed_to_x_public(ik_b))
    dh3 = dh(ek_secret, spk_b)
    return dh1, dh2, dh3, hkdf(ZERO32, F + dh1 + dh2 + dh3, INFO_X3DH, 32)


def x3dh_responder(bob, spk_secret, ik_a, ek_a):
    dh1 = dh(spk_secret, ed_to_x_public(ik_a))
    dh2 = dh(bob.x_secret, ek_a)
    dh3 = dh(spk_secret, ek_a)
    return hkdf(ZERO32, F + dh1 + dh2 + dh3, INFO_X3DH, 32)


def initiate(alice, alice_inst, ik_b, bob_inst, spk_b, ek_secret, ratchet_secret):
    _, _, _, sk = x3dh_initiator(alice, ek_secret, ik_b, spk_b)
    r = Ratchet()
    public = x25519_public(ratchet_secret)
    r.root, ck = kdf_rk(sk, dh(ratchet_secret, spk_b))
    r.sending = {"secret": ratchet_secret, "public": public, "ck": ck, "n": 0}
    ek = x25519_public(ek_secret)
    sid = session_id(alice.public, ek, spk_b, ik_b)
    return Session(sid, True, (alice.public, alice_inst), (ik_b, bob_inst), spk_b, (alice.public, ek, spk_b), r)


def respond(bob, bob_inst, prekeys, peer_inst, m):
    """prekeys: {public: secret}. Returns (session, plaintext) or raises Refused (§5)."""
    if m["initial"] is None:
        raise Refused("missing-initial-header")
    ik_a, ek_a, spk = m["initial"]
    if not is_canonical(ek_a):
        raise Refused("non-canonical-key")
    if spk != m["bundle_id"]:
        raise Refused("bundle-id-mismatch")
    if spk not in prekeys:
        raise Refused("unknown-prekey")
    sk = x3dh_responder(bob, prekeys[spk], ik_a, ek_a)
    r = Ratchet()
    r.root, ck = kdf_rk(sk, dh(prekeys[spk], m["key"]))
    r.recv = {"key": m["key"], "ck": ck, "next": 0}
    r.chains = [{"key": m["key"], "keys": []}]
    s = Session(session_id(ik_a, ek_a, spk, bob.public), False, (bob.public, bob_inst), (ik_a, peer_inst), spk,
                None, r)
    return s, s.decrypt(m)


def message_entry(m):
    x3dh = None if m["initial"] is None else encode_x3dh_header(m["initial"][1], m["initial"][2], m["initial"][0])
    return encode_entry(x3dh=x3dh, dr=encode_dr_header(m["key"], m["n"], m["pn"], m["bundle_id"]),
                        payload=m["ciphertext"])


# --- schema: x3dh/kdf/v1 -----------------------------------------------------------------------


def h(b):
    return b.hex()


def unh(s):
    return bytes.fromhex(s)


def compute_kdf(doc):
    for c in doc["identities"]:
        ident = Identity(unh(c["seed"]))
        c["expected"] = {"ed25519_public": h(ident.public), "x25519_secret": h(ident.x_secret),
                         "x25519_public": h(ident.x_public)}
    for c in doc["kdf_rk"]:
        rk, ck = kdf_rk(unh(c["root_key"]), unh(c["dh_output"]))
        c["expected"] = {"root_key": h(rk), "chain_key": h(ck)}
    for c in doc["kdf_ck"]:
        ck, mk = kdf_ck(unh(c["chain_key"]))
        c["expected"] = {"chain_key": h(ck), "message_key": h(mk)}
    for c in doc["message_keys"]:
        key, nonce = message_keys(unh(c["message_key"]))
        c["expected"] = {"aead_key": h(key), "aead_nonce": h(nonce),
                         "header": h(header_bytes(unh(c["ratchet_key"]), c["pn"], c["n"])),
                         "ciphertext": h(seal(unh(c["message_key"]), unh(c["ad"]) + header_bytes(
                             unh(c["ratchet_key"]), c["pn"], c["n"]), unh(c["plaintext"])))}
    for c in doc["x25519_small_order"]:
        c["expected"] = {"small_order": x25519_is_small_order(unh(c["public"]))}
    return doc


# --- schema: x3dh/bundle/v1 --------------------------------------------------------------------


def compute_bundle(doc):
    for c in doc["cases"]:
        ident = Identity(unh(c["identity_seed"]))
        ts = c["timestamp_ms"] * 1_000_000
        prekeys = {p["installation"]: (x25519_public(unh(p["secret"])), p["version"], p["protocol_version"])
                   for p in c["prekeys"]}
        sig_input = bundle_signature_input(ident.public, ts, prekeys)
        sig = ident.sign(sig_input)
        wire = encode_bundle(ident.public, prekeys, sig, ts, SUITE_D)
        verify_bundle(wire)
        c["expected"] = {"identity": h(ident.public), "timestamp_ns": ts,
                         "prekeys": {i: h(k) for i, (k, _, _) in prekeys.items()},
                         "signature_input": h(sig_input), "signature": h(sig), "bundle": h(wire)}
    for c in doc["negative"]:
        try:
            verify_bundle(unh(c["bundle"]))
            result = "accepted"
        except Refused as e:
            result = e.name
        c["expected"] = {"error": result}
    return doc


# --- schema: x3dh/session/v1 -------------------------------------------------------------------


class Draws:
    """The entropy of one operation: the secrets given in the vector, each used at most once."""

    def __init__(self, secrets):
        self.secrets = list(secrets)
        self.used = 0

    def __call__(self):
        if self.used >= len(self.secrets):
            raise ValueError("the vector provides too few secrets")
        self.used += 1
        return self.secrets[self.used - 1]


def tampered(m, tamper):
    m = dict(m)
    field, value = tamper["field"], tamper.get("value")
    if field == "n":
        m["n"] = value
    elif field == "pn":
        m["pn"] = value
    elif field == "key":
        m["key"] = unh(value)
    elif field == "bundle_id":
        m["bundle_id"] = unh(value)
    elif field == "prekey":
        m["bundle_id"] = unh(value)
        m["initial"] = (m["initial"][0], m["initial"][1], unh(value))
    elif field == "ephemeral":
        m["initial"] = (m["initial"][0], unh(value), m["initial"][2])
    elif field == "initial":
        m["initial"] = None
    elif field == "ciphertext_bit":
        ct = bytearray(m["ciphertext"])
        ct[value // 8] ^= 1 << (value % 8)
        m["ciphertext"] = bytes(ct)
    else:
        raise ValueError("unknown tamper field " + field)
    return m


def other_party(name):
    return "alice" if name == "bob" else "bob"


def ratchet_counts(s):
    """The limits' state after a delivery (§7): stored keys, recorded chains, the age counter."""
    r = s.ratchet
    return {"stored_skipped_keys": r.stored(), "receiving_chains": len(r.chains), "receive_derivations": r.derived}


def deliver(sessions, identities, to, sender_inst, m):
    """Delivers m to `to`: respond without a session, else decrypt; a refusal changes nothing."""
    ident, inst, prekeys = identities[to]
    s = sessions[to]
    if s is None:
        s, pt = respond(ident, inst, prekeys, sender_inst, m)
        sessions[to] = s
        return s, pt
    snapshot = copy.deepcopy(s)
    try:
        return s, s.decrypt(m)
    except Refused:
        sessions[to] = snapshot
        raise


def send(s, messages, ev, draws):
    """One recorded message (or the refusal of its encryption, which changes nothing)."""
    try:
        m, mk = s.encrypt(unh(ev["plaintext"]), draws)
    except Refused as e:
        return {"error": e.name}
    messages[ev["id"]] = m
    key, nonce = message_keys(mk)
    return {
        "ratchet_key": h(m["key"]), "pn": m["pn"], "n": m["n"], "with_x3dh_header": m["initial"] is not None,
        "header": h(header_bytes(m["key"], m["pn"], m["n"])), "message_key": h(mk), "aead_key": h(key),
        "aead_nonce": h(nonce), "ciphertext": h(m["ciphertext"]), "entry": h(message_entry(m)),
    }


def stream(s, sessions, identities, ev, draws):
    """`count` messages from ev["from"], each delivered at once and in order to the other party."""
    to = other_party(ev["from"])
    digest = hashlib.sha256()
    for _ in range(ev["count"]):
        m, _ = s.encrypt(unh(ev["plaintext"]), draws)
        digest.update(message_entry(m))
        receiver, pt = deliver(sessions, identities, to, identities[ev["from"]][1], m)
        if pt != unh(ev["plaintext"]):
            raise ValueError("stream: a message decrypted to another plaintext")
    return dict({"entries_sha256": digest.hexdigest()}, **ratchet_counts(receiver))


def compute_session(doc):
    a, b = doc["alice"], doc["bob"]
    alice, bob = Identity(unh(a["identity_seed"])), Identity(unh(b["identity_seed"]))
    a_inst, b_inst = a["installation"], b["installation"]
    ts = doc["bundle_timestamp_ms"] * 1_000_000
    b_spk_secret, a_spk_secret = unh(b["prekey_secret"]), unh(a["prekey_secret"])
    b_spk, a_spk = x25519_public(b_spk_secret), x25519_public(a_spk_secret)

    def bundle(ident, inst, spk, version):
        prekeys = {inst: (spk, version, PROTOCOL_VERSION)}
        return encode_bundle(ident.public, prekeys, ident.sign(bundle_signature_input(ident.public, ts, prekeys)), ts,
                             SUITE_D)

    bob_bundle = bundle(bob, b_inst, b_spk, b["prekey_version"])
    alice_bundle = bundle(alice, a_inst, a_spk, a["prekey_version"])
    verify_bundle(bob_bundle)

    x = doc["x3dh"]
    ek_secret, ratchet_secret = unh(x["ephemeral_secret"]), unh(x["ratchet_secret"])
    ek = x25519_public(ek_secret)
    dh1, dh2, dh3, sk = x3dh_initiator(alice, ek_secret, bob.public, b_spk)
    assert x3dh_responder(bob, b_spk_secret, alice.public, ek) == sk
    rk, cks = kdf_rk(sk, dh(ratchet_secret, b_spk))
    ad = associated_data(alice.public, bob.public, a_inst, b_inst)
    sessions = {"alice": initiate(alice, a_inst, bob.public, b_inst, b_spk, ek_secret, ratchet_secret), "bob": None}
    x["expected"] = {
        "alice_identity": h(alice.public), "alice_identity_x25519": h(alice.x_public),
        "bob_identity": h(bob.public), "bob_identity_x25519": h(bob.x_public),
        "bob_prekey": h(b_spk), "bob_bundle": h(bob_bundle), "ephemeral_public": h(ek),
        "ratchet_public": h(x25519_public(ratchet_secret)),
        "dh1": h(dh1), "dh2": h(dh2), "dh3": h(dh3), "shared_secret": h(sk),
        "associated_data": h(ad), "session_id": h(session_id(alice.public, ek, b_spk, bob.public)),
        "x3dh_header": h(encode_x3dh_header(ek, b_spk, alice.public)),
        "initial_root_key": h(rk), "initial_sending_chain_key": h(cks),
    }

    identities = {"alice": (alice, a_inst, {a_spk: a_spk_secret}), "bob": (bob, b_inst, {b_spk: b_spk_secret})}
    messages = {}
    for ev in doc["events"]:
        if ev["op"] in ("send", "advance", "stream"):
            s = sessions[ev["from"]]
            given = [unh(ev["ratchet_secret"])] if ev.get("ratchet_secret") else []
            draws = Draws(given)
            if ev["op"] == "advance":
                for _ in range(ev["count"]):
                    s.encrypt(b"", draws)
            elif ev["op"] == "stream":
                ev["expected"] = stream(s, sessions, identities, ev, draws)
            else:
                ev["expected"] = send(s, messages, ev, draws)
            if draws.used != len(given):
                if not GENERATING:
                    raise ValueError("event %s: a ratchet secret was given but not used" % ev.get("id"))
                ev["ratchet_secret"] = None
        elif ev["op"] == "set_send_counter":
            sending = sessions[ev["from"]].ratchet.sending
            if sending is None:
                raise ValueError("set_send_counter: no sending chain")
            sending["n"] = ev["n"]
        elif ev["op"] == "deliver":
            m = messages[ev["message"]]
            if "tamper" in ev:
                m = tampered(m, ev["tamper"])
            sender_inst = ev.get("sender_installation", identities[other_party(ev["to"])][1])
            try:
                s, pt = deliver(sessions, identities, ev["to"], sender_inst, m)
                ev["expected"] = dict({"plaintext": h(pt), "session_id": h(s.sid)}, **ratchet_counts(s))
            except Refused as e:
                ev["expected"] = {"error": e.name}
        else:
            raise ValueError("unknown op " + ev["op"])

    if "envelope" not in doc:
        return doc
    env = doc["envelope"]
    first = messages[env["message"]]
    wire = encode_protocol_message(a_inst, [alice_bundle], {b_inst: message_entry(first)})
    env["expected"] = {"alice_bundle": h(alice_bundle), "protocol_message": h(wire)}
    return doc


# --- schema: x3dh/no-bundle/v1 -----------------------------------------------------------------


def no_bundle_keys(ek_secret, sender, recipient_ik):
    e = dh(ek_secret, ed_to_x_public(recipient_ik))
    s = dh(sender.x_secret, ed_to_x_public(recipient_ik))
    okm = hkdf(ZERO32, F + e + s, INFO_NO_BUNDLE, 44)
    return e, s, okm[:32], okm[32:]


def no_bundle_open(recipient, sender_ik, sender_inst, ek, ct):
    check_identity(sender_ik)
    if not is_canonical(ek):
        raise Refused("non-canonical-key")
    e = dh(recipient.x_secret, ek)
    s = dh(recipient.x_secret, ed_to_x_public(sender_ik))
    okm = hkdf(ZERO32, F + e + s, INFO_NO_BUNDLE, 44)
    ad = associated_data(sender_ik, recipient.public, sender_inst, NONE)
    try:
        return AESGCM(okm[:32]).decrypt(okm[32:], ct, ad)
    except Exception:
        raise Refused("authentication-failed")


def compute_no_bundle(doc):
    for c in doc["cases"]:
        sender, recipient = Identity(unh(c["sender_seed"])), Identity(unh(c["recipient_seed"]))
        ek_secret = unh(c["ephemeral_secret"])
        ek = x25519_public(ek_secret)
        e, s, key, nonce = no_bundle_keys(ek_secret, sender, recipient.public)
        ad = associated_data(sender.public, recipient.public, c["sender_installation"], NONE)
        ct = AESGCM(key).encrypt(nonce, unh(c["plaintext"]), ad)
        entry = encode_entry(payload=ct, dh_header=pb_bytes(1, ek) + pb_bytes(2, sender.public))
        wire = encode_protocol_message(c["sender_installation"], [], {NONE: entry})
        assert no_bundle_open(recipient, sender.public, c["sender_installation"], ek, ct) == unh(c["plaintext"])
        c["expected"] = {"ephemeral_public": h(ek), "dh_ephemeral": h(e), "dh_static": h(s), "aead_key": h(key),
                         "aead_nonce": h(nonce), "associated_data": h(ad), "ciphertext": h(ct),
                         "protocol_message": h(wire)}
    for c in doc["negative"]:
        recipient = Identity(unh(c["recipient_seed"]))
        try:
            no_bundle_open(recipient, unh(c["sender"]), c["sender_installation"], unh(c["ephemeral"]),
                           unh(c["ciphertext"]))
            result = "accepted"
        except Refused as e:
            result = e.name
        c["expected"] = {"error": result}
    return doc


# --- schema: x3dh/topics/v1 --------------------------------------------------------------------


def content_topic(s):
    return "/waku/1/0x" + keccak256(s.encode()).hex()[:8] + "/rfc26"


def compute_topics(doc):
    for c in doc["identities"]:
        ik = Identity(unh(c["seed"])).public
        partition = int.from_bytes(ik, "big") % PARTITIONS
        partitioned = "contact-discovery-%d" % partition
        code = "0x" + ik.hex() + "-contact-code"
        c["expected"] = {
            "identity": h(ik), "partition": partition, "partitioned_topic": partitioned,
            "partitioned_content_topic": content_topic(partitioned), "contact_code_topic": code,
            "contact_code_content_topic": content_topic(code),
            "contact_code_key": h(hashlib.pbkdf2_hmac("sha256", code.encode(), b"", PBKDF2_ITERATIONS, 32)),
        }
    for c in doc["pairs"]:
        me, them = Identity(unh(c["our_seed"])), Identity(unh(c["their_seed"]))
        secret = dh(me.x_secret, them.x_public)
        assert dh(them.x_secret, me.x_public) == secret
        topic = hkdf(ZERO32, secret, INFO_TOPIC, 32).hex()
        c["expected"] = {"secret": h(secret), "topic": topic, "content_topic": content_topic(topic),
                         "waku_key": h(hkdf(ZERO32, secret, INFO_TOPIC_KEY, 32))}
    return doc


SCHEMAS = {
    "x3dh/kdf/v1": compute_kdf,
    "x3dh/bundle/v1": compute_bundle,
    "x3dh/session/v1": compute_session,
    "x3dh/no-bundle/v1": compute_no_bundle,
    "x3dh/topics/v1": compute_topics,
}


# --- check -------------------------------------------------------------------------------------


def strip_expected(node):
    if isinstance(node, dict):
        return {k: strip_expected(v) for k, v in node.items() if k != "expected"}
    if isinstance(node, list):
        return [strip_expected(v) for v in node]
    return node


def compare(path, want, got, mismatches):
    """Returns the number of leaf values compared."""
    if isinstance(want, dict) and isinstance(got, dict):
        count = 0
        for k in sorted(set(want) | set(got)):
            if k not in want or k not in got:
                mismatches.append("%s.%s: present on one side only" % (path, k))
                continue
            count += compare("%s.%s" % (path, k), want[k], got[k], mismatches)
        return count
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            mismatches.append("%s: %d items, recomputed %d" % (path, len(want), len(got)))
            return 1
        return sum(compare("%s.%d" % (path, i), w, g, mismatches) for i, (w, g) in enumerate(zip(want, got)))
    if want != got or type(want) is not type(got):
        mismatches.append("%s: vector %r, recomputed %r" % (path, want, got))
    return 1


def check_file(path):
    with open(path) as fh:
        doc = json.load(fh)
    schema = doc.get("schema")
    if schema not in SCHEMAS:
        return None
    mismatches = []
    try:
        recomputed = SCHEMAS[schema](strip_expected(doc))
        checks = compare("$", doc, recomputed, mismatches)
    except Exception as e:  # a vector that cannot be recomputed is a failure, not a crash
        mismatches.append("recomputation failed: %r" % (e,))
        checks = 0
    return schema, checks, mismatches


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".json")]
        else:
            files.append(p)
    return sorted(files)


def cmd_check(paths):
    if not paths:
        paths = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "x3dh")]
    failed, total, files = False, 0, 0
    for f in collect(paths):
        result = check_file(f)
        if result is None:
            continue
        schema, checks, mismatches = result
        files += 1
        total += checks
        print("%s: %s (%s, %d values)" % ("FAILED" if mismatches else "ok", f, schema, checks))
        for m in mismatches[:50]:
            print("  " + m)
        failed |= bool(mismatches)
    if files == 0:
        print("no x3dh vectors found")
        return 1
    print("%d files, %d values: %s" % (files, total, "FAILED" if failed else "all recomputed"))
    return 1 if failed else 0


# --- generate ----------------------------------------------------------------------------------


def secret(label):
    return hashlib.sha256(b"status-1to1 x3dh vectors/" + label.encode()).digest()


def uuid4(label):
    b = bytearray(secret("installation/" + label)[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    s = b.hex()
    return "%s-%s-%s-%s-%s" % (s[:8], s[8:12], s[12:16], s[16:20], s[20:])


ORDER8 = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"


def scenario_kdf():
    return {
        "schema": "x3dh/kdf/v1",
        "description": "Primitives of the profile: identity key conversion (§1), KDF_RK, KDF_CK, message keys, "
                       "header encoding and AES-256-GCM (§6), small-order X25519 keys (§1).",
        "identities": [{"seed": h(secret("kdf/identity/%d" % i))} for i in range(3)]
        + [{"seed": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"}],
        "kdf_rk": [{"root_key": h(secret("kdf/rk/%d" % i)), "dh_output": h(secret("kdf/dh/%d" % i))} for i in range(3)],
        "kdf_ck": [{"chain_key": h(secret("kdf/ck/%d" % i))} for i in range(3)],
        "message_keys": [
            {"message_key": h(secret("kdf/mk/%d" % i)), "ratchet_key": h(x25519_public(secret("kdf/rat/%d" % i))),
             "pn": pn, "n": n, "ad": h(secret("kdf/ad/%d" % i) * 4), "plaintext": h(pt)}
            for i, (pn, n, pt) in enumerate([(0, 0, b""), (3, 7, b"hello"), (2**32 - 1, 1000, b"x" * 300)])
        ],
        "x25519_small_order": [{"public": p} for p in (
            "00" * 32, "01" + "00" * 31, ORDER8, "ec" + "ff" * 30 + "7f", "ed" + "ff" * 30 + "ff",
            h(x25519_public(secret("kdf/not-small"))))],
    }


def bundle_bytes(ident, prekeys, ts, suite=SUITE_D, signature=None, identity=None):
    sig = signature if signature is not None else ident.sign(bundle_signature_input(ident.public, ts, prekeys))
    return encode_bundle(identity if identity is not None else ident.public, prekeys, sig, ts, suite)


def scenario_bundle():
    ident = Identity(secret("bundle/identity"))
    ts = 1_700_000_000_000 * 1_000_000
    inst = [uuid4("bundle/%d" % i) for i in range(3)]
    spk = [x25519_public(secret("bundle/spk/%d" % i)) for i in range(3)]
    good = {inst[0]: (spk[0], 1, 1), inst[1]: (spk[1], 7, 1)}
    base = bundle_bytes(ident, good, ts)
    sig = ident.sign(bundle_signature_input(ident.public, ts, good))
    bad_sig = bytes([sig[0] ^ 1]) + sig[1:]
    changed_version = {inst[0]: (spk[0], 2, 1), inst[1]: (spk[1], 7, 1)}
    unsigned_pv = {inst[0]: (spk[0], 1, 0), inst[1]: (spk[1], 7, 1)}
    weak = {inst[0]: (unh(ORDER8), 1, 1)}
    weak_identity = (1).to_bytes(32, "little")  # y = 1: the neutral point
    off_curve = (2).to_bytes(32, "little")
    neg = [
        ("valid bundle (control)", base),
        ("signature with one bit flipped", bundle_bytes(ident, good, ts, signature=bad_sig)),
        ("version changed after signing", bundle_bytes(ident, changed_version, ts, signature=sig)),
        ("protocol_version changed after signing (it is signed)", bundle_bytes(ident, unsigned_pv, ts, signature=sig)),
        ("timestamp changed after signing", bundle_bytes(ident, good, ts + 1, signature=sig)),
        ("signed by another identity", bundle_bytes(Identity(secret("bundle/other")), good, ts,
                                                     identity=ident.public)),
        ("small-order prekey, correctly signed", bundle_bytes(ident, weak, ts)),
        ("identity is the neutral point (small order)", bundle_bytes(ident, good, ts, identity=weak_identity)),
        ("identity is not a curve point", bundle_bytes(ident, good, ts, identity=off_curve)),
        ("suite 0 (status-go)", bundle_bytes(ident, good, ts, suite=0)),
        ("63-byte signature", bundle_bytes(ident, good, ts, signature=sig[:63])),
        ("no prekeys", bundle_bytes(ident, {}, ts)),
        ("installation id 'none'", bundle_bytes(ident, {"none": (spk[0], 1, 1)}, ts)),
        ("31-byte prekey", bundle_bytes(ident, {inst[0]: (spk[0][:31], 1, 1)}, ts)),
    ]
    return {
        "schema": "x3dh/bundle/v1",
        "description": "Bundle signing and verification (§3). Positive cases sign; negative cases verify raw "
                       "protobuf bytes and name the first check that fails.",
        "cases": [
            {"name": "one installation", "identity_seed": h(ident.seed), "timestamp_ms": 1_700_000_000_000,
             "prekeys": [{"installation": inst[0], "secret": h(secret("bundle/spk/0")), "version": 1,
                          "protocol_version": 1}]},
            {"name": "three installations, sorted bytewise", "identity_seed": h(ident.seed),
             "timestamp_ms": 1_700_000_123_456,
             "prekeys": [{"installation": inst[i], "secret": h(secret("bundle/spk/%d" % i)), "version": v,
                          "protocol_version": 1} for i, v in ((2, 3), (0, 1), (1, 70000))]},
        ],
        "negative": [{"name": n, "bundle": h(b)} for n, b in neg],
    }


def scenario_session():
    s = lambda label: h(secret("session/" + label))  # noqa: E731
    ev = []
    ids = iter("m%d" % i for i in range(1000))

    def send(frm, text, ratchet=True):
        i = next(ids)
        ev.append({"op": "send", "from": frm, "id": i, "plaintext": h(text.encode()),
                   "ratchet_secret": s("ratchet/" + i) if ratchet else None})
        return i

    def deliver(to, m, **extra):
        ev.append(dict({"op": "deliver", "to": to, "message": m}, **extra))

    other = uuid4("session/mallory")
    m0, m1, m2 = send("alice", "Hello Bob"), send("alice", "second"), send("alice", "third")
    deliver("bob", m0, sender_installation=other, note="relabelled sender installation: AD differs")
    deliver("bob", m0, tamper={"field": "ephemeral", "value": "00" * 32}, note="small-order ephemeral key")
    deliver("bob", m0, tamper={"field": "prekey", "value": s("unknown-spk")}, note="prekey Bob never had")
    deliver("bob", m0, tamper={"field": "initial"}, note="no X3DH header and no session")
    deliver("bob", m0, tamper={"field": "bundle_id", "value": s("other-bundle")}, note="ids disagree")
    deliver("bob", m1, note="first contact out of order: creates the session, skips m0")
    deliver("bob", m1, note="duplicate")
    deliver("bob", m0, note="same X3DH header: the existing session decrypts it")
    m3, m4 = send("bob", "Hi Alice"), send("bob", "how are you")
    deliver("alice", m4, note="Alice's first receive: DH ratchet step, skips m3")
    deliver("alice", m3)
    deliver("bob", m2, note="still the first chain")
    m5, m6, m7 = send("alice", "fine"), send("alice", "thanks"), send("alice", "and you?")
    deliver("bob", m7, tamper={"field": "n", "value": 3}, note="tampered header: n")
    deliver("bob", m7, tamper={"field": "pn", "value": 2}, note="tampered header: pn")
    deliver("bob", m7, tamper={"field": "key", "value": s("forged-ratchet-key")}, note="tampered header: key")
    deliver("bob", m7, tamper={"field": "ciphertext_bit", "value": 5}, note="tampered ciphertext")
    deliver("bob", m7, note="new chain, skips m5 and m6")
    deliver("bob", m7, note="duplicate")
    deliver("bob", m5)
    m8, m9 = send("bob", "good"), send("bob", "busy day")
    deliver("alice", m9)
    deliver("alice", m8)
    m10 = send("alice", "same here")
    deliver("bob", m6, note="late message of an older chain, from its stored key")
    deliver("bob", m10)
    m11, m12, m13 = send("bob", "one"), send("bob", "two (lost)"), send("bob", "three")
    deliver("alice", m13)
    deliver("alice", m11)
    m14 = send("alice", "got one and three")
    deliver("bob", m14)
    m15 = send("bob", "ok")
    deliver("alice", m15)
    m16, m17 = send("alice", "ping"), send("alice", "ping again")
    deliver("bob", m17)
    deliver("bob", m16)
    m18 = send("bob", "pong")
    deliver("alice", m18)
    m19 = send("alice", "last round")
    deliver("bob", m19)
    m20 = send("bob", "bye")
    deliver("alice", m20)
    deliver("alice", m20, tamper={"field": "key", "value": s("unexpected-key")},
            note="new ratchet key before Alice replied")
    deliver("alice", m20, tamper={"field": "bundle_id", "value": s("other-session")}, note="wrong session")
    ev.append({"op": "advance", "from": "alice", "count": 1000, "ratchet_secret": s("ratchet/advance-1"),
               "note": "1000 messages sent and lost"})
    m21 = send("alice", "n = 1000: exactly MAX_SKIP skipped")
    deliver("bob", m21)
    m22 = send("alice", "n = 1001")
    ev.append({"op": "advance", "from": "alice", "count": 1001, "ratchet_secret": None,
               "note": "1001 more messages lost"})
    m23 = send("alice", "n = 2003: 1001 skipped")
    deliver("bob", m23, note="too many skipped")
    deliver("bob", m22)
    deliver("bob", m21, note="duplicate after many skipped keys")
    return {
        "schema": "x3dh/session/v1",
        "description": "X3DH from both sides (§5), ratchet initialisation and a conversation (§6, §7) with DH "
                       "steps, skipped and out-of-order messages and refusals. A ratchet_secret is the entropy "
                       "of a send that starts a new sending chain (null when none is drawn).",
        "alice": {"identity_seed": s("alice/identity"), "installation": uuid4("session/alice"),
                  "prekey_secret": s("alice/spk"), "prekey_version": 1},
        "bob": {"identity_seed": s("bob/identity"), "installation": uuid4("session/bob"),
                "prekey_secret": s("bob/spk"), "prekey_version": 4},
        "bundle_timestamp_ms": 1_700_000_000_000,
        "x3dh": {"ephemeral_secret": s("alice/ephemeral"), "ratchet_secret": s("alice/ratchet-0")},
        "events": ev,
        "envelope": {"message": m0, "note": "Alice's first message for Bob's installation, with Alice's bundle"},
    }


def scenario_no_bundle():
    sender, recipient = Identity(secret("nb/sender")), Identity(secret("nb/recipient"))
    inst = uuid4("nb/sender")
    ek_secret = secret("nb/ephemeral/0")
    ek = x25519_public(ek_secret)
    _, _, key, nonce = no_bundle_keys(ek_secret, sender, recipient.public)
    ct = AESGCM(key).encrypt(nonce, b"first contact", associated_data(sender.public, recipient.public, inst, NONE))
    eve = Identity(secret("nb/eve"))
    return {
        "schema": "x3dh/no-bundle/v1",
        "description": "No-bundle fallback (§8): no forward secrecy; sender authenticated by the static DH.",
        "cases": [
            {"sender_seed": h(sender.seed), "sender_installation": inst, "recipient_seed": h(recipient.seed),
             "ephemeral_secret": h(ek_secret), "plaintext": h(b"first contact")},
            {"sender_seed": h(sender.seed), "sender_installation": inst, "recipient_seed": h(recipient.seed),
             "ephemeral_secret": h(secret("nb/ephemeral/1")), "plaintext": "", "note": "bundle advert"},
        ],
        "negative": [
            {"name": "control", "recipient_seed": h(recipient.seed), "sender": h(sender.public),
             "sender_installation": inst, "ephemeral": h(ek), "ciphertext": h(ct)},
            {"name": "relabelled installation", "recipient_seed": h(recipient.seed), "sender": h(sender.public),
             "sender_installation": uuid4("nb/other"), "ephemeral": h(ek), "ciphertext": h(ct)},
            {"name": "claimed sender differs", "recipient_seed": h(recipient.seed), "sender": h(eve.public),
             "sender_installation": inst, "ephemeral": h(ek), "ciphertext": h(ct)},
            {"name": "small-order ephemeral", "recipient_seed": h(recipient.seed), "sender": h(sender.public),
             "sender_installation": inst, "ephemeral": ORDER8, "ciphertext": h(ct)},
            {"name": "another recipient", "recipient_seed": h(eve.seed), "sender": h(sender.public),
             "sender_installation": inst, "ephemeral": h(ek), "ciphertext": h(ct)},
            {"name": "ephemeral with bit 255 set (an alias: the same DH outputs)", "recipient_seed": h(recipient.seed),
             "sender": h(sender.public), "sender_installation": inst, "ephemeral": h(ek[:31] + bytes([ek[31] | 0x80])),
             "ciphertext": h(ct)},
        ],
    }


def scenario_topics():
    return {
        "schema": "x3dh/topics/v1",
        "description": "Topics (§9): partitioned, contact-code and negotiated topics, content topics and keys.",
        "identities": [{"seed": h(secret("topics/%d" % i))} for i in range(4)],
        "pairs": [{"our_seed": h(secret("topics/0")), "their_seed": h(secret("topics/1"))},
                  {"our_seed": h(secret("topics/1")), "their_seed": h(secret("topics/0"))},
                  {"our_seed": h(secret("topics/2")), "their_seed": h(secret("topics/3"))}],
    }


# --- the limits (§7): one conversation per file under limits/ ----------------------------------


class Script:
    """A conversation of the x3dh/session/v1 schema, written event by event; every secret is labelled
    "limits/<name>/..."."""

    def __init__(self, name):
        self.name, self.events, self.sent = name, [], 0

    def secret(self, label):
        return h(secret("limits/%s/%s" % (self.name, label)))

    def _add(self, event, note):
        if note:
            event["note"] = note
        self.events.append(event)

    def send(self, frm, text, note=None):
        i = "m%d" % self.sent
        self.sent += 1
        self._add({"op": "send", "from": frm, "id": i, "plaintext": h(text.encode()),
                   "ratchet_secret": self.secret("ratchet/" + i)}, note)
        return i

    def advance(self, frm, count, note=None):
        self._add({"op": "advance", "from": frm, "count": count,
                   "ratchet_secret": self.secret("ratchet/event-%d" % len(self.events))}, note)

    def stream(self, frm, count, note=None):
        self._add({"op": "stream", "from": frm, "count": count, "plaintext": "",
                   "ratchet_secret": self.secret("ratchet/event-%d" % len(self.events))}, note)

    def set_send_counter(self, frm, n, note=None):
        self._add({"op": "set_send_counter", "from": frm, "n": n}, note)

    def deliver(self, to, m, note=None, **extra):
        self._add(dict({"op": "deliver", "to": to, "message": m}, **extra), note)

    def reply(self, text="ok"):
        """Bob answers and Alice reads it: her next message starts a new sending chain."""
        r = self.send("bob", text)
        self.deliver("alice", r)
        return r

    def doc(self, description):
        return {
            "schema": "x3dh/session/v1",
            "description": description,
            "alice": {"identity_seed": self.secret("alice/identity"), "installation": uuid4(self.name + "/alice"),
                      "prekey_secret": self.secret("alice/spk"), "prekey_version": 1},
            "bob": {"identity_seed": self.secret("bob/identity"), "installation": uuid4(self.name + "/bob"),
                    "prekey_secret": self.secret("bob/spk"), "prekey_version": 1},
            "bundle_timestamp_ms": 1_700_000_000_000,
            "x3dh": {"ephemeral_secret": self.secret("alice/ephemeral"),
                     "ratchet_secret": self.secret("alice/ratchet-0")},
            "events": self.events,
        }


def scenario_chain_exhausted():
    c = Script("chain-exhausted")
    m0, m1 = c.send("alice", "first"), c.send("alice", "second")
    c.deliver("bob", m0)
    c.deliver("bob", m1, tamper={"field": "n", "value": U32_MAX},
              note="current chain, N = 2^32 - 1: chain-exhausted, checked before MAX_SKIP (which it also exceeds)")
    c.deliver("bob", m1, note="the refusal changed nothing")
    c.reply()
    m3 = c.send("alice", "new chain")
    c.deliver("bob", m3, tamper={"field": "n", "value": U32_MAX}, note="new ratchet key, N = 2^32 - 1")
    c.deliver("bob", m3)
    c.deliver("bob", m1, tamper={"field": "n", "value": U32_MAX},
              note="a recorded older chain is a stored-key lookup: no key for N, so duplicate")
    c.set_send_counter("alice", U32_MAX - 1, note="Ns = 2^32 - 2, as after that many sends (a snapshot edit: only "
                                                  "the counter changes, not the chain key)")
    last = c.send("alice", "n = 2^32 - 2: the last number of a chain")
    c.deliver("bob", last, note="2^32 - 3 keys to skip: too-many-skipped")
    c.send("alice", "one too many", note="Ns = 2^32 - 1: the sender refuses (chain-exhausted), state unchanged")
    c.send("alice", "still refused")
    return c.doc("Chain exhaustion (§6, §7): a header with N = 2^32 - 1 on the current and on a new chain, a "
                 "recorded older chain, and the sender's own counter at 2^32 - 1.")


def scenario_too_many_skipped_pn():
    c = Script("too-many-skipped-pn")
    m0 = c.send("alice", "first")
    c.deliver("bob", m0, note="Bob's Nr on Alice's first chain is 1")
    c.advance("alice", 1000, note="n = 1..1000 lost: Ns = 1001")
    c.reply()
    m2 = c.send("alice", "PN = 1001")
    c.deliver("bob", m2, note="PN - Nr = 1000 = MAX_SKIP: accepted, the 1000 keys are stored")
    c.advance("alice", 1001, note="n = 1..1001 of the second chain lost: Ns = 1002")
    c.reply()
    m4 = c.send("alice", "PN = 1002")
    c.deliver("bob", m4, note="PN - Nr = 1001 > MAX_SKIP with N = 0: too-many-skipped, caused by PN alone")
    c.deliver("bob", m4, tamper={"field": "pn", "value": 1001},
              note="PN - Nr = 1000 passes the limit; the changed header then fails the AEAD")
    c.deliver("bob", m4, tamper={"field": "pn", "value": 2**32 - 2}, note="PN far beyond the limit")
    return c.doc("Too many skipped keys caused by PN (§7 rule 3): the old chain's keys up to PN count against "
                 "MAX_SKIP even when the new chain needs none.")


def scenario_duplicate_older_chain():
    c = Script("duplicate-older-chain")
    m0, m1, m2 = c.send("alice", "zero"), c.send("alice", "one"), c.send("alice", "two")
    c.deliver("bob", m1, note="creates the session; m0's key is stored, m2 will be late")
    c.deliver("bob", m0)
    c.reply()
    m4 = c.send("alice", "second chain")
    c.deliver("bob", m4, note="Alice's first chain is now a recorded older chain; Bob's sending is pending")
    c.deliver("bob", m1, note="older chain, key used while it was current: duplicate (not a new ratchet key)")
    c.deliver("bob", m0, note="older chain, key used from storage: duplicate")
    c.deliver("bob", m2, note="older chain, stored key: decrypts")
    c.deliver("bob", m2, note="duplicate of a stored key used on the older chain")
    c.reply("second reply")
    c.deliver("bob", m1, note="still a duplicate with Bob's sending chain active")
    return c.doc("Duplicates on an older recorded chain (§7 rule 2): the chain record outlives its keys, so "
                 "a replay is refused as a duplicate rather than tried as a new ratchet key.")


def scenario_receiving_chains():
    c = Script("receiving-chains")
    x1a, x1b, y1 = c.send("alice", "1a"), c.send("alice", "1b"), c.send("alice", "1")
    c.deliver("bob", y1, note="chain 1: the keys of 1a and 1b are stored")
    late = {}
    for k in range(2, 6):
        c.reply("reply %d" % k)
        late[k] = c.send("alice", "%d late" % k)
        c.deliver("bob", c.send("alice", "%d" % k), note="chain %d: the late message's key is stored" % k)
    c.deliver("bob", x1a, note="5 chains recorded: chain 1 is still known")
    c.reply("reply 6")
    x6 = c.send("alice", "6 late")
    c.deliver("bob", c.send("alice", "6"), note="a 6th chain: chain 1's record and its key (1b) are dropped")
    c.deliver("bob", x1b, note="chain 1 is unknown now: a new ratchet key while Bob's sending is pending")
    c.send("bob", "reply 7")
    c.deliver("bob", x1b, note="with Bob's sending active it is tried as a new ratchet key and fails")
    c.deliver("bob", late[2], note="chain 2, the oldest recorded one, still decrypts")
    c.deliver("bob", x6)
    return c.doc("The 5-chain limit (§7): a 6th receiving chain drops the oldest chain's record and keys.")


def scenario_key_age():
    c = Script("key-age")
    m0, m1, m2 = c.send("alice", "zero"), c.send("alice", "one"), c.send("alice", "two")
    c.deliver("bob", m2, note="keys of m0 (counter 0) and m1 (1) stored; m2's key is 2")
    m3 = c.send("alice", "three")
    c.reply()
    m5, m6 = c.send("alice", "new chain 0"), c.send("alice", "new chain 1")
    c.deliver("bob", m6, note="one commit: the old chain's m3 (counter 3), then the new chain's m5 (4), m6 (5)")
    c.stream("alice", 2994, note="counter 3000: m0's key is exactly 3000 derivations old and kept")
    c.stream("alice", 1, note="counter 3001: m0's key is deleted by age")
    c.deliver("bob", m0, note="deleted by age")
    c.stream("alice", 2, note="counter 3003: m1's key deleted, m3's (3000 old) kept")
    c.stream("alice", 1, note="counter 3004: m3's key deleted, m5's kept")
    c.deliver("bob", m3, note="deleted by age: the old chain's keys are numbered before the new chain's")
    c.deliver("bob", m5, note="exactly 3000 derivations old")
    c.deliver("bob", m1, note="deleted by age")
    return c.doc("The key age (§7): a stored key is deleted once the per-session counter of receive-side key "
                 "derivations exceeds its own by more than 3000. A stream event sends count messages, each "
                 "delivered at once.")


def scenario_stored_keys():
    c = Script("stored-keys")
    c.deliver("bob", c.send("alice", "first"))
    probes = [c.send("alice", "probe %d" % n) for n in range(1, 5)]
    c.advance("alice", 996, note="n = 5..1000 lost")
    c.deliver("bob", c.send("alice", "n = 1001"), note="1000 keys stored (n = 1..1000)")
    c.advance("alice", 1000, note="n = 1002..2001 lost")
    c.deliver("bob", c.send("alice", "n = 2002"), note="2000 keys stored")
    q = c.send("alice", "n = 2003")
    c.deliver("bob", c.send("alice", "n = 2004"), note="2001 keys: the oldest derivation (n = 1) is evicted")
    c.deliver("bob", probes[0], note="evicted")
    t = c.send("alice", "n = 2005, old chain")
    c.reply()
    s0 = c.send("alice", "new chain 0")
    c.deliver("bob", c.send("alice", "new chain 1"),
              note="stores t (old chain, PN) then s0: 2002 keys, n = 2 and 3 of the first chain are evicted")
    c.deliver("bob", probes[2], note="evicted")
    c.deliver("bob", probes[1], note="evicted")
    c.deliver("bob", probes[3], note="the oldest key kept")
    c.deliver("bob", t, note="an older chain's key derived late is kept: eviction follows derivation order")
    c.deliver("bob", s0)
    c.deliver("bob", q)
    return c.doc("The 2000-key limit (§7): beyond 2000 stored keys the oldest derivations are evicted first, "
                 "across chains.")


def scenario_non_canonical_key():
    c = Script("non-canonical-key")
    m0 = c.send("alice", "first")
    ek = x25519_public(unh(c.secret("alice/ephemeral")))
    alias = ek[:31] + bytes([ek[31] | 0x80])
    c.deliver("bob", m0, tamper={"field": "ephemeral", "value": h(alias)},
              note="EK_A with bit 255 set: the same DH outputs under another session id")
    c.deliver("bob", m0, tamper={"field": "ephemeral", "value": h(P.to_bytes(32, "little"))},
              note="EK_A = p, an alias of 0: refused before any DH")
    c.deliver("bob", m0)
    c.deliver("bob", m0, tamper={"field": "ephemeral", "value": h(alias)},
              note="with the session: the header names another session id")
    return c.doc("Non-canonical ephemeral keys (§1, §5): a received EK_A must be below p with bit 255 clear.")


def scenario_header_id():
    c = Script("header-id")
    other = c.secret("other-bundle-id")
    m0, m1 = c.send("alice", "first"), c.send("alice", "second")
    c.deliver("bob", m0)
    c.deliver("bob", m1, tamper={"field": "bundle_id", "value": other},
              note="DRHeader.id changed: wrong-session (the session check comes before the X3DH header's)")
    c.deliver("bob", m1)
    c.reply()
    m3 = c.send("alice", "no X3DH header any more")
    c.deliver("bob", m3, tamper={"field": "bundle_id", "value": other},
              note="DRHeader.id is outside the AEAD: only the explicit check refuses it")
    c.deliver("bob", m3)
    return c.doc("DRHeader.id (§2, §7): not authenticated by the AEAD; the session refuses an id other than "
                 "its SPK_B (wrong-session).")


LIMIT_SCENARIOS = {
    "limits/chain-exhausted.json": scenario_chain_exhausted,
    "limits/too-many-skipped-pn.json": scenario_too_many_skipped_pn,
    "limits/duplicate-older-chain.json": scenario_duplicate_older_chain,
    "limits/receiving-chains.json": scenario_receiving_chains,
    "limits/key-age.json": scenario_key_age,
    "limits/stored-keys.json": scenario_stored_keys,
    "limits/non-canonical-key.json": scenario_non_canonical_key,
    "limits/header-id.json": scenario_header_id,
}


SCENARIOS = {
    "kdf.json": scenario_kdf,
    "bundle.json": scenario_bundle,
    "session.json": scenario_session,
    "no-bundle.json": scenario_no_bundle,
    "topics.json": scenario_topics,
    **LIMIT_SCENARIOS,
}


def cmd_generate(outdir):
    global GENERATING
    GENERATING = True
    os.makedirs(outdir, exist_ok=True)
    for name, scenario in SCENARIOS.items():
        doc = scenario()
        doc = SCHEMAS[doc["schema"]](doc)
        os.makedirs(os.path.dirname(os.path.join(outdir, name)), exist_ok=True)
        with open(os.path.join(outdir, name), "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        print("wrote", os.path.join(outdir, name))
    return 0


def main(argv):
    if len(argv) >= 1 and argv[0] == "check":
        return cmd_check(argv[1:])
    if len(argv) == 2 and argv[0] == "generate":
        return cmd_generate(argv[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
