//! Liveness regressions found by the simulator (`status-1to1-sim`, real peer on every device):
//! each test pins the interleaving of one failing seed at the peer level, over the in-memory
//! network of `common/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed expectation is the test failing

mod common;

use std::time::Duration;

use common::World;
use status_1to1::peer::{DeliveryConfig, Event, KeyExchange, PeerConfig};

fn config(kx: KeyExchange) -> PeerConfig {
    PeerConfig { preferred_key_exchange: kx, ..PeerConfig::default() }
}

/// Simulator seed 25 (tiny, swarm, mixed): alice prefers X3DH, bob Noise, both cards offer
/// both. Alice's blind X3DH first message to bob is lost; bob then reaches alice over Noise.
/// The Noise session made bob's device a target of alice's open message (ending the blind
/// retries), but alice's chat with bob is X3DH and she holds no bundle of that device, so the
/// message waited forever for an X3DH session that nothing would create (and alice's
/// acknowledgements to bob were dropped the same way). A device with no X3DH session and no
/// bundle is reached with a no-bundle message, which carries alice's bundle: bob answers over
/// X3DH and both sides converge.
#[test]
fn a_device_known_only_over_noise_gets_messages_of_an_x3dh_chat() {
    let mut w = World::new();
    let alice = w.add(1, 10, config(KeyExchange::X3dh));
    let bob = w.add(2, 20, config(KeyExchange::Noise));
    let both = [KeyExchange::X3dh, KeyExchange::Noise];
    let (bob_card, alice_card) = (w.card(bob, &both), w.card(alice, &both));
    w.event(alice, Event::AddContact(bob_card)).unwrap();
    w.event(bob, Event::AddContact(alice_card)).unwrap();
    let (a, b) = (*w.nodes[alice].peer.identity(), *w.nodes[bob].peer.identity());
    w.settle(Duration::from_secs(1));

    w.nodes[bob].online = false;
    w.event(alice, Event::SendText { to: b, body: b"to bob".to_vec() }).unwrap();
    w.inflight.clear();
    w.nodes[bob].online = true;
    w.event(bob, Event::SendText { to: a, body: b"to alice".to_vec() }).unwrap();
    w.settle(Duration::from_secs(2 * 3600));

    assert_eq!(w.texts(alice), vec!["to alice"]);
    assert_eq!(w.texts(bob), vec!["to bob"], "alice's message reaches bob exactly once");
    assert_eq!(w.nodes[alice].acked.len(), 1, "bob's device acknowledged alice's message");
    assert_eq!(w.nodes[bob].acked.len(), 1, "alice's acknowledgement reaches bob");
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
    assert_eq!(w.nodes[bob].peer.unacknowledged(), 0);
}

