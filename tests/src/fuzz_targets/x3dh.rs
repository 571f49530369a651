//! X3DH initial messages, bundles and no-bundle messages, and the Double Ratchet of a live
//! session, against arbitrary headers and ciphertexts.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use prost::Message as _;
use status_1to1::crypto::PublicKey;
use status_1to1::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use status_1to1::proto;
use status_1to1::ratchet::Header;
use status_1to1::x3dh::{
    self, EncryptedMessage, Envelope, InitialHeader, NoBundleMessage, Payload, PrekeyStore, Recipient, Session,
    VerifiedBundle,
};
use status_1to1::{SeededEntropy, Timestamp};

use super::{backend_index, null_crypto, xor_at};

/// A genuine message of the fixture: who reads it (0 Alice, 1 Bob), the message, its plaintext,
/// and whether that reader's fixture session already accepted it.
#[derive(Clone)]
struct Genuine {
    reader: usize,
    message: EncryptedMessage,
    plaintext: Vec<u8>,
    accepted: bool,
}

/// Alice and Bob, Bob's prekeys and bundle, Alice's first message, a no-bundle message, and a
/// confirmed session pair with some history: a skipped message stored on Bob's side and one
/// message in flight each way.
struct Fixture {
    alice: IdentityKeyPair,
    alice_device: InstallationId,
    bob: IdentityKeyPair,
    bob_device: InstallationId,
    bob_prekeys: PrekeyStore,
    now: Timestamp,
    bob_bundle: proto::Bundle,
    bob_verified: VerifiedBundle,
    first: EncryptedMessage,
    first_envelope: Vec<u8>,
    no_bundle: NoBundleMessage,
    no_bundle_envelope: Vec<u8>,
    sessions: [Session; 2],
    genuine: Vec<Genuine>,
}

const HELLO: &[u8] = b"hello";
const NO_BUNDLE_TEXT: &[u8] = b"no bundle";

fn fixture() -> &'static Fixture {
    static FIXTURES: [OnceLock<Fixture>; 2] = [OnceLock::new(), OnceLock::new()];
    FIXTURES[backend_index()].get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let mut e = SeededEntropy::from_u64(53);
    let now = Timestamp::from_millis(1_700_000_000_000);
    let (alice, alice_device) = (IdentityKeyPair::generate(&mut e), InstallationId::generate(&mut e));
    let (bob, bob_device) = (IdentityKeyPair::generate(&mut e), InstallationId::generate(&mut e));
    let bob_prekeys = PrekeyStore::new(now, &mut e);
    let entries = BTreeMap::from([(bob_device.clone(), bob_prekeys.current().signed_prekey())]);
    let bob_bundle = VerifiedBundle::sign(&bob, entries, now).expect("sign").to_proto();
    let bob_verified = VerifiedBundle::verify_from(&bob_bundle, bob.public()).expect("verify");
    let session = x3dh::initiate(&alice, &alice_device, &bob_verified, &bob_device, &mut e).expect("initiate");
    let (a, first) = session.encrypt(HELLO, &mut e).expect("encrypt");
    let (b, plaintext) = x3dh::respond(&bob, &bob_device, &bob_prekeys, now, &alice_device, &first).expect("respond");
    assert_eq!(plaintext, HELLO);
    let mut envelope = Envelope::new(alice_device.clone());
    envelope.payloads.insert(Recipient::Installation(bob_device.clone()), Payload::Ratchet(first.clone()));
    let first_envelope = envelope.encode();
    let no_bundle = NoBundleMessage::seal(&alice, &alice_device, bob.public(), NO_BUNDLE_TEXT, &mut e).expect("seal");
    let mut envelope = Envelope::new(alice_device.clone());
    envelope.payloads.insert(Recipient::Any, Payload::NoBundle(no_bundle.clone()));
    let no_bundle_envelope = envelope.encode();

    let mut sessions = [a, b];
    let mut genuine = vec![Genuine { reader: 1, message: first.clone(), plaintext: HELLO.to_vec(), accepted: true }];
    // Alice sends two (the first is lost for now), Bob answers, each sends one more, undelivered.
    let script: [(usize, &[u8], bool); 5] =
        [(0, b"a1", false), (0, b"a2", true), (1, b"b1", true), (0, b"a3", false), (1, b"b2", false)];
    for (from, text, deliver) in script {
        let session = sessions[from].clone();
        let (next, message) = session.encrypt(text, &mut e).expect("encrypt");
        sessions[from] = next;
        if deliver {
            let plain = sessions[1 - from].decrypt_in_place(&message).expect("decrypt");
            assert_eq!(plain, text);
        }
        genuine.push(Genuine { reader: 1 - from, message, plaintext: text.to_vec(), accepted: deliver });
    }
    Fixture {
        alice,
        alice_device,
        bob,
        bob_device,
        bob_prekeys,
        now,
        bob_bundle,
        bob_verified,
        first,
        first_envelope,
        no_bundle,
        no_bundle_envelope,
        sessions,
        genuine,
    }
}

