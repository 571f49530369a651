//! What strangers can make a peer do and store, through the public API: reflection off our
//! partition topic, bundle amplification, contact requests, blocking, and ending an X3DH chat.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::SeededEntropy;
use status_1to1::crypto::KeyPair;
use status_1to1::identity::IdentityKey;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::peer::topics::partition_topic;
use status_1to1::peer::{Action, Event, KeyExchange, Origin, PeerConfig};
use status_1to1::waku::WakuMessage;
use status_1to1::x3dh::seal::{self, TAG_NEGOTIATED};
use status_1to1::x3dh::topic::NegotiatedSecret;
use status_1to1::x3dh::{Envelope, SignedPrekey, signature_input};

/// The identity of account `seed` (as `World::add` makes them).
fn account(seed: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_seed([seed; 32])
}

/// Opens an X3DH-path payload as any of the accounts `seeds` could (the test knows every
/// secret): sealed to one of them, under the negotiated key of two of them, or a bundle post.
fn open(message: &WakuMessage, seeds: &[u8]) -> Option<Envelope> {
    let topic = message.content_topic.as_str();
    let body = seeds.iter().find_map(|&s| seal::open_from(&account(s), &message.payload).ok().map(|(_, body)| body));
    let negotiated = || {
        seeds.iter().flat_map(|&a| seeds.iter().map(move |&b| (a, b))).find_map(|(a, b)| {
            let key = NegotiatedSecret::new(&account(a), account(b).public()).ok()?.waku_key();
            (seal::kind(&message.payload) == Some(TAG_NEGOTIATED))
                .then(|| seal::open_symmetric(key.as_bytes(), topic, &message.payload).ok())
                .flatten()
        })
    };
    let bundle = || {
        seeds
            .iter()
            .find_map(|&s| seal::open_symmetric(&seal::bundle_key(account(s).public()), topic, &message.payload).ok())
    };
    Envelope::decode(&body.or_else(negotiated).or_else(bundle)?).ok()
}

/// `envelope` sealed from account `from` to `to`.
fn sealed(from: u8, to: &IdentityKey, envelope: &Envelope) -> Vec<u8> {
    seal::seal_to(&account(from), to, &envelope.encode(), &mut SeededEntropy::from_u64(77)).unwrap()
}

fn x3dh() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::X3dh, ..PeerConfig::default() }
}

fn send(w: &mut World, from: usize, to: usize, text: &str) {
    let to = *w.nodes[to].peer.identity();
    w.event(from, Event::SendText { to, body: text.as_bytes().to_vec() }).unwrap();
}

/// Hands `message` to node `i` and returns its actions (carried out in the world too).
fn receive(w: &mut World, i: usize, message: WakuMessage) -> Vec<Action> {
    let now = w.now;
    let node = &mut w.nodes[i];
    let actions = node
        .peer
        .handle(now, Event::Received { message, origin: Origin::Relay }, &mut node.entropy)
        .unwrap_or_default();
    w.apply_public(i, actions.clone());
    actions
}

fn published(actions: &[Action]) -> Vec<&WakuMessage> {
    actions.iter().filter_map(|a| if let Action::Publish(m) = a { Some(m) } else { None }).collect()
}

/// The last X3DH message in the store on `topic` (account `owner`'s partition) that carries
/// entries.
fn last_envelope_on(w: &World, topic: &str, owner: u8) -> WakuMessage {
    w.store
        .iter()
        .rev()
        .find(|m| {
            m.version.is_none() && m.content_topic == topic && open(m, &[owner]).is_some_and(|e| !e.payloads.is_empty())
        })
        .cloned()
        .expect("an envelope with entries")
}

/// The bundle account `owner` (node `i`) published on its partition topic at start.
fn published_bundle(w: &World, i: usize, owner: u8) -> status_1to1::proto::Bundle {
    let topic = partition_topic(w.nodes[i].peer.identity());
    let bundle_post = |m: &&WakuMessage| {
        m.version.is_none() && m.content_topic == topic && seal::kind(&m.payload) == Some(seal::TAG_BUNDLE)
    };
    let post = w.store.iter().find(bundle_post).expect("a bundle post");
    open(post, &[owner]).unwrap().bundles.remove(0)
}

