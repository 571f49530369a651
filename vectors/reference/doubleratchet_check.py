#!/usr/bin/env python3
"""Third-party check of the Double Ratchet vectors (`vectors/x3dh/`).

The ratchet state machine here is the PyPI package `doubleratchet` 1.3.0 (Syndace): its
`DoubleRatchet`, `DiffieHellmanRatchet`, `KDFChain` and its recommended HKDF / separate-HMAC
KDFs. This file only plugs in our profile's constants (docs/profile.md §5.6): the root KDF info,
the chain constant, the AEAD (HKDF message keys + AES-256-GCM), the header encoding and the
associated data, and feeds it SK, SPK_B's secret and the ratchet secrets the vectors give.
X3DH itself (SK, session ids, X3DH-header checks) is not the package's job and is not checked.

Where the package's rules differ from ours (docs/vectors.md, "The third-party ratchet check"),
the event is either not fed to it (counted as "not expressible") or fed to a copy and the
documented difference is confirmed (counted as "divergence"). Any other difference is a mismatch.

Usage: python3 vectors/reference/doubleratchet_check.py [PATH...]   (default vectors/x3dh)
Exit status 1 on any mismatch.
"""

import asyncio
import copy
import hashlib
import json
import os
import struct
import sys
import warnings
from collections import Counter

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import doubleratchet
from doubleratchet import AuthenticationFailedException, DoSProtectionException, DuplicateMessageException
from doubleratchet import EncryptedMessage, Header, KDFChain
from doubleratchet.recommended import HashFunction, diffie_hellman_ratchet_curve25519, kdf_hkdf, kdf_separate_hmacs

PACKAGE_VERSION = "1.3.0"
MAX_SKIP = 1000  # the package's dos_protection_threshold
MAX_STORED = 2000  # the package's max_num_skipped_message_keys
INFO_ROOT = b"WAKU2-1TO1-v1/Root"
INFO_MESSAGE_KEYS = b"WAKU2-1TO1-v1/MessageKeys"
# KDFChain.step keeps output[:32] as the next chain key and returns output[32:]; the separate-HMAC
# KDF outputs HMAC(ck, data[0]) || HMAC(ck, data[1]): so CK' = HMAC(ck, 0x02), MK = HMAC(ck, 0x01).
CHAIN_CONSTANT = b"\x02\x01"
UNUSED_SECRET = hashlib.sha256(b"doubleratchet_check/unused").digest()


# --- plugs: our profile's constants in the package's abstract classes ------------------------


class RootKDF(kdf_hkdf.KDF):
    """KDF_RK: HKDF-SHA256(salt = rk, ikm = dh, info = INFO_ROOT), RK' = [0..32], CK = [32..64]."""

    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256

    @staticmethod
    def _get_info():
        return INFO_ROOT


class ChainKDF(kdf_separate_hmacs.KDF):
    """KDF_CK: HMAC-SHA256 of the chain key over each byte of CHAIN_CONSTANT."""

    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256


def message_keys(mk):
    okm = HKDF(hashes.SHA256(), 44, b"\x00" * 32, INFO_MESSAGE_KEYS).derive(mk)
    return okm[:32], okm[32:]


class GcmAEAD(doubleratchet.AEAD):
    """ENCRYPT(MK, pt): AES-256-GCM with key and nonce from HKDF(MK). Records the MKs it is given."""

    used_keys = []

    @staticmethod
    async def encrypt(plaintext, key, associated_data):
        GcmAEAD.used_keys.append(key)
        aead_key, nonce = message_keys(key)
        return AESGCM(aead_key).encrypt(nonce, plaintext, associated_data)

    @staticmethod
    async def decrypt(ciphertext, key, associated_data):
        GcmAEAD.used_keys.append(key)
        aead_key, nonce = message_keys(key)
        try:
            return AESGCM(aead_key).decrypt(nonce, ciphertext, associated_data)
        except InvalidTag as e:
            raise AuthenticationFailedException("tag") from e


def header_bytes(header):
    """header(DHs, PN, N) = 0x01 || DHs || u32be(PN) || u32be(N)."""
    return b"\x01" + header.ratchet_pub + struct.pack(">II", header.previous_sending_chain_length,
                                                      header.sending_chain_length)


