//! Scenario configuration: presets by size, TigerBeetle-style swarm configurations drawn per
//! seed, and command-line overrides that render back to an exact replay command.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::faults::FaultConfig;
use crate::hostile::HostileConfig;
use crate::net::adversary::AdversaryConfig;
use crate::net::loss::GilbertElliott;
use crate::net::{LinkFaults, NetConfig};
use crate::node::KeyExchange;
use crate::rng::SimRng;
use crate::workload::{SocialGraph, WorkloadConfig};

/// Everything that determines a run (with the seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioConfig {
    /// Root seed.
    pub seed: u64,
    /// Users, devices, contacts, message rates.
    pub workload: WorkloadConfig,
    /// Network parameters.
    pub net: NetConfig,
    /// Fault rates.
    pub faults: FaultConfig,
    /// Length of the fault phase (the workload sends during it).
    pub fault_phase_ms: u64,
    /// Catch-up window after faults stop, before the liveness check.
    pub catchup_ms: u64,
    /// Key exchange (wired to the real peer later).
    pub key_exchange: KeyExchange,
    /// Whether to run the liveness check at the end.
    pub liveness: bool,
    /// What runs on each device.
    #[serde(default)]
    pub node: NodeKind,
    /// How many devices (the first ones) also commit every change set to a real SQLite store and
    /// restart from it (`crate::sqlite_mirror`).
    #[serde(default)]
    pub sqlite_devices: u32,
    /// Which wire each user speaks (with the real peer).
    #[serde(default)]
    pub suite: Suite,
}

/// The wire a user speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Suite {
    /// Ours (`status_1to1::peer::Peer`: Suite D X3DH and Noise).
    #[default]
    Ours,
    /// status-go's (Suite S: `status_1to1::statusgo::endpoint::Endpoint` with datasync).
    Status,
    /// Half the users each, side by side on one network; contacts only within a suite (a
    /// `Peer` cannot hold a Suite S contact yet).
    Mixed,
}

impl Suite {
    /// The suite `user` speaks: for `Mixed`, users 2 and 3 of every 4 speak Suite S (so both
    /// halves keep both parities, which `KeyExchange::Mixed` splits on).
    pub fn of(self, user: crate::ids::UserId) -> Suite {
        match self {
            Suite::Mixed if user.0 % 4 >= 2 => Suite::Status,
            Suite::Mixed => Suite::Ours,
            other => other,
        }
    }
}

/// The program on every simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum NodeKind {
    /// The real peer of the protocol crate (`status_1to1::peer::Peer`).
    #[default]
    Peer,
    /// The stand-in chat node: a minimal at-least-once protocol for testing the simulator itself.
    Standin,
}

/// Scenario sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Preset {
    /// 6 users, 3 min of faults: for hundreds of seeds in `cargo test`.
    Tiny,
    /// 20 users, 10 min.
    Small,
    /// 200 users (~400 devices), 30 min.
    #[default]
    Default,
    /// 2,000 users (~4,000 devices), 1 h.
    Large,
    /// 5,000 users × 2 devices = 10,000 devices, 1 h, ~1,000,000 messages.
    Scale,
}

/// The default fault mix of the presets: every fault on at a moderate rate.
pub fn default_faults() -> FaultConfig {
    FaultConfig {
        link: LinkFaults {
            loss: 0.02,
            burst: Some(GilbertElliott::default()),
            duplicate: 0.02,
            reorder: 0.05,
            reorder_window_ms: 3_000,
            tail: 0.01,
            filter_push_loss: 0.02,
            store_failure: 0.02,
            store_truncate: 0.01,
            lightpush_failure: 0.03,
            lightpush_zero_peers: 0.01,
        },
        partitions_per_hour: 2.0,
        partition_mean_ms: 120_000,
        one_way_share: 0.3,
        isolate_share: 0.3,
        churn_per_device_hour: 1.0,
        offline_mean_ms: 180_000,
        crashes_per_device_hour: 0.2,
        restart_mean_ms: 30_000,
        torn_share: 0.5,
        service_outages_per_hour: 1.0,
        service_outage_mean_ms: 60_000,
        skew_max_ms: 30_000,
        drift_max_ppm: 50,
        adversary: AdversaryConfig { drop: 0.005, tamper: 0.005, replay: 0.01, inject: 0.005 },
        hostile: HostileConfig::default(),
    }
}

