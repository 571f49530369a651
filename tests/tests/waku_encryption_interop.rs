//! Live differential test of the 26/WAKU2-PAYLOAD layer against `@waku/message-encryption`
//! 0.0.27 (npm; `tests/waku-encryption-js/peer.mjs` drives its `preCipher`, `postCipher` and
//! asymmetric and symmetric encryption): our envelopes opened by js with our signer recovered,
//! and js's opened by us with theirs, for ECIES and AES-GCM and several payload sizes. Skipped
//! with a message when Node or the npm package is missing, except in CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::PathBuf;

use serde_json::json;
use status_1to1::SeededEntropy;
use status_1to1::statusgo::SecretKey;
use status_1to1::statusgo::payload::{self, PayloadError};
use status_1to1_conformance::jsnoise::{JsPeer, hx, program_for_test, unhex};

const SIZES: [usize; 6] = [0, 1, 190, 255, 256, 1000];

fn js() -> Option<JsPeer> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("waku-encryption-js");
    program_for_test(JsPeer::start_program(&dir, "@waku/message-encryption"))
}

fn payload_of(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + size) as u8).collect()
}

#[test]
fn our_envelopes_open_in_js_with_our_signer() {
    let Some(mut js) = js() else { return };
    let mut entropy = SeededEntropy::from_u64(1);
    let (alice, bob) = (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy));
    let key = [0x42u8; 32];
    for size in SIZES {
        let data = payload_of(size);
        let asymmetric = payload::seal_asymmetric(&alice, &bob.public_key(), &data, &mut entropy);
        let symmetric = payload::seal_symmetric(&alice, &key, &data, &mut entropy);
        for (kind, sealed) in [("asymmetric", asymmetric), ("symmetric", symmetric)] {
            let request = json!({"op": "open", "kind": kind, "sealed": hx(&sealed),
                "recipient": hx(bob.to_bytes().as_ref()), "key": hx(&key)});
            let opened = js.ok(request).unwrap_or_else(|e| panic!("{kind} {size}: {e}"));
            assert_eq!(unhex(&opened["payload"]), data, "{kind} {size}");
            assert_eq!(unhex(&opened["signer"]), alice.public_key().uncompressed().to_vec(), "{kind} {size}");
        }
    }
}

#[test]
fn js_envelopes_open_here_with_their_signer() {
    let Some(mut js) = js() else { return };
    let mut entropy = SeededEntropy::from_u64(2);
    let (carol, dave) = (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy));
    let key = [0x17u8; 32];
    for size in SIZES {
        let data = payload_of(size);
        for kind in ["asymmetric", "symmetric"] {
            let request = json!({"op": "seal", "kind": kind, "payload": hx(&data),
                "signer": hx(carol.to_bytes().as_ref()), "recipient": hx(&dave.public_key().uncompressed()), "key": hx(&key)});
            let sealed = unhex(&js.ok(request).unwrap()["sealed"]);
            let opened = match kind {
                "asymmetric" => payload::open_asymmetric(&dave, &sealed),
                _ => payload::open_symmetric(&key, &sealed),
            }
            .unwrap_or_else(|e| panic!("{kind} {size}: {e}"));
            assert_eq!(opened.data, data, "{kind} {size}");
            assert_eq!(opened.signer, carol.public_key(), "{kind} {size}");
            // What js made is refused under the wrong key, as ours would be.
            let wrong = match kind {
                "asymmetric" => payload::open_asymmetric(&carol, &sealed),
                _ => payload::open_symmetric(&[0; 32], &sealed),
            };
            assert!(matches!(wrong, Err(PayloadError::Ecies | PayloadError::Symmetric)), "{kind} {size}");
        }
    }
}
