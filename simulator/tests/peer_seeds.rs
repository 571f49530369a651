//! Seeds that once failed with the real peer on every device, pinned as regressions (each has a
//! peer-level test in `protocol/tests/peer_liveness.rs` naming the root cause).

mod common;

use common::assert_passes;
use status_1to1_sim::node::KeyExchange;
use status_1to1_sim::scenario::{Overrides, Preset, ScenarioSpec};
use status_1to1_sim::{RunOptions, run_peer};

/// Tiny swarm, mixed key exchanges: an X3DH chat with a device known only over Noise (no
/// bundle) left the message waiting forever (`a_device_known_only_over_noise_gets_messages_of_an_x3dh_chat`).
#[test]
fn mixed_chats_reach_devices_known_only_over_noise() {
    let spec = ScenarioSpec {
        preset: Preset::Tiny,
        swarm: true,
        overrides: Overrides { key_exchange: Some(KeyExchange::Mixed), ..Overrides::default() },
    };
    for seed in [15, 17, 25, 35] {
        let r = run_peer(spec.config(seed), RunOptions::default());
        assert_passes(seed, &spec, &r);
    }
}
