//! Fault configuration and the explicit fault schedule.
//!
//! Interval faults (partitions, offline periods, crashes, service outages) are drawn up front
//! into a list of [`FaultEvent`]s. The list is the "recorded choices" the minimizer shrinks by
//! delta debugging, and it can be saved and replayed as a scenario file. Per-delivery faults
//! (loss, duplication, reordering, tails, store/lightpush failures) are probabilities in
//! [`LinkFaults`], drawn from the network stream as deliveries happen.

use serde::{Deserialize, Serialize};

use crate::dist::exponential;
use crate::hostile::HostileConfig;
use crate::ids::{DeviceId, NetAddr, ServiceId};
use crate::net::LinkFaults;
use crate::net::adversary::AdversaryConfig;
use crate::net::partition::{Direction, Membership, PartitionSpec};
use crate::rng::SimRng;

/// Rates and probabilities of every fault.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Per-delivery and per-request faults.
    pub link: LinkFaults,
    /// Partitions started per hour (Poisson), at most one at a time.
    pub partitions_per_hour: f64,
    /// Mean partition duration.
    pub partition_mean_ms: u64,
    /// Share of partitions that are one-way.
    pub one_way_share: f64,
    /// Share of partitions that isolate a single node (else a random split).
    pub isolate_share: f64,
    /// Offline periods per device per hour (mobile duty cycles).
    pub churn_per_device_hour: f64,
    /// Mean offline duration.
    pub offline_mean_ms: u64,
    /// Crashes per device per hour.
    pub crashes_per_device_hour: f64,
    /// Mean time until a crashed device restarts.
    pub restart_mean_ms: u64,
    /// Share of crashes that tear an action list (crash between "persist" and "send").
    pub torn_share: f64,
    /// Service-node outages per hour over all service nodes (store gaps, lost filter
    /// subscriptions).
    pub service_outages_per_hour: f64,
    /// Mean outage duration.
    pub service_outage_mean_ms: u64,
    /// Largest device clock offset (±).
    pub skew_max_ms: u64,
    /// Largest device clock drift (±ppm).
    pub drift_max_ppm: u32,
    /// The adversary.
    pub adversary: AdversaryConfig,
    /// The hostile adversaries (stranger flood, reflector, store bursts); off by default.
    #[serde(default)]
    pub hostile: HostileConfig,
}

/// One interval fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// A partition of the relay fabric.
    Partition {
        /// Shape.
        spec: PartitionSpec,
        /// How long until it heals.
        duration_ms: u64,
    },
    /// A device loses connectivity.
    Offline {
        /// Which.
        device: DeviceId,
        /// For how long.
        duration_ms: u64,
    },
    /// A device crashes, losing its in-memory state, and restarts from its last snapshot.
    Crash {
        /// Which.
        device: DeviceId,
        /// `Some(k)`: crash inside the device's next step, after its first `k` actions.
        torn_after: Option<u8>,
        /// Until the restart.
        down_ms: u64,
    },
    /// A service node stops (its filter subscriptions are lost, its archive survives).
    ServiceOutage {
        /// Which.
        service: ServiceId,
        /// For how long.
        duration_ms: u64,
    },
}

/// A fault and when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// Start, in ms of virtual time.
    pub at_ms: u64,
    /// The fault.
    pub fault: Fault,
}

/// The faults of one run, sorted by start time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FaultSchedule {
    /// The events.
    pub events: Vec<FaultEvent>,
}

