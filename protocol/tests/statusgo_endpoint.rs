//! Suite S endpoints end to end: a chat between our endpoints through every layer, and our
//! endpoint reading the messages status-go itself sent in `vectors/status-go/session.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use serde_json::Value;
use status_1to1::ScriptedEntropy;
use status_1to1::SeededEntropy;
use status_1to1::statusgo::endpoint::{Endpoint, EndpointError};
use status_1to1::statusgo::installation::OwnPreKey;
use status_1to1::statusgo::{Installation, SecretKey, topic};

const NOW: i64 = 1_700_000_000_000_000_000;

fn endpoint(identity: &SecretKey, id: &str, name: &str) -> Endpoint {
    Endpoint::new(identity.clone(), Installation::new(identity.clone(), id.into()), name)
}

/// Alice and Bob's keys, and their endpoints, Alice holding Bob's bundle.
fn alice_and_bob(entropy: &mut SeededEntropy) -> (SecretKey, SecretKey, Endpoint, Endpoint) {
    let (alice_key, bob_key) = (SecretKey::generate(entropy), SecretKey::generate(entropy));
    let mut alice = endpoint(&alice_key, "alice-1", "alice");
    let mut bob = endpoint(&bob_key, "bob-1", "bob");
    let bob_bundle = bob.installation().bundle(NOW, entropy).unwrap();
    alice.add_bundle(&bob_bundle);
    (alice_key, bob_key, alice, bob)
}

#[test]
fn a_chat_through_every_layer_both_ways_and_duplicates_dropped() {
    let mut entropy = SeededEntropy::from_u64(1);
    let (alice_key, bob_key, mut alice, mut bob) = alice_and_bob(&mut entropy);
    let mut now = NOW;
    for round in 0..4 {
        now += 1_000_000_000;
        let ping = alice.send_text(&bob_key.public_key(), &format!("ping {round}"), now, &mut entropy).unwrap();
        assert!(bob.subscriptions().contains(&ping.message.content_topic), "round {round}");
        let got = bob.receive(&ping.message, &mut entropy).unwrap().messages;
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].chat.text.as_str(), got[0].from, got[0].id),
            (format!("ping {round}").as_str(), alice_key.public_key(), ping.id)
        );
        // A duplicate is refused by the ratchet (its key is gone) and delivers nothing.
        assert!(matches!(bob.receive(&ping.message, &mut entropy), Err(EndpointError::Handle(_))), "round {round}");
        now += 1_000_000_000;
        let pong = bob.send_text(&alice_key.public_key(), &format!("pong {round}"), now, &mut entropy).unwrap();
        let got = alice.receive(&pong.message, &mut entropy).unwrap().messages;
        assert_eq!(got[0].chat.text, format!("pong {round}"));
        // Once each side has heard the other, both use the negotiated topic, not the partitioned.
        let partitioned = |key: &SecretKey| topic::content_topic(&topic::partitioned_topic(&key.public_key()));
        assert_eq!(ping.message.content_topic == partitioned(&bob_key), round == 0, "round {round}");
        assert_ne!(pong.message.content_topic, partitioned(&alice_key), "round {round}");
    }
    let eve = SecretKey::generate(&mut entropy);
    let mut eve = endpoint(&eve, "eve-1", "eve");
    let stray = alice.send_text(&bob_key.public_key(), "not for eve", now, &mut entropy).unwrap();
    assert_eq!(eve.receive(&stray.message, &mut entropy), Err(EndpointError::NotForUs));
}

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/status-go/session.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn secret(value: &Value) -> SecretKey {
    SecretKey::from_bytes(&hex::decode(value.as_str().unwrap()).unwrap().try_into().unwrap()).unwrap()
}