class Ratchet(doubleratchet.DoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data, header):
        return associated_data + header_bytes(header)


def party_dh_class():
    """The package's Curve25519 ratchet whose key generation returns `next_secret` (set by the driver)."""

    class PartyDH(diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet):
        next_secret = UNUSED_SECRET

        @staticmethod
        def _generate_priv():
            return PartyDH.next_secret

    return PartyDH


def config(dh_class):
    return dict(diffie_hellman_ratchet_class=dh_class, root_chain_kdf=RootKDF, message_chain_kdf=ChainKDF,
                message_chain_constant=CHAIN_CONSTANT, dos_protection_threshold=MAX_SKIP,
                max_num_skipped_message_keys=MAX_STORED, aead=GcmAEAD)


# --- encodings of §2 and §5 (inputs to the package and wire comparison) -----------------------


def varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(num, b, always=False):
    return varint(num << 3 | 2) + varint(len(b)) + b if (b or always) else b""


def field_uint(num, v):
    return varint(num << 3) + varint(v) if v else b""


def encode_entry(x3dh_header, header, spk_b, payload):
    dr = (field_bytes(1, header.ratchet_pub) + field_uint(2, header.sending_chain_length)
          + field_uint(3, header.previous_sending_chain_length) + field_bytes(4, spk_b))
    first = b"" if x3dh_header is None else field_bytes(1, x3dh_header, always=True)
    return first + field_bytes(2, dr, always=True) + field_bytes(3, payload)


def parse_fields(data):
    """{field: [values]}: ints for varints, bytes for length-delimited fields."""
    fields, i = {}, 0

    def read():
        nonlocal i
        value, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = read()
        if key & 7 == 0:
            value = read()
        elif key & 7 == 2:
            n = read()
            value, i = data[i:i + n], i + n
        else:
            raise ValueError("unsupported wire type")
        fields.setdefault(key >> 3, []).append(value)
    return fields


def encrypted_message(entry):
    f = parse_fields(entry)
    dr = parse_fields(f[2][-1])
    header = Header(ratchet_pub=dr.get(1, [b""])[-1], previous_sending_chain_length=dr.get(3, [0])[-1],
                    sending_chain_length=dr.get(2, [0])[-1])
    return EncryptedMessage(header=header, ciphertext=f.get(3, [b""])[-1])


def associated_data(ik_a, ik_b, inst_a, inst_b):
    return (b"\x01" + b"\xed" + ik_a + b"\xed" + ik_b + bytes([len(inst_a)]) + inst_a.encode()
            + bytes([len(inst_b)]) + inst_b.encode())


