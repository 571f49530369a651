//! Live WakuPairing interop: our pairing state machines against js-noise's real `WakuPairing`
//! class (driven through `tests/jsnoise-peer/peer.mjs`), in both roles. The authcode shown on both
//! sides must agree, then secure-transfer messages flow both ways. Skipped without Node (not in CI).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use serde_json::{Value, json};
use status_1to1::SeededEntropy;
use status_1to1::crypto::{KeyPair, SecretKey};
use status_1to1::noise::MessageNametag;
use status_1to1::pairing::{
    AbortReason, ContentTopicParams, OwnerEvent, PairingAction, PairingConfig, PairingState, QrOwner, Scanner,
    ScannerEvent,
};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1_conformance::jsnoise::{JsPeer, hx, peer_for_test, unhex};

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn config() -> PairingConfig {
    PairingConfig::new(ContentTopicParams::js_default())
}

/// Waits for js events until one of `kind` arrives; returns all events seen.
fn poll_until(js: &mut JsPeer, handle: &Value, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..40 {
        let r = js.ok(json!({"op": "pairing_poll", "handle": handle, "wait_ms": 250})).unwrap();
        let events = r["events"].as_array().cloned().unwrap_or_default();
        let done = events.iter().any(|e| e["type"] == json!(kind));
        seen.extend(events);
        if done {
            return seen;
        }
        assert_ne!(r["status"], json!("error"), "js pairing failed: {seen:?}");
    }
    panic!("js never produced a {kind} event: {seen:?}");
}

fn published(events: &[Value]) -> Vec<WakuMessage> {
    events
        .iter()
        .filter(|e| e["type"] == json!("publish"))
        .map(|e| WakuMessage::from_bytes(&unhex(&e["waku_message"])).unwrap())
        .collect()
}

fn js_authcode(events: &[Value]) -> String {
    events.iter().find(|e| e["type"] == json!("authcode")).unwrap()["code"].as_str().unwrap().to_owned()
}

fn ours_published(actions: &[PairingAction]) -> Vec<WakuMessage> {
    actions.iter().filter_map(|a| if let PairingAction::Publish(m) = a { Some(m.clone()) } else { None }).collect()
}

fn our_authcode(actions: &[PairingAction]) -> Option<String> {
    actions.iter().find_map(|a| if let PairingAction::ShowAuthcode(c) = a { Some(c.digits()) } else { None })
}

#[test]
fn our_qr_owner_pairs_with_a_js_noise_scanner() {
    let Some(mut js) = peer_for_test() else { return };
    let mut rng = SeededEntropy::from_u64(71);
    let mut owner = QrOwner::new(config(), KeyPair::generate(&mut rng));
    let shown = owner.handle(OwnerEvent::ExposeQr, NOW, &mut rng).unwrap();
    let (qr, nametag) = shown
        .iter()
        .find_map(|a| {
            if let PairingAction::ShowQr { qr, nametag, .. } = a { Some((qr.to_string(), *nametag)) } else { None }
        })
        .unwrap();
    let js_static = [0x51u8; 32];
    let pairing = js
        .ok(json!({"op": "pairing_new", "role": "initiator", "static_sk": hx(&js_static), "qr": qr, "qr_nametag": hx(&nametag.0)}))
        .unwrap()["handle"]
        .clone();
    let events = poll_until(&mut js, &pairing, "authcode");
    let code = js_authcode(&events);
    let mut our_code = None;
    for m in published(&events) {
        if let Ok(actions) = owner.handle(OwnerEvent::Message(&m), NOW, &mut rng) {
            our_code = our_code.or(our_authcode(&actions));
        }
    }
    assert_eq!(our_code.as_deref(), Some(code.as_str()), "both devices show the same authcode");
    js.ok(json!({"op": "pairing_confirm", "handle": pairing, "accept": true})).unwrap();
    let actions = owner.handle(OwnerEvent::ConfirmAuthcode, NOW, &mut rng).unwrap();
    for m in ours_published(&actions) {
        js.ok(json!({"op": "pairing_deliver", "handle": pairing, "waku_message": hx(&m.to_bytes())})).unwrap();
    }
    let events = poll_until(&mut js, &pairing, "complete");
    let session = events.iter().find(|e| e["type"] == json!("complete")).unwrap()["session"].clone();
    let mut paired = false;
    for m in published(&events) {
        if let Ok(actions) = owner.handle(OwnerEvent::Message(&m), NOW, &mut rng) {
            paired |= actions.iter().any(|a| matches!(a, PairingAction::Paired { .. }));
        }
    }
    assert!(paired, "our owner completed the pairing");
    let js_public = KeyPair::from_secret(SecretKey::from_bytes(js_static));
    assert!(matches!(owner.state(), PairingState::Paired(s) if s.remote_static() == js_public.public()));
    // Secure transfer, both ways.
    let sent = ours_published(&owner.handle(OwnerEvent::Send(b"from rust"), NOW, &mut rng).unwrap());
    let r =
        js.ok(json!({"op": "transport_read", "session": session, "waku_message": hx(&sent[0].to_bytes())})).unwrap();
    assert_eq!(unhex(&r["plaintext"]), b"from rust");
    let w = js.ok(json!({"op": "transport_write", "session": session, "plaintext": hx(b"from js")})).unwrap();
    let incoming = WakuMessage::from_bytes(&unhex(&w["waku_message"])).unwrap();
    let got = owner.handle(OwnerEvent::Message(&incoming), NOW, &mut rng).unwrap();
    assert!(got.contains(&PairingAction::Received(b"from js".to_vec())), "{got:?}");
}