#[test]
fn a_first_message_between_two_other_identities_is_not_answered() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let carol = w.add(3, 30, x3dh());
    let bob = w.add(2, 20, x3dh());
    let card = w.contact_code_card(carol);
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, carol, "for carol only");
    // A reflector replays Alice's first message to Carol on Bob's partition topic.
    let mut replay = last_envelope_on(&w, &partition_topic(w.nodes[carol].peer.identity()), 3);
    replay.content_topic = partition_topic(w.nodes[bob].peer.identity());
    let actions = receive(&mut w, bob, replay);
    assert!(published(&actions).is_empty(), "bob answered a message not addressed to his identity: {actions:?}");
}

#[test]
fn a_replayed_bundle_does_not_choose_who_gets_our_advert() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let carol = w.add(3, 30, x3dh());
    let bob_phone = w.add(2, 20, x3dh());
    let bob_laptop = w.add(2, 21, x3dh());
    w.settle(Duration::from_secs(1));
    let card = w.contact_code_card(bob_laptop);
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, bob_laptop, "for the laptop");
    // Mallory takes Alice's message to Bob's laptop (she cannot open it; the test can), claims
    // another sender installation, attaches Carol's bundle (replayed from the store) and seals it
    // to Bob as herself, or as Carol's key would if she had it: Bob's phone must not advert to
    // Carol.
    let original = last_envelope_on(&w, &partition_topic(w.nodes[bob_phone].peer.identity()), 2);
    let mut envelope = open(&original, &[2]).unwrap();
    envelope.sender = InstallationId::generate(&mut SeededEntropy::from_u64(99));
    envelope.bundles = vec![published_bundle(&w, carol, 3)];
    let bob_identity = *w.nodes[bob_phone].peer.identity();
    for forger in [9, 3] {
        let forged = WakuMessage { payload: sealed(forger, &bob_identity, &envelope), ..original.clone() };
        let actions = receive(&mut w, bob_phone, forged);
        assert!(
            published(&actions).is_empty(),
            "bob's phone answered an identity the message does not prove: {actions:?}"
        );
    }
}

#[test]
fn adverts_answer_messages_to_our_other_devices_within_a_budget() {
    let mut w = World::new();
    let bob_phone = w.add(2, 20, x3dh());
    let bob_laptop = w.add(2, 21, x3dh());
    w.settle(Duration::from_secs(1));
    let bob_topic = partition_topic(w.nodes[bob_phone].peer.identity());
    let mut adverts = 0;
    for n in 0..20u8 {
        let sender = w.add(100 + n, 1000 + u64::from(n), x3dh());
        let card = w.contact_code_card(bob_laptop);
        w.event(sender, Event::AddContact(card)).unwrap();
        send(&mut w, sender, bob_laptop, "for the laptop");
        let message = last_envelope_on(&w, &bob_topic, 2);
        // The same message twice: the second is inside the rate window of its sender.
        for _ in 0..2 {
            let actions = receive(&mut w, bob_phone, message.clone());
            adverts += published(&actions).len();
        }
        w.inflight.clear();
    }
    assert_eq!(adverts, 16, "one advert per sender, at most 16 per window");
    // After the window, a sender is answered again.
    w.now = w.now.saturating_add(Duration::from_secs(7200));
    let message = last_envelope_on(&w, &bob_topic, 2);
    let actions = receive(&mut w, bob_phone, message);
    assert_eq!(published(&actions).len(), 1);
}

/// A correctly signed bundle of account `seed` listing `installations` installations.
fn signed_bundle(seed: u8, installations: usize) -> (status_1to1::proto::Bundle, InstallationId) {
    signed_bundle_drawn(seed, installations, u64::from(seed) + 7)
}

/// [`signed_bundle`] with installations and prekeys drawn from entropy seed `draw`.
fn signed_bundle_drawn(seed: u8, installations: usize, draw: u64) -> (status_1to1::proto::Bundle, InstallationId) {
    let identity = IdentityKeyPair::from_seed([seed; 32]);
    let mut e = SeededEntropy::from_u64(draw);
    let prekeys: std::collections::BTreeMap<InstallationId, SignedPrekey> = (0..installations)
        .map(|_| (InstallationId::generate(&mut e), SignedPrekey::new(*KeyPair::generate(&mut e).public(), 1)))
        .collect();
    let timestamp = 1_700_000_000_000_000_000;
    let signature = identity.sign(&signature_input(identity.public(), timestamp, &prekeys));
    let first = prekeys.keys().next().cloned().unwrap();
    let bundle = status_1to1::proto::Bundle {
        identity: identity.public().as_bytes().to_vec(),
        signed_pre_keys: prekeys
            .iter()
            .map(|(id, p)| {
                let spk = status_1to1::proto::SignedPreKey {
                    signed_pre_key: p.key.as_bytes().to_vec(),
                    version: p.version,
                    protocol_version: p.protocol_version,
                };
                (id.as_str().to_owned(), spk)
            })
            .collect(),
        signature: signature.0.to_vec(),
        timestamp,
        suite: status_1to1::x3dh::SUITE_D,
    };
    (bundle, first)
}

