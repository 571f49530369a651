//! Suite S devices (status-go's wire, `statusgo::Endpoint` with datasync) in the simulator: on
//! their own, and side by side with our peers on one network, every invariant holds and every
//! accepted message reaches every device of its recipient exactly once.

mod common;

use status_1to1_sim::node::KeyExchange;
use status_1to1_sim::scenario::{Overrides, Preset, ScenarioSpec, Suite, Toggle};
use status_1to1_sim::world::directory_for;
use status_1to1_sim::{RunOptions, UserId, run};

fn spec(suite: Suite, swarm: bool) -> ScenarioSpec {
    let overrides = Overrides {
        suite: Some(suite),
        key_exchange: Some(KeyExchange::Mixed),
        hostile: Some(Toggle::Off),
        ..Default::default()
    };
    ScenarioSpec { preset: Preset::Tiny, swarm, overrides }
}

/// Runs `seeds` of `spec`; returns (deliveries, crashes) over all of them.
fn check_seeds(spec: &ScenarioSpec, seeds: std::ops::Range<u64>) -> (u64, u64) {
    let mut totals = (0, 0);
    for seed in seeds {
        let r = run(spec.config(seed), RunOptions::default());
        common::assert_passes(seed, spec, &r);
        totals.0 += r.metrics.delivered;
        totals.1 += r.metrics.crashes;
    }
    totals
}

#[test]
fn status_devices_deliver_everything_under_the_default_fault_mix() {
    let (delivered, _) = check_seeds(&spec(Suite::Status, false), 0..4);
    assert!(delivered > 60, "{delivered} deliveries");
}

/// Swarm configurations (every fault rate drawn per seed, crashes included), Suite S alone and
/// beside our peers.
#[test]
fn both_suites_across_swarm_configurations() {
    for suite in [Suite::Status, Suite::Mixed] {
        let (delivered, crashes) = check_seeds(&spec(suite, true), 0..6);
        assert!(delivered > 40 && crashes > 0, "{suite:?}: {delivered} deliveries, {crashes} crashes");
    }
}

/// Seeds that found a defect, pinned: a sender crashed twice and came back each time with its
/// retransmission backoff at the cap, so its next try fell after the liveness check (fixed:
/// reconnecting restarts the backoff, and the simulation caps it at 60 s).
#[test]
fn pinned_status_seeds() {
    let spec = ScenarioSpec { preset: Preset::Small, ..spec(Suite::Status, true) };
    let (delivered, _) = check_seeds(&spec, 61000012..61000013);
    assert!(delivered > 200, "{delivered} deliveries");
}

#[test]
fn a_mixed_directory_has_contacts_within_each_suite_only() {
    for seed in 0..20 {
        let dir = directory_for(&spec(Suite::Mixed, true).config(seed));
        let users: Vec<UserId> = (0..dir.user_count() as u32).map(UserId).collect();
        let across = |a: UserId, b: UserId| Suite::Mixed.of(a) != Suite::Mixed.of(b);
        assert!(users.iter().all(|&u| dir.contacts_of(u).iter().all(|&c| !across(u, c))), "seed {seed}");
        for suite in [Suite::Ours, Suite::Status] {
            let members: Vec<UserId> = users.iter().copied().filter(|&u| Suite::Mixed.of(u) == suite).collect();
            let talking = members.iter().filter(|&&u| !dir.contacts_of(u).is_empty()).count();
            assert_eq!(talking, if members.len() >= 2 { members.len() } else { 0 }, "seed {seed}: {suite:?}");
        }
    }
}
