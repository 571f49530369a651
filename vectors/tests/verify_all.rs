//! Every vector under `vectors/` verifies, and a corrupted vector does not.

use std::path::{Path, PathBuf};

use status_1to1_vectors::verify_path;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn every_vector_in_the_tree_verifies() {
    let reports = verify_path(&vectors_dir()).expect("vectors readable");
    let failed: Vec<String> = reports.iter().filter(|r| !r.passed()).map(ToString::to_string).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let x3dh: Vec<_> = reports.iter().filter(|r| r.schema.starts_with("x3dh/")).collect();
    assert_eq!(x3dh.len(), 5, "the five x3dh vector files");
    assert!(x3dh.iter().all(|r| r.checks > 0));
    assert!(reports.iter().map(|r| r.checks).sum::<usize>() > 1000);
}

/// Flips one expected value in each x3dh file and checks that the verifier notices.
#[test]
fn a_corrupted_x3dh_vector_fails() {
    let dir = std::env::temp_dir().join(format!("status-1to1-x3dh-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(vectors_dir().join("x3dh")).unwrap() {
        let path = entry.unwrap().path();
        let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(corrupt_first_hex(&mut doc, false), "{} has an expected hex value", path.display());
        let target = dir.join(path.file_name().unwrap());
        std::fs::write(&target, serde_json::to_string(&doc).unwrap()).unwrap();
        let reports = verify_path(&target).unwrap();
        assert!(!reports[0].passed(), "corrupting {} went unnoticed", path.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
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
