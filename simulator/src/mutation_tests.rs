//! Mutation checks: each planted bug in the stand-in must be caught by the invariants on some
//! seed of a fault mix that exercises it, and the minimizer must shrink the failing schedule.
//! This proves the checks can fail.

use crate::invariants::ViolationKind;
use crate::minimize::{Scenario, minimize};
use crate::run::{run_mutant, run_standin};
use crate::scenario::{Overrides, Preset, ScenarioSpec};
use crate::standin::Mutation;
use crate::world::{RunOptions, RunReport, schedule_for};

fn spec(f: impl FnOnce(&mut Overrides)) -> ScenarioSpec {
    let mut overrides = Overrides { no_faults: true, ..Overrides::default() };
    f(&mut overrides);
    ScenarioSpec { preset: Preset::Tiny, swarm: false, overrides }
}

/// The first seed where `mutation` shows one of `kinds`, with its report.
fn find(mutation: Mutation, spec: &ScenarioSpec, kinds: &[ViolationKind], seeds: u64) -> Option<(u64, RunReport)> {
    (0..seeds).find_map(|seed| {
        let r = run_mutant(spec.config(seed), mutation, RunOptions::default());
        r.violations.first().is_some_and(|v| kinds.contains(&v.kind)).then_some((seed, r))
    })
}

fn assert_caught(mutation: Mutation, spec: &ScenarioSpec, kinds: &[ViolationKind]) -> u64 {
    let Some((seed, r)) = find(mutation, spec, kinds, 40) else {
        panic!("{mutation:?} was not caught as any of {kinds:?} in 40 seeds");
    };
    let v = &r.violations[0];
    assert!(v.to_string().contains(&format!("{:?}", v.kind)));
    // The same seed passes without the planted bug: the invariant caught the mutant, not noise.
    let clean = run_standin(spec.config(seed), RunOptions::default());
    assert!(clean.passed(), "seed {seed} fails even without {mutation:?}: {:?}", clean.violations.first());
    seed
}

#[test]
fn skipping_the_duplicate_check_is_caught() {
    let s = spec(|o| o.dup = Some(0.3));
    assert_caught(Mutation::SkipDuplicateCheck, &s, &[ViolationKind::DuplicateDelivery]);
}

#[test]
fn delivering_unauthenticated_plaintext_is_caught() {
    let s = spec(|o| o.adversary = Some(0.1));
    assert_caught(Mutation::AcceptUnauthenticated, &s, &[ViolationKind::Tampered, ViolationKind::Forged]);
}

#[test]
fn publishing_before_persisting_the_nonce_is_caught() {
    let s = spec(|o| {
        o.crashes = Some(40.0);
        o.torn = Some(1.0);
    });
    assert_caught(Mutation::PublishBeforePersist, &s, &[ViolationKind::KeyNonceReuse]);
}

#[test]
fn persisting_before_delivering_is_caught() {
    let s = spec(|o| {
        o.crashes = Some(40.0);
        o.torn = Some(1.0);
    });
    assert_caught(Mutation::PersistBeforeDeliver, &s, &[ViolationKind::NotDelivered]);
}

#[test]
fn a_volatile_dedup_window_is_caught() {
    let s = spec(|o| {
        o.crashes = Some(40.0);
        o.dup = Some(0.3);
        o.loss = Some(0.2);
    });
    assert_caught(Mutation::VolatileDedup, &s, &[ViolationKind::DuplicateDelivery]);
}

#[test]
fn never_retransmitting_is_caught_by_liveness() {
    let s = spec(|o| o.loss = Some(0.3));
    assert_caught(Mutation::NoRetransmit, &s, &[ViolationKind::NotDelivered]);
}

