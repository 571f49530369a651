//! # status-1to1-sim
//!
//! A deterministic discrete-event simulator for Status 1:1 chat over Waku v2: many virtual users,
//! each with several devices, over a lossy, partitioned, churning Waku network with store,
//! filter and lightpush service nodes, checked by invariants on every run.
//!
//! ## Determinism
//! One thread; one event queue ordered by (virtual time, sequence number); one `u64` seed with
//! labelled sub-streams ([`rng`]); only ordered collections in anything that affects the
//! outcome; no wall clock. A rolling SHA-256 over every event and action ([`trace`]) is the
//! trace hash: the same seed and configuration give the same hash.
//!
//! ## Layers
//! - [`node`]: the [`SimNode`] trait a device program implements (the real peer plugs in here
//!   through an adapter), and its event and action types.
//! - [`net`]: the Waku model (relay, store, filter, lightpush, partitions, loss, clocks,
//!   adversary), calibrated in [`dist`] on the measurements of
//!   `shared/research/waku-network-model.md`.
//! - [`world`]: the event loop, crashes and restores, the fault and liveness phases.
//! - [`invariants`]: safety checks on every step and the eventual-delivery check.
//! - [`faults`], [`workload`], [`scenario`]: what happens, to whom, drawn per seed
//!   (swarm testing).
//! - [`hostile`]: outsiders flooding victims with strangers, reflections and store bursts.
//! - [`standin`]: a small chat node exercising all of the above until the real peer lands.
//! - [`minimize`], [`report`]: shrinking failing schedules; summary tables and SVG plots.

pub mod dist;
pub mod faults;
pub mod hashing;
pub mod hostile;
pub mod ids;
pub mod invariants;
pub mod metrics;
pub mod minimize;
#[cfg(test)]
mod mutation_tests;
pub mod net;
pub mod node;
pub mod peer_node;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod sqlite_mirror;
pub mod standin;
pub mod status_node;
pub mod suites;
pub mod time;
pub mod trace;
pub mod workload;
pub mod world;

pub use ids::{DeviceId, MessageId, ServiceId, UserId};
pub use invariants::{Violation, ViolationKind};
pub use node::{NodeAction, NodeEvent, NodeFactory, Notification, SimNode};
pub use run::{replay_command, run, run_peer, run_standin};
pub use scenario::{Preset, ScenarioConfig, ScenarioSpec};
pub use time::SimTime;
pub use workload::Directory;
pub use world::{RunOptions, RunReport, World};
