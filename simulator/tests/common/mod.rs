//! Shared helpers for the simulator's integration tests.
#![allow(dead_code)]

use status_1to1_sim::scenario::{Overrides, Preset, ScenarioSpec, Toggle};
use status_1to1_sim::{RunOptions, RunReport, replay_command, run_standin};

/// Runs `spec` with `seed` and the stand-in node.
pub fn run(seed: u64, spec: &ScenarioSpec) -> RunReport {
    run_standin(spec.config(seed), RunOptions::default())
}

/// Fails with the violations and the exact replay command.
pub fn assert_passes(seed: u64, spec: &ScenarioSpec, r: &RunReport) {
    assert!(
        r.passed(),
        "seed {seed} violated invariants:\n{}\nreplay: {}",
        r.violations.iter().take(5).map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n"),
        replay_command(seed, spec)
    );
}

/// The tiny preset with every fault off, then `f` applied to the overrides.
pub fn tiny_with(f: impl FnOnce(&mut Overrides)) -> ScenarioSpec {
    let mut overrides = Overrides { no_faults: true, ..Overrides::default() };
    f(&mut overrides);
    ScenarioSpec { preset: Preset::Tiny, swarm: false, overrides }
}

/// The tiny preset as a swarm, without the hostile adversaries (their tests turn them on).
pub fn tiny_swarm() -> ScenarioSpec {
    ScenarioSpec { preset: Preset::Tiny, swarm: true, overrides: no_hostile() }
}

/// No overrides but the hostile adversaries off: the pinned seeds predate them.
pub fn no_hostile() -> Overrides {
    Overrides { hostile: Some(Toggle::Off), ..Overrides::default() }
}