/// How much node `i`'s snapshot grows when it receives, on its partition topic, an envelope of
/// `sender` carrying `bundle` (of account `from`) and nothing else, sealed by `from`.
fn snapshot_growth(
    w: &mut World,
    i: usize,
    sender: InstallationId,
    bundle: status_1to1::proto::Bundle,
    from: u8,
) -> usize {
    let before = w.nodes[i].peer.snapshot().unwrap().as_bytes().len();
    let mut envelope = Envelope::new(sender);
    envelope.bundles.push(bundle);
    let identity = *w.nodes[i].peer.identity();
    let topic = partition_topic(&identity);
    let message = WakuMessage::noise(sealed(from, &identity, &envelope), topic, w.now.as_nanos_i64(), false);
    let message = WakuMessage { version: None, ephemeral: None, ..message };
    receive(w, i, message);
    w.nodes[i].peer.snapshot().unwrap().as_bytes().len().saturating_sub(before)
}

#[test]
fn a_bundle_listing_too_many_installations_is_not_stored() {
    let mut w = World::new();
    let bob = w.add(2, 20, x3dh());
    let carol = *IdentityKeyPair::from_seed([3; 32]).public();
    w.event(bob, Event::AddContact(status_1to1::peer::ContactCard::identity_only(carol))).unwrap();
    // One signed bundle with 300 entries (a stranger can sign as many as it likes).
    let (bundle, sender) = signed_bundle(3, 300);
    let growth = snapshot_growth(&mut w, bob, sender, bundle, 3);
    assert!(growth < 1024, "a bundle over the cap grew the snapshot by {growth} bytes");
}

#[test]
fn a_bundle_is_stored_once_however_many_installations_it_lists() {
    let mut w = World::new();
    let bob = w.add(2, 20, x3dh());
    let carol = *IdentityKeyPair::from_seed([3; 32]).public();
    w.event(bob, Event::AddContact(status_1to1::peer::ContactCard::identity_only(carol))).unwrap();
    let (bundle, sender) = signed_bundle(3, 8);
    let size = prost::Message::encoded_len(&bundle);
    let growth = snapshot_growth(&mut w, bob, sender, bundle, 3);
    // One copy of the bundle plus a few bytes per installation, not a copy per installation.
    assert!(growth > size, "the bundle was learned ({growth} bytes)");
    assert!(growth < 3 * size, "a bundle of {size} bytes grew the snapshot by {growth} bytes");
}

#[test]
fn a_contact_keeps_at_most_sixteen_installations() {
    let mut w = World::new();
    let bob = w.add(2, 20, x3dh());
    let carol = *IdentityKeyPair::from_seed([3; 32]).public();
    w.event(bob, Event::AddContact(status_1to1::peer::ContactCard::identity_only(carol))).unwrap();
    for draw in 0..3 {
        let (bundle, sender) = signed_bundle_drawn(3, 8, 500 + draw);
        snapshot_growth(&mut w, bob, sender, bundle, 3);
    }
    assert_eq!(w.nodes[bob].peer.bounds().x3dh_installations, 16, "three bundles of 8 new installations each");
}

fn noise() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() }
}

/// Alice writes to Bob, who never added her and does not answer requests by himself.
fn stranger_writes(config: PeerConfig) -> (World, usize, usize) {
    let mut w = World::new();
    let alice = w.add(1, 10, config.clone());
    let bob = w.add(2, 20, config);
    w.nodes[bob].accepts_requests = false;
    let card = w.contact_code_card(bob);
    w.event(alice, Event::AddContact(card)).unwrap();
    send(&mut w, alice, bob, "hello stranger");
    w.settle(Duration::from_secs(60));
    (w, alice, bob)
}

/// Bob keeps nothing about Alice but her request.
fn assert_only_the_request(w: &World, bob: usize) {
    let bounds = w.nodes[bob].peer.bounds();
    assert!(w.nodes[bob].peer.contacts().is_empty(), "a stranger became a contact");
    assert!(w.texts(bob).is_empty(), "a stranger's message was delivered before acceptance");
    assert_eq!((bounds.noise_sessions, bounds.x3dh_sessions), (0, 0), "sessions with a stranger were kept");
    assert_eq!((bounds.x3dh_contacts, bounds.x3dh_installations), (0, 0), "a stranger's bundle was kept");
    assert_eq!(bounds.contact_requests, 1);
}