/// A public key the fuzzer picks: one of the fixture's, or any 32 bytes.
#[derive(Debug, Arbitrary)]
enum KeyPick {
    AliceDh,
    BobDh,
    BobPrekey,
    FirstEphemeral,
    FirstRatchet,
    AliceRatchet,
    BobRatchet,
    Raw([u8; 32]),
}

impl KeyPick {
    fn key(&self, f: &Fixture) -> PublicKey {
        let initial = f.first.initial.expect("the first message has an X3DH header");
        match self {
            Self::AliceDh => *f.alice.public().dh_public(),
            Self::BobDh => *f.bob.public().dh_public(),
            Self::BobPrekey => initial.prekey,
            Self::FirstEphemeral => initial.ephemeral,
            Self::FirstRatchet => f.first.header.ratchet_key,
            Self::AliceRatchet => *f.sessions[0].ratchet().sending_ratchet_key().unwrap_or(&initial.prekey),
            Self::BobRatchet => *f.sessions[1].ratchet().sending_ratchet_key().unwrap_or(&initial.prekey),
            Self::Raw(bytes) => PublicKey::from_bytes(*bytes),
        }
    }
}

/// An identity the fuzzer picks.
#[derive(Debug, Arbitrary)]
enum IdentityPick {
    Alice,
    Bob,
    Raw([u8; 32]),
}

impl IdentityPick {
    fn identity(&self, f: &Fixture) -> Option<IdentityKey> {
        match self {
            Self::Alice => Some(*f.alice.public()),
            Self::Bob => Some(*f.bob.public()),
            Self::Raw(bytes) => IdentityKey::from_bytes(bytes).ok(),
        }
    }
}

/// A ciphertext the fuzzer picks: a genuine one (possibly mutated) or any bytes.
#[derive(Debug, Arbitrary)]
enum CiphertextPick {
    Genuine { index: u8, at: u16, mask: Vec<u8> },
    NoBundle { at: u16, mask: Vec<u8> },
    Raw(Vec<u8>),
}

impl CiphertextPick {
    fn bytes(&self, f: &Fixture) -> Vec<u8> {
        let mut bytes = match self {
            Self::Genuine { index, .. } => f.genuine[usize::from(*index) % f.genuine.len()].message.ciphertext.clone(),
            Self::NoBundle { .. } => f.no_bundle.ciphertext.clone(),
            Self::Raw(bytes) => return bytes.clone(),
        };
        if let Self::Genuine { at, mask, .. } | Self::NoBundle { at, mask } = self {
            xor_at(&mut bytes, usize::from(*at), mask);
        }
        bytes
    }
}

/// An initial (or no-bundle) message assembled field by field.
#[derive(Debug, Arbitrary)]
struct MadeUp {
    identity: IdentityPick,
    ephemeral: KeyPick,
    prekey: KeyPick,
    ratchet: KeyPick,
    bundle_id: Option<KeyPick>,
    n: u16,
    pn: u16,
    ciphertext: CiphertextPick,
    from_alice_device: bool,
}