impl Preset {
    /// The preset's configuration.
    pub fn config(self, seed: u64) -> ScenarioConfig {
        let (users, devices, rate, phase_min) = match self {
            Preset::Tiny => (6, (1, 2), 60.0, 3),
            Preset::Small => (20, (1, 3), 30.0, 10),
            Preset::Default => (200, (1, 3), 20.0, 30),
            Preset::Large => (2_000, (1, 3), 30.0, 60),
            Preset::Scale => (5_000, (2, 2), 200.0, 60),
        };
        let mut net = NetConfig::default();
        if self == Preset::Scale {
            net.store.capacity = 200_000;
        }
        ScenarioConfig {
            seed,
            workload: WorkloadConfig {
                users,
                devices_per_user: devices,
                msgs_per_user_hour: rate,
                light_fraction: if self == Preset::Scale { 0.3 } else { 0.4 },
                ..WorkloadConfig::default()
            },
            net,
            faults: default_faults(),
            fault_phase_ms: phase_min * 60_000,
            catchup_ms: 6 * 60_000,
            key_exchange: KeyExchange::X3dh,
            liveness: true,
            node: NodeKind::default(),
            sqlite_devices: 0,
            suite: Suite::default(),
        }
    }
}

/// A swarm configuration (TigerBeetle `options_swarm`): the preset's size, with the device mix,
/// the social graph and every fault knob drawn from the seed, so seeds explore combinations no
/// hand-written configuration reaches.
pub fn swarm(preset: Preset, seed: u64) -> ScenarioConfig {
    let mut c = preset.config(seed);
    let mut r = SimRng::new(seed, "swarm", 0);
    let pick = |r: &mut SimRng, xs: &[f64]| xs[r.index(xs.len())];
    let w = &mut c.workload;
    w.users = ((f64::from(w.users) * r.uniform(0.5, 1.5)) as u32).max(2);
    w.devices_per_user = (1, r.range_inclusive(1, 4) as u8);
    w.light_fraction = pick(&mut r, &[0.0, 0.3, 0.7, 1.0]);
    w.graph = if r.chance(0.5) {
        SocialGraph::PreferentialAttachment { m: r.range_inclusive(1, 3) as u32 }
    } else {
        SocialGraph::SmallWorld { k: 2 * r.range_inclusive(1, 2) as u32, beta: r.uniform(0.0, 0.5) }
    };
    w.msgs_per_user_hour *= r.uniform(0.5, 2.0);
    let f = &mut c.faults;
    let l = &mut f.link;
    l.loss = if r.chance(0.3) { 0.0 } else { r.uniform(0.0, 0.3) };
    l.burst = r.chance(0.3).then(|| GilbertElliott {
        p_good_to_bad: r.uniform(0.005, 0.05),
        p_bad_to_good: r.uniform(0.1, 0.5),
        loss_good: 0.0,
        loss_bad: r.uniform(0.5, 1.0),
    });
    l.duplicate = if r.chance(0.5) { r.uniform(0.0, 0.2) } else { 0.0 };
    l.reorder = r.uniform(0.0, 0.3);
    l.reorder_window_ms = r.range_inclusive(100, 10_000);
    l.tail = if r.chance(0.3) { r.uniform(0.0, 0.05) } else { 0.0 };
    l.filter_push_loss = r.uniform(0.0, 0.1);
    l.store_failure = r.uniform(0.0, 0.2);
    l.store_truncate = r.uniform(0.0, 0.05);
    l.lightpush_failure = r.uniform(0.0, 0.2);
    l.lightpush_zero_peers = r.uniform(0.0, 0.05);
    f.partitions_per_hour = pick(&mut r, &[0.0, 2.0, 10.0, 30.0]);
    f.partition_mean_ms = r.range_inclusive(10_000, 180_000);
    f.one_way_share = r.unit();
    f.isolate_share = r.unit();
    f.churn_per_device_hour = pick(&mut r, &[0.0, 1.0, 6.0, 20.0]);
    f.offline_mean_ms = r.range_inclusive(10_000, 300_000);
    f.crashes_per_device_hour = pick(&mut r, &[0.0, 0.5, 3.0, 10.0]);
    f.restart_mean_ms = r.range_inclusive(1_000, 60_000);
    f.torn_share = r.unit();
    f.service_outages_per_hour = pick(&mut r, &[0.0, 2.0, 10.0]);
    f.service_outage_mean_ms = r.range_inclusive(10_000, 120_000);
    f.skew_max_ms = pick(&mut r, &[0.0, 2_000.0, 30_000.0, 120_000.0]) as u64;
    f.drift_max_ppm = pick(&mut r, &[0.0, 100.0]) as u32;
    f.adversary = if r.chance(0.3) {
        AdversaryConfig {
            drop: r.uniform(0.0, 0.05),
            tamper: r.uniform(0.0, 0.05),
            replay: r.uniform(0.0, 0.05),
            inject: r.uniform(0.0, 0.05),
        }
    } else {
        AdversaryConfig::default()
    };
    // A separate sub-stream: the draws above are what they were before hostile mode existed.
    f.hostile = HostileConfig::swarm(seed);
    let n = &mut c.net;
    n.store_nodes = r.range_inclusive(1, 3) as u16;
    n.service_nodes = n.store_nodes.max(r.range_inclusive(2, 3) as u16);
    if r.chance(0.2) {
        n.store.retention_ms = r.range_inclusive(5, 60) * 60_000;
        n.store.retention_interval_ms = 60_000;
    }
    n.shards = pick(&mut r, &[1.0, 8.0]) as u16;
    // RLN validation drops anything more than 20 s off; such a sender can never deliver, which
    // is the environment, not a protocol bug, so the swarm keeps skew inside the gap then.
    n.rln_timestamp_check = r.chance(0.2);
    if n.rln_timestamp_check {
        c.faults.skew_max_ms = c.faults.skew_max_ms.min(15_000);
    }
    c
}

