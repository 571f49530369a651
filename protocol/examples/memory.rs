//! Measures the memory of an established session, and what each stored skipped key adds: the
//! inline size (`size_of`), the heap it owns (bytes a deep clone allocates, counted by an
//! instrumented global allocator) and its serialized size (postcard, the snapshot encoding).
//! vodozemac's and the Noise transport's figures are printed alongside.
//!
//! `cargo run --release -p status-1to1 --example memory`

#![allow(clippy::expect_used)] // measurement tool: a failed set-up aborts the run

use std::alloc::System;
use std::collections::BTreeMap;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use status_1to1::crypto::KeyPair;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::noise::{Handshake, HandshakeConfig, HandshakePattern, MessageNametag, Role};
use status_1to1::x3dh::{self, EncryptedMessage, PrekeyStore, Session, VerifiedBundle};
use status_1to1::{SeededEntropy, Timestamp};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes owned by `value`: what a deep clone allocates, net.
fn heap_of<T: Clone>(value: &T) -> usize {
    let region = Region::new(GLOBAL);
    let copy = value.clone();
    let change = region.change();
    drop(copy);
    change.bytes_allocated.saturating_sub(change.bytes_deallocated)
}

fn row<T: Clone + serde::Serialize>(label: &str, value: &T) -> (usize, usize) {
    let inline = std::mem::size_of::<T>();
    let heap = heap_of(value);
    let serialized = postcard::to_allocvec(value).map(|v| v.len()).unwrap_or(0);
    println!("| {label} | {inline} | {heap} | {} | {serialized} |", inline + heap);
    (inline + heap, serialized)
}

fn encrypt(session: Session, entropy: &mut SeededEntropy) -> (Session, EncryptedMessage) {
    session.encrypt(&[0u8; 64], entropy).expect("encrypt")
}

/// Alice's and Bob's sessions after one message each way.
fn established(entropy: &mut SeededEntropy) -> (Session, Session) {
    let now = Timestamp::from_millis(1_700_000_000_000);
    let (alice, alice_device) = (IdentityKeyPair::generate(entropy), InstallationId::generate(entropy));
    let (bob, bob_device) = (IdentityKeyPair::generate(entropy), InstallationId::generate(entropy));
    let prekeys = PrekeyStore::new(now, entropy);
    let entries = BTreeMap::from([(bob_device.clone(), prekeys.current().signed_prekey())]);
    let wire = VerifiedBundle::sign(&bob, entries, now).expect("sign").to_proto();
    let bundle = VerifiedBundle::verify_from(&wire, bob.public()).expect("verify");
    let session = x3dh::initiate(&alice, &alice_device, &bundle, &bob_device, entropy).expect("initiate");
    let (a, first) = encrypt(session, entropy);
    let (b, _) = x3dh::respond(&bob, &bob_device, &prekeys, now, &alice_device, &first).expect("respond");
    let (b, reply) = encrypt(b, entropy);
    let (a, _) = a.decrypt(&reply).expect("decrypt");
    (a, b)
}

fn x3dh_sessions() {
    let mut entropy = SeededEntropy::from_u64(1);
    let (alice, bob) = established(&mut entropy);
    row("X3DH session, initiator, established", &alice);
    row("X3DH session, responder, established", &bob);
    let mut alice = alice;
    let mut messages = Vec::new();
    for _ in 0..=1000 {
        let (next, m) = encrypt(alice, &mut entropy);
        alice = next;
        messages.push(m);
    }
    // The baseline reads message 0 of the same new chain, so the only difference is the keys.
    let mut base = bob.clone();
    base.decrypt_in_place(&messages[0]).expect("decrypt");
    let (base, base_ser) = row("responder after a DH step, 0 skipped keys", &base);
    for skipped in [1usize, 10, 100, 1000] {
        let mut receiver = bob.clone();
        receiver.decrypt_in_place(&messages[skipped]).expect("decrypt ahead");
        let (total, ser) = row(&format!("responder holding {skipped} skipped keys"), &receiver);
        let per_key = |now: usize, before: usize| (now as f64 - before as f64) / skipped as f64;
        println!("|   per skipped key | | | {:.1} | {:.1} |", per_key(total, base), per_key(ser, base_ser));
    }
}

fn noise_transport() {
    let mut entropy = SeededEntropy::from_u64(2);
    let tag = MessageNametag([0; 16]);
    let mut config =
        |role| HandshakeConfig::new(HandshakePattern::XX, role).local_static(KeyPair::generate(&mut entropy));
    let (ci, cr) = (config(Role::Initiator), config(Role::Responder));
    let (mut i, mut r) = (Handshake::new(ci).expect("init"), Handshake::new(cr).expect("init"));
    let m = i.write_message(&mut entropy, b"", &tag).expect("write");
    r.read_message(&m, &tag).expect("read");
    let m = r.write_message(&mut entropy, b"", &tag).expect("write");
    i.read_message(&m, &tag).expect("read");
    let m = i.write_message(&mut entropy, b"", &tag).expect("write");
    r.read_message(&m, &tag).expect("read");
    row("Noise XX handshake state, complete", &i);
    let (mut alice, mut bob) = (i.finalize().expect("finalize"), r.finalize().expect("finalize"));
    row("Noise transport state (XX)", &alice);
    transport_allocations(&mut alice, &mut bob);
}

/// Heap allocations of one transport write + read into caller buffers that are reused.
fn transport_allocations(alice: &mut status_1to1::noise::TransportState, bob: &mut status_1to1::noise::TransportState) {
    let (mut wire, mut out) = (Vec::with_capacity(8192), Vec::with_capacity(8192));
    for len in [256usize, 4096] {
        let plaintext = vec![0x61u8; len];
        wire.clear();
        out.clear();
        let region = Region::new(GLOBAL);
        alice.write_message_into(&plaintext, &mut wire).expect("write");
        bob.read_message_into(&wire, &mut out).expect("read");
        let allocations = region.change().allocations + region.change().reallocations;
        println!("| Noise transport write + read of {len} B: heap allocations | {allocations} | | | |");
    }
}

fn vodozemac_session() {
    use vodozemac::olm::{Account, OlmMessage, SessionConfig};
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let otk = *bob.one_time_keys().values().next().expect("otk");
    let config = SessionConfig::version_1();
    let mut a = alice.create_outbound_session(config, bob.curve25519_key(), otk).expect("outbound");
    let OlmMessage::PreKey(m) = a.encrypt(b"hello").expect("encrypt") else { return };
    let mut b = bob.create_inbound_session(config, alice.curve25519_key(), &m).expect("inbound").session;
    a.decrypt(&b.encrypt(b"hi").expect("encrypt")).expect("decrypt");
    let a = a.encrypt(b"x").map(|_| a).expect("encrypt");
    let inline = std::mem::size_of_val(&a);
    let pickle = serde_json::to_vec(&a.pickle()).map(|v| v.len()).unwrap_or(0);
    println!("| vodozemac Session, established (JSON pickle, not postcard) | {inline} | – | – | {pickle} |");
}

fn main() {
    println!("| object | size_of (B) | heap (B) | total (B) | serialized (B) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    x3dh_sessions();
    noise_transport();
    vodozemac_session();
}
