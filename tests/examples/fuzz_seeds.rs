//! Writes seed inputs for the fuzz targets, derived from the committed vectors (`vectors/noise`,
//! `vectors/jsnoise-samples`, `vectors/x3dh`) and from genuine objects of this crate (contact
//! codes, chat keys, peer snapshots), into `<out>/<target>/seed-<sha>` (default `fuzz/corpus`).
//!
//! ```text
//! cargo run -p status-1to1-conformance --example fuzz_seeds [-- <out dir>]
//! ```
//!
//! The committed corpus is these seeds plus what the fuzzers found, minimized with
//! `cargo fuzz cmin` (see `docs/fuzzing.md`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a generator: failing loudly is right

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message as _;
use serde_json::Value;
use status_1to1::crypto::hash::sha256;
use status_1to1::identity::{ContactCode, IdentityKeyPair, InstallationId};
use status_1to1::peer::{Frame, FrameBody, MessageId};
use status_1to1::statusgo::app;
use status_1to1::waku::WakuMessage;
use status_1to1::x3dh::{PrekeyStore, VerifiedBundle};
use status_1to1::{SeededEntropy, Timestamp};
use status_1to1_conformance::fuzz_targets;

/// Every string value under a key named `key`, anywhere in `value`.
fn strings_under(value: &Value, key: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == key => out.push(s.clone()),
                    _ => strings_under(v, key, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_under(v, key, out)),
        _ => {}
    }
}

fn hex_under(files: &[PathBuf], keys: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for file in files {
        let json: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for key in keys {
            let mut found = Vec::new();
            strings_under(&json, key, &mut found);
            out.extend(found.iter().filter_map(|s| hex::decode(s).ok()));
        }
    }
    out
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.to_string_lossy().ends_with("-long.json"))
        .collect();
    files.sort();
    files
}

