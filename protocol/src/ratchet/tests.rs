//! Behaviour of the bare ratchet: conversations, skipped keys and every limit. Each refusal is
//! checked to leave the state equal to before.

use super::*;
use crate::crypto::{KeyPair, PublicKey};
use crate::entropy::SeededEntropy;

const AD: &[u8] = b"test associated data";

struct Pair {
    alice: Ratchet,
    bob: Ratchet,
    entropy: SeededEntropy,
}

type Sent = (Header, Vec<u8>, Vec<u8>);

/// Alice's state, and Bob's built from Alice's first message (which is returned, undelivered).
fn pair() -> (Pair, Sent) {
    let mut entropy = SeededEntropy::from_u64(11);
    let prekey = KeyPair::generate(&mut entropy);
    let sk = RootKey::from_bytes([9; 32]);
    let mut alice = Ratchet::initiator(sk.clone(), prekey.public(), &mut entropy).unwrap();
    let first = send(&mut alice, &mut entropy, b"first");
    let bob = Ratchet::responder(sk, &prekey, &first.0.ratchet_key).unwrap();
    (Pair { alice, bob, entropy }, first)
}

fn send(from: &mut Ratchet, entropy: &mut SeededEntropy, plaintext: &[u8]) -> Sent {
    let (header, ciphertext) = from.encrypt(plaintext, AD, entropy).unwrap();
    (header, ciphertext, plaintext.to_vec())
}

fn deliver(to: &mut Ratchet, message: &Sent) {
    let plaintext = to.decrypt(&message.0, &message.1, AD).unwrap();
    assert_eq!(plaintext, message.2);
}

/// Asserts that delivering `message` fails with `error` and changes nothing.
fn refused(to: &mut Ratchet, header: &Header, ciphertext: &[u8], error: RatchetError) {
    let before = to.clone();
    assert_eq!(to.decrypt(header, ciphertext, AD), Err(error));
    assert!(*to == before, "a refused message changed the state");
}

#[test]
fn ping_pong_with_dh_steps_and_out_of_order_delivery() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    for round in 0..6u8 {
        let a: Vec<Sent> = (0..3).map(|i| send(&mut p.alice, &mut p.entropy, &[round, i])).collect();
        deliver(&mut p.bob, &a[2]);
        deliver(&mut p.bob, &a[0]);
        let b = send(&mut p.bob, &mut p.entropy, &[round, 0xb0]);
        deliver(&mut p.bob, &a[1]);
        deliver(&mut p.alice, &b);
        assert_eq!(p.bob.stored_skipped_keys(), 0);
    }
    // Alice starts a new chain in each round after the first: six chains, five recorded.
    assert_eq!(p.bob.receiving_chains(), MAX_RECEIVING_CHAINS);
}

#[test]
fn late_messages_of_the_previous_chain_use_the_keys_skipped_up_to_pn() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let reply = send(&mut p.bob, &mut p.entropy, b"reply");
    let late = send(&mut p.alice, &mut p.entropy, b"late, old chain");
    deliver(&mut p.alice, &reply);
    let new_chain = send(&mut p.alice, &mut p.entropy, b"new chain");
    assert_eq!(new_chain.0.previous_chain_length, 2);
    deliver(&mut p.bob, &new_chain);
    assert_eq!(p.bob.stored_skipped_keys(), 1);
    deliver(&mut p.bob, &late);
    assert_eq!(p.bob.stored_skipped_keys(), 0);
    refused(&mut p.bob, &late.0, &late.1, RatchetError::DuplicateMessage { n: 1 });
}

#[test]
fn duplicates_are_refused_on_current_and_stored_paths() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    refused(&mut p.bob, &first.0, &first.1, RatchetError::DuplicateMessage { n: 0 });
    let m1 = send(&mut p.alice, &mut p.entropy, b"1");
    let m2 = send(&mut p.alice, &mut p.entropy, b"2");
    deliver(&mut p.bob, &m2);
    deliver(&mut p.bob, &m1);
    refused(&mut p.bob, &m1.0, &m1.1, RatchetError::DuplicateMessage { n: 1 });
    refused(&mut p.bob, &m2.0, &m2.1, RatchetError::DuplicateMessage { n: 2 });
}

