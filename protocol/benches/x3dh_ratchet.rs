//! X3DH + Double Ratchet: session creation on both sides, steady-chain messages of 256 B and
//! 4 KiB, a ping-pong where every message is a DH ratchet step, decryption N messages ahead
//! (skipped keys), `vodozemac` (Olm: 3DH + Double Ratchet) doing the same in the same run, and
//! Suite S (status-go's secp256k1 X3DH and Double Ratchet) beside them.
//!
//! `cargo bench -p status-1to1 --bench x3dh_ratchet`

#![allow(clippy::expect_used)] // bench set-up: a failure is a broken bench, reported at once

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::x3dh::{self, EncryptedMessage, PrekeyStore, Session, VerifiedBundle};
use status_1to1::{SeededEntropy, Timestamp};
use vodozemac::olm::{Account, OlmMessage, SessionConfig};

mod common;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// Alice (initiator) and Bob (responder) with Bob's prekeys and verified bundle.
struct Parties {
    alice: IdentityKeyPair,
    alice_device: InstallationId,
    bob: IdentityKeyPair,
    bob_device: InstallationId,
    prekeys: PrekeyStore,
    bundle: VerifiedBundle,
    wire_bundle: status_1to1::proto::Bundle,
}

fn parties(entropy: &mut SeededEntropy) -> Parties {
    let (alice, alice_device) = (IdentityKeyPair::generate(entropy), InstallationId::generate(entropy));
    let (bob, bob_device) = (IdentityKeyPair::generate(entropy), InstallationId::generate(entropy));
    let prekeys = PrekeyStore::new(NOW, entropy);
    let entries = BTreeMap::from([(bob_device.clone(), prekeys.current().signed_prekey())]);
    let wire_bundle = VerifiedBundle::sign(&bob, entries, NOW).expect("bundle signs").to_proto();
    let bundle = VerifiedBundle::verify_from(&wire_bundle, bob.public()).expect("bundle verifies");
    Parties { alice, alice_device, bob, bob_device, prekeys, bundle, wire_bundle }
}

impl Parties {
    fn initiate(&self, entropy: &mut SeededEntropy) -> Session {
        x3dh::initiate(&self.alice, &self.alice_device, &self.bundle, &self.bob_device, entropy).expect("initiate")
    }

    fn respond(&self, first: &EncryptedMessage) -> (Session, Vec<u8>) {
        x3dh::respond(&self.bob, &self.bob_device, &self.prekeys, NOW, &self.alice_device, first).expect("respond")
    }

    /// Both sessions after a message each way and one more from Alice: the initiator is
    /// confirmed (plain headers) and Alice's next message continues her current chain.
    fn established(&self, entropy: &mut SeededEntropy) -> (Session, Session) {
        let (alice, first) = self.initiate(entropy).encrypt(b"hello", entropy).expect("encrypt");
        let (bob, _) = self.respond(&first);
        let (bob, reply) = bob.encrypt(b"hi", entropy).expect("encrypt");
        let (alice, _) = alice.decrypt(&reply).expect("decrypt");
        let (alice, again) = alice.encrypt(b"again", entropy).expect("encrypt");
        let (bob, _) = bob.decrypt(&again).expect("decrypt");
        (alice, bob)
    }
}

/// Encrypts with `session` in place (the API consumes and returns the session).
fn encrypt(session: &mut Option<Session>, plaintext: &[u8], entropy: &mut SeededEntropy) -> EncryptedMessage {
    let (next, message) = session.take().expect("session").encrypt(plaintext, entropy).expect("encrypt");
    *session = Some(next);
    message
}

fn creation(c: &mut Criterion) {
    let mut g = common::group(c, "x3dh/create");
    let mut entropy = SeededEntropy::from_u64(1);
    let p = parties(&mut entropy);
    g.bench_function("bundle_verify", |b| {
        b.iter(|| VerifiedBundle::verify_from(black_box(&p.wire_bundle), p.bob.public()))
    });
    g.bench_function("initiate", |b| b.iter(|| p.initiate(&mut entropy)));
    g.bench_function("initiate_and_encrypt_256", |b| {
        b.iter(|| p.initiate(&mut entropy).encrypt(&[0u8; 256], &mut entropy).map(|(_, m)| m))
    });
    let (_, first) = p.initiate(&mut entropy).encrypt(&[0u8; 256], &mut entropy).expect("encrypt");
    g.bench_function("respond_and_decrypt_256", |b| b.iter(|| p.respond(black_box(&first))));
    g.bench_function("both_sides_first_message_256", |b| {
        b.iter(|| {
            let (_, first) = p.initiate(&mut entropy).encrypt(&[0u8; 256], &mut entropy).expect("encrypt");
            p.respond(&first)
        })
    });
    g.finish();
}

