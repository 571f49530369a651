//! proptest-generated fault schedules and fault knobs on a small fixed population: whatever the
//! schedule, safety holds and every owed message is delivered after the catch-up window.
//! Failures shrink to a minimal schedule (proptest deletes and simplifies events).

use proptest::prelude::*;
use status_1to1_sim::faults::{Fault, FaultEvent, FaultSchedule};
use status_1to1_sim::ids::{DeviceId, NetAddr, ServiceId};
use status_1to1_sim::net::adversary::AdversaryConfig;
use status_1to1_sim::net::loss::GilbertElliott;
use status_1to1_sim::net::partition::{Direction, Membership, PartitionSpec};
use status_1to1_sim::scenario::{Preset, ScenarioConfig};
use status_1to1_sim::{RunOptions, run_standin};

const DEVICES: u32 = 6;
const PHASE_MS: u64 = 120_000;

fn base(seed: u64, light: f64) -> ScenarioConfig {
    let mut c = Preset::Tiny.config(seed);
    c.faults = Default::default();
    c.workload.users = 3;
    c.workload.devices_per_user = (2, 2);
    c.workload.light_fraction = light;
    c.workload.msgs_per_user_hour = 120.0;
    c.fault_phase_ms = PHASE_MS;
    c
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Both), Just(Direction::AToB), Just(Direction::BToA)]
}

fn addr() -> impl Strategy<Value = NetAddr> {
    prop_oneof![
        (0..DEVICES).prop_map(|d| NetAddr::Device(DeviceId(d))),
        (0u16..3).prop_map(|s| NetAddr::Service(ServiceId(s)))
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    let dur = 1_000u64..90_000;
    prop_oneof![
        (
            prop_oneof![
                addr().prop_map(Membership::Isolate),
                (0.1f64..0.6, any::<u64>()).prop_map(|(share, salt)| Membership::Fraction { share, salt })
            ],
            direction(),
            dur.clone()
        )
            .prop_map(|(members, direction, duration_ms)| Fault::Partition {
                spec: PartitionSpec { members, direction },
                duration_ms
            }),
        ((0..DEVICES), dur.clone()).prop_map(|(d, duration_ms)| Fault::Offline { device: DeviceId(d), duration_ms }),
        ((0..DEVICES), proptest::option::of(0u8..4), dur.clone()).prop_map(|(d, torn_after, down_ms)| Fault::Crash {
            device: DeviceId(d),
            torn_after,
            down_ms
        }),
        ((0u16..3), dur).prop_map(|(s, duration_ms)| Fault::ServiceOutage { service: ServiceId(s), duration_ms }),
    ]
}

fn schedule() -> impl Strategy<Value = FaultSchedule> {
    proptest::collection::vec((0..PHASE_MS, fault()), 0..24).prop_map(|mut v| {
        v.sort_by_key(|(at, _)| *at);
        FaultSchedule { events: v.into_iter().map(|(at_ms, fault)| FaultEvent { at_ms, fault }).collect() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_schedules_hold_every_invariant(
        seed in any::<u64>(),
        light in prop_oneof![Just(0.0), Just(0.5), Just(1.0)],
        schedule in schedule(),
        loss in 0.0f64..0.3,
        burst in any::<bool>(),
        dup in 0.0f64..0.2,
        reorder in 0.0f64..0.5,
        adversary in prop_oneof![Just(0.0), 0.0f64..0.1],
        store_failure in 0.0f64..0.4,
        skew in prop_oneof![Just(0u64), 0u64..120_000],
    ) {
        let mut c = base(seed, light);
        c.faults.link.loss = loss;
        c.faults.link.burst = burst.then(GilbertElliott::default);
        c.faults.link.duplicate = dup;
        c.faults.link.reorder = reorder;
        c.faults.link.reorder_window_ms = 5_000;
        c.faults.link.store_failure = store_failure;
        c.faults.adversary = AdversaryConfig { drop: adversary, tamper: adversary, replay: adversary, inject: adversary };
        c.faults.skew_max_ms = skew;
        let r = run_standin(c, RunOptions { schedule: Some(schedule.clone()), ..RunOptions::default() });
        prop_assert!(r.passed(), "violations {:?} with schedule {:?}", r.violations.first(), schedule);
        prop_assert_eq!(r.devices, DEVICES as usize);
    }
}
