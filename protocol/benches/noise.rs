//! Waku Noise: a full handshake of every pattern (both sides in one process, ephemeral keys drawn
//! inside the handshake as in real use, wire encoding included), transport messages of 256 B and
//! 4 KiB, and `snow` doing the same XX handshake and transport in the same run.
//!
//! `cargo bench -p status-1to1 --bench noise`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use status_1to1::crypto::{KeyPair, SecretKey};
use status_1to1::noise::{
    Handshake, HandshakeConfig, HandshakePattern, HandshakeStatus, MessageNametag, NoiseError, PayloadV2, Psk, Role,
    TransportState,
};
use status_1to1::{Entropy, SeededEntropy};

mod common;

const NAMETAG: MessageNametag = MessageNametag([0x5a; 16]);
const PATTERNS: [HandshakePattern; 5] = [
    HandshakePattern::K1K1,
    HandshakePattern::XK1,
    HandshakePattern::XX,
    HandshakePattern::XXpsk0,
    HandshakePattern::WakuPairing,
];

/// Static keys of both parties, generated once (a device's static key outlives its handshakes).
struct Statics {
    initiator: KeyPair,
    responder: KeyPair,
}

fn configs(pattern: HandshakePattern, statics: &Statics, entropy: &mut dyn Entropy) -> [HandshakeConfig; 2] {
    let mut i = HandshakeConfig::new(pattern, Role::Initiator).prologue(b"bench".to_vec());
    let mut r = HandshakeConfig::new(pattern, Role::Responder).prologue(b"bench".to_vec());
    i = i.local_static(statics.initiator.clone());
    r = r.local_static(statics.responder.clone());
    match pattern {
        HandshakePattern::K1K1 => {
            i = i.remote_static(*statics.responder.public());
            r = r.remote_static(*statics.initiator.public());
        }
        HandshakePattern::XK1 => i = i.remote_static(*statics.responder.public()),
        HandshakePattern::XXpsk0 => {
            i = i.psk(Psk::from_bytes([9; 32]));
            r = r.psk(Psk::from_bytes([9; 32]));
        }
        HandshakePattern::WakuPairing => {
            // The responder's ephemeral key is shown in the QR code: one key generation of its side.
            let qr = KeyPair::generate(entropy);
            i = i.remote_ephemeral(*qr.public());
            r = r.local_ephemeral(qr);
        }
        _ => {}
    }
    [i, r]
}

/// Runs one complete handshake, both sides, through PayloadV2 wire bytes.
fn handshake(
    pattern: HandshakePattern,
    statics: &Statics,
    entropy: &mut dyn Entropy,
) -> Result<(TransportState, TransportState), NoiseError> {
    let [i, r] = configs(pattern, statics, entropy);
    let mut sides = [Handshake::new(i)?, Handshake::new(r)?];
    let mut turn = 0;
    while sides[0].status() != HandshakeStatus::Complete {
        let wire = sides[turn].write_message(entropy, b"", &NAMETAG)?.encode()?;
        let other = 1 - turn;
        sides[other].read_message(&PayloadV2::decode(&wire)?, &NAMETAG)?;
        if sides[turn].status() != HandshakeStatus::WriteNext {
            turn = other;
        }
    }
    let [i, r] = sides;
    Ok((i.finalize()?, r.finalize()?))
}

/// A snow resolver with a seeded RNG (the workspace builds snow without OS entropy).
struct SeededResolver;

struct SeededRandom(SeededEntropy);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRandom(SeededEntropy::from_u64(3))))
    }
    fn resolve_dh(&self, choice: &snow::params::DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }
    fn resolve_hash(&self, choice: &snow::params::HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }
    fn resolve_cipher(&self, choice: &snow::params::CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

fn snow_xx(secrets: &[[u8; 32]; 2]) -> Result<(snow::TransportState, snow::TransportState), snow::Error> {
    fn build(secret: &[u8; 32]) -> Result<snow::Builder<'_>, snow::Error> {
        let params = "Noise_XX_25519_ChaChaPoly_SHA256".parse()?;
        snow::Builder::with_resolver(params, Box::new(SeededResolver)).local_private_key(secret)?.prologue(b"bench")
    }
    let mut i = build(&secrets[0])?.build_initiator()?;
    let mut r = build(&secrets[1])?.build_responder()?;
    let (mut wire, mut payload) = ([0u8; 256], [0u8; 256]);
    let n = i.write_message(&[], &mut wire)?;
    r.read_message(&wire[..n], &mut payload)?;
    let n = r.write_message(&[], &mut wire)?;
    i.read_message(&wire[..n], &mut payload)?;
    let n = i.write_message(&[], &mut wire)?;
    r.read_message(&wire[..n], &mut payload)?;
    Ok((i.into_transport_mode()?, r.into_transport_mode()?))
}

fn handshakes(c: &mut Criterion) {
    let mut g = common::group(c, "noise/handshake");
    let mut entropy = SeededEntropy::from_u64(1);
    let statics = Statics { initiator: KeyPair::generate(&mut entropy), responder: KeyPair::generate(&mut entropy) };
    for pattern in PATTERNS {
        g.bench_function(format!("{pattern:?}"), |b| b.iter(|| handshake(pattern, &statics, &mut entropy)));
    }
    let secrets = [statics.initiator.secret().to_bytes(), statics.responder.secret().to_bytes()];
    g.bench_function("snow_XX", |b| b.iter(|| snow_xx(black_box(&secrets))));
    g.finish();
}

fn transport(c: &mut Criterion) {
    let mut g = common::group(c, "noise/transport");
    let mut entropy = SeededEntropy::from_u64(2);
    let statics = Statics { initiator: KeyPair::generate(&mut entropy), responder: KeyPair::generate(&mut entropy) };
    let secrets = [SecretKey::from_bytes([1; 32]).to_bytes(), SecretKey::from_bytes([2; 32]).to_bytes()];
    let Ok((mut alice, mut bob)) = handshake(HandshakePattern::XX, &statics, &mut entropy) else { return };
    let Ok((mut snow_a, mut snow_b)) = snow_xx(&secrets) else { return };
    for len in common::SIZES {
        let plaintext = vec![0x61u8; len];
        let (mut wire, mut out) = (Vec::with_capacity(len + 512), Vec::with_capacity(len + 512));
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("write_read_{len}"), |b| {
            b.iter(|| {
                wire.clear();
                out.clear();
                alice.write_message_into(black_box(&plaintext), &mut wire)?;
                bob.read_message_into(&wire, &mut out)
            })
        });
        let (mut snow_wire, mut snow_out) = (vec![0u8; len + 16], vec![0u8; len + 16]);
        g.bench_function(format!("snow_write_read_{len}"), |b| {
            b.iter(|| {
                let n = snow_a.write_message(black_box(&plaintext), &mut snow_wire)?;
                snow_b.read_message(&snow_wire[..n], &mut snow_out)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, handshakes, transport);
criterion_main!(benches);
