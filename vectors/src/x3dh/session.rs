//! `x3dh/session/v1`: X3DH from both sides, ratchet initialisation, and a scripted conversation
//! (sends, lost sends, deliveries with tampering) replayed through `x3dh::initiate`,
//! `x3dh::respond` and `Session`, the way the session layer will drive them.

use std::collections::{BTreeMap, HashMap};

use prost::Message as _;
use serde_json::Value;
use status_1to1::crypto::hash::sha256;
use status_1to1::crypto::{KeyPair, PublicKey, SecretKey};
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::proto;
use status_1to1::ratchet::{MessageKey, RootKey};
use status_1to1::time::Timestamp;
use status_1to1::x3dh::{
    self, EncryptedMessage, Envelope, Payload, PrekeyStore, Recipient, Session, SignedPrekey, Stage, VerifiedBundle,
};

use super::kdf::u32_at;
use super::{StrictEntropy, identity_at, ratchet_error_name, x3dh_error_name};
use crate::json::{VectorError, array_at, at, bool_at, hex_at, hex_n_at, opt_str_at, str_at, u64_at};
use crate::report::Report;

struct Party {
    identity: IdentityKeyPair,
    installation: InstallationId,
    prekey: KeyPair,
    prekey_version: u32,
    store: PrekeyStore,
    session: Option<Session>,
}

fn installation(doc: &Value, path: &str) -> Result<InstallationId, VectorError> {
    InstallationId::parse(str_at(doc, path)?)
        .map_err(|_| VectorError::Unsupported { path: path.into(), value: "installation id".into() })
}

fn key_pair(doc: &Value, path: &str) -> Result<KeyPair, VectorError> {
    Ok(KeyPair::from_secret(SecretKey::from_bytes(hex_n_at(doc, path)?)))
}

fn party(doc: &Value, name: &str, now: Timestamp) -> Result<Party, VectorError> {
    let secret = hex_n_at::<32>(doc, &format!("{name}.prekey_secret"))?;
    Ok(Party {
        identity: identity_at(doc, &format!("{name}.identity_seed"))?,
        installation: installation(doc, &format!("{name}.installation"))?,
        prekey: KeyPair::from_secret(SecretKey::from_bytes(secret)),
        prekey_version: u32_at(doc, &format!("{name}.prekey_version"))?,
        store: PrekeyStore::new(now, &mut StrictEntropy::new([secret])),
        session: None,
    })
}

fn bundle_of(p: &Party, now: Timestamp) -> Option<VerifiedBundle> {
    let entries = BTreeMap::from([(p.installation.clone(), SignedPrekey::new(*p.prekey.public(), p.prekey_version))]);
    VerifiedBundle::sign(&p.identity, entries, now).ok()
}

/// Verifies a `x3dh/session/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let now = Timestamp::from_millis(u64_at(doc, "bundle_timestamp_ms")?);
    let mut parties = [party(doc, "alice", now)?, party(doc, "bob", now)?];
    if parties.iter().any(|p| p.store.current().pair().public() != p.prekey.public()) {
        report.fail("prekey store", "the vector's prekey".into(), "a different prekey".into());
    }
    let Some(session) = handshake(doc, &parties, now, report)? else { return Ok(()) };
    parties[0].session = Some(session);
    let mut messages = HashMap::new();
    for (i, event) in array_at(doc, "events")?.iter().enumerate() {
        let p = format!("events.{i}");
        match str_at(event, "op")? {
            "send" => send(doc, &p, &mut parties, &mut messages, report)?,
            "advance" => advance(doc, &p, &mut parties, report)?,
            "stream" => stream(doc, &p, &mut parties, now, report)?,
            "set_send_counter" => set_send_counter(doc, &p, &mut parties, report)?,
            "deliver" => deliver(doc, &p, &mut parties, &messages, now, report)?,
            other => return Err(VectorError::Unsupported { path: format!("{p}.op"), value: other.into() }),
        }
    }
    if at(doc, "envelope").is_ok() {
        envelope(doc, &parties, &messages, now, report)?;
    }
    Ok(())
}