#[test]
fn tampered_headers_and_ciphertexts_fail_authentication_without_effect() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let m = send(&mut p.alice, &mut p.entropy, b"payload");
    let mut wrong_n = m.0;
    wrong_n.n = 2;
    refused(&mut p.bob, &wrong_n, &m.1, RatchetError::AuthenticationFailed);
    let mut wrong_pn = m.0;
    wrong_pn.previous_chain_length = 1;
    refused(&mut p.bob, &wrong_pn, &m.1, RatchetError::AuthenticationFailed);
    let mut ciphertext = m.1.clone();
    ciphertext[0] ^= 0x80;
    refused(&mut p.bob, &m.0, &ciphertext, RatchetError::AuthenticationFailed);
    refused(&mut p.bob, &m.0, &m.1[..10], RatchetError::AuthenticationFailed);
    let before = p.bob.clone();
    assert_eq!(p.bob.decrypt(&m.0, &m.1, b"other AD"), Err(RatchetError::AuthenticationFailed));
    assert!(p.bob == before);
    // A forged new ratchet key: Bob has not replied yet, so it cannot be genuine.
    let mut forged = m.0;
    forged.ratchet_key = PublicKey::from_bytes([5; 32]);
    refused(&mut p.bob, &forged, &m.1, RatchetError::UnexpectedRatchetKey);
    deliver(&mut p.bob, &m);
    // After Bob's reply, a forged new key costs a DH and fails authentication.
    let reply = send(&mut p.bob, &mut p.entropy, b"r");
    deliver(&mut p.alice, &reply);
    let m = send(&mut p.alice, &mut p.entropy, b"x");
    let mut forged = m.0;
    forged.ratchet_key = PublicKey::from_bytes([5; 32]);
    refused(&mut p.bob, &forged, &m.1, RatchetError::AuthenticationFailed);
    forged.ratchet_key = PublicKey::from_bytes([0; 32]);
    refused(&mut p.bob, &forged, &m.1, RatchetError::NonContributory);
    deliver(&mut p.bob, &m);
}

#[test]
fn max_skip_boundary_in_the_current_chain() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let sent: Vec<Sent> = (0..=MAX_SKIP + 1).map(|_| send(&mut p.alice, &mut p.entropy, b"m")).collect();
    // Bob expects n = 1; n = 1002 would skip 1001 keys.
    let last = &sent[MAX_SKIP as usize + 1];
    refused(&mut p.bob, &last.0, &last.1, RatchetError::TooManySkipped { skip: u64::from(MAX_SKIP) + 1 });
    let ok = &sent[MAX_SKIP as usize];
    deliver(&mut p.bob, ok);
    assert_eq!(p.bob.stored_skipped_keys(), MAX_SKIP as usize);
    deliver(&mut p.bob, last);
    deliver(&mut p.bob, &sent[0]);
}

#[test]
fn max_skip_applies_to_pn_of_a_new_chain_and_to_its_n() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let reply = send(&mut p.bob, &mut p.entropy, b"reply");
    for _ in 0..MAX_SKIP + 1 {
        send(&mut p.alice, &mut p.entropy, b"lost");
    }
    deliver(&mut p.alice, &reply);
    let m = send(&mut p.alice, &mut p.entropy, b"new chain");
    // Alice sent 1002 messages on her first chain; Bob has seen only n = 0.
    assert_eq!(m.0.previous_chain_length, MAX_SKIP + 2);
    refused(&mut p.bob, &m.0, &m.1, RatchetError::TooManySkipped { skip: u64::from(MAX_SKIP) + 1 });
}

