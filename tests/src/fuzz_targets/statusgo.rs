//! Suite S (status-go wire): the secp256k1 bundle parser, a whole installation receiving an
//! arbitrary `ProtocolMessage`, and the application layer inside the Double Ratchet.

use std::sync::OnceLock;

use prost::Message as _;
use status_1to1::SeededEntropy;
use status_1to1::proto::ProtocolMessage;
use status_1to1::statusgo::app::{self, ChatMessage, Wrapped};
use status_1to1::statusgo::{Bundle, Installation, PublicKey, SecretKey};

/// A Suite S bundle: what verifies re-encodes to a bundle that verifies to the same value.
pub fn statusgo_bundle(data: &[u8]) {
    let Ok(bundle) = Bundle::decode(data) else { return };
    assert!(bundle.signed_pre_keys.len() <= status_1to1::statusgo::bundle::MAX_INSTALLATIONS);
    let again = Bundle::decode(&bundle.to_proto().encode_to_vec());
    assert_eq!(again.as_ref(), Ok(&bundle), "a verified bundle re-encodes to itself");
}

/// The application layer: the first byte picks the reader. What `recover` reads, `unwrap` reads
/// under that signer with the same id and under no other key; what a plaintext yields is the
/// plaintext itself or MVDS bodies, and our own MVDS and bare forms read back exactly.
pub fn status_app(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 3 {
        0 => check_wrapped(rest),
        1 => {
            if let Ok(chat) = ChatMessage::decode(rest) {
                let again = ChatMessage::decode(&chat.encode_to_vec()[..]);
                assert_eq!(again.as_ref(), Ok(&chat), "a chat message re-encodes to itself");
            }
        }
        _ => {
            let messages = app::wrapped_messages(rest);
            if messages != [rest] {
                assert!(messages.iter().all(|m| m.len() < rest.len()), "MVDS bodies lie inside the payload");
            }
            messages.iter().for_each(|m| check_wrapped(m));
            assert_eq!(app::wrapped_messages(&app::mvds_wrap(b"g", 1, rest.to_vec())), [rest]);
            let signer = &world().signer;
            let ours = app::wrap(signer, 1, rest.to_vec());
            assert_eq!(app::wrapped_messages(&ours), [&ours[..]], "a signed wrapper is never read as MVDS");
            assert_eq!(app::unwrap(&signer.public_key(), &ours).map(|u| u.payload), Ok(rest.to_vec()));
        }
    }
}

fn check_wrapped(wrapped: &[u8]) {
    match app::recover(wrapped) {
        Ok(Wrapped { signer, id, r#type, payload }) => {
            assert_eq!(id, app::message_id(&signer, wrapped));
            let unwrapped = app::unwrap(&signer, wrapped).expect("the recovered signer unwraps");
            assert_eq!((unwrapped.id, unwrapped.r#type, unwrapped.payload), (id, r#type, payload));
            assert_eq!(app::unwrap(&world().alice, wrapped).is_ok(), signer == world().alice);
        }
        Err(e) => assert_eq!(app::unwrap(&world().alice, wrapped).err(), Some(e)),
    }
}

/// Bob's installation, which has a session with Alice's (the first bytes pick the sender and
/// a real message as a starting point), handles the input: a refusal changes nothing, and
/// whatever is accepted is a message some party really sent (real crypto only).
pub fn statusgo_handle(data: &[u8]) {
    let World { bob, plaintexts: sent, .. } = world();
    let mut bob = bob.clone();
    let before = format!("{bob:?}");
    let sender = if data.first().is_some_and(|b| b & 1 == 1) { bob.identity() } else { world().alice };
    let input = data.get(1..).unwrap_or_default();
    let Ok(message) = ProtocolMessage::decode(input) else { return };
    let mut entropy = SeededEntropy::from_u64(7);
    match bob.handle(&sender, &message, &mut entropy) {
        Ok(handled) => {
            if !super::null_crypto() {
                assert!(sent.contains(&handled.plaintext), "only a sent plaintext decrypts");
            }
        }
        Err(_) => assert_eq!(format!("{bob:?}"), before, "a refused message changes nothing"),
    }
}

/// Bob, who has received neither of the two messages Alice sent him.
struct World {
    alice: PublicKey,
    /// A key the application-layer body signs with.
    signer: SecretKey,
    bob: Installation,
    plaintexts: Vec<Vec<u8>>,
    messages: Vec<Vec<u8>>,
}

/// Seed inputs for `statusgo_handle`: Alice's two messages, as sent by her.
pub fn statusgo_handle_seeds() -> Vec<Vec<u8>> {
    world().messages.iter().map(|m| [&[0u8][..], m].concat()).collect()
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut entropy = SeededEntropy::from_u64(1);
        let mut alice = Installation::new(SecretKey::generate(&mut entropy), "alice-1".into());
        let mut bob = Installation::new(SecretKey::generate(&mut entropy), "bob-1".into());
        let now = 1_700_000_000_000_000_000;
        let bundle = bob.bundle(now, &mut entropy).unwrap();
        alice.process_bundle(&bundle);
        let bob_key = bob.identity();
        let plaintexts: Vec<Vec<u8>> = vec![b"first".to_vec(), b"second".to_vec()];
        let messages =
            plaintexts.iter().map(|p| alice.build(&bob_key, p, now, &mut entropy).unwrap().encode_to_vec()).collect();
        let signer = SecretKey::generate(&mut entropy);
        World { alice: alice.identity(), signer, bob, plaintexts, messages }
    })
}

/// The 26/ layer and the application layer: arbitrary bytes as a signed envelope, an ECIES
/// message, a symmetric payload, an `ApplicationMetadataMessage` and a Double Ratchet plaintext
/// never panic; what opens re-seals and opens to the same payload and signer.
pub fn statusgo_payload(data: &[u8]) {
    use status_1to1::statusgo::{app, payload};
    let (alice, bob) = keys();
    if let Ok(opened) = payload::open_envelope(data) {
        let mut entropy = SeededEntropy::from_u64(3);
        assert!(payload::open_envelope(&payload::envelope(alice, &opened.data, &mut entropy)).is_ok());
    }
    let _ = payload::ecies_decrypt(bob, data);
    let _ = payload::open_symmetric(&[9; 32], data);
    for wrapped in app::wrapped_messages(data) {
        let _ = app::unwrap(&alice.public_key(), &wrapped);
    }
    let mut entropy = SeededEntropy::from_u64(u64::from(data.first().copied().unwrap_or(0)));
    let sealed = payload::seal_asymmetric(alice, &bob.public_key(), data, &mut entropy);
    let opened = payload::open_asymmetric(bob, &sealed).unwrap();
    assert_eq!((opened.data.as_slice(), opened.signer), (data, alice.public_key()), "ECIES round trip");
    let sealed = payload::seal_symmetric(alice, &[9; 32], data, &mut entropy);
    assert_eq!(payload::open_symmetric(&[9; 32], &sealed).unwrap().data, data, "symmetric round trip");
}

fn keys() -> &'static (SecretKey, SecretKey) {
    static KEYS: OnceLock<(SecretKey, SecretKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut entropy = SeededEntropy::from_u64(11);
        (SecretKey::generate(&mut entropy), SecretKey::generate(&mut entropy))
    })
}