fn steady(c: &mut Criterion) {
    let mut g = common::group(c, "ratchet/steady");
    let mut entropy = SeededEntropy::from_u64(2);
    let p = parties(&mut entropy);
    for len in common::SIZES {
        let plaintext = vec![0x61u8; len];
        let (alice, mut bob) = p.established(&mut entropy);
        let mut alice = Some(alice);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("encrypt_decrypt_{len}"), |b| {
            b.iter(|| {
                let message = encrypt(&mut alice, black_box(&plaintext), &mut entropy);
                bob.decrypt_in_place(&message)
            })
        });
        g.bench_function(format!("encrypt_{len}"), |b| {
            b.iter(|| encrypt(&mut alice, black_box(&plaintext), &mut entropy))
        });
        let (alice, bob) = p.established(&mut entropy);
        let mut alice = Some(alice);
        let messages: Vec<EncryptedMessage> = (0..64).map(|_| encrypt(&mut alice, &plaintext, &mut entropy)).collect();
        g.bench_function(format!("decrypt_{len}"), |b| {
            b.iter_batched_ref(|| bob.clone(), |bob| bob.decrypt_in_place(&messages[0]), BatchSize::SmallInput)
        });
    }
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = common::group(c, "ratchet/dh_step");
    let mut entropy = SeededEntropy::from_u64(3);
    let p = parties(&mut entropy);
    let (alice, bob) = p.established(&mut entropy);
    let mut sides = [Some(alice), Some(bob)];
    let mut turn = 0;
    let plaintext = [0x61u8; 256];
    // Each iteration is one message, from the side that received last: a DH ratchet step each.
    g.bench_function("ping_pong_256_per_message", |b| {
        b.iter(|| {
            let message = encrypt(&mut sides[turn], &plaintext, &mut entropy);
            turn = 1 - turn;
            sides[turn].as_mut().expect("session").decrypt_in_place(&message)
        })
    });
    g.finish();
}

fn skipped(c: &mut Criterion) {
    let mut g = common::group(c, "ratchet/skip");
    let mut entropy = SeededEntropy::from_u64(4);
    let p = parties(&mut entropy);
    let (alice, bob) = p.established(&mut entropy);
    let mut alice = Some(alice);
    let messages: Vec<EncryptedMessage> = (0..=1000).map(|_| encrypt(&mut alice, &[0u8; 256], &mut entropy)).collect();
    for ahead in [0usize, 10, 100, 500, 1000] {
        g.bench_function(format!("decrypt_{ahead}_ahead"), |b| {
            b.iter_batched_ref(|| bob.clone(), |bob| bob.decrypt_in_place(&messages[ahead]), BatchSize::SmallInput)
        });
    }
    let mut ahead = bob.clone();
    ahead.decrypt_in_place(&messages[500]).expect("decrypt");
    g.bench_function("decrypt_from_skipped_store_of_500", |b| {
        b.iter_batched_ref(|| ahead.clone(), |bob| bob.decrypt_in_place(&messages[250]), BatchSize::SmallInput)
    });
    g.bench_function("clone_session_holding_500_skipped", |b| b.iter(|| black_box(&ahead).clone()));
    g.finish();
}