def tampered(msg, tamper):
    field, value = tamper["field"], tamper.get("value")
    h, ct = msg.header, msg.ciphertext
    if field == "n":
        h = h._replace(sending_chain_length=value)
    elif field == "pn":
        h = h._replace(previous_sending_chain_length=value)
    elif field == "key":
        h = h._replace(ratchet_pub=bytes.fromhex(value))
    elif field == "ciphertext_bit":
        ct = bytearray(ct)
        ct[value // 8] ^= 1 << (value % 8)
        ct = bytes(ct)
    else:
        raise ValueError("tamper field " + field)
    return EncryptedMessage(header=h, ciphertext=ct)


# --- tally --------------------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.checked = 0
        self.mismatches = []
        self.not_expressible = Counter()
        self.divergences = Counter()
        self.refusals = Counter()

    def compare(self, where, want, got):
        self.checked += 1
        if want != got:
            self.mismatches.append("%s: expected %r, package gives %r" % (where, want, got))


# Our refusal -> the package's, where the package refuses for another reason (docs/vectors.md),
# each with the condition on the header and the package's state that explains it.
OTHER_REASON = {
    ("duplicate", "authentication-failed"):
        ("an older chain's key is a new ratchet key to it (it keeps one receiving chain)", "new_key"),
    ("duplicate", "too-many-skipped"):
        ("an older chain's key is a new ratchet key to it, and N is past MAX_SKIP", "new_key"),
    ("unexpected-ratchet-key", "authentication-failed"):
        ("no pending sending half (its key is drawn at receipt): a DH step, then the AEAD", "new_key"),
    ("chain-exhausted", "too-many-skipped"): ("no 2^32 - 1 limit; N = 2^32 - 1 is past MAX_SKIP", "n_max"),
}

# Our limits that delete keys the package keeps (it deletes only on use and FIFO beyond 2000).
KEY_LIMIT_ERRORS = ("duplicate", "unexpected-ratchet-key", "authentication-failed")


def error_name(exc):
    if isinstance(exc, AuthenticationFailedException):
        return "authentication-failed"
    if isinstance(exc, DoSProtectionException):
        return "too-many-skipped"
    if isinstance(exc, DuplicateMessageException):
        return "duplicate"
    raise exc


def stored_keys(ratchet):
    return {(bytes(k.ratchet_pub), k.index) for k in ratchet.model.skipped_message_keys}


def other(party):
    return "alice" if party == "bob" else "bob"


# --- a conversation -----------------------------------------------------------------------------


class Conversation:
    def __init__(self, name, doc, tally):
        self.name, self.doc, self.t = name, doc, tally
        x = doc["x3dh"]["expected"]
        self.ik_a, self.ik_b = bytes.fromhex(x["alice_identity"]), bytes.fromhex(x["bob_identity"])
        self.inst = {"alice": doc["alice"]["installation"], "bob": doc["bob"]["installation"]}
        self.sk = bytes.fromhex(x["shared_secret"])
        self.spk_b = bytes.fromhex(x["bob_prekey"])
        self.spk_b_secret = bytes.fromhex(doc["bob"]["prekey_secret"])
        self.x3dh_header = bytes.fromhex(x["x3dh_header"])
        self.ad = associated_data(self.ik_a, self.ik_b, self.inst["alice"], self.inst["bob"])
        tally.compare(name + " associated_data", x["associated_data"], self.ad.hex())
        self.dh = {"alice": party_dh_class(), "bob": party_dh_class()}
        self.ratchet = {"alice": None, "bob": None}
        self.awaiting_reply = True  # Alice attaches the X3DH header until she decrypts something
        self.entries, self.sent = {}, {}
        self.counts_diverged_at = None

    def upcoming_secret(self, index, party):
        """The package draws a ratchet key at receipt; ours at the next send: the secret of that send."""
        for ev in self.doc["events"][index + 1:]:
            if ev["op"] in ("send", "advance", "stream") and ev["from"] == party and ev.get("ratchet_secret"):
                return bytes.fromhex(ev["ratchet_secret"])
        return UNUSED_SECRET

    async def check_initial_chains(self):
        x = self.doc["x3dh"]
        dh_class = self.dh["alice"]
        dh_class.next_secret = bytes.fromhex(x["ratchet_secret"])
        dhr = await dh_class.create(None, self.spk_b, RootKDF, self.sk, ChainKDF, CHAIN_CONSTANT, MAX_SKIP)
        model = dhr.model
        self.t.compare(self.name + " initial_root_key", x["expected"]["initial_root_key"], model.root_chain.key.hex())
        self.t.compare(self.name + " initial_sending_chain_key", x["expected"]["initial_sending_chain_key"],
                       model.symmetric_key_ratchet.sending_chain.key.hex())

    async def encrypt(self, party, plaintext):
        r = self.ratchet[party]
        if r is None:
            if party != "alice":
                raise ValueError("Bob sends before he has a session")
            self.dh["alice"].next_secret = bytes.fromhex(self.doc["x3dh"]["ratchet_secret"])
            r, msg = await Ratchet.encrypt_initial_message(
                **config(self.dh["alice"]), shared_secret=self.sk, recipient_ratchet_pub=self.spk_b,
                message=plaintext, associated_data=self.ad)
            self.ratchet[party] = r
        else:
            msg = await r.encrypt_message(plaintext, self.ad)
        initial = self.x3dh_header if party == "alice" and self.awaiting_reply else None
        return msg, GcmAEAD.used_keys[-1], encode_entry(initial, msg.header, self.spk_b, msg.ciphertext)

    async def decrypt(self, party, msg, ad, index, on_copy):
        """(ratchet, plaintext, warned); the ratchet is a new one, a copy or the party's own."""
        self.dh[party].next_secret = self.upcoming_secret(index, party)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = self.ratchet[party]
            if r is None:
                r, pt = await Ratchet.decrypt_initial_message(
                    **config(self.dh[party]), shared_secret=self.sk, own_ratchet_priv=self.spk_b_secret,
                    message=msg, associated_data=ad)
            else:
                if on_copy:
                    r = copy.deepcopy(r)
                pt = await r.decrypt_message(msg, ad)
        warned = any("message keys skipped" in str(w.message) for w in caught)
        return r, pt, warned

    def compare_stored(self, where, want, r):
        got = len(r.model.skipped_message_keys)
        if self.counts_diverged_at is not None:
            self.t.not_expressible["stored_skipped_keys after our key limits deleted keys the package keeps"] += 1
        elif got > want:
            # Confirmed at the end of the conversation by a key the package still holds (see run).
            self.counts_diverged_at = where
            self.t.divergences["package keeps keys our age / chain-record limits deleted (stored count)"] += 1
        else:
            self.t.compare(where + " stored_skipped_keys", want, got)

    def skip_unmodelled(self, expected, what):
        for key in ("session_id", "receiving_chains", "receive_derivations"):
            if key in expected:
                self.t.not_expressible["%s (%s)" % (key, what)] += 1

    async def run(self):
        await self.check_initial_chains()
        self.limit_deleted = False
        for i, ev in enumerate(self.doc["events"]):
            where = "%s event %d (%s)" % (self.name, i, ev["op"])
            op = ev["op"]
            if op == "send":
                await self.send(where, ev)
            elif op == "advance":
                for _ in range(ev["count"]):
                    await self.encrypt(ev["from"], b"")
            elif op == "stream":
                await self.stream(where, i, ev)
            elif op == "set_send_counter":
                self.set_send_counter(ev)
            elif op == "deliver":
                await self.deliver(where, i, ev)
            else:
                raise ValueError("unknown op " + op)
        if self.counts_diverged_at is not None and not self.limit_deleted:
            self.t.mismatches.append("%s: the package stores more keys, and no refused message shows a key our "
                                     "limits deleted" % self.counts_diverged_at)

    async def send(self, where, ev):
        exp = ev["expected"]
        if "error" in exp:
            self.t.not_expressible["refused send (%s): the package has no 2^32 - 1 chain limit" % exp["error"]] += 1
            return
        msg, mk, entry = await self.encrypt(ev["from"], bytes.fromhex(ev["plaintext"]))
        aead_key, nonce = message_keys(mk)
        got = {"ratchet_key": msg.header.ratchet_pub.hex(), "pn": msg.header.previous_sending_chain_length,
               "n": msg.header.sending_chain_length, "with_x3dh_header": ev["from"] == "alice" and self.awaiting_reply,
               "header": header_bytes(msg.header).hex(), "message_key": mk.hex(), "aead_key": aead_key.hex(),
               "aead_nonce": nonce.hex(), "ciphertext": msg.ciphertext.hex(), "entry": entry.hex()}
        for key, value in got.items():
            self.t.compare("%s %s %s" % (where, ev["id"], key), exp[key], value)
        self.entries[ev["id"]] = bytes.fromhex(exp["entry"])
        self.sent[ev["id"]] = (bytes.fromhex(ev["plaintext"]), exp["message_key"])

    async def stream(self, where, index, ev):
        party, to = ev["from"], other(ev["from"])
        pt = bytes.fromhex(ev["plaintext"])
        digest = hashlib.sha256()
        for _ in range(ev["count"]):
            msg, _, entry = await self.encrypt(party, pt)
            digest.update(entry)
            r, got, _ = await self.decrypt(to, msg, self.ad, index, on_copy=False)
            self.ratchet[to] = r
            if to == "alice":
                self.awaiting_reply = False
            if got != pt:
                self.t.mismatches.append(where + ": a streamed message decrypted to another plaintext")
        exp = ev["expected"]
        self.t.compare(where + " entries_sha256", exp["entries_sha256"], digest.hexdigest())
        self.compare_stored(where, exp["stored_skipped_keys"], self.ratchet[to])
        self.skip_unmodelled(exp, "stream")

    def set_send_counter(self, ev):
        r = self.ratchet[ev["from"]]
        model = r.model
        model.diffie_hellman_ratchet.symmetric_key_ratchet.sending_chain.length = ev["n"]
        self.ratchet[ev["from"]] = Ratchet.from_model(model, **config(self.dh[ev["from"]]))

    async def deliver(self, where, index, ev):
        to, exp = ev["to"], ev["expected"]
        tamper = ev.get("tamper")
        if tamper and tamper["field"] in ("bundle_id", "prekey", "ephemeral", "initial"):
            self.t.not_expressible["X3DH / DRHeader.id check (%s): not in the package" % exp.get("error")] += 1
            return
        msg = encrypted_message(self.entries[ev["message"]])
        if tamper:
            msg = tampered(msg, tamper)
        ad = self.ad
        if self.ratchet[to] is None and "sender_installation" in ev:
            ad = associated_data(self.ik_a, self.ik_b, ev["sender_installation"], self.inst["bob"])
        if "error" in exp:
            await self.refused(where, index, ev, msg, ad)
            return
        try:
            r, pt, _ = await self.decrypt(to, msg, ad, index, on_copy=False)
        except (AuthenticationFailedException, DoSProtectionException, DuplicateMessageException) as e:
            self.t.mismatches.append("%s: expected %s, package refuses: %s" % (where, exp["plaintext"], error_name(e)))
            return
        self.ratchet[to] = r
        if to == "alice":
            self.awaiting_reply = False
        self.t.compare(where + " plaintext", exp["plaintext"], pt.hex())
        if not tamper:
            self.t.compare(where + " message_key", self.sent[ev["message"]][1], GcmAEAD.used_keys[-1].hex())
        self.compare_stored(where, exp["stored_skipped_keys"], r)
        self.skip_unmodelled(exp, "deliver")

    async def refused(self, where, index, ev, msg, ad):
        to, ours = ev["to"], ev["expected"]["error"]
        before = self.ratchet[to]
        held = stored_keys(before) if before is not None else set()
        state = json.dumps(before.json, sort_keys=True) if before is not None else None
        try:
            r, pt, warned = await self.decrypt(to, msg, ad, index, on_copy=True)
        except (AuthenticationFailedException, DoSProtectionException, DuplicateMessageException) as e:
            theirs = error_name(e)
            if before is not None:
                self.t.compare(where + " state unchanged", state, json.dumps(before.json, sort_keys=True))
            if theirs == ours:
                self.t.refusals["same reason: " + ours] += 1
                self.t.checked += 1
            elif (ours, theirs) in OTHER_REASON and self.explains(OTHER_REASON[(ours, theirs)][1], msg, before):
                self.t.refusals["%s -> %s: %s" % (ours, theirs, OTHER_REASON[(ours, theirs)][0])] += 1
                self.t.checked += 1
            elif ours == "too-many-skipped" and theirs == "authentication-failed" and self.pn_over_limit(msg, before):
                self.t.divergences["PN - Nr > MAX_SKIP only warns (then the AEAD refuses the forged PN)"] += 1
            else:
                self.t.mismatches.append("%s: expected %s, package refuses with %s" % (where, ours, theirs))
            return
        # The package accepted what we refuse: only the two documented differences may explain it.
        key = (msg.header.ratchet_pub, msg.header.sending_chain_length)
        if ours == "too-many-skipped" and warned and self.pn_over_limit(msg, before):
            self.t.divergences["PN - Nr > MAX_SKIP only warns; the package decrypts"] += 1
        elif ours in KEY_LIMIT_ERRORS and key in held and pt == self.sent[ev["message"]][0]:
            self.t.divergences["package still holds a key our age / chain-record limits deleted"] += 1
            self.limit_deleted = True
        else:
            self.t.mismatches.append("%s: expected %s, package decrypts %s" % (where, ours, pt.hex()))

    @staticmethod
    def explains(condition, msg, before):
        if condition == "n_max":
            return msg.header.sending_chain_length == 2**32 - 1
        return before is not None and msg.header.ratchet_pub != before.model.diffie_hellman_ratchet.other_ratchet_pub

    @staticmethod
    def pn_over_limit(msg, before):
        if before is None:
            return False
        dhr = before.model.diffie_hellman_ratchet
        nr = dhr.symmetric_key_ratchet.receiving_chain.length
        return msg.header.ratchet_pub != dhr.other_ratchet_pub and msg.header.previous_sending_chain_length - nr > MAX_SKIP


# --- x3dh/kdf/v1: the package's KDF chains on their own -----------------------------------------


async def check_kdf(name, doc, t):
    for i, c in enumerate(doc["kdf_rk"]):
        chain = KDFChain.create(RootKDF, bytes.fromhex(c["root_key"]))
        ck = await chain.step(bytes.fromhex(c["dh_output"]), 32)
        t.compare("%s kdf_rk[%d] root_key" % (name, i), c["expected"]["root_key"], chain.model.key.hex())
        t.compare("%s kdf_rk[%d] chain_key" % (name, i), c["expected"]["chain_key"], ck.hex())
    for i, c in enumerate(doc["kdf_ck"]):
        chain = KDFChain.create(ChainKDF, bytes.fromhex(c["chain_key"]))
        mk = await chain.step(CHAIN_CONSTANT, 32)
        t.compare("%s kdf_ck[%d] chain_key" % (name, i), c["expected"]["chain_key"], chain.model.key.hex())
        t.compare("%s kdf_ck[%d] message_key" % (name, i), c["expected"]["message_key"], mk.hex())
    for i, c in enumerate(doc["message_keys"]):
        header = Header(bytes.fromhex(c["ratchet_key"]), c["pn"], c["n"])
        ct = await GcmAEAD.encrypt(bytes.fromhex(c["plaintext"]), bytes.fromhex(c["message_key"]),
                                   Ratchet._build_associated_data(bytes.fromhex(c["ad"]), header))
        t.compare("%s message_keys[%d] header" % (name, i), c["expected"]["header"], header_bytes(header).hex())
        t.compare("%s message_keys[%d] ciphertext" % (name, i), c["expected"]["ciphertext"], ct.hex())


# --- driver -------------------------------------------------------------------------------------


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".json")]
        else:
            files.append(p)
    return sorted(files)