impl FaultSchedule {
    /// Draws the schedule for `devices` devices and `services` service nodes over the fault
    /// phase.
    pub fn generate(cfg: &FaultConfig, devices: u32, services: u16, phase_ms: u64, rng: &mut SimRng) -> Self {
        let mut events = Vec::new();
        poisson(rng, cfg.partitions_per_hour, phase_ms, cfg.partition_mean_ms, |rng, at, duration_ms| {
            events.push(FaultEvent {
                at_ms: at,
                fault: Fault::Partition { spec: partition(cfg, devices, services, rng), duration_ms },
            });
        });
        poisson(rng, cfg.service_outages_per_hour, phase_ms, cfg.service_outage_mean_ms, |rng, at, duration_ms| {
            let service = ServiceId(rng.below(u64::from(services.max(1))) as u16);
            events.push(FaultEvent { at_ms: at, fault: Fault::ServiceOutage { service, duration_ms } });
        });
        for d in 0..devices {
            let device = DeviceId(d);
            poisson(rng, cfg.churn_per_device_hour, phase_ms, cfg.offline_mean_ms, |_, at, duration_ms| {
                events.push(FaultEvent { at_ms: at, fault: Fault::Offline { device, duration_ms } });
            });
            poisson(rng, cfg.crashes_per_device_hour, phase_ms, cfg.restart_mean_ms, |rng, at, down_ms| {
                let torn_after = rng.chance(cfg.torn_share).then(|| rng.below(4) as u8);
                events.push(FaultEvent { at_ms: at, fault: Fault::Crash { device, torn_after, down_ms } });
            });
        }
        events.sort_by_key(|e| e.at_ms);
        Self { events }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Calls `f(rng, start, duration)` for each interval of an on/off process with `per_hour`
/// starts per hour and mean duration `mean_ms`, within `[0, phase_ms)`.
fn poisson(rng: &mut SimRng, per_hour: f64, phase_ms: u64, mean_ms: u64, mut f: impl FnMut(&mut SimRng, u64, u64)) {
    if per_hour <= 0.0 {
        return;
    }
    let gap_mean = 3_600_000.0 / per_hour;
    let mut t = exponential(rng.unit(), gap_mean);
    while t < phase_ms as f64 {
        let duration = exponential(rng.unit(), mean_ms as f64).max(1.0) as u64;
        f(rng, t as u64, duration);
        t += duration as f64 + exponential(rng.unit(), gap_mean);
    }
}

fn partition(cfg: &FaultConfig, devices: u32, services: u16, rng: &mut SimRng) -> PartitionSpec {
    let direction = if rng.chance(cfg.one_way_share) {
        if rng.chance(0.5) { Direction::AToB } else { Direction::BToA }
    } else {
        Direction::Both
    };
    let members = if rng.chance(cfg.isolate_share) {
        let total = u64::from(devices) + u64::from(services);
        let pick = rng.below(total.max(1));
        if pick < u64::from(devices) {
            Membership::Isolate(NetAddr::Device(DeviceId(pick as u32)))
        } else {
            Membership::Isolate(NetAddr::Service(ServiceId((pick - u64::from(devices)) as u16)))
        }
    } else {
        Membership::Fraction { share: rng.uniform(0.1, 0.5), salt: rng.next_u64() }
    };
    PartitionSpec { members, direction }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_sorted_and_rates_are_plausible() {
        let cfg = FaultConfig {
            partitions_per_hour: 6.0,
            partition_mean_ms: 60_000,
            churn_per_device_hour: 2.0,
            offline_mean_ms: 60_000,
            crashes_per_device_hour: 1.0,
            restart_mean_ms: 10_000,
            torn_share: 0.5,
            service_outages_per_hour: 2.0,
            service_outage_mean_ms: 30_000,
            ..FaultConfig::default()
        };
        let s = FaultSchedule::generate(&cfg, 100, 3, 3_600_000, &mut SimRng::new(1, "faults", 0));
        assert!(s.events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        let crashes = s.events.iter().filter(|e| matches!(e.fault, Fault::Crash { .. })).count();
        assert!((60..150).contains(&crashes), "{crashes}");
        assert!(s.events.iter().any(|e| matches!(e.fault, Fault::Crash { torn_after: Some(_), .. })));
        assert!(
            FaultSchedule::generate(&FaultConfig::default(), 100, 3, 3_600_000, &mut SimRng::new(1, "f", 0)).is_empty()
        );
    }
}