/// X3DH from both sides and the initiator's session; `None` if it could not be created.
fn handshake(
    doc: &Value,
    parties: &[Party; 2],
    now: Timestamp,
    report: &mut Report,
) -> Result<Option<Session>, VectorError> {
    let [alice, bob] = parties;
    let e = |f: &str| format!("x3dh.expected.{f}");
    let ephemeral = key_pair(doc, "x3dh.ephemeral_secret")?;
    let ratchet = key_pair(doc, "x3dh.ratchet_secret")?;
    let spk = *bob.prekey.public();
    for (field, key) in [
        ("alice_identity", alice.identity.public().as_bytes()),
        ("alice_identity_x25519", alice.identity.public().dh_public().as_bytes()),
        ("bob_identity", bob.identity.public().as_bytes()),
        ("bob_identity_x25519", bob.identity.public().dh_public().as_bytes()),
        ("bob_prekey", spk.as_bytes()),
        ("ephemeral_public", ephemeral.public().as_bytes()),
        ("ratchet_public", ratchet.public().as_bytes()),
    ] {
        report.bytes(e(field), &hex_at(doc, &e(field))?, key);
    }
    // Each DH from the initiator's side, and the same value from the responder's side.
    let dhs = [
        (
            "dh1",
            alice.identity.dh_keys().diffie_hellman(&spk),
            bob.prekey.diffie_hellman(alice.identity.public().dh_public()),
        ),
        (
            "dh2",
            ephemeral.diffie_hellman(bob.identity.public().dh_public()),
            bob.identity.dh_keys().diffie_hellman(ephemeral.public()),
        ),
        ("dh3", ephemeral.diffie_hellman(&spk), bob.prekey.diffie_hellman(ephemeral.public())),
    ];
    for (field, a, b) in dhs {
        let expected = hex_at(doc, &e(field))?;
        report.bytes(
            format!("{} (initiator)", e(field)),
            &expected,
            a.as_ref().map(|s| &s.as_bytes()[..]).unwrap_or_default(),
        );
        report.bytes(
            format!("{} (responder)", e(field)),
            &expected,
            b.as_ref().map(|s| &s.as_bytes()[..]).unwrap_or_default(),
        );
    }
    let sk = hex_at(doc, &e("shared_secret"))?;
    let initiator = x3dh::initiator_secret(&alice.identity, &ephemeral, bob.identity.public(), &spk);
    let responder = x3dh::responder_secret(&bob.identity, &bob.prekey, alice.identity.public(), ephemeral.public());
    report.bytes(
        format!("{} (initiator)", e("shared_secret")),
        &sk,
        initiator.as_ref().map(|k| &k.as_bytes()[..]).unwrap_or_default(),
    );
    report.bytes(
        format!("{} (responder)", e("shared_secret")),
        &sk,
        responder.as_ref().map(|k| &k.as_bytes()[..]).unwrap_or_default(),
    );
    // Ratchet initialisation (DR §3.3): RK, CKs = KDF_RK(SK, DH(DHs, SPK_B)).
    let dh = ratchet.diffie_hellman(&spk).map_err(|_| VectorError::BadHex(e("ratchet_public")))?;
    let (root, chain) = RootKey::from_bytes(hex_n_at(doc, &e("shared_secret"))?).ratchet(&dh);
    report.bytes(e("initial_root_key"), &hex_at(doc, &e("initial_root_key"))?, root.as_bytes());
    report.bytes(e("initial_sending_chain_key"), &hex_at(doc, &e("initial_sending_chain_key"))?, chain.as_bytes());
    // The bundle Alice verifies is the vector's bytes; it must also be what Bob signs.
    let wire = hex_at(doc, &e("bob_bundle"))?;
    report.bytes(
        e("bob_bundle"),
        &wire,
        &bundle_of(bob, now).map(|b| b.to_proto().encode_to_vec()).unwrap_or_default(),
    );
    let bundle =
        proto::Bundle::decode(&wire[..]).ok().and_then(|b| VerifiedBundle::verify_from(&b, bob.identity.public()).ok());
    let Some(bundle) = bundle else {
        report.step_failed(e("bob_bundle"), "the bundle does not verify");
        return Ok(None);
    };
    let mut entropy =
        StrictEntropy::new([hex_n_at(doc, "x3dh.ephemeral_secret")?, hex_n_at(doc, "x3dh.ratchet_secret")?]);
    let session = match x3dh::initiate(&alice.identity, &alice.installation, &bundle, &bob.installation, &mut entropy) {
        Ok(s) => s,
        Err(error) => {
            report.step_failed("x3dh.initiate", error);
            return Ok(None);
        }
    };
    report.value("x3dh (entropy drawn: ephemeral then ratchet key)", (0, 0), (entropy.unexpected, entropy.unused()));
    report.bytes(e("session_id"), &hex_at(doc, &e("session_id"))?, session.id().as_bytes());
    report.bytes(e("associated_data"), &hex_at(doc, &e("associated_data"))?, session.associated_data().as_bytes());
    let header = match session.stage() {
        Stage::AwaitingReply { header } => header.to_proto().encode_to_vec(),
        Stage::Confirmed => Vec::new(),
    };
    report.bytes(e("x3dh_header"), &hex_at(doc, &e("x3dh_header"))?, &header);
    report.value(e("ratchet_public (session)"), Some(ratchet.public()), session.ratchet().sending_ratchet_key());
    Ok(Some(session))
}

