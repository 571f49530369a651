//! `status-1to1-vectors verify [PATH...]`: replays test vectors and exits non-zero on any mismatch.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("verify") => {}
        _ => {
            eprintln!("usage: status-1to1-vectors verify [FILE|DIR...]   (default: vectors/)");
            return ExitCode::from(2);
        }
    }
    let mut paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if paths.is_empty() {
        paths.push(PathBuf::from("vectors"));
    }
    let mut failed = false;
    let (mut files, mut checks) = (0usize, 0usize);
    for path in &paths {
        match status_1to1_vectors::verify_path(path) {
            Ok(reports) => {
                for report in reports {
                    print!("{report}");
                    files += 1;
                    checks += report.checks;
                    failed |= !report.passed();
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                failed = true;
            }
        }
    }
    println!("{files} files, {checks} checks: {}", if failed { "FAILED" } else { "all passed" });
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