/// X3DH: the first byte picks a mode: an arbitrary `ProtocolMessage`, the genuine first message
/// or no-bundle message with bytes flipped, a message assembled from chosen or arbitrary header
/// fields and ciphertexts, or a bundle (arbitrary or a flipped genuine one). Everything that
/// carries an X3DH header goes to `x3dh::respond`, no-bundle entries to `NoBundleMessage::open`,
/// other ratchet messages to Bob's live session. With real crypto, what is accepted is exactly
/// the genuine message with its plaintext; a bundle verifies only if it is Bob's signed bundle,
/// and then a session started from it works.
pub fn x3dh(data: &[u8]) {
    let f = fixture();
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.arbitrary::<u8>() else { return };
    match selector % 5 {
        0 => {
            if let Ok(envelope) = Envelope::decode(u.take_rest()) {
                process(f, &envelope);
            }
        }
        1 | 2 => {
            let mut bytes = if selector % 5 == 1 { f.first_envelope.clone() } else { f.no_bundle_envelope.clone() };
            let at = u.arbitrary::<u16>().unwrap_or(0);
            xor_at(&mut bytes, usize::from(at), u.take_rest());
            if let Ok(envelope) = Envelope::decode(&bytes) {
                process(f, &envelope);
            }
        }
        3 => {
            let Ok(made) = u.arbitrary::<MadeUp>() else { return };
            let Some(identity) = made.identity.identity(f) else { return };
            let sender = if made.from_alice_device { f.alice_device.clone() } else { f.bob_device.clone() };
            let mut envelope = Envelope::new(sender);
            let ciphertext = made.ciphertext.bytes(f);
            let prekey = made.prekey.key(f);
            let message = EncryptedMessage {
                initial: Some(InitialHeader { identity, ephemeral: made.ephemeral.key(f), prekey }),
                header: Header {
                    ratchet_key: made.ratchet.key(f),
                    previous_chain_length: u32::from(made.pn),
                    n: u32::from(made.n),
                },
                bundle_id: made.bundle_id.map_or(prekey, |k| k.key(f)),
                ciphertext: ciphertext.clone(),
            };
            envelope.payloads.insert(Recipient::Installation(f.bob_device.clone()), Payload::Ratchet(message));
            let no_bundle = NoBundleMessage { sender: identity, ephemeral: made.ephemeral.key(f), ciphertext };
            envelope.payloads.insert(Recipient::Any, Payload::NoBundle(no_bundle));
            process(f, &envelope);
        }
        _ => {
            let flip = u.arbitrary::<bool>().unwrap_or(false);
            let mut bytes = if flip { f.bob_bundle.encode_to_vec() } else { Vec::new() };
            if flip {
                let at = u.arbitrary::<u16>().unwrap_or(0);
                xor_at(&mut bytes, usize::from(at), u.take_rest());
            } else {
                bytes = u.take_rest().to_vec();
            }
            let Ok(bundle) = proto::Bundle::decode(&bytes[..]) else { return };
            let Ok(verified) = VerifiedBundle::verify(&bundle) else { return };
            // Signatures stay real under null crypto: nothing but Bob's signed bundle verifies as
            // Bob's (other identities' bundles from the vectors verify as theirs).
            if verified.identity() != f.bob.public() {
                return;
            }
            assert_eq!(verified, f.bob_verified, "a bundle verified as Bob's that Bob never signed");
            let mut e = SeededEntropy::from_u64(0xb0b);
            let session =
                x3dh::initiate(&f.alice, &f.alice_device, &verified, &f.bob_device, &mut e).expect("initiate");
            let (_, first) = session.encrypt(b"from a verified bundle", &mut e).expect("encrypt");
            let (_, plain) =
                x3dh::respond(&f.bob, &f.bob_device, &f.bob_prekeys, f.now, &f.alice_device, &first).expect("respond");
            assert_eq!(plain, b"from a verified bundle");
        }
    }
}

