//! Suite S (status-go wire) sessions under loss, duplication and reordering: Alice (one
//! installation) and Bob (two paired installations) exchange messages through a network that
//! drops, repeats and shuffles them; every message that reaches a device at least once is
//! decrypted there exactly once, and nothing else decrypts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use status_1to1::SeededEntropy;
use status_1to1::proto::ProtocolMessage;
use status_1to1::statusgo::installation::STATE_VERSION;
use status_1to1::statusgo::{Installation, PublicKey, SecretKey};

const ALICE: usize = 0;
const BOB_1: usize = 1;
const BOB_2: usize = 2;

/// A step of the scenario.
#[derive(Debug, Clone)]
enum Op {
    /// Device `from` sends a message to the other identity.
    Send { from: usize },
    /// The in-flight message at `index` (mod the queue) is delivered to `to`, and kept in flight
    /// (a duplicate) or removed.
    Deliver { index: usize, to: usize, keep: bool },
    /// The in-flight message at `index` is lost for every device.
    Drop { index: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(|from| Op::Send { from }),
        (any::<usize>(), 0..3usize, any::<bool>()).prop_map(|(index, to, keep)| Op::Deliver { index, to, keep }),
        any::<usize>().prop_map(|index| Op::Drop { index }),
    ]
}

struct World {
    devices: Vec<Installation>,
    identities: [PublicKey; 2],
    entropy: SeededEntropy,
    now: i64,
    /// (message number, sender device, protocol message).
    in_flight: Vec<(u32, usize, ProtocolMessage)>,
    /// Message numbers that reached each device at least once, and those it decrypted.
    reached: Vec<BTreeSet<u32>>,
    decrypted: Vec<BTreeMap<u32, usize>>,
    next: u32,
}

fn identity_of(device: usize) -> usize {
    usize::from(device != ALICE)
}

impl World {
    fn new(seed: u64) -> Self {
        let mut entropy = SeededEntropy::from_u64(seed);
        let alice = SecretKey::generate(&mut entropy);
        let bob = SecretKey::generate(&mut entropy);
        let identities = [alice.public_key(), bob.public_key()];
        let mut devices = vec![
            Installation::new(alice, Installation::generate_id(&mut entropy)),
            Installation::new(bob.clone(), Installation::generate_id(&mut entropy)),
            Installation::new(bob, Installation::generate_id(&mut entropy)),
        ];
        let now = 1_700_000_000_000_000_000;
        let bundles: Vec<_> = devices.iter_mut().map(|d| d.bundle(now, &mut entropy).unwrap()).collect();
        // Bob's devices pair with each other; Alice learns both from one bundle of bob-1's.
        for (me, other) in [(BOB_1, BOB_2), (BOB_2, BOB_1)] {
            devices[me].process_bundle(&bundles[other]);
            let id = devices[other].installation_id().to_owned();
            assert!(devices[me].set_enabled(&identities[1], &id, true));
        }
        let bob_bundle = devices[BOB_1].bundle(now, &mut entropy).unwrap();
        devices[ALICE].process_bundle(&bob_bundle);
        Self {
            devices,
            identities,
            entropy,
            now,
            in_flight: Vec::new(),
            reached: vec![BTreeSet::new(); 3],
            decrypted: vec![BTreeMap::new(); 3],
            next: 0,
        }
    }

    fn apply(&mut self, op: Op) {
        self.now += 1_000_000_000;
        match op {
            Op::Send { from } => {
                let recipient = self.identities[1 - identity_of(from)];
                let number = self.next;
                self.next += 1;
                let message =
                    self.devices[from].build(&recipient, &number.to_le_bytes(), self.now, &mut self.entropy).unwrap();
                self.in_flight.push((number, from, message));
            }
            Op::Deliver { index, to, keep } if !self.in_flight.is_empty() => {
                let index = index % self.in_flight.len();
                let (number, from, message) = self.in_flight[index].clone();
                if !keep {
                    self.in_flight.remove(index);
                }
                if identity_of(from) == identity_of(to) {
                    return;
                }
                self.deliver(number, from, to, &message);
            }
            Op::Drop { index } if !self.in_flight.is_empty() => {
                let index = index % self.in_flight.len();
                self.in_flight.remove(index);
            }
            _ => {}
        }
    }

    fn deliver(&mut self, number: u32, from: usize, to: usize, message: &ProtocolMessage) {
        let sender = self.identities[identity_of(from)];
        // An entry for this installation, or a DH-only one that any installation reads.
        let addressed = message.encrypted_message.contains_key(self.devices[to].installation_id())
            || message.encrypted_message.contains_key(status_1to1::statusgo::NO_INSTALLATION);
        if addressed {
            self.reached[to].insert(number);
        }
        if let Ok(handled) = self.devices[to].handle(&sender, message, &mut self.entropy) {
            assert!(addressed, "a message not addressed to this device decrypted");
            assert_eq!(handled.plaintext, number.to_le_bytes(), "wrong plaintext");
            *self.decrypted[to].entry(number).or_default() += 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_message_that_arrives_decrypts_exactly_once(seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..80)) {
        let mut world = World::new(seed);
        for op in ops {
            world.apply(op);
        }
        for device in [ALICE, BOB_1, BOB_2] {
            let decrypted: BTreeSet<u32> = world.decrypted[device].keys().copied().collect();
            prop_assert_eq!(&decrypted, &world.reached[device], "device {}", device);
            prop_assert!(world.decrypted[device].values().all(|&count| count == 1), "a message decrypted twice on {}", device);
        }
    }
}

#[test]
fn a_restored_installation_carries_on_exactly_where_it_stopped() {
    let mut world = World::new(5);
    for op in [Op::Send { from: ALICE }, Op::Deliver { index: 0, to: BOB_1, keep: true }, Op::Send { from: BOB_1 }] {
        world.apply(op);
    }
    for device in [ALICE, BOB_1, BOB_2] {
        let bytes = world.devices[device].to_bytes().unwrap();
        let restored = Installation::from_bytes(&bytes).unwrap();
        assert_eq!(restored.to_bytes().unwrap(), bytes, "device {device}");
        // The restored copy and the original make the same next message from the same entropy.
        let recipient = world.identities[1 - identity_of(device)];
        let (mut a, mut b) = (SeededEntropy::from_u64(9), SeededEntropy::from_u64(9));
        let from_original = world.devices[device].clone().build(&recipient, b"next", world.now, &mut a).unwrap();
        let from_restored = restored.clone().build(&recipient, b"next", world.now, &mut b).unwrap();
        assert_eq!(from_original, from_restored, "device {device}");
        assert!(Installation::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Installation::from_bytes(&[&[STATE_VERSION + 1][..], &bytes[1..]].concat()).is_err());
    }
}
