//! Every committed vector file passes the verifier (the same check as
//! `cargo run -p status-1to1-vectors -- verify`), and a corrupted vector is caught.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::Path;

use status_1to1_vectors::verify_path;

fn vectors_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_committed_vector_passes() {
    let reports = verify_path(vectors_dir()).expect("vectors are readable");
    assert!(reports.len() >= 24, "the js-noise and x3dh vectors at least, found {} files", reports.len());
    let failed: Vec<String> = reports.iter().filter(|r| !r.passed()).map(ToString::to_string).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let skipped: Vec<&String> = reports.iter().flat_map(|r| r.skipped.iter()).collect();
    assert!(skipped.is_empty(), "unverified sections: {skipped:?}");
    let x3dh: Vec<_> = reports.iter().filter(|r| r.schema.starts_with("x3dh/")).collect();
    assert_eq!(x3dh.len(), 13, "the five x3dh vector files and the eight of x3dh/limits/");
    assert!(x3dh.iter().all(|r| r.checks > 0));
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

/// Flips one expected value in each x3dh file and checks that the verifier notices.
#[test]
fn a_corrupted_x3dh_vector_fails() {
    let dir = std::env::temp_dir().join(format!("status-1to1-x3dh-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for path in x3dh_files() {
        let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(corrupt_first_hex(&mut doc, false), "{} has an expected hex value", path.display());
        let target = dir.join(path.file_name().unwrap());
        std::fs::write(&target, serde_json::to_string(&doc).unwrap()).unwrap();
        let reports = verify_path(&target).unwrap();
        assert!(!reports[0].passed(), "corrupting {} went unnoticed", path.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The x3dh vector files, those of `x3dh/limits/` included.
fn x3dh_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["x3dh", "x3dh/limits"] {
        for entry in std::fs::read_dir(vectors_dir().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Each limit vector pins its outcomes: the verifier notices a changed refusal name, a refusal
/// turned into a success, and a changed count of stored keys.
#[test]
fn a_changed_limit_outcome_fails() {
    let dir = std::env::temp_dir().join(format!("status-1to1-x3dh-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let limits: Vec<_> = x3dh_files().into_iter().filter(|p| p.parent().unwrap().ends_with("limits")).collect();
    assert_eq!(limits.len(), 8);
    for path in limits {
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let events = doc["events"].as_array().unwrap();
        let refused = events.iter().position(|e| e["op"] == "deliver" && e["expected"]["error"].is_string());
        let accepted = events.iter().position(|e| e["expected"]["stored_skipped_keys"].is_u64());
        let refused = refused.unwrap_or_else(|| panic!("{} refuses a delivery", path.display()));
        let accepted = accepted.unwrap();
        let renamed = with(&doc, |d| {
            let other = if d["events"][refused]["expected"]["error"] == "duplicate" {
                "authentication-failed"
            } else {
                "duplicate"
            };
            d["events"][refused]["expected"]["error"] = other.into();
        });
        let recounted = with(&doc, |d| {
            let count = d["events"][accepted]["expected"]["stored_skipped_keys"].as_u64().unwrap();
            d["events"][accepted]["expected"]["stored_skipped_keys"] = (count + 1).into();
        });
        let succeeded = with(&doc, |d| {
            d["events"][refused]["expected"] = serde_json::json!({
                "plaintext": "", "session_id": "00".repeat(32),
                "stored_skipped_keys": 0, "receiving_chains": 0, "receive_derivations": 0,
            });
        });
        let target = dir.join(path.file_name().unwrap());
        for (what, changed) in [("refusal name", renamed), ("stored-key count", recounted), ("refusal", succeeded)] {
            std::fs::write(&target, serde_json::to_string(&changed).unwrap()).unwrap();
            assert!(!verify_path(&target).unwrap()[0].passed(), "{}: a changed {what} went unnoticed", path.display());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn with(doc: &serde_json::Value, edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut copy = doc.clone();
    edit(&mut copy);
    copy
}

/// Flips the first hex digit of the first 64-character hex string inside an `expected` object.
fn corrupt_first_hex(value: &mut serde_json::Value, inside_expected: bool) -> bool {
    match value {
        serde_json::Value::String(s)
            if inside_expected && s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            let flipped = if s.starts_with('0') { '1' } else { '0' };
            s.replace_range(..1, &flipped.to_string());
            true
        }
        serde_json::Value::Object(map) => {
            map.iter_mut().any(|(k, v)| corrupt_first_hex(v, inside_expected || k == "expected"))
        }
        serde_json::Value::Array(items) => items.iter_mut().any(|v| corrupt_first_hex(v, inside_expected)),
        _ => false,
    }
}

/// The status-go transcripts replay at every layer, and a change to any recorded wire value, to a
/// recorded draw, or to a negative case's expected outcome is caught.
#[test]
fn status_go_transcripts_replay_and_a_changed_value_fails() {
    let dir = vectors_dir().join("status-go");
    let reports = verify_path(&dir).unwrap();
    assert_eq!(reports.len(), 4);
    assert!(reports.iter().all(|r| r.passed() && r.skipped.is_empty() && r.checks > 30), "{reports:?}");
    let scratch = std::env::temp_dir().join(format!("status-1to1-statusgo-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let flip = |s: &str| format!("{}{}", if s.starts_with('0') { '1' } else { '0' }, &s[1..]);
    let session = load("session.json");
    type Edit<'a> = Box<dyn Fn(&mut serde_json::Value) + 'a>;
    let edits: Vec<(&str, serde_json::Value, Edit<'_>)> = vec![
        (
            "session.json",
            session.clone(),
            Box::new(|d| {
                let v = d["events"][9]["waku"]["waku_message_protobuf"].as_str().unwrap().to_owned();
                d["events"][9]["waku"]["waku_message_protobuf"] = flip(&v).into();
            }),
        ),
        (
            "session.json",
            session.clone(),
            Box::new(|d| {
                let v = d["random_draws"][9]["bytes"].as_str().unwrap().to_owned();
                d["random_draws"][9]["bytes"] = flip(&v).into();
            }),
        ),
        (
            "session.json",
            session,
            Box::new(|d| {
                d["events"][10]["application"]["chat_message"]["text"] = "Hi Bob! Mallory here.".into();
            }),
        ),
        (
            "negative.json",
            load("negative.json"),
            Box::new(|d| {
                d["cases"][0]["status_go_result"]["error_layer"] = "waku26 (payload.DecodePayload)".into();
            }),
        ),
    ];
    for (name, mut doc, edit) in edits {
        edit(&mut doc);
        let target = scratch.join(name);
        std::fs::write(&target, serde_json::to_string(&doc).unwrap()).unwrap();
        assert!(!verify_path(&target).unwrap()[0].passed(), "an edit of {name} went unnoticed");
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}
