//! Test vectors for status-1to1 and the verifier that replays them.
//!
//! `verify_path` accepts a vector file or a directory; each document names its schema, and the
//! matching verifier recomputes every value from the document's inputs alone, through the public
//! API of the `status-1to1` crate. Schemas are described in `docs/vectors.md` (and, for the X3DH
//! schemas `x3dh/*/v1`, in `docs/vectors.md`).

pub mod json;
pub mod noise;
pub mod report;
pub mod statusgo;
pub mod x3dh;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use json::VectorError;
pub use report::{Mismatch, Report};

/// Verifies every `.json` vector under `path` (a file or a directory, recursively), sorted by path.
pub fn verify_path(path: &Path) -> Result<Vec<Report>, VectorError> {
    let mut files = Vec::new();
    collect_json(path, &mut files)?;
    files.iter().map(|f| verify_file(f)).collect()
}

fn collect_json(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), VectorError> {
    let io = |e: std::io::Error| VectorError::Io { path: path.display().to_string(), reason: e.to_string() };
    if path.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(path).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for entry in entries {
            collect_json(&entry, out)?;
        }
    } else if path.extension().is_some_and(|e| e == "json") {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, VectorError> {
    let io = |reason: String| VectorError::Io { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| io(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| io(e.to_string()))
}

/// Verifies one vector file.
pub fn verify_file(path: &Path) -> Result<Report, VectorError> {
    let doc = read_json(path)?;
    let schema = json::str_at(&doc, "schema")?.to_owned();
    let mut report = Report::new(path.display().to_string(), schema.clone());
    match schema.as_str() {
        "jsnoise-peer/transcript/v1" => {
            noise::transcript::verify(&doc, &mut report)?;
            if json::at(&doc, "pairing").is_ok() {
                noise::pairing::verify(&doc, &mut report)?;
            }
        }
        "jsnoise-peer/primitives/v1" => noise::primitives::verify(&doc, &mut report)?,
        "jsnoise-peer/negative/v1" => {
            let companion = path.with_file_name("waku-pairing.json");
            let pairing = read_json(&companion)?;
            let mut scratch = Report::new(companion.display().to_string(), "companion");
            let replayed = noise::transcript::replay(&pairing, &mut scratch)?;
            if !scratch.passed() {
                report.fail(
                    "companion waku-pairing.json",
                    "a passing replay".into(),
                    format!("{} mismatches", scratch.mismatches.len()),
                );
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut load_base = |name: &str| -> Result<(Value, noise::transcript::Replayed), VectorError> {
                let base = read_json(&dir.join(name))?;
                let mut scratch = Report::new(name, "base");
                let replayed = noise::transcript::replay(&base, &mut scratch)?;
                Ok((base, replayed))
            };
            noise::negative::verify(&doc, &pairing, &replayed, &mut load_base, &mut report)?;
        }
        "status-go/transcript/v1" => statusgo::verify(&doc, &mut report)?,
        "x3dh/kdf/v1" => x3dh::kdf::verify(&doc, &mut report)?,
        "x3dh/bundle/v1" => x3dh::bundle::verify(&doc, &mut report)?,
        "x3dh/session/v1" => x3dh::session::verify(&doc, &mut report)?,
        "x3dh/no-bundle/v1" => x3dh::no_bundle::verify(&doc, &mut report)?,
        "x3dh/topics/v1" => x3dh::topics::verify(&doc, &mut report)?,
        other => return Err(VectorError::Unsupported { path: "schema".into(), value: other.into() }),
    }
    Ok(report)
}
