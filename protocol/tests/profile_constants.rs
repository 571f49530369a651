//! `docs/profile.md` against the code: the labels and magic strings the code uses are in the
//! profile, the session-id derivation the profile states is the one the code computes
//! (recomputed here with the `hkdf` and `sha2` crates from the label the profile gives), as are
//! the rotated topics and the termination message, and every frame body's protobuf tag in the
//! profile's frame table is the tag the code writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use status_1to1::crypto::KeyPair;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::noise::sessions::{self, NoiseSession, SessionId, TopicPolicy};
use status_1to1::noise::{Handshake, HandshakeConfig, HandshakePattern, MessageNametag, Role};
use status_1to1::peer::{Frame, FrameBody, MessageId};
use status_1to1::time::Timestamp;
use status_1to1::{SeededEntropy, identity, ratchet, x3dh};

fn profile() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/profile.md");
    std::fs::read_to_string(path).unwrap()
}

/// The table row of `profile` whose first cell is `item`.
fn row<'a>(profile: &'a str, item: &str) -> &'a str {
    let start = format!("| {item} |");
    profile.lines().find(|l| l.starts_with(&start)).unwrap_or_else(|| panic!("no row `{item}` in the profile"))
}

#[test]
fn every_label_and_magic_string_of_the_code_is_in_the_profile() {
    let profile = profile();
    let labels: &[(&str, &[u8])] = &[
        ("noise::sessions::TERMINATION_MAGIC", sessions::TERMINATION_MAGIC),
        ("noise::sessions::REACTIVATION_PROLOGUE_LABEL", sessions::REACTIVATION_PROLOGUE_LABEL),
        ("x3dh::INFO_X3DH", x3dh::INFO_X3DH),
        ("x3dh::INFO_NO_BUNDLE", x3dh::INFO_NO_BUNDLE),
        ("x3dh::INFO_TOPIC", x3dh::INFO_TOPIC),
        ("x3dh::INFO_TOPIC_KEY", x3dh::INFO_TOPIC_KEY),
        ("x3dh::BUNDLE_DOMAIN", x3dh::BUNDLE_DOMAIN),
        ("x3dh::SESSION_ID_DOMAIN", x3dh::SESSION_ID_DOMAIN),
        ("ratchet::INFO_ROOT", ratchet::INFO_ROOT),
        ("ratchet::INFO_MESSAGE_KEYS", ratchet::INFO_MESSAGE_KEYS),
        ("identity::FINGERPRINT_DOMAIN", identity::fingerprint::FINGERPRINT_DOMAIN),
        ("x3dh::NO_INSTALLATION", x3dh::NO_INSTALLATION.as_bytes()),
    ];
    let missing: Vec<&str> = labels
        .iter()
        .filter(|(_, value)| !profile.contains(&format!("\"{}\"", String::from_utf8_lossy(value))))
        .map(|(name, _)| *name)
        .collect();
    assert!(missing.is_empty(), "not quoted in docs/profile.md: {missing:?}");
}

#[test]
fn the_session_id_is_derived_as_the_profile_states() {
    let profile = profile();
    let session_id = row(&profile, "session id");
    // `HKDF(salt = h, ikm = "<label>")[0..32]`: the label is the first quoted string of the row.
    let label = session_id.split('"').nth(1).expect("a quoted label");
    assert!(session_id.contains("HKDF(salt = h, ikm = \""), "{session_id}");
    for seed in 0..4u8 {
        let h = [seed; 32];
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&h), label.as_bytes()).expand(&[], &mut expected).unwrap();
        assert_eq!(SessionId::from_handshake_hash(&h).as_bytes(), &expected, "label {label:?}");
    }
}

/// `HKDF(salt, ikm)[0..32]` with empty info (the profile's Noise HKDF).
fn hkdf(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(&[], &mut out).unwrap();
    out
}

/// The session topic of a session id, as the profile states it (`ct-id` and the topic rows).
fn topic_of(id: &[u8; 32]) -> String {
    format!("/status-1to1/1/wakunoise/1/sessions/{}/proto", hex::encode(Sha256::digest(Sha256::digest(id))))
}

/// An initiator's and a responder's session after an XK1 handshake.
fn session_pair(policy: TopicPolicy) -> (NoiseSession, NoiseSession) {
    let mut e = SeededEntropy::from_u64(3);
    let (a_s, b_s) = (KeyPair::generate(&mut e), KeyPair::generate(&mut e));
    let config = |role| HandshakeConfig::new(HandshakePattern::XK1, role);
    let mut a = Handshake::new(config(Role::Initiator).local_static(a_s).remote_static(*b_s.public())).unwrap();
    let mut b = Handshake::new(config(Role::Responder).local_static(b_s)).unwrap();
    for i in 0..3 {
        let tag = if i == 0 { MessageNametag([1; 16]) } else { a.next_hkdf_nametag() };
        let (w, r) = if i % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        let m = w.write_message(&mut e, b"", &tag).unwrap();
        r.read_message(&m, &tag).unwrap();
    }
    let t0 = Timestamp::from_millis(1_700_000_000_000);
    let a = NoiseSession::new(a.finalize().unwrap(), "status-1to1", "1", policy, t0).unwrap();
    let b = NoiseSession::new(b.finalize().unwrap(), "status-1to1", "1", policy, t0).unwrap();
    (a, b)
}

