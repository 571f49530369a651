//! Every committed vector file passes the verifier (the same check as
//! `cargo run -p status-1to1-vectors -- verify`), and a corrupted vector is caught.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::Path;

fn vectors_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_committed_vector_passes() {
    let reports = status_1to1_vectors::verify_path(vectors_dir()).expect("vectors are readable");
    assert!(reports.len() >= 7, "expected the js-noise samples at least, found {} files", reports.len());
    let failed: Vec<String> = reports.iter().filter(|r| !r.passed()).map(ToString::to_string).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let checks: usize = reports.iter().map(|r| r.checks).sum();
    println!("{} files, {checks} checks", reports.len());
}

#[test]
fn a_single_changed_wire_byte_is_reported_with_its_field() {
    let path = vectors_dir().join("jsnoise-samples/xx.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let wire = doc["handshake"][1]["wire"].as_str().expect("wire").to_owned();
    let flipped = format!("{}{}", &wire[..wire.len() - 1], if wire.ends_with('0') { '1' } else { '0' });
    doc["handshake"][1]["wire"] = serde_json::Value::String(flipped);
    let dir = std::env::temp_dir().join(format!("status-1to1-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let tampered = dir.join("xx.json");
    std::fs::write(&tampered, serde_json::to_string(&doc).expect("json")).expect("write");
    let report = status_1to1_vectors::verify_file(&tampered).expect("verifies");
    std::fs::remove_dir_all(&dir).ok();
    assert!(!report.passed());
    assert!(report.mismatches.iter().any(|m| m.field == "handshake.1.wire"), "{report}");
}