fn party_index(doc: &Value, path: &str) -> Result<usize, VectorError> {
    match str_at(doc, path)? {
        "alice" => Ok(0),
        "bob" => Ok(1),
        other => Err(VectorError::Unsupported { path: path.into(), value: other.into() }),
    }
}

fn entropy_for(doc: &Value, p: &str) -> Result<StrictEntropy, VectorError> {
    Ok(match opt_str_at(doc, &format!("{p}.ratchet_secret")) {
        Some(_) => StrictEntropy::new([hex_n_at(doc, &format!("{p}.ratchet_secret"))?]),
        None => StrictEntropy::new([]),
    })
}

fn send(
    doc: &Value,
    p: &str,
    parties: &mut [Party; 2],
    messages: &mut HashMap<String, EncryptedMessage>,
    report: &mut Report,
) -> Result<(), VectorError> {
    let from = &mut parties[party_index(doc, &format!("{p}.from"))?];
    let id = str_at(doc, &format!("{p}.id"))?.to_owned();
    let mut entropy = entropy_for(doc, p)?;
    let Some(session) = from.session.take() else {
        report.step_failed(format!("{p} ({id})"), "the sender has no session");
        return Ok(());
    };
    let ad = session.associated_data();
    let refusal = opt_str_at(doc, &format!("{p}.expected.error"));
    let before = refusal.map(|_| session.clone());
    let (session, message) = match session.encrypt(&hex_at(doc, &format!("{p}.plaintext"))?, &mut entropy) {
        Ok(done) => done,
        Err(error) => {
            match refusal {
                Some(expected) => {
                    report.value(format!("{p}.expected.error"), expected, ratchet_error_name(&error.reason))
                }
                None => report.step_failed(format!("{p} ({id})"), &error),
            }
            if before.as_ref().is_some_and(|b| *b != *error.session) {
                report.fail(format!("{p}: state after refusal"), "unchanged".into(), "changed".into());
            }
            from.session = Some(*error.session);
            return Ok(());
        }
    };
    if let Some(expected) = refusal {
        report.fail(format!("{p}.expected.error"), expected.into(), "success".into());
    }
    from.session = Some(session);
    report.value(
        format!("{p} ({id}): entropy drawn exactly as listed"),
        (0, 0),
        (entropy.unexpected, entropy.unused()),
    );
    let e = |f: &str| format!("{p}.expected.{f}");
    report.bytes(e("ratchet_key"), &hex_at(doc, &e("ratchet_key"))?, message.header.ratchet_key.as_bytes());
    report.value(e("pn"), u32_at(doc, &e("pn"))?, message.header.previous_chain_length);
    report.value(e("n"), u32_at(doc, &e("n"))?, message.header.n);
    report.value(e("with_x3dh_header"), bool_at(doc, &e("with_x3dh_header"))?, message.initial.is_some());
    report.bytes(e("header"), &hex_at(doc, &e("header"))?, &message.header.encode());
    report.bytes(e("ciphertext"), &hex_at(doc, &e("ciphertext"))?, &message.ciphertext);
    report.bytes(e("entry"), &hex_at(doc, &e("entry"))?, &message.to_proto().encode_to_vec());
    // The vector's intermediate keys must produce that ciphertext.
    let mk = MessageKey::from_bytes(hex_n_at(doc, &e("message_key"))?);
    let keys = mk.aead_keys();
    report.bytes(e("aead_key"), &hex_at(doc, &e("aead_key"))?, &keys.key);
    report.bytes(e("aead_nonce"), &hex_at(doc, &e("aead_nonce"))?, &keys.nonce);
    let aad = [ad.as_bytes(), &message.header.encode()[..]].concat();
    let mut ciphertext = Vec::new();
    mk.seal_into(&aad, &hex_at(doc, &format!("{p}.plaintext"))?, &mut ciphertext);
    report.bytes(
        format!("{} (sealed with message_key)", e("ciphertext")),
        &hex_at(doc, &e("ciphertext"))?,
        &ciphertext,
    );
    messages.insert(id, message);
    Ok(())
}

