//! The `status-1to1-sim` binary: run, replay (same hash), sweep shards, report and trace files,
//! argument validation.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_status-1to1-sim"))
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("status-1to1-sim-test-{}-{name}", std::process::id()))
}

fn hash_line(stdout: &str) -> String {
    stdout.lines().find(|l| l.trim_start().starts_with("trace hash")).unwrap_or_default().to_owned()
}

#[test]
fn run_then_replay_reproduces_the_trace_hash_and_writes_report_and_trace() {
    let (svg, trace) = (tmp("report.svg"), tmp("trace.jsonl"));
    let out = bin()
        .args(["run", "--preset", "tiny", "--seed", "5", "--key-exchange", "noise", "--report"])
        .arg(&svg)
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    for row in [
        "delivery ratio",
        "latency p50 / p90 / p99",
        "duplicates suppressed",
        "retransmissions",
        "invariant checks passed",
        "events/s",
    ] {
        assert!(stdout.contains(row), "missing {row} in\n{stdout}");
    }
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") && svg_text.contains("polyline"));
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.lines().count() > 100);
    let replay = bin().args(["replay", "5", "--preset", "tiny", "--key-exchange", "noise"]).output().unwrap();
    assert!(replay.status.success());
    assert_eq!(hash_line(&stdout), hash_line(&String::from_utf8_lossy(&replay.stdout)));
    assert!(!hash_line(&stdout).is_empty());
    let _ = std::fs::remove_file(svg);
    let _ = std::fs::remove_file(trace);
}

#[test]
fn sweep_shards_split_the_seed_range() {
    let out = bin()
        .args(["sweep", "--seeds", "0..6", "--shard", "1/2", "--preset", "tiny", "--jobs", "2", "--hostile", "off"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 seeds, 3 passed, 0 failed"));
}

#[test]
fn json_output_and_bad_arguments() {
    let out = bin().args(["run", "--preset", "tiny", "--seed", "2", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seed"], 2);
    assert_eq!(v["violation_count"], 0);
    let bad = bin().args(["run", "--key-exchange", "rsa"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad_shard = bin().args(["sweep", "--seeds", "0..4", "--shard", "2/2"]).output().unwrap();
    assert_eq!(bad_shard.status.code(), Some(2));
}
