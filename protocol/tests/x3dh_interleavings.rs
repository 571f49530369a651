//! Property: any interleaving of sends in both directions, with loss, duplication, reordering
//! and tampering within the ratchet's limits, delivers every surviving message exactly once with
//! the plaintext that was sent, and every refused input leaves the session as it was.
//!
//! The model predicts success without looking at the implementation: a message decrypts iff it
//! was not decrypted before, is untampered, and its sending chain is among the receiver's five
//! most recent receiving chains (a receiver opens the peer's chains in order, so a chain's rank
//! is the sender's chain number). Runs stay below 1000 messages per chain, 2000 stored keys and
//! 3000 derivations, so the other limits never apply.

// Test harness code outside `#[test]` functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use status_1to1::SeededEntropy;
use status_1to1::crypto::PublicKey;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::ratchet::{MAX_RECEIVING_CHAINS, RatchetError};
use status_1to1::time::Timestamp;
use status_1to1::x3dh::{self, EncryptedMessage, PrekeyStore, Session, VerifiedBundle};

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

#[derive(Debug, Clone)]
enum Op {
    Send {
        from_alice: bool,
        len: u8,
    },
    Deliver {
        pick: usize,
        keep: bool,
    },
    /// Delivers one of the three newest messages, letting old ones linger (across chains).
    DeliverRecent {
        pick: usize,
    },
    Tamper {
        pick: usize,
        how: u8,
        at: usize,
    },
    Restore {
        alice: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0u8..40).prop_map(|(from_alice, len)| Op::Send { from_alice, len }),
        3 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(pick, keep)| Op::Deliver { pick, keep }),
        2 => any::<usize>().prop_map(|pick| Op::DeliverRecent { pick }),
        1 => (any::<usize>(), 0u8..6, any::<usize>()).prop_map(|(pick, how, at)| Op::Tamper { pick, how, at }),
        1 => any::<bool>().prop_map(|alice| Op::Restore { alice }),
    ]
}

struct Flight {
    id: usize,
    to_alice: bool,
    chain: usize,
    message: EncryptedMessage,
    plaintext: Vec<u8>,
}

struct Party {
    identity: IdentityKeyPair,
    installation: InstallationId,
    session: Option<Session>,
    /// Sender side: our sending ratchet keys in order of first use, numbered from 1.
    chains: BTreeMap<PublicKey, usize>,
    /// Receiver side: the highest peer chain number we decrypted from.
    newest_seen: usize,
}