fn advance(doc: &Value, p: &str, parties: &mut [Party; 2], report: &mut Report) -> Result<(), VectorError> {
    let from = &mut parties[party_index(doc, &format!("{p}.from"))?];
    let mut entropy = entropy_for(doc, p)?;
    for _ in 0..u64_at(doc, &format!("{p}.count"))? {
        let Some(session) = from.session.take() else { break };
        match session.encrypt(b"", &mut entropy) {
            Ok((session, _)) => from.session = Some(session),
            Err(error) => {
                report.step_failed(p, &error);
                from.session = Some(*error.session);
                return Ok(());
            }
        }
    }
    report.value(format!("{p}: entropy drawn exactly as listed"), (0, 0), (entropy.unexpected, entropy.unused()));
    Ok(())
}

fn tamper(doc: &Value, p: &str, message: &mut EncryptedMessage) -> Result<(), VectorError> {
    let field = str_at(doc, &format!("{p}.tamper.field"))?;
    let value = format!("{p}.tamper.value");
    let key = || hex_n_at::<32>(doc, &value).map(PublicKey::from_bytes);
    match field {
        "n" => message.header.n = u32_at(doc, &value)?,
        "pn" => message.header.previous_chain_length = u32_at(doc, &value)?,
        "key" => message.header.ratchet_key = key()?,
        "bundle_id" => message.bundle_id = key()?,
        "prekey" => {
            message.bundle_id = key()?;
            if let Some(initial) = message.initial.as_mut() {
                initial.prekey = key()?;
            }
        }
        "ephemeral" => {
            if let Some(initial) = message.initial.as_mut() {
                initial.ephemeral = key()?;
            }
        }
        "initial" => message.initial = None,
        "ciphertext_bit" => {
            let bit = u64_at(doc, &value)? as usize;
            if let Some(byte) = message.ciphertext.get_mut(bit / 8) {
                *byte ^= 1 << (bit % 8);
            }
        }
        other => return Err(VectorError::Unsupported { path: format!("{p}.tamper.field"), value: other.into() }),
    }
    Ok(())
}

fn deliver(
    doc: &Value,
    p: &str,
    parties: &mut [Party; 2],
    messages: &HashMap<String, EncryptedMessage>,
    now: Timestamp,
    report: &mut Report,
) -> Result<(), VectorError> {
    let to = party_index(doc, &format!("{p}.to"))?;
    let id = str_at(doc, &format!("{p}.message"))?;
    let Some(mut message) = messages.get(id).cloned() else {
        return Err(VectorError::Missing(format!("{p}.message")));
    };
    if at(doc, &format!("{p}.tamper")).is_ok() {
        tamper(doc, p, &mut message)?;
    }
    let sender_installation = match opt_str_at(doc, &format!("{p}.sender_installation")) {
        Some(_) => installation(doc, &format!("{p}.sender_installation"))?,
        None => parties[1 - to].installation.clone(),
    };
    let receiver = &mut parties[to];
    let before = receiver.session.clone();
    let result = receive(receiver, &sender_installation, &message, now);
    if result.is_err() && receiver.session != before {
        report.fail(format!("{p}: state after refusal"), "unchanged".into(), "changed".into());
    }
    let e = |f: &str| format!("{p}.expected.{f}");
    match (result, opt_str_at(doc, &e("error"))) {
        (Ok(plaintext), None) => {
            report.bytes(e("plaintext"), &hex_at(doc, &e("plaintext"))?, &plaintext);
            let session = receiver.session.as_ref();
            let id = session.map(|s| *s.id().as_bytes()).unwrap_or_default();
            report.bytes(e("session_id"), &hex_at(doc, &e("session_id"))?, &id);
            ratchet_counts(doc, &e(""), session, report)?;
        }
        (Ok(_), Some(expected)) => report.fail(e("error"), expected.into(), "success".into()),
        (Err(actual), expected) => report.value(e("error"), expected.unwrap_or("success"), actual),
    }
    Ok(())
}

/// The limits' state after a delivery (profile §5.7): stored keys, recorded chains, the age counter.
fn ratchet_counts(doc: &Value, e: &str, session: Option<&Session>, report: &mut Report) -> Result<(), VectorError> {
    let ratchet = session.map(Session::ratchet);
    for (field, actual) in [
        ("stored_skipped_keys", ratchet.map(|r| r.stored_skipped_keys() as u64)),
        ("receiving_chains", ratchet.map(|r| r.receiving_chains() as u64)),
        ("receive_derivations", ratchet.map(|r| r.receive_derivations())),
    ] {
        report.value(format!("{e}{field}"), Some(u64_at(doc, &format!("{e}{field}"))?), actual);
    }
    Ok(())
}

