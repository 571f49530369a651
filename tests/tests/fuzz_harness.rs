//! Runs every fuzz target body under plain `cargo test`, with the real crypto backend: a short
//! random run per target (proptest; few cases for the expensive ones) plus a replay of every
//! minimized regression input in `fuzz/regressions/<target>/` and of the committed corpus in
//! `fuzz/corpus/<target>/`. For the expensive targets (whole peers, snapshots, ratchet) the
//! corpus replay takes a fixed sample (the first inputs by file name, which cargo-fuzz derives
//! from the content hash): `cargo test` builds the protocol crate without optimization, where one
//! whole-peer input can take a second.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::PathBuf;

use proptest::prelude::*;
use status_1to1_conformance::fuzz_targets::{self, TARGETS};

/// No cap on the corpus replay.
const ALL: usize = usize::MAX;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        assert!(source.contains(&format!("fuzz_targets::{name}(")), "{} does not call its body", path.display());
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks the bin {name}");
    }
}

fn replay(name: &str, corpus_cap: usize) {
    let body = TARGETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b).unwrap();
    for kind in ["regressions", "corpus"] {
        let dir = fuzz_dir().join(kind).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        paths.sort();
        if kind == "corpus" {
            paths.truncate(corpus_cap);
        }
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| body(&data));
            assert!(result.is_ok(), "{name}: {} fails", path.display());
        }
    }
}

/// One test per target: the committed inputs, then random ones.
macro_rules! target_tests {
    ($($name:ident: $cases:expr, $max_len:expr, $corpus_cap:expr;)*) => {
        mod replay {
            use super::ALL;
            $(
                #[test]
                fn $name() {
                    super::replay(stringify!($name), $corpus_cap);
                }
            )*
        }

        mod random {
            use super::*;
            $(
                proptest! {
                    #![proptest_config(ProptestConfig::with_cases($cases))]
                    #[test]
                    fn $name(data in proptest::collection::vec(any::<u8>(), 0..$max_len)) {
                        fuzz_targets::$name(&data);
                    }
                }
            )*
        }

        #[test]
        fn the_lists_agree() {
            let listed: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            assert_eq!(listed, vec![$(stringify!($name)),*]);
        }
    };
}

target_tests! {
    // name: random cases, random input length, corpus inputs replayed
    payload_v2: 256, 400, ALL;
    waku_message: 256, 400, ALL;
    protobufs: 256, 400, ALL;
    identity_strings: 256, 400, ALL;
    pairing_qr: 256, 300, ALL;
    snapshot: 24, 300, 40;
    noise_handshake: 48, 300, ALL;
    noise_handshake_null: 8, 300, 40;
    noise_transport: 48, 300, ALL;
    x3dh: 48, 300, ALL;
    x3dh_null: 8, 300, 40;
    ratchet: 32, 300, 60;
    ratchet_null: 8, 300, 20;
    peers: 6, 200, 12;
    peers_null: 2, 200, 6;
    statusgo_bundle: 128, 400, ALL;
    statusgo_handle: 32, 1200, ALL;
    statusgo_payload: 64, 600, ALL;
    status_app: 128, 600, ALL;
}