/// Bob handles every entry of `envelope` addressed to him.
fn process(f: &Fixture, envelope: &Envelope) {
    let real = !null_crypto();
    for bundle in envelope.bundles.iter().take(2) {
        if let Ok(verified) = VerifiedBundle::verify(bundle)
            && verified.identity() == f.bob.public()
        {
            assert!(verified == f.bob_verified, "a bundle verified as Bob's that Bob never signed");
        }
    }
    for payload in envelope.payloads.values().take(4) {
        match payload {
            Payload::Ratchet(message) if message.initial.is_some() => {
                let result = x3dh::respond(&f.bob, &f.bob_device, &f.bob_prekeys, f.now, &envelope.sender, message);
                if let Ok((session, plaintext)) = result
                    && real
                {
                    // Any message of Alice's sending chain before Bob's reply carries the header.
                    let genuine = f
                        .genuine
                        .iter()
                        .find(|g| {
                            g.reader == 1
                                && g.message.initial == message.initial
                                && g.message.header == message.header
                                && g.message.ciphertext == message.ciphertext
                        })
                        .expect("respond accepted a message nobody sent");
                    assert_eq!(envelope.sender, f.alice_device, "respond accepted a relabelled sender");
                    assert_eq!(plaintext, genuine.plaintext);
                    assert_eq!(session.peer().identity, *f.alice.public());
                    assert_eq!(session.id(), f.sessions[1].id());
                }
                // The header is attached to every message until the reply: Bob's existing session
                // decrypts it too.
                decrypt_checked(f, &f.sessions[1], message, 1);
            }
            Payload::Ratchet(message) => drop(decrypt_checked(f, &f.sessions[1], message, 1)),
            Payload::NoBundle(message) => {
                if let Ok(plaintext) = message.open(&f.bob, &envelope.sender)
                    && real
                {
                    assert_eq!(message, &f.no_bundle, "a forged no-bundle message opened");
                    assert_eq!(envelope.sender, f.alice_device, "a relabelled no-bundle message opened");
                    assert_eq!(plaintext, NO_BUNDLE_TEXT);
                }
            }
        }
    }
}

/// Decrypts with a copy of `session` (read by `reader`) both ways (`decrypt` and
/// `decrypt_in_place`); they agree, a refusal leaves the session identical (value and
/// serialization), and with real crypto an accepted message is a genuine one not yet accepted.
fn decrypt_checked(f: &Fixture, session: &Session, message: &EncryptedMessage, reader: usize) -> Option<Vec<u8>> {
    let mut session = session.clone();
    let accepted = decrypt_in_session(&mut session, message)?;
    if !null_crypto() {
        let genuine = f
            .genuine
            .iter()
            .find(|g| {
                g.reader == reader && g.message.header == message.header && g.message.ciphertext == message.ciphertext
            })
            .expect("a message nobody sent was accepted");
        assert!(!genuine.accepted, "a message was accepted twice");
        assert_eq!(accepted, genuine.plaintext);
    }
    Some(accepted)
}

/// One decryption, checked for the state invariants only.
fn decrypt_in_session(session: &mut Session, message: &EncryptedMessage) -> Option<Vec<u8>> {
    let before = session.clone();
    let serialized = serde_json::to_vec(&*session).expect("a session serializes");
    let functional = session.decrypt(message);
    assert!(*session == before, "Session::decrypt changed its input");
    let in_place = session.decrypt_in_place(message);
    match (functional, in_place) {
        (Ok((next, a)), Ok(b)) => {
            assert_eq!(a, b, "decrypt and decrypt_in_place disagree");
            assert!(next == *session, "decrypt and decrypt_in_place reach different states");
            Some(b)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "decrypt and decrypt_in_place refuse differently");
            assert!(*session == before, "a refused message changed the session");
            assert_eq!(
                serde_json::to_vec(&*session).expect("serializes"),
                serialized,
                "a refused message changed the session"
            );
            None
        }
        (a, b) => panic!("decrypt and decrypt_in_place disagree: {:?} / {:?}", a.map(|x| x.1), b),
    }
}

#[derive(Debug, Arbitrary)]
enum Mutation {
    None,
    Ciphertext { at: u16, mask: Vec<u8> },
    N(u32),
    Pn(u32),
    RatchetKey(KeyPick),
    BundleId(KeyPick),
    DropInitial,
    Initial { identity: IdentityPick, ephemeral: KeyPick },
}

#[derive(Debug, Arbitrary)]
enum RatchetOp {
    /// A side encrypts.
    Send { from_alice: bool, payload: Vec<u8> },
    /// A genuine message is delivered to its reader (maybe again), changed by `mutation`.
    Deliver { index: u8, mutation: Mutation },
    /// A message made up from a chosen ratchet key, counters and bytes.
    Forge { to_alice: bool, ratchet: KeyPick, n: u16, pn: u16, ciphertext: Vec<u8> },
}

