//! The js-noise samples replay cleanly, and the pairing checks are not vacuous: a transcript with
//! a changed QR, authcode or handshake message fails them.

#![allow(clippy::expect_used)] // test helpers outside `#[test]` functions
use std::path::Path;

use serde_json::Value;
use status_1to1_vectors::{Report, noise, verify_path};

fn samples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/jsnoise-samples"))
}

#[test]
fn every_sample_passes_and_nothing_is_skipped() {
    let reports = verify_path(samples()).expect("samples load");
    assert_eq!(reports.len(), 7);
    for report in reports {
        assert!(report.passed(), "{report}");
        assert!(report.skipped.is_empty(), "{report}");
    }
}

fn pairing_doc() -> Value {
    let text = std::fs::read_to_string(samples().join("waku-pairing.json")).expect("read");
    serde_json::from_str(&text).expect("json")
}

fn pairing_mismatches(doc: &Value) -> Vec<String> {
    let mut report = Report::new("mutated", "pairing");
    noise::pairing::verify(doc, &mut report).expect("verifiable");
    report.mismatches.iter().map(|m| m.field.clone()).collect()
}

#[test]
fn the_state_machine_checks_detect_changed_values() {
    assert!(pairing_mismatches(&pairing_doc()).is_empty());

    let mut doc = pairing_doc();
    doc["pairing"]["authcode"] = "45262155".into();
    let failed = pairing_mismatches(&doc);
    assert!(failed.iter().any(|f| f.contains("authcode (scanner shows)")), "{failed:?}");
    assert!(failed.iter().any(|f| f.contains("authcode (owner shows)")), "{failed:?}");

    let mut doc = pairing_doc();
    doc["inputs"]["responder"]["r"]["value"] = "00".repeat(32).into();
    let failed = pairing_mismatches(&doc);
    assert!(failed.iter().any(|f| f.contains("pairing.qr (owner shows)")), "{failed:?}");

    let mut doc = pairing_doc();
    let wire = doc["handshake"][2]["wire"].as_str().expect("wire").replace("c191", "c192");
    doc["handshake"][2]["wire"] = wire.into();
    let failed = pairing_mismatches(&doc);
    assert!(failed.iter().any(|f| f.starts_with("handshake.2")), "{failed:?}");
}
