//! Guard for the fuzzing-only null crypto backend (`status_1to1::crypto::null`): a normal build
//! has no `--cfg fuzzing`, so the backend is not compiled at all, and the primitives it would
//! replace produce their published known answers through the very entry points that hold the
//! switch (`KeyPair::diffie_hellman`, `chachapoly::seal_into`/`open_into`, `aesgcm::seal_into`/
//! `open_into`, `CipherKey::seal_in_place`). If a null backend were ever reachable here, these
//! vectors would fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use status_1to1::crypto::chachapoly::CipherKey;
use status_1to1::crypto::{KeyPair, SecretKey, aesgcm, chachapoly};
use status_1to1_conformance::fuzz_targets;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[test]
fn normal_builds_have_no_null_backend() {
    // A compile-time guard: this test file does not even build with `--cfg fuzzing`.
    const { assert!(!cfg!(fuzzing), "plain cargo test must not be built with --cfg fuzzing") };
    assert!(!fuzz_targets::null_crypto());
    // Asking for null crypto outside a cargo-fuzz build still runs the real primitives.
    fuzz_targets::with_null_crypto(|_| assert!(!fuzz_targets::null_crypto()), &[]);
}

#[test]
fn x25519_is_real_rfc7748_section_6_1() {
    let alice = KeyPair::from_secret(SecretKey::from_bytes(unhex(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    )));
    let bob = KeyPair::from_secret(SecretKey::from_bytes(unhex(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    )));
    let shared = alice.diffie_hellman(bob.public()).unwrap();
    assert_eq!(hex::encode(shared.as_bytes()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

#[test]
fn chacha20poly1305_is_real_rfc8439_section_2_8_2() {
    let key: [u8; 32] = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce: [u8; 12] = unhex("070000004041424344454647");
    let ad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
    let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let mut ct = Vec::new();
    chachapoly::seal_into(&key, &nonce, &ad, pt, &mut ct);
    assert_eq!(hex::encode(&ct[..16]), "d31a8d34648e60db7b86afbc53ef7ec2");
    assert_eq!(hex::encode(&ct[ct.len() - 16..]), "1ae10b594f09e26a7e902ecbd0600691");
    let mut buffer = pt.to_vec();
    let tag = CipherKey::from_bytes(key).seal_in_place(&nonce, &ad, &mut buffer);
    assert_eq!(hex::encode(tag), "1ae10b594f09e26a7e902ecbd0600691");
    assert_ne!(buffer, pt, "seal_in_place encrypts");
    let mut back = Vec::new();
    chachapoly::open_into(&key, &nonce, &ad, &ct, &mut back).unwrap();
    assert_eq!(back, pt);
    // The body is authenticated (the null backend would accept this).
    ct[0] ^= 1;
    assert!(chachapoly::open_into(&key, &nonce, &ad, &ct, &mut Vec::new()).is_err());
}

#[test]
fn aes256gcm_is_real_gcm_spec_test_case_16() {
    let key: [u8; 32] = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888");
    let pt = hex::decode(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    )
    .unwrap();
    let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
    let mut ct = Vec::new();
    aesgcm::seal_into(&key, &nonce, &aad, &pt, &mut ct);
    assert_eq!(hex::encode(&ct[ct.len() - 16..]), "76fc6ece0f4e1768cddf8853bb2d551b");
    ct[0] ^= 1;
    assert!(aesgcm::open_into(&key, &nonce, &aad, &ct, &mut Vec::new()).is_err());
}