/// Bob's first installation, as the transcript's parties describe it (its identity, id and
/// signed prekey), reads Alice's status-go messages to it.
#[test]
fn our_endpoint_reads_the_messages_status_go_sent() {
    let doc = vectors();
    let bob = doc["parties"].as_array().unwrap().iter().find(|p| p["name"] == "bob").unwrap();
    let bob_key = secret(&bob["identity_private_key"]);
    let device = &bob["installations"][0];
    let mut installation = Installation::new(bob_key.clone(), device["installation_id"].as_str().unwrap().into());
    for spk in device["signed_pre_keys"].as_array().unwrap() {
        let pre_key = OwnPreKey {
            secret: secret(&spk["private_key"]),
            version: spk["version"].as_u64().unwrap() as u32,
            created_ns: spk["created_timestamp_ns"].as_i64().unwrap(),
        };
        installation.add_pre_key(pre_key);
    }
    let mut endpoint = Endpoint::new(bob_key, installation, "bob");
    let draws = doc["random_draws"].as_array().unwrap();
    let mut texts = Vec::new();
    for event in doc["events"].as_array().unwrap() {
        let to_bob_1 = event["type"] == "deliver" && event["receiver"]["device"] == device["device"];
        if !to_bob_1 {
            continue;
        }
        let sent = &doc["events"][event["sent_in_event"].as_u64().unwrap() as usize];
        let wire = hex::decode(sent["waku"]["waku_message_protobuf"].as_str().unwrap()).unwrap();
        let message = status_1to1::waku::WakuMessage::from_bytes(&wire).unwrap();
        // The ratchet keys status-go drew on this delivery, so that its later messages, which
        // answer those keys, decrypt here too.
        let listed = event["random_draws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| hex::decode(draws[i.as_u64().unwrap() as usize]["bytes"].as_str().unwrap()).unwrap());
        let mut entropy = ScriptedEntropy::new(listed.collect::<Vec<_>>());
        for got in endpoint.receive(&message, &mut entropy).unwrap().messages {
            assert_eq!(hex::encode(got.id), event["application"]["message_id"].as_str().unwrap());
            texts.push(got.chat.text);
        }
    }
    let expected: Vec<String> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "deliver" && e["receiver"]["device"] == device["device"])
        .map(|e| e["application"]["chat_message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(texts, expected);
}

/// Datasync: a chat message lost on the way goes again until both of Bob's installations have
/// acknowledged it, each reads it once, and the copies that arrive after are acknowledged
/// again but not shown again.
#[test]
fn a_datasync_message_goes_again_until_every_installation_acknowledged_it() {
    let mut entropy = SeededEntropy::from_u64(2);
    let (_, bob_key, mut alice, bob_1) = alice_and_bob(&mut entropy);
    let mut bobs = [bob_1, endpoint(&bob_key, "bob-2", "bob")];
    let bundle = bobs[1].installation().bundle(NOW, &mut entropy).unwrap();
    alice.add_bundle(&bundle);
    let id = alice.send_chat(&bob_key.public_key(), "hello twice", NOW).unwrap();
    let lost = alice.poll(NOW, &mut entropy).unwrap();
    assert_eq!(lost.len(), 1, "sent at once");
    assert!(alice.poll(NOW + 1, &mut entropy).unwrap().is_empty(), "not again before the retry gap");
    let mut now = alice.next_deadline(NOW).unwrap();
    assert_eq!(now - NOW, 10_000_000_000);
    let mut shown = [0, 0];
    let mut settled = Vec::new();
    // The first retransmission reaches Bob 1 only; the second reaches both.
    for reach in [&[0][..], &[0, 1][..]] {
        let copy = alice.poll(now, &mut entropy).unwrap().pop().unwrap();
        for &b in reach {
            let got = bobs[b].receive(&copy, &mut entropy).unwrap();
            shown[b] += got.messages.iter().filter(|m| m.id == id && m.chat.text == "hello twice").count();
            for ack in bobs[b].poll(now, &mut entropy).unwrap() {
                settled.extend(alice.receive(&ack, &mut entropy).unwrap().settled);
            }
        }
        assert_eq!(settled.is_empty(), reach.len() == 1, "settled only once both acknowledged");
        now = alice.next_deadline(now).unwrap_or(now);
    }
    assert_eq!((shown, settled), ([1, 1], vec![id]));
    assert_eq!((alice.datasync().outstanding(), alice.next_deadline(now)), (0, None));
}

/// An endpoint written and read back is the same endpoint: it goes on decrypting and sending.
#[test]
fn an_endpoint_restored_from_its_bytes_carries_on() {
    let mut entropy = SeededEntropy::from_u64(3);
    let (_, bob_key, mut alice, mut bob) = alice_and_bob(&mut entropy);
    alice.send_chat(&bob_key.public_key(), "before", NOW).unwrap();
    let first = alice.poll(NOW, &mut entropy).unwrap().pop().unwrap();
    bob.receive(&first, &mut entropy).unwrap();
    let mut bob = Endpoint::from_bytes(&bob.to_bytes().unwrap()).unwrap();
    let mut alice = Endpoint::from_bytes(&alice.to_bytes().unwrap()).unwrap();
    assert_eq!(alice.datasync().outstanding(), 1, "the unacknowledged message survives");
    let ack = bob.poll(NOW, &mut entropy).unwrap().pop().unwrap();
    assert_eq!(alice.receive(&ack, &mut entropy).unwrap().settled.len(), 1);
    alice.send_chat(&bob_key.public_key(), "after", NOW + 1).unwrap();
    let second = alice.poll(NOW + 1, &mut entropy).unwrap().pop().unwrap();
    assert_eq!(bob.receive(&second, &mut entropy).unwrap().messages[0].chat.text, "after");
    assert!(Endpoint::from_bytes(&[9, 1, 2]).is_err());
}