#[test]
fn the_minimizer_shrinks_a_failing_schedule() {
    let s = spec(|o| {
        o.crashes = Some(40.0);
        o.torn = Some(1.0);
        o.churn = Some(10.0);
        o.partitions = Some(20.0);
        o.loss = Some(0.05);
    });
    let kinds = [ViolationKind::KeyNonceReuse];
    let (seed, _) = find(Mutation::PublishBeforePersist, &s, &kinds, 40).expect("a failing seed");
    let config = s.config(seed);
    let schedule = schedule_for(&config);
    let original = schedule.len();
    assert!(original > 3, "need a schedule to shrink ({original})");
    let mut runner = |sc: &Scenario| {
        run_mutant(
            sc.config.clone(),
            Mutation::PublishBeforePersist,
            RunOptions { schedule: Some(sc.schedule.clone()), ..RunOptions::default() },
        )
    };
    let m = minimize(Scenario { config, schedule }, &mut runner, 120).expect("fails");
    assert_eq!(m.kind, ViolationKind::KeyNonceReuse);
    assert!(m.scenario.schedule.len() < original, "{} of {original}", m.scenario.schedule.len());
    assert!(m.scenario.config.faults.link.loss == 0.0, "the loss knob is irrelevant and should be switched off");
    // The minimized scenario replays to the same violation, also after a JSON round trip.
    let json = serde_json::to_string(&m.scenario).unwrap();
    let back: Scenario = serde_json::from_str(&json).unwrap();
    assert_eq!(runner(&back).violations.first().map(|v| v.kind), Some(ViolationKind::KeyNonceReuse));
}

/// The first seed where the real peer with `mutation` planted in its adapter shows one of `kinds`;
/// the same seed passes without it.
fn assert_peer_caught(mutation: crate::peer_node::PeerMutation, spec: &ScenarioSpec, kinds: &[ViolationKind]) {
    let found = (0..20).find(|&seed| {
        let r = crate::run::run_peer_mutant(spec.config(seed), mutation, RunOptions::default());
        r.violations.first().is_some_and(|v| kinds.contains(&v.kind))
    });
    let Some(seed) = found else { panic!("{mutation:?} was not caught as any of {kinds:?} in 20 seeds") };
    let clean = crate::run::run_peer(spec.config(seed), RunOptions::default());
    assert!(clean.passed(), "seed {seed} fails even without {mutation:?}: {:?}", clean.violations.first());
}

#[test]
fn a_peer_delivery_reported_twice_is_caught() {
    let s = spec(|_| {});
    assert_peer_caught(crate::peer_node::PeerMutation::DeliverTwice, &s, &[ViolationKind::DuplicateDelivery]);
}

#[test]
fn a_peer_publishing_before_persisting_is_caught() {
    let s = spec(|o| {
        o.crashes = Some(40.0);
        o.torn = Some(1.0);
    });
    assert_peer_caught(crate::peer_node::PeerMutation::PublishBeforePersist, &s, &[ViolationKind::KeyNonceReuse]);
}

#[test]
fn a_lost_change_set_is_caught_by_the_store() {
    let s = spec(|_| {});
    assert_peer_caught(crate::peer_node::PeerMutation::LoseChangeSet, &s, &[ViolationKind::StoreRefused]);
}

/// A node that answers every frame it refuses is an amplifier: a burst of junk at a victim makes
/// it publish past the bound, caught as `AnswersToStrangers`; the correct node answers none.
#[test]
fn answering_strangers_is_caught() {
    let mut config = spec(|_| {}).config(1);
    config.faults.hostile =
        crate::hostile::HostileConfig { victims: 2, bursts_per_hour: 200.0, burst_messages: 100, ..Default::default() };
    let r = run_mutant(config.clone(), Mutation::AnswerStrangers, RunOptions::default());
    assert_eq!(r.violations.first().map(|v| v.kind), Some(ViolationKind::AnswersToStrangers), "{:?}", r.violations);
    let clean = run_standin(config, RunOptions::default());
    assert!(clean.passed(), "{:?}", clean.violations.first());
    let burst = clean.hostile.as_ref().map(|h| h.of(crate::hostile::HostileKind::Burst)).unwrap_or_default();
    assert!(burst.handled > 100 && burst.answered == 0, "{burst:?}");
}
