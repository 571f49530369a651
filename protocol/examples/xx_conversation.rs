//! Two in-process peers run a Waku Noise XX handshake and a short conversation, printing every
//! WakuMessage that goes over the wire. Deterministic: run it twice, get the same bytes.
//!
//! `cargo run -p status-1to1 --example xx_conversation`

use status_1to1::crypto::KeyPair;
use status_1to1::noise::{Handshake, HandshakeConfig, HandshakePattern, MessageNametag, NoiseError, Role};
use status_1to1::waku::WakuMessage;
use status_1to1::{SeededEntropy, Timestamp};

const CONTENT_TOPIC: &str = "/status-1to1/1/xx-demo/proto";

fn show(label: &str, now: Timestamp, payload: Vec<u8>) -> Vec<u8> {
    let envelope = WakuMessage::noise(payload, CONTENT_TOPIC, now.as_nanos_i64(), true);
    let bytes = envelope.to_bytes();
    let hash = hex::encode(envelope.hash("/waku/2/rs/16/32"));
    println!(
        "{label:<34} {:>4} B  hash {}…  payload {}…",
        bytes.len(),
        &hash[..16],
        &hex::encode(&envelope.payload)[..48]
    );
    envelope.payload
}

fn main() -> Result<(), NoiseError> {
    let mut alice_rng = SeededEntropy::from_u64(1);
    let mut bob_rng = SeededEntropy::from_u64(2);
    let prologue = b"status-1to1 demo".to_vec();
    let mut alice = Handshake::new(
        HandshakeConfig::new(HandshakePattern::XX, Role::Initiator)
            .prologue(prologue.clone())
            .local_static(KeyPair::generate(&mut alice_rng)),
    )?;
    let mut bob = Handshake::new(
        HandshakeConfig::new(HandshakePattern::XX, Role::Responder)
            .prologue(prologue)
            .local_static(KeyPair::generate(&mut bob_rng)),
    )?;
    let mut now = Timestamp::from_millis(1_700_000_000_000);
    println!("Noise_XX_25519_ChaChaPoly_SHA256 over Waku (PayloadV2, WakuMessage version 2)\n");

    let first_tag = MessageNametag([0x11; 16]);
    let m1 = alice.write_message(&mut alice_rng, b"hello, I am alice", &first_tag)?;
    let wire = show("-> e                 (alice)", now, m1.encode()?);
    let got = bob.read_message(&status_1to1::noise::PayloadV2::decode(&wire)?, &first_tag)?;
    println!("   bob reads: {:?}", String::from_utf8_lossy(&got));

    now = now.saturating_add(std::time::Duration::from_millis(180));
    let tag = bob.next_hkdf_nametag();
    let m2 = bob.write_message(&mut bob_rng, b"hi alice, bob here", &tag)?;
    let wire = show("<- e, ee, s, es      (bob)", now, m2.encode()?);
    let got = alice.read_message(&status_1to1::noise::PayloadV2::decode(&wire)?, &tag)?;
    println!("   alice reads: {:?}", String::from_utf8_lossy(&got));

    now = now.saturating_add(std::time::Duration::from_millis(180));
    let tag = alice.next_hkdf_nametag();
    let m3 = alice.write_message(&mut alice_rng, b"", &tag)?;
    let wire = show("-> s, se             (alice)", now, m3.encode()?);
    bob.read_message(&status_1to1::noise::PayloadV2::decode(&wire)?, &tag)?;

    let (mut alice, mut bob) = (alice.finalize()?, bob.finalize()?);
    println!("\nhandshake hash {}\n", hex::encode(alice.handshake_hash()));
    let script: [(bool, &str); 4] =
        [(true, "how are you?"), (false, "fine, thanks"), (false, "and you?"), (true, "great. see you on waku")];
    for (from_alice, text) in script {
        now = now.saturating_add(std::time::Duration::from_millis(700));
        let (tx, rx, label) =
            if from_alice { (&mut alice, &mut bob, "alice -> bob") } else { (&mut bob, &mut alice, "bob -> alice") };
        let wire = show(&format!("{label} (protocol id 0)"), now, tx.write_message(text.as_bytes())?);
        let plain = rx.read_message(&wire)?;
        println!("   reads: {:?}", String::from_utf8_lossy(&plain));
    }
    Ok(())
}
