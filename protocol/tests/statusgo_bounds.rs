//! What strangers can make a Suite S installation hold is bounded: identities beyond
//! `MAX_IDENTITIES` are forgotten quietest first (an active contact stays), and each
//! installation keeps at most `MAX_SESSIONS_PER_INSTALLATION` sessions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use status_1to1::SeededEntropy;
use status_1to1::statusgo::installation::{BUNDLE_REFRESH_NS, MAX_IDENTITIES, MAX_SESSIONS_PER_INSTALLATION};
use status_1to1::statusgo::{Installation, SecretKey};

const NOW: i64 = 1_700_000_000_000_000_000;

/// Alice and Bob's keys and installations, drawn from `seed`.
fn alice_and_bob(seed: u64) -> (SeededEntropy, SecretKey, SecretKey, Installation, Installation) {
    let mut entropy = SeededEntropy::from_u64(seed);
    let (alice_key, bob_key) = (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy));
    let alice = Installation::new(alice_key.clone(), "alice-1".into());
    let bob = Installation::new(bob_key.clone(), "bob-1".into());
    (entropy, alice_key, bob_key, alice, bob)
}

#[test]
fn a_flood_of_new_identities_is_bounded_and_an_active_contact_stays() {
    let (mut entropy, alice_key, bob_key, mut alice, mut bob) = alice_and_bob(9);
    alice.process_bundle(&bob.bundle(NOW, &mut entropy).unwrap());
    let mut alice_says = |bob: &mut Installation, text: &[u8], entropy: &mut SeededEntropy| {
        let message = alice.build(&bob_key.public_key(), text, NOW, entropy).unwrap();
        bob.handle(&alice_key.public_key(), &message, entropy).unwrap().plaintext
    };
    alice_says(&mut bob, b"hi", &mut entropy);
    for i in 0..MAX_IDENTITIES + 40 {
        let stranger_key = SecretKey::generate(&mut entropy);
        let mut stranger = Installation::new(stranger_key.clone(), format!("stranger-{i}"));
        let spam = stranger.build(&bob_key.public_key(), b"spam", NOW, &mut entropy).unwrap();
        bob.handle(&stranger_key.public_key(), &spam, &mut entropy).unwrap();
        if i % 256 == 0 {
            alice_says(&mut bob, b"still here", &mut entropy);
        }
    }
    assert_eq!(bob.identities_held(), MAX_IDENTITIES);
    assert!(bob.contacts().contains(&alice_key.public_key()), "the active contact was kept");
    assert_eq!(alice_says(&mut bob, b"last", &mut entropy), b"last", "and its session with it");
}

#[test]
fn each_installation_keeps_a_bounded_number_of_sessions() {
    let (mut entropy, alice_key, bob_key, mut alice, mut bob) = alice_and_bob(10);
    for day in 0..MAX_SESSIONS_PER_INSTALLATION as i64 + 3 {
        // Bob's prekey rotates every day, so each day's first message starts a new session.
        let now = NOW + day * (BUNDLE_REFRESH_NS + 1);
        alice.process_bundle(&bob.bundle(now, &mut entropy).unwrap());
        let message = alice.build(&bob_key.public_key(), b"today", now, &mut entropy).unwrap();
        assert_eq!(bob.handle(&alice_key.public_key(), &message, &mut entropy).unwrap().plaintext, b"today");
    }
    assert_eq!(alice.sessions().count(), MAX_SESSIONS_PER_INSTALLATION);
    assert_eq!(bob.sessions().count(), MAX_SESSIONS_PER_INSTALLATION);
}