fn accept_and_check_delivery(w: &mut World, alice: usize, bob: usize, kx: KeyExchange) {
    let alice_id = *w.nodes[alice].peer.identity();
    let requests = &w.nodes[bob].requests;
    assert_eq!(requests.len(), 1, "one request, shown once");
    assert_eq!((requests[0].from, requests[0].key_exchange), (alice_id, kx));
    // X3DH carries the text in the request; Noise answers only once accepted, so it follows.
    let first = requests[0].first.as_ref().map(|t| t.body.as_slice());
    assert_eq!(first, (kx == KeyExchange::X3dh).then_some(b"hello stranger".as_slice()));
    w.event(bob, Event::AcceptContactRequest(alice_id)).unwrap();
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["hello stranger"], "delivered exactly once on acceptance");
    assert_eq!(w.nodes[alice].acked.len(), 1, "and acknowledged");
    assert_eq!(w.nodes[bob].peer.contacts()[&alice_id].chosen, Some(kx));
    send(w, alice, bob, "and then");
    send(w, bob, alice, "welcome");
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["hello stranger", "and then"]);
    assert_eq!(w.texts(alice), vec!["welcome"]);
    assert_eq!(w.nodes[bob].requests.len(), 1, "no second request");
    assert_eq!(w.nodes[bob].peer.bounds().contact_requests, 0);
}

#[test]
fn a_strangers_x3dh_first_message_is_a_contact_request_until_accepted() {
    let (mut w, alice, bob) = stranger_writes(x3dh());
    assert_only_the_request(&w, bob);
    // Alice's retries meanwhile change nothing.
    w.settle(Duration::from_secs(600));
    assert_only_the_request(&w, bob);
    accept_and_check_delivery(&mut w, alice, bob, KeyExchange::X3dh);
}

#[test]
fn a_strangers_noise_handshake_is_a_contact_request_until_accepted() {
    let (mut w, alice, bob) = stranger_writes(noise());
    assert_only_the_request(&w, bob);
    w.settle(Duration::from_secs(600));
    assert_only_the_request(&w, bob);
    accept_and_check_delivery(&mut w, alice, bob, KeyExchange::Noise);
}

#[test]
fn a_declined_request_is_forgotten_and_a_blocked_identity_is_dropped() {
    for config in [x3dh(), noise()] {
        let (mut w, alice, bob) = stranger_writes(config.clone());
        let alice_id = *w.nodes[alice].peer.identity();
        w.event(bob, Event::DeclineContactRequest(alice_id)).unwrap();
        assert_eq!(w.nodes[bob].peer.bounds().contact_requests, 0);
        assert!(w.event(bob, Event::DeclineContactRequest(alice_id)).is_err(), "nothing left to decline");
        // Alice's retries (an X3DH message, or a Noise message 1 Bob never answered) make a new
        // request, which Bob blocks.
        w.settle(Duration::from_secs(3600));
        assert_eq!(w.nodes[bob].peer.bounds().contact_requests, 1, "a retry after declining is a new request");
        w.event(bob, Event::BlockContact(alice_id)).unwrap();
        let shown = w.nodes[bob].requests.len();
        send(&mut w, alice, bob, "let me in");
        w.settle(Duration::from_secs(3600));
        let bounds = w.nodes[bob].peer.bounds();
        assert_eq!(w.nodes[bob].requests.len(), shown, "a blocked identity makes no request");
        assert!(w.texts(bob).is_empty());
        assert_eq!(
            (bounds.contact_requests, bounds.blocked, bounds.noise_sessions, bounds.x3dh_sessions),
            (0, 1, 0, 0)
        );
        assert_eq!(
            w.event(bob, Event::SendText { to: alice_id, body: b"x".to_vec() }),
            Err(status_1to1::peer::PeerError::Blocked(alice_id))
        );
    }
}