fn prefixed(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(body);
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("fuzz/corpus"));
    let mut seeds: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    let mut noise_files = json_files(&root.join("vectors/noise"));
    noise_files.extend(json_files(&root.join("vectors/jsnoise-samples")));
    let x3dh_files = json_files(&root.join("vectors/x3dh"));

    // PayloadV2 and WakuMessage: every wire message of the Noise vectors.
    let mut wires = hex_under(&noise_files, &["wire", "message1_wire", "message2_wire", "payload_v2_wire"]);
    wires.sort();
    wires.dedup();
    wires.retain(|w| w.len() <= 4096);
    for wire in &wires {
        seeds.entry("payload_v2").or_default().push(wire.clone());
    }
    for (i, wire) in wires.iter().enumerate().take(12) {
        let topic = "/waku-noise-sessions/0.1/wakunoise/1/sessions_shard-10/proto";
        let mut message = WakuMessage::noise(wire.clone(), topic, 1_700_000_000_000_000_000 + i as i64, i % 2 == 0);
        if i % 3 == 0 {
            message.meta = Some(vec![i as u8; 8]);
        }
        seeds.entry("waku_message").or_default().push(message.to_bytes());
    }

    // The protobufs of 53 (first byte selects the message), from the X3DH vectors.
    for m in hex_under(&x3dh_files, &["protocol_message"]) {
        seeds.entry("protobufs").or_default().push(prefixed(&[0], &m));
        seeds.entry("x3dh").or_default().push(prefixed(&[0], &m));
    }
    for m in hex_under(&x3dh_files, &["entry"]).into_iter().take(16) {
        seeds.entry("protobufs").or_default().push(prefixed(&[1], &m));
    }
    for b in hex_under(&x3dh_files, &["bundle", "bob_bundle", "alice_bundle"]) {
        seeds.entry("protobufs").or_default().push(prefixed(&[2], &b));
        seeds.entry("x3dh").or_default().push(prefixed(&[4, 0], &b));
    }
    for body in [
        FrameBody::Text(b"hello".to_vec()),
        FrameBody::Ack(vec![MessageId([1; 16])]),
        FrameBody::Terminate([3; 32]),
        FrameBody::StateSync(vec![4; 10]),
    ] {
        let frame = Frame { id: MessageId([9; 16]), sent_at_ms: 42, body };
        seeds.entry("protobufs").or_default().push(prefixed(&[7], &frame.encode()));
    }

    // Suite S: status-go's bundles and messages (transcripts), and a live installation's messages.
    let status_files = json_files(&root.join("vectors/status-go"));
    let mut status_bundles = hex_under(&status_files, &["bundle_protobuf"]);
    status_bundles.sort();
    status_bundles.dedup();
    seeds.entry("statusgo_bundle").or_default().extend(status_bundles);
    seeds.entry("statusgo_handle").or_default().extend(fuzz_targets::statusgo_handle_seeds());
    let mut status_layers = hex_under(
        &status_files,
        &["envelope_26_signed", "waku_payload", "application_metadata_message_protobuf", "dr_plaintext"],
    );
    status_layers.sort();
    status_layers.dedup();
    seeds.entry("statusgo_payload").or_default().extend(status_layers);
    // The application layer: status-go's wrappers (reader 0, and as plaintexts, reader 2) and
    // chat messages (reader 1).
    let mut wrappers = hex_under(&status_files, &["application_metadata_message_protobuf"]);
    wrappers.sort();
    wrappers.dedup();
    let mut chats = hex_under(&status_files, &["chat_message_protobuf"]);
    chats.sort();
    chats.dedup();
    let app_seeds = seeds.entry("status_app").or_default();
    app_seeds.extend(wrappers.iter().take(3).flat_map(|w| [prefixed(&[0], w), prefixed(&[2], w)]));
    app_seeds.extend(chats.iter().take(3).map(|c| prefixed(&[1], c)));
    app_seeds.extend(wrappers.first().map(|w| prefixed(&[2], &app::mvds_wrap(&[7; 32], 1_730_124_918, w.clone()))));

    // Contact codes and chat keys of a few identities, with and without name and bundle.
    let mut e = SeededEntropy::from_u64(5);
    let now = Timestamp::from_millis(1_700_000_000_000);
    for i in 0..3u8 {
        let identity = IdentityKeyPair::from_seed([i + 1; 32]);
        let installation = InstallationId::generate(&mut e);
        let mut code = ContactCode::new(*identity.public(), installation.clone());
        if i > 0 {
            code = code.with_display_name(format!("Fuzzer {i}")).unwrap();
        }
        if i > 1 {
            let prekeys = PrekeyStore::new(now, &mut e);
            let entries = BTreeMap::from([(installation, prekeys.current().signed_prekey())]);
            let bundle = VerifiedBundle::sign(&identity, entries, now).unwrap().to_proto().encode_to_vec();
            code = code.with_prekey_bundle(bundle).unwrap();
        }
        let strings = seeds.entry("identity_strings").or_default();
        strings.push(prefixed(&[0], code.to_string().as_bytes()));
        strings.push(prefixed(&[2], code.to_qr_text().as_bytes()));
        strings.push(prefixed(&[1], identity.public().to_chat_key().as_bytes()));
    }

    // Pairing QR strings.
    let mut qrs = Vec::new();
    for file in &noise_files {
        let json: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        strings_under(&json, "qr", &mut qrs);
    }
    qrs.sort();
    qrs.dedup();
    for qr in qrs {
        seeds.entry("pairing_qr").or_default().push(qr.clone().into_bytes());
        seeds.entry("pairing_qr").or_default().push(qr.replace('=', "").into_bytes());
    }

    // Genuine snapshots, whole (mode 0) and as bodies to re-frame (mode 3).
    for (i, snapshot) in fuzz_targets::sample_snapshot_bytes().iter().enumerate() {
        seeds.entry("snapshot").or_default().push(prefixed(&[0, i as u8], snapshot));
        seeds.entry("snapshot").or_default().push(prefixed(&[3, i as u8], &snapshot[14..snapshot.len() - 32]));
    }

    let mut written = 0;
    for (target, inputs) in seeds {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for input in inputs {
            let name = format!("seed-{}", &hex::encode(sha256(&[&input]))[..16]);
            std::fs::write(dir.join(name), &input).unwrap();
            written += 1;
        }
    }
    println!("wrote {written} seeds under {}", out.display());
}