struct World {
    entropy: SeededEntropy,
    alice: Party,
    bob: Party,
    bob_prekeys: PrekeyStore,
    in_flight: Vec<Flight>,
    delivered: BTreeSet<usize>,
    next_id: usize,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut entropy = SeededEntropy::from_u64(seed);
        let party = |e: &mut SeededEntropy| Party {
            identity: IdentityKeyPair::generate(e),
            installation: InstallationId::generate(e),
            session: None,
            chains: BTreeMap::new(),
            newest_seen: 0,
        };
        let (mut alice, bob) = (party(&mut entropy), party(&mut entropy));
        let bob_prekeys = PrekeyStore::new(NOW, &mut entropy);
        let entries = [(bob.installation.clone(), bob_prekeys.current().signed_prekey())].into();
        let bundle = VerifiedBundle::sign(&bob.identity, entries, NOW).unwrap();
        let wire = VerifiedBundle::verify_from(&bundle.to_proto(), bob.identity.public()).unwrap();
        alice.session =
            Some(x3dh::initiate(&alice.identity, &alice.installation, &wire, &bob.installation, &mut entropy).unwrap());
        Self { entropy, alice, bob, bob_prekeys, in_flight: Vec::new(), delivered: BTreeSet::new(), next_id: 0 }
    }

    fn send(&mut self, from_alice: bool, len: u8) {
        let id = self.next_id;
        let party = if from_alice { &mut self.alice } else { &mut self.bob };
        let Some(session) = party.session.take() else { return };
        let plaintext: Vec<u8> = std::iter::repeat_n(id as u8, usize::from(len)).collect();
        let (session, message) = session.encrypt(&plaintext, &mut self.entropy).unwrap();
        party.session = Some(session);
        let next_chain = party.chains.len() + 1;
        let chain = *party.chains.entry(message.header.ratchet_key).or_insert(next_chain);
        self.in_flight.push(Flight { id, to_alice: !from_alice, chain, message, plaintext });
        self.next_id += 1;
    }

    /// Delivers `message` (possibly tampered) and returns the result; checks that a refusal
    /// changed nothing.
    fn deliver(&mut self, to_alice: bool, message: &EncryptedMessage) -> Result<Vec<u8>, String> {
        let (receiver, sender) = if to_alice { (&mut self.alice, &self.bob) } else { (&mut self.bob, &self.alice) };
        match receiver.session.as_mut() {
            Some(session) => {
                let before = session.clone();
                let result = session.decrypt_in_place(message);
                if result.is_err() {
                    assert!(*session == before, "a refused message changed the session");
                }
                result.map_err(|e| e.to_string())
            }
            None => {
                // No session yet: it must be an initial message (the session layer would look up
                // `session_id` first; there is none).
                let result = x3dh::respond(
                    &receiver.identity,
                    &receiver.installation,
                    &self.bob_prekeys,
                    NOW,
                    &sender.installation,
                    message,
                );
                result
                    .map(|(session, plaintext)| {
                        receiver.session = Some(session);
                        plaintext
                    })
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Whether the receiver still records the flight's sending chain.
    fn chain_recorded(&self, flight: &Flight) -> bool {
        let receiver = if flight.to_alice { &self.alice } else { &self.bob };
        flight.chain + MAX_RECEIVING_CHAINS > receiver.newest_seen
    }

    fn expected_ok(&self, flight: &Flight) -> bool {
        !self.delivered.contains(&flight.id) && self.chain_recorded(flight)
    }

    fn deliver_flight(&mut self, index: usize, keep: bool) {
        let flight = if keep { clone_flight(&self.in_flight[index]) } else { self.in_flight.remove(index) };
        let expected = self.expected_ok(&flight);
        let result = self.deliver(flight.to_alice, &flight.message);
        match result {
            Ok(plaintext) => {
                assert!(expected, "message {} decrypted but should not have", flight.id);
                assert_eq!(plaintext, flight.plaintext, "message {}", flight.id);
                self.delivered.insert(flight.id);
                let receiver = if flight.to_alice { &mut self.alice } else { &mut self.bob };
                receiver.newest_seen = receiver.newest_seen.max(flight.chain);
            }
            Err(e) => {
                assert!(!expected, "message {} refused: {e}", flight.id);
                if self.delivered.contains(&flight.id) && self.chain_recorded(&flight) {
                    assert_eq!(e, RatchetError::DuplicateMessage { n: flight.message.header.n }.to_string());
                } else {
                    // A chain no longer recorded looks like a new ratchet key, which cannot verify.
                    let new_key = [RatchetError::UnexpectedRatchetKey, RatchetError::AuthenticationFailed];
                    assert!(new_key.iter().any(|k| k.to_string() == e), "{e}");
                }
            }
        }
    }

    fn tamper(&mut self, index: usize, how: u8, at: usize) {
        let flight = &self.in_flight[index];
        let mut m = flight.message.clone();
        match how {
            0 if !m.ciphertext.is_empty() => {
                let i = at % m.ciphertext.len();
                m.ciphertext[i] ^= 1 << (at % 8);
            }
            0 | 1 => m.header.n = m.header.n.wrapping_add(1 + (at % 3) as u32),
            2 => m.header.previous_chain_length = m.header.previous_chain_length.wrapping_add(1),
            3 => m.header.ratchet_key = flip(&m.header.ratchet_key, at),
            4 => m.bundle_id = flip(&m.bundle_id, at),
            _ => match m.initial.as_mut() {
                Some(initial) => initial.ephemeral = flip(&initial.ephemeral, at),
                None => m.ciphertext.truncate(at % 16),
            },
        }
        let to_alice = flight.to_alice;
        let before = (self.alice.session.clone(), self.bob.session.clone());
        assert!(self.deliver(to_alice, &m).is_err(), "a tampered message was accepted");
        assert!((self.alice.session.clone(), self.bob.session.clone()) == before);
    }
}

fn flip(key: &PublicKey, at: usize) -> PublicKey {
    let mut bytes = *key.as_bytes();
    bytes[at % 32] ^= 1 << (at % 8);
    PublicKey::from_bytes(bytes)
}

fn clone_flight(f: &Flight) -> Flight {
    Flight {
        id: f.id,
        to_alice: f.to_alice,
        chain: f.chain,
        message: f.message.clone(),
        plaintext: f.plaintext.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn interleavings_deliver_each_surviving_message_exactly_once(seed: u64, ops in prop::collection::vec(op(), 1..300)) {
        let mut world = World::new(seed);
        for op in ops {
            match op {
                Op::Send { from_alice, len } => world.send(from_alice, len),
                Op::Deliver { pick, keep } if !world.in_flight.is_empty() => {
                    let index = pick % world.in_flight.len();
                    world.deliver_flight(index, keep);
                }
                Op::DeliverRecent { pick } if !world.in_flight.is_empty() => {
                    let index = world.in_flight.len() - 1 - pick % world.in_flight.len().min(3);
                    world.deliver_flight(index, false);
                }
                Op::Tamper { pick, how, at } if !world.in_flight.is_empty() => {
                    let index = pick % world.in_flight.len();
                    world.tamper(index, how, at);
                }
                Op::Restore { alice } => {
                    let party = if alice { &mut world.alice } else { &mut world.bob };
                    if let Some(session) = party.session.take() {
                        let json = serde_json::to_string(&session).unwrap();
                        let restored: Session = serde_json::from_str(&json).unwrap();
                        prop_assert!(restored == session);
                        party.session = Some(restored);
                    }
                }
                _ => {}
            }
        }
        // Everything still in flight (not dropped) arrives now, in order.
        while !world.in_flight.is_empty() {
            world.deliver_flight(0, false);
        }
    }
}