#[test]
fn rotated_topics_and_the_termination_message_are_as_the_profile_states() {
    let profile = profile();
    assert!(row(&profile, "rotation lookahead").contains(&format!("**{}**", sessions::DEFAULT_ROTATION_LOOKAHEAD)));
    let lookahead = sessions::DEFAULT_ROTATION_LOOKAHEAD;
    let (mut a, b) = session_pair(TopicPolicy::RotatePerMessage { lookahead });
    let sid = *a.id().as_bytes();
    assert_eq!(a.content_topic().as_str(), topic_of(&sid));
    let rotated = |direction: &[u8], k: u64| topic_of(&hkdf(&sid, &[direction, &k.to_be_bytes()].concat()));
    let t = Timestamp::from_millis(1_700_000_000_000);
    for k in 0..3 {
        assert_eq!(a.send(b"x", t).unwrap().content_topic, rotated(b"i2r", k), "initiator message {k}");
    }
    let listened: Vec<String> = b.inbound_topics().iter().map(|t| t.as_str().to_owned()).collect();
    let expected: Vec<String> =
        std::iter::once(topic_of(&sid)).chain((0..lookahead as u64).map(|k| rotated(b"i2r", k))).collect();
    assert_eq!(listened, expected, "the base topic and the next {lookahead} inbound topics");
    let termination = a.terminate(true, t).unwrap();
    assert_eq!(termination.version, None);
    assert_eq!(termination.content_topic, topic_of(&sid));
    assert_eq!(termination.payload, [sessions::TERMINATION_MAGIC, &Sha256::digest(sid)[..]].concat());
    assert!(row(&profile, "public termination").contains("(`TERMINATION_MAGIC`, 33 bytes)"));
    assert_eq!(sessions::TERMINATION_MAGIC.len(), 33);
}

#[test]
fn the_frame_table_gives_the_tag_the_code_writes() {
    let profile = profile();
    let who = *IdentityKeyPair::from_seed([1; 32]).public();
    let installation = InstallationId::generate(&mut SeededEntropy::from_u64(1));
    let bodies = [
        ("text", FrameBody::Text(b"hi".to_vec())),
        ("ack", FrameBody::Ack(vec![MessageId([1; 16])])),
        ("sent_sync", FrameBody::SentSync { to: who, body: b"copy".to_vec() }),
        ("terminate", FrameBody::Terminate([3; 32])),
        ("state_sync", FrameBody::StateSync(vec![4; 3])),
        ("device_hello", FrameBody::DeviceHello { identity: who, installation, answer: false }),
        ("relay", FrameBody::Relay { to: who, body: b"via the writer".to_vec() }),
    ];
    for (name, body) in bodies {
        let documented: u64 = row(&profile, &format!("`{name}`")).split('|').nth(2).unwrap().trim().parse().unwrap();
        // The frame without its body, then the body's field: its first byte is the key
        // `tag << 3 | 2` (every body is length-delimited, and every tag is below 16).
        let head = Frame { id: MessageId([9; 16]), sent_at_ms: 42, body: FrameBody::Text(Vec::new()) }.encode();
        let bytes = Frame { id: MessageId([9; 16]), sent_at_ms: 42, body }.encode();
        let key = bytes[head.len() - 2];
        assert_eq!((u64::from(key >> 3), key & 7), (documented, 2), "`{name}`");
    }
}

#[test]
fn the_datasync_table_gives_the_code_s_constants() {
    use status_1to1::statusgo::datasync::{FIRST_RETRY_NS, MAX_OUTSTANDING, MAX_OWED_ACKS, MAX_RETRY_NS};
    let profile = profile();
    let seconds = |ns: i64| format!("| {} s", ns / 1_000_000_000);
    assert!(row(&profile, "`FIRST_RETRY_NS`").contains(&seconds(FIRST_RETRY_NS)));
    assert!(row(&profile, "`MAX_RETRY_NS`").contains(&seconds(MAX_RETRY_NS)));
    assert!(row(&profile, "`MAX_OUTSTANDING`").contains(&format!("| {MAX_OUTSTANDING} ")));
    assert!(row(&profile, "`MAX_OWED_ACKS`").contains(&format!("| {MAX_OWED_ACKS};")));
}