#[test]
fn storage_limit_evicts_the_oldest_keys_first() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let mut sent = Vec::new();
    for _ in 0..3 {
        let chunk: Vec<Sent> = (0..=MAX_SKIP).map(|_| send(&mut p.alice, &mut p.entropy, b"m")).collect();
        deliver(&mut p.bob, chunk.last().unwrap());
        sent.extend(chunk);
    }
    // 3 × 1000 keys were skipped; the first 1000 were evicted.
    assert_eq!(p.bob.stored_skipped_keys(), MAX_STORED_SKIPPED_KEYS);
    let evicted = &sent[500];
    refused(&mut p.bob, &evicted.0, &evicted.1, RatchetError::DuplicateMessage { n: evicted.0.n });
    deliver(&mut p.bob, &sent[1500]);
    deliver(&mut p.bob, &sent[2999]);
}

#[test]
fn age_limit_deletes_skipped_keys_after_3000_derivations() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let skipped = send(&mut p.alice, &mut p.entropy, b"skipped");
    let kept = send(&mut p.alice, &mut p.entropy, b"kept");
    deliver(&mut p.bob, &send(&mut p.alice, &mut p.entropy, b"3"));
    // Bob derived 4 keys (n = 0..3), seq 1 and 2 are stored.
    for _ in 0..MAX_SKIPPED_KEY_AGE - 3 {
        deliver(&mut p.bob, &send(&mut p.alice, &mut p.entropy, b"in order"));
    }
    // 3001 derivations: key seq 1 has age 3000 (kept), seq 2 has age 2999 (kept).
    assert_eq!(p.bob.stored_skipped_keys(), 2);
    deliver(&mut p.bob, &send(&mut p.alice, &mut p.entropy, b"one more"));
    // 3002 derivations: seq 1 now has age 3001 and is gone.
    assert_eq!(p.bob.stored_skipped_keys(), 1);
    refused(&mut p.bob, &skipped.0, &skipped.1, RatchetError::DuplicateMessage { n: 1 });
    deliver(&mut p.bob, &kept);
}

#[test]
fn chains_older_than_the_last_five_are_forgotten() {
    let (mut p, first) = pair();
    let old = send(&mut p.alice, &mut p.entropy, b"old chain, n = 1");
    deliver(&mut p.bob, &first);
    for _ in 0..MAX_RECEIVING_CHAINS {
        let b = send(&mut p.bob, &mut p.entropy, b"b");
        deliver(&mut p.alice, &b);
        let a = send(&mut p.alice, &mut p.entropy, b"a");
        deliver(&mut p.bob, &a);
    }
    // Bob's record of Alice's first chain (and its skipped key n = 1) was dropped: the message
    // now looks like a new ratchet key, and fails.
    refused(&mut p.bob, &old.0, &old.1, RatchetError::UnexpectedRatchetKey);
    let b = send(&mut p.bob, &mut p.entropy, b"b");
    assert_eq!(p.bob.receiving_chains(), MAX_RECEIVING_CHAINS);
    deliver(&mut p.alice, &b);
    assert!(!p.bob.knows_ratchet_key(&old.0.ratchet_key));
    refused(&mut p.bob, &old.0, &old.1, RatchetError::AuthenticationFailed);
}

#[test]
fn same_entropy_same_bytes_and_serde_round_trip_continues_identically() {
    let run = |restore: bool| {
        let (mut p, first) = pair();
        deliver(&mut p.bob, &first);
        let mut out = Vec::new();
        for i in 0..6u8 {
            if restore {
                let json = serde_json::to_string(&p.bob).unwrap();
                p.bob = serde_json::from_str(&json).unwrap();
            }
            let (from, to) = if i % 2 == 0 { (&mut p.bob, &mut p.alice) } else { (&mut p.alice, &mut p.bob) };
            let m = send(from, &mut p.entropy, &[i]);
            deliver(to, &m);
            out.push(m);
        }
        out
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn debug_shows_no_secret() {
    let (mut p, first) = pair();
    deliver(&mut p.bob, &first);
    let text = format!("{:?}", p.bob);
    assert!(text.contains("<redacted>"));
    let json = serde_json::to_value(&p.bob).unwrap();
    let root = json["root"].as_str().unwrap();
    assert!(!text.contains(root), "{text}");
}