#[test]
fn contact_requests_are_bounded_and_the_oldest_evicted() {
    let limit = 3;
    let mut w = World::new();
    let bob = w.add(2, 20, PeerConfig { max_contact_requests: limit, ..x3dh() });
    w.nodes[bob].accepts_requests = false;
    let mut strangers = Vec::new();
    for n in 0..5u8 {
        let stranger = w.add(100 + n, 1000 + u64::from(n), if n % 2 == 0 { x3dh() } else { noise() });
        let card = w.contact_code_card(bob);
        w.event(stranger, Event::AddContact(card)).unwrap();
        send(&mut w, stranger, bob, "hello stranger");
        w.settle(Duration::from_secs(60));
        strangers.push(*w.nodes[stranger].peer.identity());
        assert!(w.nodes[bob].peer.bounds().contact_requests <= limit);
    }
    let bounds = w.nodes[bob].peer.bounds();
    assert_eq!(bounds.contact_requests, limit);
    assert_eq!((bounds.contacts, bounds.x3dh_contacts, bounds.noise_sessions, bounds.x3dh_sessions), (0, 0, 0, 0));
    // Five requests were shown, three are held; the newest can be accepted.
    let shown: std::collections::BTreeSet<_> = w.nodes[bob].requests.iter().map(|r| r.from).collect();
    assert_eq!(shown.len(), 5);
    w.event(bob, Event::AcceptContactRequest(strangers[4])).unwrap();
    assert_eq!(w.texts(bob), vec!["hello stranger"]);
}

#[test]
fn an_x3dh_chat_can_be_ended_and_the_next_message_starts_a_new_session() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob = w.add(2, 20, x3dh());
    let (a_card, b_card) = (w.contact_code_card(alice), w.contact_code_card(bob));
    w.event(alice, Event::AddContact(b_card)).unwrap();
    w.event(bob, Event::AddContact(a_card)).unwrap();
    send(&mut w, alice, bob, "before");
    w.settle(Duration::from_secs(60));
    send(&mut w, bob, alice, "reply");
    w.settle(Duration::from_secs(60));
    let bob_id = *w.nodes[bob].peer.identity();
    let sessions = w.nodes[alice].peer.bounds().x3dh_sessions;
    w.event(alice, Event::EndChat { with: bob_id, public: false }).expect("an X3DH chat can be ended");
    send(&mut w, alice, bob, "after");
    // The message after the end carries an X3DH header: a new session, not the ended one.
    let last = w.store.iter().rev().find(|m| m.version.is_none()).cloned().unwrap();
    let envelope = open(&last, &[1, 2]).unwrap();
    let entry = envelope.payloads.values().next().unwrap();
    assert!(matches!(entry, status_1to1::x3dh::Payload::Ratchet(m) if m.initial.is_some()), "{entry:?}");
    w.settle(Duration::from_secs(120));
    assert_eq!(w.texts(bob), vec!["before", "after"]);
    assert!(w.nodes[alice].peer.bounds().x3dh_sessions > sessions, "a new session was started");
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

#[test]
fn a_relay_sees_neither_identity_nor_installation_in_x3dh_traffic() {
    let mut w = World::new();
    let alice = w.add(1, 10, x3dh());
    let bob_phone = w.add(2, 20, x3dh());
    let bob_laptop = w.add(2, 21, x3dh());
    let (a_card, b_card) = (w.contact_code_card(alice), w.contact_code_card(bob_phone));
    w.event(alice, Event::AddContact(b_card)).unwrap();
    w.event(bob_phone, Event::AddContact(a_card)).unwrap();
    for round in 0..3 {
        send(&mut w, alice, bob_phone, &format!("ping {round}"));
        w.settle(Duration::from_secs(30));
        send(&mut w, bob_phone, alice, &format!("pong {round}"));
        w.settle(Duration::from_secs(30));
    }
    assert_eq!(w.texts(bob_phone).len(), 3, "the chat worked");
    let secrets: Vec<Vec<u8>> = [alice, bob_phone, bob_laptop]
        .iter()
        .flat_map(|&i| {
            let peer = &w.nodes[i].peer;
            [peer.identity().as_bytes().to_vec(), peer.installation().as_str().as_bytes().to_vec()]
        })
        .collect();
    let x3dh_traffic: Vec<&WakuMessage> = w.store.iter().filter(|m| m.version.is_none()).collect();
    assert!(x3dh_traffic.len() > 6, "{} X3DH messages", x3dh_traffic.len());
    for message in x3dh_traffic {
        let kind = seal::kind(&message.payload).expect("a sealed X3DH payload");
        for secret in &secrets {
            assert!(
                !message.payload.windows(secret.len()).any(|w| w == secret.as_slice()),
                "a relay can read an identity or installation id"
            );
        }
        let overhead = if kind == seal::TAG_TO_IDENTITY { 1 + 32 + 48 + 16 } else { 1 + 12 + 16 };
        assert_eq!((message.payload.len() - overhead) % seal::PAD_TO, 0, "padded: {}", message.payload.len());
    }
}
