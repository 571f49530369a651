//! Shrinking a failing run: delta debugging (ddmin) over the recorded fault schedule, then
//! switching off probabilistic fault knobs one at a time, then shortening the run.
//!
//! The fault schedule is the explicit list of recorded choices; per-delivery draws come from the
//! seed. A candidate is kept when the run still fails with the same violation kind, which is the
//! usual ddmin "interesting" predicate (stateright's shortest paths, proptest's shrinking).

use serde::{Deserialize, Serialize};

use crate::faults::{FaultConfig, FaultSchedule};
use crate::invariants::ViolationKind;
use crate::net::LinkFaults;
use crate::net::adversary::AdversaryConfig;
use crate::scenario::ScenarioConfig;
use crate::world::{RunOptions, RunReport};

/// A self-contained failing scenario: configuration plus explicit schedule. Saved as JSON and
/// replayed with `status-1to1-sim replay --scenario FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Configuration (includes the seed).
    pub config: ScenarioConfig,
    /// Fault schedule.
    pub schedule: FaultSchedule,
}

/// Result of a minimization.
#[derive(Debug, Clone)]
pub struct Minimized {
    /// The smallest failing scenario found.
    pub scenario: Scenario,
    /// The violation kind it still shows.
    pub kind: ViolationKind,
    /// Runs performed.
    pub runs: usize,
    /// Schedule length before.
    pub original_events: usize,
}

/// Shrinks `scenario`, which must fail with a violation, using `run` to execute candidates.
/// Returns `None` if the scenario does not fail to begin with.
pub fn minimize(scenario: Scenario, run: &mut dyn FnMut(&Scenario) -> RunReport, max_runs: usize) -> Option<Minimized> {
    let first = run(&scenario);
    let kind = first.violations.first()?.kind;
    let original_events = scenario.schedule.len();
    let mut runs = 1;
    let mut fails = |s: &Scenario, runs: &mut usize| {
        *runs += 1;
        run(s).violations.first().is_some_and(|v| v.kind == kind)
    };
    let mut best = scenario;
    // 1. ddmin over schedule events.
    let mut n = 2usize;
    while best.schedule.len() >= 2 && runs < max_runs {
        let len = best.schedule.len();
        let chunk = len.div_ceil(n);
        let parts = n;
        let mut reduced = false;
        for i in 0..parts {
            let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(len));
            if lo >= hi || runs >= max_runs {
                continue;
            }
            let mut complement = best.clone();
            complement.schedule.events.drain(lo..hi);
            if fails(&complement, &mut runs) {
                best = complement;
                reduced = true;
                break;
            }
        }
        if reduced {
            n = (n - 1).max(2);
        } else {
            if n >= len {
                break;
            }
            n = (2 * n).min(len);
        }
    }
    if best.schedule.len() == 1 && runs < max_runs {
        let mut empty = best.clone();
        empty.schedule.events.clear();
        if fails(&empty, &mut runs) {
            best = empty;
        }
    }
    // 2. Switch off probabilistic knobs.
    for knob in 0..KNOBS {
        if runs >= max_runs {
            break;
        }
        let mut candidate = best.clone();
        if !zero_knob(&mut candidate.config.faults, knob) {
            continue;
        }
        if fails(&candidate, &mut runs) {
            best = candidate;
        }
    }
    // 3. Shorten the fault phase (events after it are ignored).
    while runs < max_runs && best.config.fault_phase_ms > 10_000 {
        let mut candidate = best.clone();
        candidate.config.fault_phase_ms /= 2;
        let cut = candidate.config.fault_phase_ms;
        candidate.schedule.events.retain(|e| e.at_ms < cut);
        if !fails(&candidate, &mut runs) {
            break;
        }
        best = candidate;
    }
    Some(Minimized { scenario: best, kind, runs, original_events })
}

const KNOBS: usize = 13;

fn zero_knob(f: &mut FaultConfig, knob: usize) -> bool {
    let l: &mut LinkFaults = &mut f.link;
    let slot: &mut f64 = match knob {
        0 => &mut l.loss,
        1 => {
            let had = l.burst.is_some();
            l.burst = None;
            return had;
        }
        2 => &mut l.duplicate,
        3 => &mut l.reorder,
        4 => &mut l.tail,
        5 => &mut l.filter_push_loss,
        6 => &mut l.store_failure,
        7 => &mut l.store_truncate,
        8 => &mut l.lightpush_failure,
        9 => &mut l.lightpush_zero_peers,
        10 => {
            let had = f.adversary.is_active();
            f.adversary = AdversaryConfig::default();
            return had;
        }
        11 => {
            let had = f.skew_max_ms > 0 || f.drift_max_ppm > 0;
            f.skew_max_ms = 0;
            f.drift_max_ppm = 0;
            return had;
        }
        _ => {
            let had = f.torn_share > 0.0;
            f.torn_share = 0.0;
            return had;
        }
    };
    let had = *slot > 0.0;
    *slot = 0.0;
    had
}

/// Runs a scenario with the node it names (the default runner for [`minimize`]).
pub fn run_scenario(s: &Scenario) -> RunReport {
    crate::run::run(s.config.clone(), RunOptions { schedule: Some(s.schedule.clone()), ..RunOptions::default() })
}