/// Command-line overrides on top of a preset or swarm configuration.
#[derive(Debug, Clone, PartialEq, Default, clap::Args)]
pub struct Overrides {
    /// Number of users.
    #[arg(long)]
    pub users: Option<u32>,
    /// Devices per user: N or MIN..MAX.
    #[arg(long, value_parser = parse_range_u8)]
    pub devices: Option<(u8, u8)>,
    /// Share of light-client (mobile) devices.
    #[arg(long)]
    pub light_fraction: Option<f64>,
    /// Messages per user per hour.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Fault-phase length (e.g. 90s, 10m, 1h); the workload sends during it.
    #[arg(long, value_parser = parse_duration_ms)]
    pub duration: Option<u64>,
    /// Catch-up window after faults stop.
    #[arg(long, value_parser = parse_duration_ms)]
    pub catchup: Option<u64>,
    /// Independent loss per delivery.
    #[arg(long)]
    pub loss: Option<f64>,
    /// Bursty (Gilbert-Elliott) loss on or off.
    #[arg(long)]
    pub burst: Option<bool>,
    /// Duplication per delivery.
    #[arg(long)]
    pub dup: Option<f64>,
    /// Reordering jitter probability per delivery.
    #[arg(long)]
    pub reorder: Option<f64>,
    /// Heavy-tail delay probability per delivery.
    #[arg(long)]
    pub tail: Option<f64>,
    /// Partitions per hour.
    #[arg(long)]
    pub partitions: Option<f64>,
    /// Offline periods per device per hour.
    #[arg(long)]
    pub churn: Option<f64>,
    /// Crashes per device per hour.
    #[arg(long)]
    pub crashes: Option<f64>,
    /// Share of torn crashes.
    #[arg(long)]
    pub torn: Option<f64>,
    /// Service-node outages per hour.
    #[arg(long)]
    pub outages: Option<f64>,
    /// Largest clock skew (±), e.g. 30s.
    #[arg(long, value_parser = parse_duration_ms)]
    pub skew: Option<u64>,
    /// Store query failure probability.
    #[arg(long)]
    pub store_failure: Option<f64>,
    /// Lightpush failure probability.
    #[arg(long)]
    pub lightpush_failure: Option<f64>,
    /// Adversary probability for each of drop, tamper, replay and inject.
    #[arg(long)]
    pub adversary: Option<f64>,
    /// Hostile adversaries (stranger flood, reflector, store bursts): `on` runs them with rates
    /// drawn from the seed, `off` never; unset, a swarm draws them on some seeds.
    #[arg(long, value_enum)]
    pub hostile: Option<Toggle>,
    /// Number of store nodes.
    #[arg(long)]
    pub store_nodes: Option<u16>,
    /// Store time retention, e.g. 48h.
    #[arg(long, value_parser = parse_duration_ms)]
    pub retention: Option<u64>,
    /// Store capacity (messages per store node).
    #[arg(long)]
    pub store_capacity: Option<usize>,
    /// Key exchange: x3dh, noise or mixed (accepted now, wired to the real peer later).
    #[arg(long, value_parser = parse_key_exchange)]
    pub key_exchange: Option<KeyExchange>,
    /// What runs on each device: the real peer (default) or the stand-in node.
    #[arg(long, value_enum)]
    pub node: Option<NodeKind>,
    /// Run the first N devices on the real SQLite store as well (every change set committed,
    /// restarts loaded from SQLite and compared with the change sets applied).
    #[arg(long)]
    pub sqlite_devices: Option<u32>,
    /// The wire the users speak: ours, status (status-go's Suite S), or mixed (half each).
    #[arg(long, value_enum)]
    pub suite: Option<Suite>,
    /// Turn every fault off.
    #[arg(long)]
    pub no_faults: bool,
    /// Skip the liveness check.
    #[arg(long)]
    pub no_liveness: bool,
}

