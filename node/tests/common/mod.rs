//! Two peers talking through an in-process message log, each on its own [`Store`]: every change
//! set is committed with the deliveries of its event before anything is published, as a real
//! driver must.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use status_1to1::SeededEntropy;
use status_1to1::identity::{IdentityKeyPair, InstallationId};
use status_1to1::peer::{Action, ChangeSet, ContactCard, Event, KeyExchange, Origin, Peer, PeerConfig};
use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;
use status_1to1_node::{AppRow, Store, StoreError};

/// The application row key of a delivered message.
pub fn delivery_key(id: &[u8]) -> Vec<u8> {
    [b"delivery/".as_slice(), id].concat()
}

/// What a store node holds on `topics` with sender times in `start..=end`.
fn archived(log: &[WakuMessage], topics: &[String], start: Timestamp, end: Timestamp) -> Vec<WakuMessage> {
    let within = |m: &&WakuMessage| {
        let t = Timestamp::from_nanos_i64(m.timestamp.unwrap_or(0));
        t >= start && t <= end
    };
    log.iter().filter(|m| topics.contains(&m.content_topic)).filter(within).cloned().collect()
}

/// Called with `(committed, peer, change set number)` around each commit.
pub type CommitHook = Box<dyn FnMut(bool, &Peer, u64)>;

/// One device: its peer, its store and where it is in the message log.
pub struct Device<S: Store> {
    pub peer: Peer,
    pub store: S,
    pub entropy: SeededEntropy,
    /// Next log index to deliver.
    pub cursor: usize,
    pub timer: Option<Timestamp>,
    /// Every change set committed, in order.
    pub committed: Vec<ChangeSet>,
    /// Deliveries shown again after a restart.
    pub duplicates: usize,
    /// Application rows to commit with the next change set (besides deliveries and the cursor).
    pub pending: Vec<AppRow>,
    /// Called just before each commit (`false`) and just after it (`true`), before anything
    /// the event produced is published.
    pub on_commit: Option<CommitHook>,
}

pub fn config() -> PeerConfig {
    PeerConfig { preferred_key_exchange: KeyExchange::Noise, ..PeerConfig::default() }
}

pub fn new_peer(seed: u8, entropy: &mut SeededEntropy) -> Peer {
    let installation = InstallationId::generate(entropy);
    Peer::new(IdentityKeyPair::from_seed([seed; 32]), installation, config())
}

pub fn card(peer: &Peer) -> ContactCard {
    ContactCard { identity: *peer.identity(), supports: vec![KeyExchange::Noise], bundle: None }
}

impl<S: Store> Device<S> {
    pub fn new(peer: Peer, store: S, entropy: SeededEntropy) -> Self {
        let timer = peer.next_deadline();
        Self {
            peer,
            store,
            entropy,
            cursor: 0,
            timer,
            committed: vec![],
            duplicates: 0,
            pending: vec![],
            on_commit: None,
        }
    }

    /// Hands one event to the peer and carries out its actions in order.
    pub fn handle(&mut self, now: Timestamp, event: Event, log: &mut Vec<WakuMessage>) -> Result<(), StoreError> {
        let Ok(actions) = self.peer.handle(now, event, &mut self.entropy) else { return Ok(()) };
        let mut app = Vec::new();
        // Store answers are handed over after the whole list is carried out, as a network would.
        let mut answers = Vec::new();
        for action in actions {
            match action {
                Action::Deliver(d) => {
                    let key = delivery_key(&d.id.0);
                    if self.store.app_row(&key)?.is_some() || app.iter().any(|r: &AppRow| r.key == key) {
                        self.duplicates += 1;
                    }
                    app.push(AppRow { key, value: Some(d.body) });
                }
                Action::Persist(changes) => {
                    app.push(AppRow {
                        key: b"cursor".to_vec(),
                        value: Some((self.cursor as u64).to_be_bytes().to_vec()),
                    });
                    app.push(AppRow { key: b"clock".to_vec(), value: Some(now.as_millis().to_be_bytes().to_vec()) });
                    app.append(&mut self.pending);
                    self.notify(false, changes.seq);
                    self.store.commit(&changes, &app)?;
                    self.notify(true, changes.seq);
                    app.clear();
                    self.committed.push(changes);
                }
                Action::Publish(m) => log.push(m),
                Action::QueryStore { request, content_topics, start, end, cursor: _ } => {
                    let messages = archived(log, &content_topics, start, end);
                    answers.push(Event::StoreResult { request, messages, next_cursor: None });
                }
                _ => {}
            }
        }
        // The peer's deadline, not the last `SetTimer`: a restarted driver knows only the former.
        self.timer = self.peer.next_deadline();
        for answer in answers {
            self.handle(now, answer, log)?;
        }
        Ok(())
    }

    fn notify(&mut self, done: bool, seq: u64) {
        if let Some(hook) = self.on_commit.as_mut() {
            hook(done, &self.peer, seq);
        }
    }

    /// Delivers every logged message since the cursor that the peer listens to.
    pub fn catch_up(&mut self, now: Timestamp, log: &mut Vec<WakuMessage>) -> Result<(), StoreError> {
        while self.cursor < log.len() {
            let message = log[self.cursor].clone();
            self.cursor += 1;
            if self.peer.subscriptions().contains(&message.content_topic) {
                self.handle(now, Event::Received { message, origin: Origin::Relay }, log)?;
            }
        }
        Ok(())
    }

    /// Fires the peer's timer if it is due.
    pub fn tick(&mut self, now: Timestamp, log: &mut Vec<WakuMessage>) -> Result<(), StoreError> {
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
            self.handle(now, Event::Timer, log)?;
        }
        Ok(())
    }
}