/// Simulator seeds 7028 (tiny, swarm, mixed), 7018 (small, swarm, X3DH) and `run --seed 3`:
/// bob pairs a second device after alice's X3DH chat with his first device started. His
/// first device learns the new device's prekey only from the new device's bundle on bob's
/// partitioned topic; that single publication was lost, so bob's first device never listed the
/// new device in its bundle, alice never learned it, and alice's messages (kept open for new
/// devices) never reached it. The device-change push now repeats the bundle on our own
/// partitioned topic with the delivery backoff, as it does to contacts.
/// (Failed before the fix: the laptop never received "after pairing".)
#[test]
fn a_lost_bundle_of_a_new_own_device_is_published_again() {
    let mut w = World::new();
    let alice = w.add(1, 10, config(KeyExchange::X3dh));
    let phone = w.add(2, 20, config(KeyExchange::X3dh));
    let (alice_card, phone_card) = (w.contact_code_card(alice), w.contact_code_card(phone));
    w.event(alice, Event::AddContact(phone_card)).unwrap();
    w.event(phone, Event::AddContact(alice_card)).unwrap();
    let (a, b) = (*w.nodes[alice].peer.identity(), *w.nodes[phone].peer.identity());
    w.event(alice, Event::SendText { to: b, body: b"before".to_vec() }).unwrap();
    w.event(phone, Event::SendText { to: a, body: b"reply".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(phone), vec!["before"]);

    // Alice's first message (on bob's partitioned topic) is past the store's retention, so the
    // laptop does not find it at start and answer it with its bundle (54 "Partitioned devices").
    w.store.clear();
    let laptop = w.add(2, 21, config(KeyExchange::X3dh));
    let partition = status_1to1::peer::topics::partition_topic(&b);
    // Every bundle the laptop publishes on bob's partitioned topic in the two minutes after
    // pairing is lost on its way to the phone (its first publication and the one its learning
    // of the phone's prekey triggers).
    let lost_until = w.now.saturating_add(Duration::from_secs(120)).as_nanos_i64();
    w.drop_if = Some(Box::new(move |to, from, message| {
        to == phone && from == laptop && message.content_topic == partition && message.timestamp < Some(lost_until)
    }));
    w.pair(phone, laptop);
    w.event(alice, Event::SendText { to: b, body: b"after pairing".to_vec() }).unwrap();
    w.settle(Duration::from_secs(3600));

    assert_eq!(w.texts(phone), vec!["before", "after pairing"]);
    // "before" was still open for new devices of bob (the handshake window), so the laptop
    // gets it too.
    assert_eq!(w.texts(laptop), vec!["before", "after pairing"], "the new device gets alice's messages");
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// Simulator seed 50208 (tiny, swarm, X3DH): pairing completed on the device that showed the
/// QR but never on the scanner. Each device repeats its hello on the new channel until it
/// hears the other's; the owner heard the scanner's, promoted the channel and answered once,
/// and that answer and the owner's own hellos were all lost. The scanner kept repeating its
/// hello, which the owner ignored, so the scanner waited for ever, rejected everything else
/// the owner sent, and the account's two devices never learned each other's prekeys (a
/// contact's messages never reached the scanner). Every repeated hello is now answered.
/// (Failed before the fix: the scanner never listed the owner as a paired device.)
#[test]
fn a_lost_hello_answer_is_made_up_for_by_the_next_repeat() {
    let mut w = World::new();
    let owner = w.add(2, 20, config(KeyExchange::X3dh));
    let scanner = w.add(2, 21, config(KeyExchange::X3dh));
    let lost_until = w.now.saturating_add(Duration::from_secs(15)).as_nanos_i64();
    w.drop_if = Some(Box::new(move |to, from, message| {
        to == scanner
            && from == owner
            && message.content_topic.starts_with("/status-1to1/1/wakunoise/1/sessions/")
            && message.timestamp < Some(lost_until)
    }));
    w.pair(owner, scanner);
    w.settle(Duration::from_secs(600));

    let paired = |w: &World, i: usize, other: usize| {
        w.nodes[i].peer.own_devices().get(w.nodes[other].peer.installation()).is_some_and(|d| d.enabled)
    };
    assert!(paired(&w, owner, scanner), "the owner paired");
    assert!(paired(&w, scanner, owner), "the scanner paired too");
}

/// Noise with the simulator's delivery tuning (retries every minute at most, 90 attempts).
fn patient_noise() -> PeerConfig {
    let delivery = DeliveryConfig { max_backoff: Duration::from_secs(60), max_attempts: 90, ..Default::default() };
    PeerConfig { delivery, ..config(KeyExchange::Noise) }
}

/// Alice and Bob as Noise contacts with the simulator's delivery tuning.
fn patient_noise_contacts() -> (World, usize, usize) {
    let mut w = World::new();
    let patient = patient_noise();
    let alice = w.add(1, 10, patient.clone());
    let bob = w.add(2, 20, patient);
    let (alice_card, bob_card) = (w.card(alice, &[KeyExchange::Noise]), w.card(bob, &[KeyExchange::Noise]));
    w.event(alice, Event::AddContact(bob_card)).unwrap();
    w.event(bob, Event::AddContact(alice_card)).unwrap();
    (w, alice, bob)
}

/// Simulator seed 61000 (default, swarm, Noise): every retry is a new transport message, so
/// while a device of bob's was down and the store had lost alice's messages, alice's retries
/// ran more than the nametag window (50) ahead of the last message bob's device had read. Bob
/// came back unable to find any of them, and the session never recovered. A contact session
/// now turns stale after `MAX_UNANSWERED` messages with nothing read back, and the device is
/// reached again through a re-activation handshake.
/// (Failed before the fix: bob never received the messages sent while he was down.)
#[test]
fn retries_that_outrun_the_nametag_window_lead_to_a_new_session() {
    let (mut w, alice, bob) = patient_noise_contacts();
    let b = *w.nodes[bob].peer.identity();
    w.event(alice, Event::SendText { to: b, body: b"first".to_vec() }).unwrap();
    w.settle(Duration::from_secs(60));
    assert_eq!(w.texts(bob), vec!["first"]);

    w.nodes[bob].online = false;
    for text in ["while down 1", "while down 2", "while down 3"] {
        w.event(alice, Event::SendText { to: b, body: text.as_bytes().to_vec() }).unwrap();
    }
    // Three messages retried every minute for half an hour: well over 50 transport messages.
    w.settle(Duration::from_secs(1800));
    w.store.clear();
    w.nodes[bob].online = true;
    w.event(bob, Event::Start).unwrap();
    w.settle(Duration::from_secs(4 * 3600));

    assert_eq!(w.texts(bob), vec!["first", "while down 1", "while down 2", "while down 3"]);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// Simulator seed 733281 (tiny, swarm, Noise): the adversary replayed bob's handshake message 2
/// onto alice's partitioned topic, and alice, who had not received the original, answered with
/// message 3 on the topic the copy arrived on. Bob never listens there, so his side of the
/// handshake never completed and nothing alice sent on the new session reached him. Message 3
/// now goes to the topic of alice's message 1, where bob listens.
/// (Failed before the fix: bob never received the message.)
#[test]
fn message_3_goes_where_the_responder_listens_whatever_topic_message_2_came_on() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut w = World::new();
    let alice = w.add(1, 10, config(KeyExchange::Noise));
    let bob = w.add(2, 20, config(KeyExchange::Noise));
    let (alice_card, bob_card) = (w.card(alice, &[KeyExchange::Noise]), w.card(bob, &[KeyExchange::Noise]));
    w.event(alice, Event::AddContact(bob_card)).unwrap();
    w.event(bob, Event::AddContact(alice_card)).unwrap();
    let (a, b) = (*w.nodes[alice].peer.identity(), *w.nodes[bob].peer.identity());
    let bob_partition = status_1to1::peer::topics::partition_topic(&b);
    let alice_partition = status_1to1::peer::topics::partition_topic(&a);
    // Every message 2 bob sends on his partitioned topic is lost on its way to alice, and kept.
    let lost = Rc::new(RefCell::new(Vec::new()));
    let keep = Rc::clone(&lost);
    w.drop_if = Some(Box::new(move |to, from, message| {
        let drop = to == alice && from == bob && message.content_topic == bob_partition;
        if drop {
            keep.borrow_mut().push(message.clone());
        }
        drop
    }));
    w.event(alice, Event::SendText { to: b, body: b"hello bob".to_vec() }).unwrap();
    w.settle(Duration::from_secs(5));
    w.drop_if = None;
    // The adversary replays a copy onto alice's own partitioned topic.
    let replayed = lost.borrow().first().cloned().expect("bob answered message 1");
    let onto_alice = status_1to1::waku::WakuMessage { content_topic: alice_partition, ..replayed };
    w.event(alice, Event::Received { message: onto_alice, origin: status_1to1::peer::Origin::Relay }).unwrap();
    w.settle(Duration::from_secs(600));

    assert_eq!(w.texts(bob), vec!["hello bob"]);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// Simulator seed 951285449 (tiny, swarm, Noise, hostile) and ten small seeds: alice's message
/// 3 to bob was lost (bob went offline right after answering, and alice's clock was skewed past
/// the store's 20 s window, so nothing she sent was archived). Alice's session turned stale
/// unanswered and her re-activation named a session bob never completed, so bob could not
/// answer it; bob did answer her repeated message 1 again, but alice took his repeated message 2
/// for a handshake already done. A repeated message 2 now gets message 3 again while the
/// session it opened is unconfirmed.
/// (Failed before the fix: bob never received any of the messages.)
#[test]
fn a_repeated_message_2_gets_message_3_again_while_the_session_is_unconfirmed() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (mut w, alice, bob) = patient_noise_contacts();
    let b = *w.nodes[bob].peer.identity();
    // Bob reads alice's message 1 (and its repeats) but nothing else she sends.
    let first: Rc<RefCell<Option<Vec<u8>>>> = Rc::default();
    let seen = Rc::clone(&first);
    w.drop_if = Some(Box::new(move |to, from, message| {
        if to != bob || from != alice {
            return false;
        }
        let mut first = seen.borrow_mut();
        let first = first.get_or_insert_with(|| message.payload.clone());
        message.payload != *first
    }));
    w.event(alice, Event::SendText { to: b, body: b"hello".to_vec() }).unwrap();
    w.settle(Duration::from_secs(5));
    assert!(w.texts(bob).is_empty(), "message 3 and the text were lost");

    w.nodes[bob].online = false;
    w.drop_if = None;
    for text in ["while down 1", "while down 2"] {
        w.event(alice, Event::SendText { to: b, body: text.as_bytes().to_vec() }).unwrap();
    }
    // Retries every minute for half an hour: alice's session with bob turns stale unanswered.
    w.settle(Duration::from_secs(1800));
    w.store.clear();
    w.nodes[bob].online = true;
    w.event(bob, Event::Start).unwrap();
    w.settle(Duration::from_secs(4 * 3600));

    assert_eq!(w.texts(bob), vec!["hello", "while down 1", "while down 2"]);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// Simulator seeds 353326306 and 353326614 (small, swarm, Noise) and seven more of
/// 353326028..353327028: bob's device answered alice's message 1 and each repeat of it, up to
/// its bound of 7 answers (against replays; now answers thin out instead), and the relay lost every
/// answer on its way to alice. The store held them, but alice stayed online and queried it only
/// at start; after the network healed she repeated message 1 for the rest of the hour and bob's
/// device no longer answered, so it never joined alice's messages. Each repeat of message 1 now
/// comes with a store query of its topic for the answers since the handshake started.
/// (Failed before the fix: bob never received "hello".)
#[test]
fn answers_to_message_1_lost_on_the_relay_are_caught_up_from_the_store() {
    let (mut w, alice, bob) = patient_noise_contacts();
    let b = *w.nodes[bob].peer.identity();
    // For ten minutes the relay loses everything bob publishes on its way to alice; the store
    // archives it all.
    w.drop_if = Some(Box::new(move |to, from, _| to == alice && from == bob));
    w.event(alice, Event::SendText { to: b, body: b"hello".to_vec() }).unwrap();
    w.settle(Duration::from_secs(600));
    w.drop_if = None;
    w.settle(Duration::from_secs(3600));

    assert_eq!(w.texts(bob), vec!["hello"]);
    assert_eq!(w.nodes[alice].peer.unacknowledged(), 0);
}

/// Simulator seed 353326358 (small, swarm, Noise): bob's phone answered alice's message 1 and
/// completed; his laptop answered it and each repeat up to its bound of 7 answers (against
/// replays), and none reached alice: a partition kept them from her, the store node she
/// queries never held them (the laptop's side archived them elsewhere), and she was down when
/// the last one came. After the network healed her repeats of message 1 (kept for devices yet
/// to answer) went unanswered, and the laptop never got her message. Answers now thin out
/// (10 s, 20 s, 40 s… apart) but never stop while the handshake is kept.
/// (Failed before the fix: the laptop never received "hello".)
#[test]
fn a_device_whose_answers_were_all_lost_joins_after_the_network_heals() {
    let mut w = World::new();
    let patient = patient_noise();
    let alice = w.add(1, 10, patient.clone());
    let phone = w.add(2, 20, patient.clone());
    let laptop = w.add(2, 21, patient);
    w.pair(phone, laptop);
    let (alice_card, bob_card) = (w.card(alice, &[KeyExchange::Noise]), w.card(phone, &[KeyExchange::Noise]));
    w.event(alice, Event::AddContact(bob_card.clone())).unwrap();
    w.event(phone, Event::AddContact(alice_card.clone())).unwrap();
    w.event(laptop, Event::AddContact(alice_card)).unwrap();
    let b = *w.nodes[phone].peer.identity();
    // For ten minutes nothing the laptop publishes reaches alice, by relay or by store.
    w.drop_if = Some(Box::new(move |to, from, _| to == alice && from == laptop));
    w.unarchived_if = Some(Box::new(move |from, _| from == laptop));
    w.event(alice, Event::SendText { to: b, body: b"hello".to_vec() }).unwrap();
    w.settle(Duration::from_secs(600));
    assert_eq!(w.texts(phone), vec!["hello"]);
    w.drop_if = None;
    w.unarchived_if = None;
    w.settle(Duration::from_secs(1200));

    assert_eq!(w.texts(laptop), vec!["hello"]);
}