/// On or off, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Toggle {
    /// On.
    On,
    /// Off.
    Off,
}

/// What the user asked for: a preset, optionally swarmed, plus overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioSpec {
    /// Size.
    pub preset: Preset,
    /// Draw the configuration from the seed.
    pub swarm: bool,
    /// Explicit settings.
    pub overrides: Overrides,
}

impl ScenarioSpec {
    /// The configuration for `seed`.
    pub fn config(&self, seed: u64) -> ScenarioConfig {
        let mut c = if self.swarm { swarm(self.preset, seed) } else { self.preset.config(seed) };
        self.overrides.apply(&mut c);
        c
    }

    /// The flags that reproduce this spec (after `--seed` or a seed argument).
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec!["--preset".to_owned(), format!("{:?}", self.preset).to_lowercase()];
        if self.swarm {
            a.push("--swarm".to_owned());
        }
        a.extend(self.overrides.to_args());
        a
    }
}

impl Overrides {
    /// Applies the overrides.
    pub fn apply(&self, c: &mut ScenarioConfig) {
        let w = &mut c.workload;
        set(&mut w.users, self.users);
        set(&mut w.devices_per_user, self.devices);
        set(&mut w.light_fraction, self.light_fraction);
        set(&mut w.msgs_per_user_hour, self.rate);
        set(&mut c.fault_phase_ms, self.duration);
        set(&mut c.catchup_ms, self.catchup);
        if self.no_faults {
            c.faults = FaultConfig::default();
        }
        let f = &mut c.faults;
        set(&mut f.link.loss, self.loss);
        if let Some(b) = self.burst {
            f.link.burst = b.then(GilbertElliott::default);
        }
        set(&mut f.link.duplicate, self.dup);
        set(&mut f.link.reorder, self.reorder);
        if self.reorder.is_some() && f.link.reorder_window_ms == 0 {
            f.link.reorder_window_ms = 3_000;
        }
        set(&mut f.link.tail, self.tail);
        set(&mut f.partitions_per_hour, self.partitions);
        if self.partitions.is_some() && f.partition_mean_ms == 0 {
            f.partition_mean_ms = 120_000;
        }
        set(&mut f.churn_per_device_hour, self.churn);
        if self.churn.is_some() && f.offline_mean_ms == 0 {
            f.offline_mean_ms = 180_000;
        }
        set(&mut f.crashes_per_device_hour, self.crashes);
        if self.crashes.is_some() && f.restart_mean_ms == 0 {
            f.restart_mean_ms = 30_000;
        }
        set(&mut f.torn_share, self.torn);
        set(&mut f.service_outages_per_hour, self.outages);
        if self.outages.is_some() && f.service_outage_mean_ms == 0 {
            f.service_outage_mean_ms = 60_000;
        }
        set(&mut f.skew_max_ms, self.skew);
        set(&mut f.link.store_failure, self.store_failure);
        set(&mut f.link.lightpush_failure, self.lightpush_failure);
        if let Some(p) = self.adversary {
            f.adversary = AdversaryConfig { drop: p, tamper: p, replay: p, inject: p };
        }
        match self.hostile {
            Some(Toggle::On) => f.hostile = HostileConfig::drawn(c.seed),
            Some(Toggle::Off) => f.hostile = HostileConfig::default(),
            None => {}
        }
        if let Some(n) = self.store_nodes {
            c.net.store_nodes = n.max(1);
            c.net.service_nodes = c.net.service_nodes.max(c.net.store_nodes);
        }
        set(&mut c.net.store.retention_ms, self.retention);
        set(&mut c.net.store.capacity, self.store_capacity);
        set(&mut c.key_exchange, self.key_exchange);
        set(&mut c.node, self.node);
        set(&mut c.sqlite_devices, self.sqlite_devices);
        set(&mut c.suite, self.suite);
        if self.no_liveness {
            c.liveness = false;
        }
    }

