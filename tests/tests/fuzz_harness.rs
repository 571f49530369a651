//! Runs every fuzz target body under plain `cargo test`: a short random run (proptest) plus a
//! replay of the minimized regression inputs committed in `fuzz/regressions/<target>/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::PathBuf;

use proptest::prelude::*;
use status_1to1_conformance::fuzz_targets;

type Body = fn(&[u8]);

const TARGETS: &[(&str, Body)] = &[
    ("payload_v2", fuzz_targets::payload_v2),
    ("noise_handshake", fuzz_targets::noise_handshake),
    ("noise_transport", fuzz_targets::noise_transport),
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    for (name, _) in TARGETS {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(path.exists(), "missing {}", path.display());
    }
}

#[test]
fn committed_regressions_and_corpora_replay_cleanly() {
    for (name, body) in TARGETS {
        for kind in ["regressions", "corpus"] {
            let dir = fuzz_dir().join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                body(&std::fs::read(entry.path()).unwrap());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn payload_v2_random(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz_targets::payload_v2(&data);
    }

    #[test]
    fn noise_handshake_random(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz_targets::noise_handshake(&data);
    }

    #[test]
    fn noise_transport_random(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz_targets::noise_transport(&data);
    }
}
