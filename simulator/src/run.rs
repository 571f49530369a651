//! Convenience entry points: run a scenario with the node it names, and format replay commands.

use crate::peer_node::PeerFactory;
use crate::scenario::{NodeKind, ScenarioConfig, ScenarioSpec, Suite};
use crate::standin::ChatFactory;
use crate::suites::SuiteFactory;
use crate::world::{RunOptions, RunReport, World};

/// Runs `cfg` with the node it names (`cfg.node`).
pub fn run(cfg: ScenarioConfig, opts: RunOptions) -> RunReport {
    match cfg.node {
        NodeKind::Peer if cfg.suite != Suite::Ours => run_suites(cfg, opts),
        NodeKind::Peer => run_peer(cfg, opts),
        NodeKind::Standin => run_standin(cfg, opts),
    }
}

/// Runs `cfg` with the real peer on every device.
pub fn run_peer(cfg: ScenarioConfig, opts: RunOptions) -> RunReport {
    World::new(cfg, PeerFactory::new, opts).run()
}

/// Runs `cfg` with each user on the suite `cfg.suite` gives it: the real peer or a Suite S
/// endpoint.
pub fn run_suites(cfg: ScenarioConfig, opts: RunOptions) -> RunReport {
    let suite = cfg.suite;
    World::new(cfg, |dir| SuiteFactory::new(dir, suite), opts).run()
}

/// Runs `cfg` with the stand-in chat node.
pub fn run_standin(cfg: ScenarioConfig, opts: RunOptions) -> RunReport {
    World::new(cfg, ChatFactory::new, opts).run()
}

/// Runs `cfg` with a planted bug in every stand-in node.
#[cfg(any(test, feature = "mutants"))]
pub fn run_mutant(cfg: ScenarioConfig, mutation: crate::standin::Mutation, opts: RunOptions) -> RunReport {
    World::new(cfg, |dir| ChatFactory::new(dir).with_mutation(mutation), opts).run()
}

/// Runs `cfg` with the real peer and a planted bug in every adapter.
#[cfg(any(test, feature = "mutants"))]
pub fn run_peer_mutant(cfg: ScenarioConfig, mutation: crate::peer_node::PeerMutation, opts: RunOptions) -> RunReport {
    World::new(cfg, |dir| PeerFactory::new(dir).with_mutation(mutation), opts).run()
}

/// The command that reproduces a run of `spec` with `seed`.
pub fn replay_command(seed: u64, spec: &ScenarioSpec) -> String {
    let mut parts = vec!["status-1to1-sim".to_owned(), "replay".to_owned(), seed.to_string()];
    parts.extend(spec.to_args());
    parts.join(" ")
}