    /// The flags that set these overrides.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut push = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(format!("--{flag}"));
                a.push(v);
            }
        };
        push("users", self.users.map(|v| v.to_string()));
        push("devices", self.devices.map(|(lo, hi)| format!("{lo}..{hi}")));
        push("light-fraction", self.light_fraction.map(|v| v.to_string()));
        push("rate", self.rate.map(|v| v.to_string()));
        push("duration", self.duration.map(format_duration_ms));
        push("catchup", self.catchup.map(format_duration_ms));
        push("loss", self.loss.map(|v| v.to_string()));
        push("burst", self.burst.map(|v| v.to_string()));
        push("dup", self.dup.map(|v| v.to_string()));
        push("reorder", self.reorder.map(|v| v.to_string()));
        push("tail", self.tail.map(|v| v.to_string()));
        push("partitions", self.partitions.map(|v| v.to_string()));
        push("churn", self.churn.map(|v| v.to_string()));
        push("crashes", self.crashes.map(|v| v.to_string()));
        push("torn", self.torn.map(|v| v.to_string()));
        push("outages", self.outages.map(|v| v.to_string()));
        push("skew", self.skew.map(format_duration_ms));
        push("store-failure", self.store_failure.map(|v| v.to_string()));
        push("lightpush-failure", self.lightpush_failure.map(|v| v.to_string()));
        push("adversary", self.adversary.map(|v| v.to_string()));
        push("hostile", self.hostile.map(|t| format!("{t:?}").to_lowercase()));
        push("store-nodes", self.store_nodes.map(|v| v.to_string()));
        push("retention", self.retention.map(format_duration_ms));
        push("store-capacity", self.store_capacity.map(|v| v.to_string()));
        push("key-exchange", self.key_exchange.map(|k| format!("{k:?}").to_lowercase()));
        push("node", self.node.map(|k| format!("{k:?}").to_lowercase()));
        push("sqlite-devices", self.sqlite_devices.map(|v| v.to_string()));
        push("suite", self.suite.map(|s| format!("{s:?}").to_lowercase()));
        if self.no_faults {
            a.push("--no-faults".to_owned());
        }
        if self.no_liveness {
            a.push("--no-liveness".to_owned());
        }
        a
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// Parses `500ms`, `90s`, `10m`, `2h` or a bare number of seconds into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1_000)
    };
    let v: u64 = num.trim().parse().map_err(|_| format!("not a duration: {s:?} (use e.g. 500ms, 90s, 10m, 2h)"))?;
    v.checked_mul(mult).ok_or_else(|| format!("duration too large: {s}"))
}

