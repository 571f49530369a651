//! Runs the independent Python reference (`vectors/reference/x3dh_ref.py check`) over
//! `vectors/x3dh/` (with `limits/`): it recomputes every value from `docs/profile.md` §5 without our Rust code.
//!
//! Skipped, with a message, when `python3` or its `cryptography` package is missing, except when
//! the `CI` environment variable is set: CI installs `vectors/reference/requirements.txt` and must
//! not skip silently.

use std::path::Path;
use std::process::Command;

#[test]
fn python_reference_recomputes_every_x3dh_vector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let available = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !available {
        let message = "python3 with the `cryptography` package is not available: \
                       pip install -r vectors/reference/requirements.txt";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("SKIPPED python_reference_recomputes_every_x3dh_vector: {message}");
        return;
    }
    let output = Command::new("python3")
        .arg(root.join("reference/x3dh_ref.py"))
        .arg("check")
        .arg(root.join("x3dh"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "Python reference failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("13 files"), "{stdout}");
}
