//! Differential test: our Noise engine equals `snow` byte for byte on the standard patterns,
//! with no nametag in the associated data and no padding (the layer both implement). Every
//! handshake message, handshake hash, split key and transport message is compared, and each
//! implementation reads the other's messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use proptest::prelude::*;
use snow::params::NoiseParams;
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use status_1to1::crypto::chachapoly::noise_nonce;
use status_1to1::crypto::{KeyPair, PublicKey, SecretKey};
use status_1to1::noise::{
    Handshake, HandshakeConfig, HandshakePattern, HandshakeStatus, NoisePublicKey, Psk, RawMessage, Role, Token,
};
use status_1to1::{Entropy, ScriptedEntropy, SeededEntropy};

/// A snow resolver whose RNG is a seeded stream (snow needs one even with fixed ephemerals).
struct SeededResolver(u64);

struct SeededRandom(SeededEntropy);

impl Random for SeededRandom {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl CryptoResolver for SeededResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(SeededRandom(SeededEntropy::from_u64(self.0))))
    }
    fn resolve_dh(&self, choice: &snow::params::DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }
    fn resolve_hash(&self, choice: &snow::params::HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }
    fn resolve_cipher(&self, choice: &snow::params::CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// All the inputs of one run, for both sides.
struct Case {
    pattern: HandshakePattern,
    statics: [[u8; 32]; 2],
    ephemerals: [[u8; 32]; 2],
    prologue: Vec<u8>,
    psk: [u8; 32],
    payloads: Vec<Vec<u8>>,
}

fn ours(case: &Case, role: Role) -> Handshake {
    let (me, peer) = if role == Role::Initiator { (0, 1) } else { (1, 0) };
    let peer_static = KeyPair::from_secret(SecretKey::from_bytes(case.statics[peer]));
    let mut config = HandshakeConfig::new(case.pattern, role)
        .prologue(case.prologue.clone())
        .local_static(KeyPair::from_secret(SecretKey::from_bytes(case.statics[me])))
        .remote_static(*peer_static.public());
    if case.pattern.uses_psk() {
        config = config.psk(Psk::from_bytes(case.psk));
    }
    Handshake::new(config).expect("our handshake initialises")
}

fn theirs(case: &Case, role: Role, seed: u64) -> snow::HandshakeState {
    let (me, peer) = if role == Role::Initiator { (0, 1) } else { (1, 0) };
    let params: NoiseParams = case.pattern.protocol_name().parse().expect("snow knows the pattern");
    let peer_public = KeyPair::from_secret(SecretKey::from_bytes(case.statics[peer])).public().to_owned();
    let mut builder = snow::Builder::with_resolver(params, Box::new(SeededResolver(seed)))
        .local_private_key(&case.statics[me])
        .expect("static key")
        .prologue(&case.prologue)
        .expect("prologue")
        .fixed_ephemeral_key_for_testing_only(&case.ephemerals[me]);
    let needs_remote_static = case.pattern.pre_messages().iter().any(|m| m.tokens.contains(&Token::S));
    if needs_remote_static {
        builder = builder.remote_public_key(peer_public.as_bytes()).expect("remote static");
    }
    if case.pattern.uses_psk() {
        builder = builder.psk(0, &case.psk).expect("psk");
    }
    match role {
        Role::Initiator => builder.build_initiator(),
        Role::Responder => builder.build_responder(),
    }
    .expect("snow handshake initialises")
}

fn flatten(raw: &RawMessage) -> Vec<u8> {
    let mut out: Vec<u8> = raw.keys.iter().flat_map(|k| k.body().to_vec()).collect();
    out.extend_from_slice(&raw.ciphertext);
    out
}

/// Splits a snow message into keys and payload using the tokens: `e` is 32 clear bytes, `s` is
/// 48 encrypted bytes (every static key in these patterns follows a DH).
fn unflatten(bytes: &[u8], tokens: &[Token]) -> (Vec<NoisePublicKey>, Vec<u8>) {
    let mut rest = bytes;
    let mut keys = Vec::new();
    for token in tokens {
        match token {
            Token::E => {
                keys.push(NoisePublicKey::Clear(PublicKey::from_slice(&rest[..32]).expect("32 bytes")));
                rest = &rest[32..];
            }
            Token::S => {
                keys.push(NoisePublicKey::Encrypted(rest[..48].try_into().expect("48 bytes")));
                rest = &rest[48..];
            }
            _ => {}
        }
    }
    (keys, rest.to_vec())
}

fn run(case: &Case) {
    let mut our_side = [ours(case, Role::Initiator), ours(case, Role::Responder)];
    let mut their_side = [theirs(case, Role::Initiator, 1), theirs(case, Role::Responder, 2)];
    for (i, payload) in case.payloads.iter().enumerate() {
        let writer = i % 2;
        let reader = 1 - writer;
        assert_eq!(our_side[writer].status(), HandshakeStatus::WriteNext);
        let tokens = case.pattern.messages()[i].tokens;
        let mut entropy = ScriptedEntropy::new([case.ephemerals[writer].to_vec()]);
        let raw = our_side[writer].write_raw(&mut entropy, payload, None).expect("we write");
        let mut snow_msg = vec![0u8; 65535];
        let len = their_side[writer].write_message(payload, &mut snow_msg).expect("snow writes");
        let snow_msg = &snow_msg[..len];
        assert_eq!(flatten(&raw), snow_msg, "{} message {i}", case.pattern);
        // Cross-read: snow reads ours, we read snow's.
        let mut read_buf = vec![0u8; 65535];
        let n = their_side[reader].read_message(&flatten(&raw), &mut read_buf).expect("snow reads ours");
        assert_eq!(&read_buf[..n], payload.as_slice());
        let (keys, ct) = unflatten(snow_msg, tokens);
        let read = our_side[reader].read_raw(&keys, &ct, None).expect("we read snow's");
        assert_eq!(&read, payload);
        for side in 0..2 {
            assert_eq!(our_side[side].handshake_hash().as_slice(), their_side[side].get_handshake_hash());
        }
    }
    assert_eq!(our_side[0].status(), HandshakeStatus::Complete);
    let [init, resp] = our_side;
    let (mut init, resp) = (init.finalize().expect("complete"), resp.finalize().expect("complete"));
    let (k1, k2) = their_side[0].dangerously_get_raw_split();
    assert_eq!(init.outbound_key().as_bytes(), &k1);
    assert_eq!(init.inbound_key().as_bytes(), &k2);
    assert_eq!(resp.outbound_key().as_bytes(), &k2);
    let [snow_init, _] = their_side;
    let mut snow_init = snow_init.into_transport_mode().expect("snow transport");
    for n in 0..3u64 {
        let plaintext = format!("transport message {n}").into_bytes();
        let mut ours = Vec::new();
        init.outbound_key().seal_into(&noise_nonce(n), &[], &plaintext, &mut ours);
        let mut buf = vec![0u8; 1024];
        let len = snow_init.write_message(&plaintext, &mut buf).expect("snow transport write");
        assert_eq!(ours, &buf[..len], "transport message {n}");
    }
    // Our own framed transport still works on the same keys.
    let mut resp = resp;
    let wire = init.write_message(b"framed").expect("write");
    assert_eq!(resp.read_message(&wire).expect("read"), b"framed");
}

fn standard_patterns() -> impl Strategy<Value = HandshakePattern> {
    proptest::sample::select(vec![
        HandshakePattern::XX,
        HandshakePattern::XK1,
        HandshakePattern::K1K1,
        HandshakePattern::XXpsk0,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn our_engine_equals_snow(
        pattern in standard_patterns(),
        statics in any::<[[u8; 32]; 2]>(),
        ephemerals in any::<[[u8; 32]; 2]>(),
        prologue in proptest::collection::vec(any::<u8>(), 0..64),
        psk in any::<[u8; 32]>(),
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 3),
    ) {
        run(&Case { pattern, statics, ephemerals, prologue, psk, payloads });
    }
}

#[test]
fn every_standard_pattern_with_fixed_inputs() {
    for pattern in [HandshakePattern::XX, HandshakePattern::XK1, HandshakePattern::K1K1, HandshakePattern::XXpsk0] {
        run(&Case {
            pattern,
            statics: [[1; 32], [2; 32]],
            ephemerals: [[3; 32], [4; 32]],
            prologue: b"differential".to_vec(),
            psk: [5; 32],
            payloads: vec![b"one".to_vec(), vec![], vec![7; 1000]],
        });
    }
}
