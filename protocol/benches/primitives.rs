//! The floor: the primitives every protocol operation is made of, measured with the same crates
//! and features the protocol links, so that ratios in `docs/performance.md` compare like with like.
//!
//! `cargo bench -p status-1to1 --bench primitives`

use std::hint::black_box;

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use status_1to1::SeededEntropy;
use status_1to1::crypto::hash::{hkdf_sha256, hmac_sha256, sha256};
use status_1to1::crypto::{KeyPair, SecretKey};
use status_1to1::identity::IdentityKey;

mod common;

fn x25519(c: &mut Criterion) {
    let mut g = common::group(c, "floor/x25519");
    let (a, b) = (SecretKey::from_bytes([1; 32]), SecretKey::from_bytes([2; 32]).public_key());
    g.bench_function("dh", |bench| bench.iter(|| black_box(&a).diffie_hellman(black_box(&b))));
    g.bench_function("public_from_secret", |bench| bench.iter(|| black_box(&a).public_key()));
    let mut entropy = SeededEntropy::from_u64(1);
    g.bench_function("keygen", |bench| bench.iter(|| KeyPair::generate(&mut entropy)));
    g.finish();
}

fn ed25519(c: &mut Criterion) {
    let mut g = common::group(c, "floor/ed25519");
    let signing = SigningKey::from_bytes(&[7; 32]);
    let verifying = signing.verifying_key();
    let message = [0x42u8; 64];
    let signature = signing.sign(&message);
    g.bench_function("sign_64", |bench| bench.iter(|| signing.sign(black_box(&message))));
    g.bench_function("verify_strict_64", |bench| {
        bench.iter(|| verifying.verify_strict(black_box(&message), black_box(&signature)))
    });
    let bytes = verifying.to_bytes();
    g.bench_function("decompress_and_verify_strict_64", |bench| {
        bench.iter(|| VerifyingKey::from_bytes(black_box(&bytes)).map(|vk| vk.verify_strict(&message, &signature)))
    });
    g.bench_function("ed_to_x_from_wire", |bench| bench.iter(|| IdentityKey::from_bytes(black_box(&bytes))));
    g.finish();
}

fn hashes(c: &mut Criterion) {
    let mut g = common::group(c, "floor/hash");
    let key = [3u8; 32];
    g.bench_function("sha256_64", |bench| bench.iter(|| sha256(&[black_box(&[0u8; 64])])));
    g.bench_function("hmac_sha256_32", |bench| bench.iter(|| hmac_sha256(black_box(&key), &[&[1u8; 32]])));
    g.bench_function("hkdf_sha256_64", |bench| {
        bench.iter(|| hkdf_sha256::<64>(black_box(&key), &[&[9u8; 32]], b"info"))
    });
    g.finish();
}

fn aeads(c: &mut Criterion) {
    let mut g = common::group(c, "floor/aead");
    for len in common::SIZES {
        let mut buffer = vec![0u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("aes256gcm_seal_{len}"), |bench| {
            bench.iter(|| {
                let cipher = aes_gcm::Aes256Gcm::new(&[5u8; 32].into());
                cipher.encrypt_inout_detached(&[0u8; 12].into(), b"", buffer.as_mut_slice().into())
            })
        });
        g.bench_function(format!("chacha20poly1305_seal_{len}"), |bench| {
            bench.iter(|| {
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(&[5u8; 32].into());
                cipher.encrypt_inout_detached(&[0u8; 12].into(), b"", buffer.as_mut_slice().into())
            })
        });
    }
    // The Noise transport pads to a multiple of 248 bytes: these are its AEAD lengths.
    for len in common::SIZES.map(common::noise_padded_len) {
        let mut buffer = vec![0u8; len];
        g.bench_function(format!("chacha20poly1305_seal_padded_{len}"), |bench| {
            bench.iter(|| {
                let cipher = chacha20poly1305::ChaCha20Poly1305::new(&[5u8; 32].into());
                cipher.encrypt_inout_detached(&[0u8; 12].into(), &[0u8; 16], buffer.as_mut_slice().into())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, x25519, ed25519, hashes, aeads);
criterion_main!(benches);