/// Double Ratchet: a live, confirmed session pair with history (a stored skipped key, messages
/// in flight both ways), then sends, deliveries (in any order, again, with a changed header or
/// ciphertext) and made-up messages. Invariants: `decrypt` and `decrypt_in_place` agree; the
/// session after a refused message equals the one before, compared by value and by its
/// serialization; with real crypto an accepted message is genuine, accepted once, with its
/// plaintext, and a genuine message delivered for the first time with no change is accepted
/// unless its keys were legitimately discarded.
pub fn ratchet(data: &[u8]) {
    let f = fixture();
    let mut u = Unstructured::new(data);
    let mut sessions = f.sessions.clone();
    let mut genuine = f.genuine.clone();
    let mut e = SeededEntropy::from_u64(0xdead);
    let mut ops = 0;
    // Stop at the end of the input (`arbitrary` would go on producing default values).
    while !u.is_empty() {
        let Ok(op) = u.arbitrary::<RatchetOp>() else { break };
        ops += 1;
        if ops > 32 {
            break;
        }
        match op {
            RatchetOp::Send { from_alice, payload } => {
                let from = if from_alice { 0 } else { 1 };
                let session = sessions[from].clone();
                match session.encrypt(&payload, &mut e) {
                    Ok((next, message)) => {
                        sessions[from] = next;
                        genuine.push(Genuine { reader: 1 - from, message, plaintext: payload, accepted: false });
                    }
                    Err(refused) => {
                        assert!(*refused.session == sessions[from], "a refused encryption changed the session");
                    }
                }
            }
            RatchetOp::Deliver { index, mutation } => {
                let i = usize::from(index) % genuine.len();
                let g = &genuine[i];
                let mut message = g.message.clone();
                match mutation {
                    Mutation::None => {}
                    Mutation::Ciphertext { at, mask } => drop(xor_at(&mut message.ciphertext, usize::from(at), &mask)),
                    Mutation::N(n) => message.header.n = n,
                    Mutation::Pn(pn) => message.header.previous_chain_length = pn,
                    Mutation::RatchetKey(k) => message.header.ratchet_key = k.key(f),
                    Mutation::BundleId(k) => message.bundle_id = k.key(f),
                    Mutation::DropInitial => message.initial = None,
                    Mutation::Initial { identity, ephemeral } => {
                        if let (Some(initial), Some(identity)) = (message.initial.as_mut(), identity.identity(f)) {
                            initial.identity = identity;
                            initial.ephemeral = ephemeral.key(f);
                        }
                    }
                }
                let reader = g.reader;
                let accepted = decrypt_in_session(&mut sessions[reader], &message);
                check_acceptance(&mut genuine, reader, &message, accepted.as_deref());
            }
            RatchetOp::Forge { to_alice, ratchet, n, pn, ciphertext } => {
                let reader = if to_alice { 0 } else { 1 };
                let message = EncryptedMessage {
                    initial: None,
                    header: Header {
                        ratchet_key: ratchet.key(f),
                        previous_chain_length: u32::from(pn),
                        n: u32::from(n),
                    },
                    bundle_id: *sessions[reader].bundle_id(),
                    ciphertext,
                };
                let accepted = decrypt_in_session(&mut sessions[reader], &message);
                check_acceptance(&mut genuine, reader, &message, accepted.as_deref());
            }
        }
    }
}

/// With real crypto: an accepted message is a genuine one for this reader, accepted once, with
/// its plaintext. With either backend an accepted genuine message is marked.
fn check_acceptance(genuine: &mut [Genuine], reader: usize, message: &EncryptedMessage, accepted: Option<&[u8]>) {
    let Some(plaintext) = accepted else { return };
    let found = genuine.iter_mut().find(|g| {
        g.reader == reader && g.message.header == message.header && g.message.ciphertext == message.ciphertext
    });
    match found {
        Some(g) => {
            if !null_crypto() {
                assert!(!g.accepted, "a message was accepted twice");
                assert_eq!(plaintext, g.plaintext.as_slice(), "a message decrypted to another plaintext");
            }
            g.accepted = true;
        }
        None => assert!(null_crypto(), "a message nobody sent was accepted"),
    }
}