#[test]
fn our_scanner_pairs_with_a_js_noise_qr_owner() {
    let Some(mut js) = peer_for_test() else { return };
    let mut rng = SeededEntropy::from_u64(72);
    let js_static = [0x52u8; 32];
    let r = js.ok(json!({"op": "pairing_new", "role": "responder", "static_sk": hx(&js_static)})).unwrap();
    let (pairing, qr) = (r["handle"].clone(), r["qr"].as_str().unwrap().to_owned());
    let nametag = MessageNametag(unhex(&r["qr_nametag"]).try_into().unwrap());
    let mut scanner = Scanner::new(config(), KeyPair::generate(&mut rng));
    let actions = scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, NOW, &mut rng).unwrap();
    let our_code = our_authcode(&actions);
    for m in ours_published(&actions) {
        js.ok(json!({"op": "pairing_deliver", "handle": pairing, "waku_message": hx(&m.to_bytes())})).unwrap();
    }
    let events = poll_until(&mut js, &pairing, "authcode");
    assert_eq!(our_code.as_deref(), Some(js_authcode(&events).as_str()), "both devices show the same authcode");
    js.ok(json!({"op": "pairing_confirm", "handle": pairing, "accept": true})).unwrap();
    let mut outgoing = ours_published(&scanner.handle(ScannerEvent::ConfirmAuthcode, NOW, &mut rng).unwrap());
    let events = poll_until(&mut js, &pairing, "publish");
    let mut paired = false;
    for m in published(&events) {
        if let Ok(actions) = scanner.handle(ScannerEvent::Message(&m), NOW, &mut rng) {
            paired |= actions.iter().any(|a| matches!(a, PairingAction::Paired { .. }));
            outgoing.extend(ours_published(&actions));
        }
    }
    assert!(paired, "our scanner completed the pairing");
    for m in outgoing {
        js.ok(json!({"op": "pairing_deliver", "handle": pairing, "waku_message": hx(&m.to_bytes())})).unwrap();
    }
    let events = poll_until(&mut js, &pairing, "complete");
    let session = events.iter().find(|e| e["type"] == json!("complete")).unwrap()["session"].clone();
    let w = js.ok(json!({"op": "transport_write", "session": session, "plaintext": hx(b"from js")})).unwrap();
    let incoming = WakuMessage::from_bytes(&unhex(&w["waku_message"])).unwrap();
    let got = scanner.handle(ScannerEvent::Message(&incoming), NOW, &mut rng).unwrap();
    assert!(got.contains(&PairingAction::Received(b"from js".to_vec())), "{got:?}");
    let sent = ours_published(&scanner.handle(ScannerEvent::Send(b"from rust"), NOW, &mut rng).unwrap());
    let r =
        js.ok(json!({"op": "transport_read", "session": session, "waku_message": hx(&sent[0].to_bytes())})).unwrap();
    assert_eq!(unhex(&r["plaintext"]), b"from rust");
}

#[test]
fn a_man_in_the_middle_with_the_qr_ephemeral_key_but_another_static_key_is_detected() {
    // The attacker learned the QR owner's ephemeral secret (the compromise the spec's 30 s QR
    // timebox limits) and answers with its own static key. Noise alone cannot tell; the static
    // key commitment in the QR does: our scanner must abort with a commitment mismatch.
    let Some(mut js) = peer_for_test() else { return };
    let mut rng = SeededEntropy::from_u64(73);
    let honest =
        js.ok(json!({"op": "pairing_new", "role": "responder", "static_sk": hx(&[0x61u8; 32]), "seed": "01"})).unwrap();
    let qr = honest["qr"].as_str().unwrap().to_owned();
    let nametag = MessageNametag(unhex(&honest["qr_nametag"]).try_into().unwrap());
    // peer.mjs derives the owner's secrets as SHA-256(seed || label).
    let ephemeral_secret = status_1to1::crypto::hash::sha256(&[&[0x01], b"e"]);
    let r = status_1to1::crypto::hash::sha256(&[&[0x01], b"r"]);
    let attacker = js
        .ok(json!({
            "op": "handshake_new", "pattern": "WakuPairing", "initiator": false,
            "static_sk": hx(&[0x62u8; 32]), "prologue": hx(qr.as_bytes()), "pre_message_ephemeral_sk": hx(&ephemeral_secret),
        }))
        .unwrap()["handle"]
        .clone();
    let mut scanner = Scanner::new(config(), KeyPair::generate(&mut rng));
    let actions = scanner.handle(ScannerEvent::Scan { qr: &qr, nametag }, NOW, &mut rng).unwrap();
    let first = &ours_published(&actions)[0];
    js.ok(json!({"op": "handshake_read", "handle": attacker, "wire": hx(&first.payload), "nametag": hx(&nametag.0)}))
        .unwrap();
    let state = js.ok(json!({"op": "handshake_state", "handle": attacker})).unwrap();
    assert_eq!(state["authcode"].as_str(), our_authcode(&actions).as_deref(), "the attacker even matches the authcode");
    scanner.handle(ScannerEvent::ConfirmAuthcode, NOW, &mut rng).unwrap();
    let second = js
        .ok(json!({"op": "handshake_write", "handle": attacker, "payload": hx(&r), "nametag": state["next_nametag"]}))
        .unwrap();
    let message = WakuMessage::noise(unhex(&second["wire"]), first.content_topic.clone(), NOW.as_nanos_i64(), true);
    let actions = scanner.handle(ScannerEvent::Message(&message), NOW, &mut rng).unwrap();
    assert!(actions.contains(&PairingAction::Aborted(AbortReason::CommitmentMismatch)), "{actions:?}");
    assert!(matches!(scanner.state(), PairingState::Aborted(AbortReason::CommitmentMismatch)));
}
