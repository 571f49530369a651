//! The hostile adversaries (stranger flood, big bundles, reflector, store bursts) against the
//! real peer: their strangers reach the victims, honest deliveries still complete, and runs stay
//! deterministic.

use status_1to1_sim::hostile::{HostileConfig, HostileKind};
use status_1to1_sim::node::KeyExchange;
use status_1to1_sim::scenario::{NodeKind, Overrides, Preset, ScenarioConfig, ScenarioSpec, Toggle};
use status_1to1_sim::{RunOptions, RunReport, run};

/// A small clean tiny run of the peer with `hostile` aimed at it.
fn config(key_exchange: KeyExchange, seed: u64, hostile: HostileConfig) -> ScenarioConfig {
    let overrides = Overrides {
        key_exchange: Some(key_exchange),
        no_faults: true,
        node: Some(NodeKind::Peer),
        ..Default::default()
    };
    let mut c = ScenarioSpec { preset: Preset::Tiny, swarm: false, overrides }.config(seed);
    c.workload.users = 4;
    c.workload.devices_per_user = (1, 2);
    c.fault_phase_ms = 90_000;
    c.faults.hostile = hostile;
    c
}

/// Strangers only, at a rate whose answers stay far below the bound.
fn strangers() -> HostileConfig {
    HostileConfig { victims: 1, strangers: 3, stranger_texts_per_hour: 600.0, fresh_share: 0.5, ..Default::default() }
}

fn assert_passed(r: &RunReport) {
    assert!(r.passed(), "{:?}", r.violations.iter().take(3).map(ToString::to_string).collect::<Vec<_>>());
}

#[test]
fn strangers_reach_the_victim_and_honest_messages_still_arrive() {
    for kx in [KeyExchange::X3dh, KeyExchange::Noise] {
        let r = run(config(kx, 3, strangers()), RunOptions::default());
        assert_passed(&r);
        assert_eq!(r.delivery_ratio(), 1.0, "{kx:?}");
        let h = r.hostile.as_ref().expect("hostile stats");
        let s = h.of(HostileKind::Stranger);
        assert!(h.identities >= 2, "{kx:?}: fresh identities were made ({})", h.identities);
        assert!(s.injected >= 5, "{kx:?}: strangers sent ({s:?})");
        // Real first messages (not junk): the victim's peer handled them and refused not all.
        assert!(s.handled >= s.injected.min(5), "{kx:?}: the victim saw them ({s:?})");
        assert!(s.handled > s.rejected, "{kx:?}: some stranger input was valid to the victim ({s:?})");
        assert_eq!(h.stranger_errors, 0, "{kx:?}: the strangers' own peers sent");
    }
}

#[test]
fn reflections_and_bursts_reach_the_victim() {
    let hostile = HostileConfig {
        victims: 2,
        reflect: 1.0,
        bursts_per_hour: 120.0,
        burst_messages: 150,
        big_bundles_per_hour: 60.0,
        bundle_installations: 40,
        ..Default::default()
    };
    let r = run(config(KeyExchange::X3dh, 5, hostile), RunOptions { stop_on_violation: false, ..Default::default() });
    let h = r.hostile.as_ref().expect("hostile stats");
    let (refl, burst, big) = (h.of(HostileKind::Reflection), h.of(HostileKind::Burst), h.of(HostileKind::BigBundle));
    assert!(refl.injected > 0 && refl.handled > 0, "{refl:?}");
    assert!(burst.injected >= 150 && burst.handled > 0, "{burst:?}");
    assert_eq!(burst.answered, 0, "junk is never answered ({burst:?})");
    assert_eq!(burst.rejected, burst.handled, "junk is always refused ({burst:?})");
    assert!(big.injected > 0 && big.handled > 0, "{big:?}");
    assert!(r.net.archived > burst.injected, "the store archived the burst");
    // Honest deliveries are unaffected.
    assert_eq!(r.delivery_ratio(), 1.0);
    assert!(r.violations.iter().all(|v| v.kind != status_1to1_sim::ViolationKind::NotDelivered));
}

#[test]
fn hostile_runs_are_deterministic() {
    let spec = |hostile| {
        let overrides = Overrides {
            key_exchange: Some(KeyExchange::Mixed),
            node: Some(NodeKind::Peer),
            hostile: Some(hostile),
            duration: Some(60_000),
            users: Some(3),
            ..Default::default()
        };
        ScenarioSpec { preset: Preset::Tiny, swarm: true, overrides }
    };
    let on = spec(Toggle::On);
    let a = run(on.config(2), RunOptions { stop_on_violation: false, ..Default::default() });
    let b = run(on.config(2), RunOptions { stop_on_violation: false, ..Default::default() });
    assert_eq!(a.trace_hex(), b.trace_hex());
    assert_eq!(a.hostile, b.hostile);
    assert!(a.hostile.as_ref().is_some_and(|h| h.identities > 0));
    let off = run(spec(Toggle::Off).config(2), RunOptions { stop_on_violation: false, ..Default::default() });
    assert!(off.hostile.is_none());
    assert_ne!(a.trace_hex(), off.trace_hex());
}

#[test]
fn the_swarm_runs_hostile_mode_on_its_share_of_seeds_and_the_flag_replays() {
    let spec = ScenarioSpec { preset: Preset::Tiny, swarm: true, overrides: Overrides::default() };
    let on = (0..1_000).filter(|&s| spec.config(s).faults.hostile.is_active()).count() as f64 / 1_000.0;
    let share = status_1to1_sim::hostile::HOSTILE_SWARM_SHARE;
    assert!((on - share).abs() < 0.05, "{on} vs {share}");
    let forced = ScenarioSpec { overrides: Overrides { hostile: Some(Toggle::On), ..Default::default() }, ..spec };
    assert!(forced.to_args().windows(2).any(|w| w == ["--hostile", "on"]));
    assert!((0..20).all(|s| forced.config(s).faults.hostile.is_active()));
    let no_faults = Overrides { no_faults: true, ..Default::default() };
    assert!(
        !ScenarioSpec { preset: Preset::Tiny, swarm: true, overrides: no_faults }.config(1).faults.hostile.is_active()
    );
}
