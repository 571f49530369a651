//! Hundreds of seeds across fault mixes: every invariant must hold, and every owed message must
//! be delivered exactly once after the catch-up window.

mod common;

use common::{assert_passes, run, tiny_swarm, tiny_with};
use status_1to1_sim::scenario::{Overrides, Preset, ScenarioSpec};

#[test]
fn swarm_seeds_hold_every_invariant() {
    let spec = tiny_swarm();
    let mut issued = 0;
    for seed in 0..160 {
        let r = run(seed, &spec);
        assert_passes(seed, &spec, &r);
        issued += r.metrics.issued;
    }
    assert!(issued > 1_000, "the swarm should actually send messages ({issued})");
}

#[test]
fn clean_network_delivers_everything_without_retransmissions() {
    let spec = tiny_with(|_| {});
    for seed in 0..8 {
        let r = run(seed, &spec);
        assert_passes(seed, &spec, &r);
        assert_eq!(r.delivery_ratio(), 1.0);
        assert_eq!(r.metrics.retransmissions, 0, "seed {seed}");
        assert!(r.metrics.latency_ms.quantile(0.5) < 1_500, "seed {seed}");
    }
}

fn mix(name: &str) -> ScenarioSpec {
    match name {
        "lossy" => tiny_with(|o| {
            o.loss = Some(0.3);
            o.burst = Some(true);
        }),
        "duplicating" => tiny_with(|o| {
            o.dup = Some(0.3);
            o.reorder = Some(0.5);
            o.tail = Some(0.05);
        }),
        "partitions" => tiny_with(|o| o.partitions = Some(40.0)),
        "churn" => tiny_with(|o| o.churn = Some(20.0)),
        "crashes" => tiny_with(|o| {
            o.crashes = Some(15.0);
            o.torn = Some(0.8);
        }),
        "adversary" => tiny_with(|o| o.adversary = Some(0.08)),
        "skew" => tiny_with(|o| o.skew = Some(120_000)),
        "hostile-services" => tiny_with(|o| {
            o.store_failure = Some(0.5);
            o.lightpush_failure = Some(0.5);
            o.outages = Some(20.0);
            o.light_fraction = Some(1.0);
        }),
        _ => ScenarioSpec { preset: Preset::Tiny, swarm: false, overrides: Overrides::default() },
    }
}

#[test]
fn every_fault_mix_holds_every_invariant() {
    let mixes =
        ["lossy", "duplicating", "partitions", "churn", "crashes", "adversary", "skew", "hostile-services", "all"];
    for name in mixes {
        let spec = mix(name);
        let mut faults_seen = 0;
        for seed in 0..12 {
            let r = run(seed, &spec);
            assert_passes(seed, &spec, &r);
            faults_seen += r.fault_events as u64
                + r.net.lost_random
                + r.net.duplicated
                + r.net.adv_tampered
                + r.net.archive_bad_timestamp
                + r.net.store_failed;
        }
        assert!(faults_seen > 0, "mix {name} injected no faults");
    }
}

#[test]
fn a_small_scenario_holds() {
    let spec = ScenarioSpec { preset: Preset::Small, swarm: true, overrides: common::no_hostile() };
    for seed in [1, 2] {
        let r = run(seed, &spec);
        assert_passes(seed, &spec, &r);
        assert!(r.devices >= 20);
    }
}

#[test]
fn per_device_state_does_not_grow_with_message_count() {
    // Research note §4.5: measure state after N messages vs 10N. Same population, 10× longer.
    let short = tiny_with(|o| {
        o.loss = Some(0.1);
        o.duration = Some(180_000);
    });
    let long = tiny_with(|o| {
        o.loss = Some(0.1);
        o.duration = Some(1_800_000);
    });
    let (a, b) = (run(21, &short), run(21, &long));
    assert_passes(21, &short, &a);
    assert_passes(21, &long, &b);
    assert!(b.metrics.issued >= 8 * a.metrics.issued, "{} vs {}", b.metrics.issued, a.metrics.issued);
    let (ma, mb) = (a.memory.per_device_bytes, b.memory.per_device_bytes);
    assert!(mb < 2 * ma, "per-device bytes grew from {ma} to {mb} with 10× the messages");
}
