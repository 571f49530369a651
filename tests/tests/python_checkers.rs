//! Runs the independent Python re-implementation of the Waku Noise layer
//! (`tests/jsnoise-peer/check_vectors.py`, built on the `cryptography` package, no Rust involved)
//! over the committed js-noise vectors. Skipped locally without Python; required in CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python_with_cryptography() -> bool {
    Command::new("python3").args(["-c", "import cryptography"]).status().is_ok_and(|s| s.success())
}

#[test]
fn independent_python_model_reproduces_the_noise_vectors() {
    if !python_with_cryptography() {
        assert!(std::env::var_os("CI").is_none(), "CI must have python3 with cryptography (tests/requirements.txt)");
        eprintln!("SKIPPED: python3 with the cryptography package is not available");
        return;
    }
    let out = Command::new("python3")
        .arg(repo().join("tests/jsnoise-peer/check_vectors.py"))
        .arg(repo().join("vectors/noise"))
        .arg(repo().join("vectors/jsnoise-samples"))
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check_vectors.py failed:\n{text}");
}