/// `count` messages from one party, each delivered at once, in order, to the other; the vector
/// pins the SHA-256 of their entries (`EncryptedMessageProtocol` bytes) and the receiver's counts.
fn stream(
    doc: &Value,
    p: &str,
    parties: &mut [Party; 2],
    now: Timestamp,
    report: &mut Report,
) -> Result<(), VectorError> {
    let from = party_index(doc, &format!("{p}.from"))?;
    let plaintext = hex_at(doc, &format!("{p}.plaintext"))?;
    let mut entropy = entropy_for(doc, p)?;
    let mut entries = Vec::new();
    for i in 0..u64_at(doc, &format!("{p}.count"))? {
        let Some(session) = parties[from].session.take() else {
            report.step_failed(p, "the sender has no session");
            return Ok(());
        };
        let message = match session.encrypt(&plaintext, &mut entropy) {
            Ok((session, message)) => {
                parties[from].session = Some(session);
                message
            }
            Err(error) => {
                report.step_failed(format!("{p} (message {i})"), &error);
                parties[from].session = Some(*error.session);
                return Ok(());
            }
        };
        entries.extend_from_slice(&message.to_proto().encode_to_vec());
        let sender_installation = parties[from].installation.clone();
        let failure = match receive(&mut parties[1 - from], &sender_installation, &message, now) {
            Ok(opened) if opened == plaintext => continue,
            Ok(_) => "another plaintext",
            Err(error) => error,
        };
        report.step_failed(format!("{p} (message {i})"), failure);
        return Ok(());
    }
    report.value(format!("{p}: entropy drawn exactly as listed"), (0, 0), (entropy.unexpected, entropy.unused()));
    let e = format!("{p}.expected.");
    report.bytes(format!("{e}entries_sha256"), &hex_at(doc, &format!("{e}entries_sha256"))?, &sha256(&[&entries]));
    ratchet_counts(doc, &e, parties[1 - from].session.as_ref(), report)
}

/// Sets the sender's message counter Ns (a snapshot edit: the chain key stays where it is), to
/// reach the end of a chain without 2^32 sends.
fn set_send_counter(doc: &Value, p: &str, parties: &mut [Party; 2], report: &mut Report) -> Result<(), VectorError> {
    let from = &mut parties[party_index(doc, &format!("{p}.from"))?];
    let n = u32_at(doc, &format!("{p}.n"))?;
    let edited = from.session.as_ref().and_then(|session| {
        let mut json = serde_json::to_value(session).ok()?;
        *json.pointer_mut("/ratchet/sending/Active/n")? = Value::from(n);
        serde_json::from_value::<Session>(json).ok()
    });
    match edited {
        Some(session) => from.session = Some(session),
        None => report.step_failed(p, "no active sending chain to edit"),
    }
    Ok(())
}

/// Delivers `message`: without a session the receiver runs `respond`, otherwise it decrypts with
/// its session. Returns the plaintext or the vector name of the refusal.
fn receive(
    receiver: &mut Party,
    sender_installation: &InstallationId,
    message: &EncryptedMessage,
    now: Timestamp,
) -> Result<Vec<u8>, &'static str> {
    match receiver.session.as_mut() {
        Some(session) => session.decrypt_in_place(message).map_err(|e| ratchet_error_name(&e)),
        None => {
            let (session, plaintext) = x3dh::respond(
                &receiver.identity,
                &receiver.installation,
                &receiver.store,
                now,
                sender_installation,
                message,
            )
            .map_err(|e| x3dh_error_name(&e))?;
            receiver.session = Some(session);
            Ok(plaintext)
        }
    }
}

fn envelope(
    doc: &Value,
    parties: &[Party; 2],
    messages: &HashMap<String, EncryptedMessage>,
    now: Timestamp,
    report: &mut Report,
) -> Result<(), VectorError> {
    let [alice, bob] = parties;
    let first = messages
        .get(str_at(doc, "envelope.message")?)
        .cloned()
        .ok_or(VectorError::Missing("envelope.message".into()))?;
    let bundle = bundle_of(alice, now).map(|b| b.to_proto()).unwrap_or_default();
    report.bytes(
        "envelope.expected.alice_bundle",
        &hex_at(doc, "envelope.expected.alice_bundle")?,
        &bundle.encode_to_vec(),
    );
    let mut envelope = Envelope::new(alice.installation.clone());
    envelope.bundles.push(bundle);
    envelope.payloads.insert(Recipient::Installation(bob.installation.clone()), Payload::Ratchet(first));
    let expected = hex_at(doc, "envelope.expected.protocol_message")?;
    report.bytes("envelope.expected.protocol_message", &expected, &envelope.encode());
    report.value("envelope.expected.protocol_message (decodes)", Ok(envelope), Envelope::decode(&expected));
    Ok(())
}
