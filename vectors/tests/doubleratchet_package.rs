//! Runs the third-party ratchet check (`vectors/reference/doubleratchet_check.py`): the state
//! machine of the PyPI package `doubleratchet` 1.3.0, configured with our profile's constants,
//! replays every ratchet conversation of `vectors/x3dh/` (docs/vectors.md says what it cannot
//! express). A corrupted copy of a vector must make it fail.
//!
//! Skipped, with a message, when `python3` or `doubleratchet` 1.3.0 is missing, except when the
//! `CI` environment variable is set: CI installs `vectors/reference/requirements.txt` and must
//! not skip silently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// False (after printing why) when the package is missing outside CI; panics in CI.
fn package_available(test: &str) -> bool {
    let available = Command::new("python3")
        .args(["-c", "import cryptography, doubleratchet; assert doubleratchet.__version__ == '1.3.0'"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !available {
        let message = "python3 with `doubleratchet` 1.3.0 is not available: \
                       pip install -r vectors/reference/requirements.txt";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("SKIPPED {test}: {message}");
    }
    available
}

fn run_check(path: &Path) -> (Output, String) {
    let output = Command::new("python3")
        .arg(root().join("reference/doubleratchet_check.py"))
        .arg(path)
        .output()
        .expect("python3 runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output, text)
}

#[test]
fn doubleratchet_package_replays_every_ratchet_conversation() {
    if !package_available("doubleratchet_package_replays_every_ratchet_conversation") {
        return;
    }
    let (output, text) = run_check(&root().join("x3dh"));
    assert!(output.status.success(), "third-party ratchet check failed:\n{text}");
    assert!(text.contains("9 conversations"), "{text}");
    assert!(text.contains(" 0 mismatches\nALL OK"), "{text}");
}

/// A copy of `session.json` with one expected value changed by `edit`, in its own directory.
fn corrupted_copy(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("status-1to1-doubleratchet-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(root().join("x3dh/session.json")).expect("session.json");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    edit(&mut doc);
    std::fs::write(dir.join("session.json"), doc.to_string()).expect("write copy");
    dir
}

fn first_event<'a>(doc: &'a mut serde_json::Value, wanted: &str) -> &'a mut serde_json::Value {
    doc["events"]
        .as_array_mut()
        .expect("events")
        .iter_mut()
        .find(|e| e["expected"].get(wanted).is_some())
        .expect("an event with that expected field")
}

#[test]
fn doubleratchet_package_check_fails_on_a_corrupted_vector() {
    if !package_available("doubleratchet_package_check_fails_on_a_corrupted_vector") {
        return;
    }
    let ciphertext = corrupted_copy("ciphertext", |doc| {
        let ev = first_event(doc, "ciphertext");
        let ct = ev["expected"]["ciphertext"].as_str().expect("hex").to_owned();
        let flipped = if ct.starts_with('0') { "1" } else { "0" };
        ev["expected"]["ciphertext"] = format!("{flipped}{}", &ct[1..]).into();
    });
    let stored = corrupted_copy("stored", |doc| {
        let ev = first_event(doc, "stored_skipped_keys");
        let n = ev["expected"]["stored_skipped_keys"].as_u64().expect("count");
        ev["expected"]["stored_skipped_keys"] = (n + 1).into();
    });
    for (dir, field) in [(&ciphertext, "ciphertext"), (&stored, "stored_skipped_keys")] {
        let (output, text) = run_check(dir);
        let _ = std::fs::remove_dir_all(dir);
        assert!(!output.status.success(), "a corrupted {field} passed:\n{text}");
        assert!(text.contains("MISMATCH") && text.contains(field), "{text}");
    }
}
