//! Runs every fuzz target body under plain `cargo test`, with the real crypto backend: a short
//! random run per target (proptest; few cases for the expensive ones) plus a replay of the
//! minimized regression inputs in `fuzz/regressions/<target>/` and of the committed seed corpus
//! in `fuzz/corpus/<target>/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::PathBuf;

use proptest::prelude::*;
use status_1to1_conformance::fuzz_targets::{self, TARGETS};

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

fn replay(name: &str) {
    let body = TARGETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b).unwrap();
    for kind in ["regressions", "corpus"] {
        let dir = fuzz_dir().join(kind).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| body(&data));
            assert!(result.is_ok(), "{name}: {} fails", path.display());
        }
    }
}

/// One test per target: the committed inputs, then random ones.
macro_rules! target_tests {
    ($($name:ident: $cases:expr, $max_len:expr;)*) => {
        mod replay {
            $(
                #[test]
                fn $name() {
                    super::replay(stringify!($name));
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
    payload_v2: 256, 400;
    waku_message: 256, 400;
    protobufs: 256, 400;
    identity_strings: 256, 400;
    pairing_qr: 256, 300;
    snapshot: 24, 300;
    noise_handshake: 48, 300;
    noise_handshake_null: 8, 300;
    noise_transport: 48, 300;
    x3dh: 48, 300;
    x3dh_null: 8, 300;
    ratchet: 32, 300;
    ratchet_null: 8, 300;
    peers: 6, 200;
    peers_null: 2, 200;
}