async def main(paths):
    if doubleratchet.__version__ != PACKAGE_VERSION:
        print("doubleratchet %s found, %s required" % (doubleratchet.__version__, PACKAGE_VERSION))
        return 1
    total = Tally()
    conversations = 0
    for path in collect(paths):
        with open(path) as f:
            doc = json.load(f)
        name = os.path.relpath(path)
        t = Tally()
        if doc.get("schema") == "x3dh/session/v1":
            await Conversation(name, doc, t).run()
            conversations += 1
        elif doc.get("schema") == "x3dh/kdf/v1":
            await check_kdf(name, doc, t)
        else:
            print("%s: %s is not a ratchet conversation, not checked" % (name, doc.get("schema")))
            continue
        print("%s: %d checked, %d refusals, %d not expressible, %d divergences, %d mismatches"
              % (name, t.checked, sum(t.refusals.values()), sum(t.not_expressible.values()),
                 sum(t.divergences.values()), len(t.mismatches)))
        for m in t.mismatches[:20]:
            print("  MISMATCH " + m)
        total.checked += t.checked
        total.mismatches += t.mismatches
        total.not_expressible.update(t.not_expressible)
        total.divergences.update(t.divergences)
        total.refusals.update(t.refusals)
    for title, counter in (("refusals", total.refusals), ("not expressible in the package", total.not_expressible),
                           ("divergences confirmed", total.divergences)):
        print(title + ":")
        for k, v in sorted(counter.items()):
            print("  %5d  %s" % (v, k))
    print("doubleratchet %s: %d conversations, %d values checked, %d mismatches"
          % (doubleratchet.__version__, conversations, total.checked, len(total.mismatches)))
    if total.mismatches or conversations == 0:
        return 1
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:] or ["vectors/x3dh"])))