/// Renders milliseconds in the largest exact unit.
pub fn format_duration_ms(ms: u64) -> String {
    if ms == 0 {
        "0s".to_owned()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

fn parse_range_u8(s: &str) -> Result<(u8, u8), String> {
    let bad = || format!("expected N or MIN..MAX, got {s:?}");
    match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) =
                (a.parse::<u8>().map_err(|_| bad())?, b.trim_start_matches('=').parse::<u8>().map_err(|_| bad())?);
            if a == 0 || b < a || b > 32 { Err(bad()) } else { Ok((a, b)) }
        }
        None => {
            let n = s.parse::<u8>().map_err(|_| bad())?;
            if n == 0 || n > 32 { Err(bad()) } else { Ok((n, n)) }
        }
    }
}

fn parse_key_exchange(s: &str) -> Result<KeyExchange, String> {
    KeyExchange::from_str(s)
}

impl FromStr for KeyExchange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x3dh" => Ok(Self::X3dh),
            "noise" => Ok(Self::Noise),
            "mixed" => Ok(Self::Mixed),
            _ => Err(format!("unknown key exchange {s:?}: use x3dh, noise or mixed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("10m"), Ok(600_000));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("7"), Ok(7_000));
        assert!(parse_duration_ms("x").is_err());
        for ms in [0, 1, 1_500, 60_000, 90_000, 3_600_000] {
            assert_eq!(parse_duration_ms(&format_duration_ms(ms)), Ok(ms));
        }
    }

    #[test]
    fn swarm_configs_differ_by_seed_and_are_stable() {
        assert_eq!(swarm(Preset::Tiny, 1), swarm(Preset::Tiny, 1));
        assert_ne!(swarm(Preset::Tiny, 1).faults, swarm(Preset::Tiny, 2).faults);
        for seed in 0..200 {
            let c = swarm(Preset::Tiny, seed);
            assert!(c.net.service_nodes >= c.net.store_nodes && c.net.store_nodes >= 1);
            assert!(!c.net.rln_timestamp_check || c.faults.skew_max_ms <= 15_000);
        }
    }

    #[test]
    fn overrides_apply() {
        let spec = ScenarioSpec {
            preset: Preset::Small,
            swarm: false,
            overrides: Overrides { users: Some(3), loss: Some(0.5), no_faults: true, ..Overrides::default() },
        };
        let c = spec.config(4);
        assert_eq!(c.workload.users, 3);
        assert_eq!(c.faults.link.loss, 0.5);
        assert_eq!(c.faults.crashes_per_device_hour, 0.0);
        assert_eq!(c.seed, 4);
    }
}