/// vodozemac: Bob publishes a fallback key, so one account serves every iteration.
fn vodozemac(c: &mut Criterion) {
    let mut g = common::group(c, "vodozemac");
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_fallback_key();
    let bob_otk = *bob.fallback_key().values().next().expect("fallback key");
    let (alice_key, bob_key) = (alice.curve25519_key(), bob.curve25519_key());
    let config = SessionConfig::version_1();
    g.bench_function("outbound_create_and_encrypt_256", |b| {
        b.iter(|| alice.create_outbound_session(config, bob_key, bob_otk).map(|mut s| s.encrypt([0u8; 256])))
    });
    let first = alice.create_outbound_session(config, bob_key, bob_otk).expect("outbound").encrypt([0u8; 256]);
    let OlmMessage::PreKey(first) = first.expect("encrypt") else { return };
    g.bench_function("inbound_create_and_decrypt_256", |b| {
        b.iter(|| bob.create_inbound_session(config, alice_key, black_box(&first)))
    });
    for len in common::SIZES {
        let plaintext = vec![0x61u8; len];
        let mut a = alice.create_outbound_session(config, bob_key, bob_otk).expect("outbound");
        let m = a.encrypt(b"hello").expect("encrypt");
        let OlmMessage::PreKey(m) = m else { return };
        let mut b2 = bob.create_inbound_session(config, alice_key, &m).expect("inbound").session;
        let reply = b2.encrypt(b"hi").expect("encrypt");
        a.decrypt(&reply).expect("decrypt");
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("steady_encrypt_decrypt_{len}"), |bench| {
            bench.iter(|| a.encrypt(black_box(&plaintext)).map(|m| b2.decrypt(&m)))
        });
    }
    let mut a = alice.create_outbound_session(config, bob_key, bob_otk).expect("outbound");
    let OlmMessage::PreKey(m) = a.encrypt(b"hello").expect("encrypt") else { return };
    let b2 = bob.create_inbound_session(config, alice_key, &m).expect("inbound").session;
    let mut sides = [a, b2];
    let mut turn = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("ping_pong_256_per_message", |bench| {
        bench.iter(|| {
            let message = sides[turn].encrypt([0x61u8; 256]);
            turn = 1 - turn;
            message.map(|m| sides[turn].decrypt(&m))
        })
    });
    g.finish();
}

/// Suite S: status-go's X3DH and bundles, a first message through a whole installation, and its
/// Double Ratchet (steady chain and DH steps), the same sizes as Suite D above.
fn suite_s(c: &mut Criterion) {
    use status_1to1::statusgo::ratchet::Session as SuiteS;
    use status_1to1::statusgo::{Bundle, Installation, SecretKey, x3dh as sx3dh};
    let mut g = common::group(c, "suite_s");
    let mut entropy = SeededEntropy::from_u64(6);
    let now = 1_700_000_000_000_000_000;
    let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::generate(&mut entropy)).collect();
    let [alice_key, ephemeral, bob_key, prekey]: [SecretKey; 4] = keys.try_into().expect("four keys");
    let (bob_public, prekey_public) = (bob_key.public_key(), prekey.public_key());
    g.bench_function("x3dh_initiator_secret", |b| {
        b.iter(|| sx3dh::initiator_secret(&alice_key, &ephemeral, &bob_public, &prekey_public))
    });
    let mut bob = Installation::new(bob_key.clone(), "bob-1".into());
    let wire = bob.bundle(now, &mut entropy).expect("bundle").to_proto();
    g.bench_function("bundle_verify", |b| b.iter(|| Bundle::from_proto(black_box(&wire))));
    let bundle = Bundle::from_proto(&wire).expect("bundle");
    g.bench_function("both_sides_first_message_256", |b| {
        b.iter_batched(
            || (Installation::new(alice_key.clone(), "alice-1".into()), bob.clone()),
            |(mut alice, mut bob)| {
                alice.process_bundle(&bundle);
                let message = alice.build(&bob_public, &[0x61; 256], now, &mut entropy).expect("build");
                bob.handle(&alice_key.public_key(), &message, &mut entropy).expect("handle")
            },
            BatchSize::SmallInput,
        )
    });
    let sk = [7u8; 32];
    for len in common::SIZES {
        let plaintext = vec![0x61u8; len];
        let mut alice = SuiteS::initiator(&sk, prekey_public, &mut entropy);
        let mut bob = SuiteS::responder(&sk, prekey.clone());
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("ratchet_steady_encrypt_decrypt_{len}"), |b| {
            b.iter(|| {
                let (header, ciphertext) = alice.encrypt(black_box(&plaintext));
                bob.decrypt(&header, &ciphertext, &mut entropy).expect("decrypt")
            })
        });
    }
    let mut sides = [SuiteS::initiator(&sk, prekey_public, &mut entropy), SuiteS::responder(&sk, prekey.clone())];
    let mut turn = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("ratchet_ping_pong_256_per_message", |b| {
        b.iter(|| {
            let (header, ciphertext) = sides[turn].encrypt(&[0x61; 256]);
            turn = 1 - turn;
            sides[turn].decrypt(&header, &ciphertext, &mut entropy).expect("decrypt")
        })
    });
    g.finish();
}

criterion_group!(benches, creation, steady, ping_pong, skipped, vodozemac, suite_s);
criterion_main!(benches);
