//! Simulator throughput: whole runs at 100 and 1,000 devices (10,000 with
//! `SIM_BENCH_LARGE=1`), with the real peer and with the stand-in node, reported by criterion as
//! simulator events per second. Each configuration is run once first to count its events (runs
//! are deterministic, so every iteration does the same work) and to print what criterion cannot:
//! delivered messages, persisted state per device and the network archive.
//!
//! `cargo bench -p status-1to1-sim --bench simulation`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use status_1to1_sim::node::KeyExchange;
use status_1to1_sim::scenario::{NodeKind, Preset, ScenarioConfig};
use status_1to1_sim::{RunOptions, RunReport, run};

/// `devices` devices (two per user) chatting under the default fault mix for `minutes` of
/// virtual time, then a one-minute catch-up; liveness is not checked (the runs are cut short).
fn config(node: NodeKind, devices: u32, minutes: u64) -> ScenarioConfig {
    let mut c = Preset::Default.config(1);
    c.node = node;
    c.key_exchange = KeyExchange::X3dh;
    c.workload.users = devices / 2;
    c.workload.devices_per_user = (2, 2);
    c.fault_phase_ms = minutes * 60_000;
    c.catchup_ms = 60_000;
    c.liveness = false;
    c
}

fn describe(name: &str, r: &RunReport) {
    eprintln!(
        "{name}: {} devices, {} events, {} delivered, persisted state {} B/device (max {} B), {} archived, {} violations",
        r.devices,
        r.metrics.events,
        r.metrics.delivered,
        r.memory.per_device_bytes,
        r.memory.max_device_bytes,
        r.memory.archived_messages,
        r.violation_count
    );
}

fn bench_runs(c: &mut Criterion) {
    let mut sizes = vec![(100u32, 10u64), (1_000, 3)];
    if std::env::var_os("SIM_BENCH_LARGE").is_some() {
        sizes.push((10_000, 1));
    }
    let mut group = c.benchmark_group("simulation");
    group.sample_size(10).warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(5));
    for node in [NodeKind::Peer, NodeKind::Standin] {
        for &(devices, minutes) in &sizes {
            let cfg = config(node, devices, minutes);
            let name = format!("{node:?}/{devices}");
            let first = run(cfg.clone(), RunOptions::default());
            describe(&name, &first);
            group.throughput(Throughput::Elements(first.metrics.events));
            group.bench_with_input(BenchmarkId::new(format!("{node:?}"), devices), &cfg, |b, cfg| {
                b.iter(|| run(cfg.clone(), RunOptions::default()).metrics.events)
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_runs);
criterion_main!(benches);
