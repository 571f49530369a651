//! Hostile adversaries (issue 12): outsiders who try to make a device store, send or forget
//! things, next to the on-path [`crate::net::adversary`] that drops, tampers and replays.
//!
//! - **Stranger flood.** A pool of real strangers (fresh identities with their own seeded
//!   entropy and a real [`Peer`], never in the scenario's directory) add a victim's identity as
//!   a contact and send it texts: X3DH no-bundle first messages or Noise discovery handshakes,
//!   depending on the key exchange. Some sends come from a brand-new identity. What the strangers
//!   publish enters the relay as the adversary's; what honest devices publish on the strangers'
//!   topics is fed back to them, so handshakes can complete.
//! - **Big bundles.** A fresh X3DH stranger's real first message, its bundle replaced by one it
//!   signed listing hundreds of installations (valid signature, fake prekeys).
//! - **Reflector.** Honest publishes on a partition topic (first messages, bundles, handshakes
//!   between two other identities) replayed onto a victim's partition topic.
//! - **Store bursts.** Hundreds of junk messages at once on one of a victim's subscribed topics:
//!   the store archives them, so the victim's catch-up must page through them.
//!
//! Every draw comes from the `hostile` sub-stream of the seed, so a run without the hostile
//! adversaries draws exactly what it drew before they existed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use status_1to1::SeededEntropy;
use status_1to1::crypto::PublicKey;
use status_1to1::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use status_1to1::peer::{Action, ContactCard, Event, KeyExchange as PeerKx, Origin, Peer, PeerConfig};
use status_1to1::proto;
use status_1to1::waku::WakuMessage;
use status_1to1::x3dh::seal;
use status_1to1::x3dh::{Envelope as X3dhEnvelope, PROTOCOL_VERSION, SUITE_D, SignedPrekey, signature_input};

use crate::ids::{DeviceId, UserId};
use crate::net::clock::Clock;
use crate::node::KeyExchange;
use crate::peer_node::registry::account_key;
use crate::peer_node::{preferred, supports};
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::Directory;

/// Share of swarm seeds that run the hostile adversaries (drawn from the seed). The one knob to
/// tune how often sweeps meet them. It was zero while a Noise device answered every anonymous
/// message 1 of a stranger flood; since message 1 carries an introduction and only contacts'
/// handshakes are answered, every key exchange runs them.
pub const HOSTILE_SWARM_SHARE: f64 = 0.3;

/// Rates of the hostile adversaries; all zero (the default) means off.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostileConfig {
    /// Victim devices (drawn from the seed); strangers address their identities.
    pub victims: u8,
    /// Strangers in the pool.
    pub strangers: u8,
    /// Per victim: texts from strangers per hour (first messages or handshakes).
    pub stranger_texts_per_hour: f64,
    /// Share of stranger texts sent from a brand-new identity.
    pub fresh_share: f64,
    /// Per victim: first messages carrying a big signed bundle, per hour.
    pub big_bundles_per_hour: f64,
    /// Installations listed in a big bundle.
    pub bundle_installations: u32,
    /// Per honest publish on a partition topic: probability that it is replayed on a victim's.
    pub reflect: f64,
    /// Store bursts per hour (at a random victim).
    pub bursts_per_hour: f64,
    /// Junk messages per burst.
    pub burst_messages: u32,
}

impl HostileConfig {
    /// Whether anything can happen.
    pub fn is_active(&self) -> bool {
        self.victims > 0
            && (self.stranger_texts_per_hour > 0.0
                || self.big_bundles_per_hour > 0.0
                || self.reflect > 0.0
                || self.bursts_per_hour > 0.0)
    }

    /// A configuration drawn from the `hostile-config` sub-stream of `seed` (what `--hostile on`
    /// and the swarm use).
    pub fn drawn(seed: u64) -> Self {
        let mut r = SimRng::new(seed, "hostile-config", 0);
        Self {
            victims: r.range_inclusive(1, 3) as u8,
            strangers: r.range_inclusive(2, 8) as u8,
            stranger_texts_per_hour: log_uniform(&mut r, 300.0, 3_000.0),
            fresh_share: r.uniform(0.2, 0.8),
            big_bundles_per_hour: log_uniform(&mut r, 10.0, 60.0),
            bundle_installations: r.range_inclusive(100, 500) as u32,
            reflect: r.uniform(0.2, 1.0),
            bursts_per_hour: log_uniform(&mut r, 20.0, 120.0),
            burst_messages: r.range_inclusive(100, 1_000) as u32,
        }
    }

    /// The swarm's choice for `seed`: [`Self::drawn`] on [`HOSTILE_SWARM_SHARE`] of the seeds.
    pub fn swarm(seed: u64) -> Self {
        if SimRng::new(seed, "hostile-swarm", 0).chance(HOSTILE_SWARM_SHARE) {
            Self::drawn(seed)
        } else {
            Self::default()
        }
    }
}

fn log_uniform(r: &mut SimRng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + r.unit() * (hi.ln() - lo.ln())).exp()
}

/// What kind of hostile input a message is (for the counts in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HostileKind {
    /// Published by a stranger's peer.
    Stranger,
    /// A first message with a big signed bundle.
    BigBundle,
    /// An honest partition-topic message replayed on a victim's partition topic.
    Reflection,
    /// Junk of a store burst.
    Burst,
    /// Anything else the adversary published (replays, splices, tampered copies).
    Other,
}

impl HostileKind {
    /// Every kind, in report order.
    pub const ALL: [HostileKind; 5] = [Self::Stranger, Self::BigBundle, Self::Reflection, Self::Burst, Self::Other];
}

/// A periodic hostile act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Act {
    /// A stranger sends a victim a text.
    StrangerText,
    /// A first message with a big bundle.
    BigBundle,
    /// A store burst.
    Burst,
}

impl Act {
    /// Trace code.
    pub fn code(self) -> u64 {
        self as u64
    }
}

/// A message the hostile adversary publishes after `delay_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostileInjection {
    /// Delay from now.
    pub delay_ms: u64,
    /// The message.
    pub message: WakuMessage,
    /// What it is.
    pub kind: HostileKind,
}

/// How the devices treated one kind of hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KindCounts {
    /// Messages published.
    pub injected: u64,
    /// Deliveries a device handled.
    pub handled: u64,
    /// Of those, refused by the node (a `Rejected` notice).
    pub rejected: u64,
    /// Of those, answered with at least one publish.
    pub answered: u64,
    /// Messages published in answer.
    pub answers: u64,
}

/// Counters of the hostile adversaries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostileStats {
    /// Stranger identities created.
    pub identities: u64,
    /// Sends the strangers' own peers refused.
    pub stranger_errors: u64,
    /// Per kind.
    pub kinds: BTreeMap<HostileKind, KindCounts>,
}

impl HostileStats {
    /// The counts of `kind`.
    pub fn of(&self, kind: HostileKind) -> KindCounts {
        self.kinds.get(&kind).copied().unwrap_or_default()
    }

    pub(crate) fn count(&mut self, kind: HostileKind) -> &mut KindCounts {
        self.kinds.entry(kind).or_default()
    }
}

enum EventKind {
    Received,
    Command,
}

struct Stranger {
    identity: IdentityKeyPair,
    peer: Peer,
    entropy: SeededEntropy,
}

struct Victim {
    device: DeviceId,
    user: UserId,
    identity: IdentityKey,
    partition: String,
}

/// The hostile adversaries of one run.
pub struct Hostile {
    cfg: HostileConfig,
    rng: SimRng,
    key_exchange: KeyExchange,
    victims: Vec<Victim>,
    strangers: Vec<Stranger>,
    /// Every user's partition topic (several users may share one).
    partitions: BTreeSet<String>,
    /// Which hostile kind each injected message hash is.
    tags: BTreeMap<[u8; 32], HostileKind>,
    /// Counters.
    pub stats: HostileStats,
}

impl std::fmt::Debug for Hostile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hostile").field("cfg", &self.cfg).field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl Hostile {
    /// The adversaries of `cfg` against the scenario `dir`, drawing from the seed's `hostile`
    /// stream.
    pub fn new(cfg: HostileConfig, seed: u64, dir: &Directory, key_exchange: KeyExchange) -> Self {
        let mut rng = SimRng::new(seed, "hostile", 0);
        let devices = dir.device_count() as u64;
        let mut chosen = BTreeSet::new();
        for _ in 0..cfg.victims {
            if devices > 0 {
                chosen.insert(DeviceId(rng.below(devices) as u32));
            }
        }
        let victims = chosen
            .into_iter()
            .filter_map(|device| {
                let user = dir.user_of(device)?;
                let identity = *account_key(user).public();
                let partition = status_1to1::peer::topics::partition_topic(&identity);
                Some(Victim { device, user, identity, partition })
            })
            .collect();
        let partitions = (0..dir.user_count() as u32)
            .map(|u| status_1to1::peer::topics::partition_topic(account_key(UserId(u)).public()))
            .collect();
        Self {
            cfg,
            rng,
            key_exchange,
            victims,
            strangers: Vec::new(),
            partitions,
            tags: BTreeMap::new(),
            stats: HostileStats::default(),
        }
    }

    /// The victim devices.
    pub fn victims(&self) -> Vec<DeviceId> {
        self.victims.iter().map(|v| v.device).collect()
    }

    /// The mean gap between two acts of a kind, if it happens at all.
    fn mean_gap_ms(&self, act: Act) -> Option<f64> {
        let per_victim = self.victims.len() as f64;
        let per_hour = match act {
            Act::StrangerText => self.cfg.stranger_texts_per_hour * per_victim,
            Act::BigBundle => self.cfg.big_bundles_per_hour * per_victim,
            Act::Burst => self.cfg.bursts_per_hour,
        };
        (per_hour > 0.0 && !self.victims.is_empty()).then(|| 3_600_000.0 / per_hour)
    }

    /// Delay until the next act of this kind (exponential gaps), if it happens at all.
    pub fn next_delay_ms(&mut self, act: Act) -> Option<u64> {
        let gap = self.mean_gap_ms(act)?;
        Some(crate::dist::exponential(self.rng.unit(), gap).max(1.0) as u64)
    }

    /// Records the hash of a message it published, for the per-kind counts.
    pub fn tag(&mut self, hash: [u8; 32], kind: HostileKind) {
        self.tags.insert(hash, kind);
        self.stats.count(kind).injected += 1;
    }

    /// The kind of an adversary message that reached a device.
    pub fn kind_of(&self, hash: &[u8; 32]) -> HostileKind {
        self.tags.get(hash).copied().unwrap_or(HostileKind::Other)
    }

    /// Performs one act at `now`. `topics_of` gives a device's subscribed content topics.
    pub fn act(
        &mut self,
        now: SimTime,
        act: Act,
        topics_of: impl Fn(DeviceId) -> Vec<String>,
        out: &mut Vec<HostileInjection>,
    ) {
        if self.victims.is_empty() {
            return;
        }
        let victim = self.rng.index(self.victims.len());
        match act {
            Act::StrangerText => self.stranger_text(now, victim, out),
            Act::BigBundle => self.big_bundle(now, victim, out),
            Act::Burst => {
                let topics = topics_of(self.victims[victim].device);
                self.burst(now, &topics, out);
            }
        }
    }

    fn new_stranger(&mut self, now: SimTime, key_exchange: PeerKx) -> Stranger {
        let mut seed = [0u8; 32];
        self.rng.fill(&mut seed);
        let mut entropy = SeededEntropy::from_seed(seed);
        let identity = IdentityKeyPair::generate(&mut entropy);
        let installation = InstallationId::generate(&mut entropy);
        let config = PeerConfig { preferred_key_exchange: key_exchange, ..PeerConfig::default() };
        let mut peer = Peer::new(identity.clone(), installation, config);
        self.stats.identities += 1;
        // Its own start (bundle, subscriptions) is not published: only what it sends victims is.
        if peer.handle(Clock::default().now(now), Event::Start, &mut entropy).is_err() {
            self.stats.stranger_errors += 1;
        }
        Stranger { identity, peer, entropy }
    }

    /// The card a stranger adds for a victim: what the victim's contact code offers.
    fn card_for(&self, victim: &Victim, only: Option<PeerKx>) -> ContactCard {
        let supports = match only {
            Some(kx) => vec![kx],
            None => supports(self.key_exchange, victim.user),
        };
        ContactCard { identity: victim.identity, supports, bundle: None }
    }

    /// Hands one event to a stranger; its publishes become injections of `kind`.
    fn drive(
        stranger: &mut Stranger,
        now: SimTime,
        event: Event,
        kind: HostileKind,
        stats: &mut HostileStats,
        out: &mut Vec<HostileInjection>,
    ) {
        let kind_of_event =
            if matches!(event, Event::Received { .. }) { EventKind::Received } else { EventKind::Command };
        match stranger.peer.handle(Clock::default().now(now), event, &mut stranger.entropy) {
            Ok(actions) => {
                for a in actions {
                    if let Action::Publish(message) = a {
                        out.push(HostileInjection { delay_ms: 0, message, kind });
                    }
                }
            }
            // Most honest traffic on a stranger's topics is not for it: only refused sends count.
            Err(_) if !matches!(kind_of_event, EventKind::Received) => stats.stranger_errors += 1,
            Err(_) => {}
        }
    }

    fn stranger_text(&mut self, now: SimTime, victim: usize, out: &mut Vec<HostileInjection>) {
        let pool = usize::from(self.cfg.strangers.max(1));
        let slot = self.rng.index(pool);
        if slot >= self.strangers.len() || self.rng.chance(self.cfg.fresh_share) {
            // The stranger's preference: a victim's key exchange in a mixed run is either.
            let kx = preferred(self.key_exchange, UserId(self.rng.below(2) as u32));
            let fresh = self.new_stranger(now, kx);
            if slot < self.strangers.len() {
                self.strangers[slot] = fresh;
            } else {
                self.strangers.push(fresh);
            }
        }
        let slot = slot.min(self.strangers.len() - 1);
        let card = self.card_for(&self.victims[victim], None);
        let to = self.victims[victim].identity;
        let mut body = b"hello from a stranger ".to_vec();
        body.extend_from_slice(&self.rng.next_u64().to_be_bytes());
        let stranger = &mut self.strangers[slot];
        let mut ignored = Vec::new();
        Self::drive(stranger, now, Event::AddContact(card), HostileKind::Stranger, &mut self.stats, &mut ignored);
        Self::drive(stranger, now, Event::SendText { to, body }, HostileKind::Stranger, &mut self.stats, out);
    }

    fn big_bundle(&mut self, now: SimTime, victim: usize, out: &mut Vec<HostileInjection>) {
        let mut stranger = self.new_stranger(now, PeerKx::X3dh);
        let card = self.card_for(&self.victims[victim], Some(PeerKx::X3dh));
        let to = self.victims[victim].identity;
        let mut sent = Vec::new();
        let mut ignored = Vec::new();
        Self::drive(&mut stranger, now, Event::AddContact(card), HostileKind::BigBundle, &mut self.stats, &mut ignored);
        let body = b"a stranger with many devices".to_vec();
        Self::drive(
            &mut stranger,
            now,
            Event::SendText { to, body },
            HostileKind::BigBundle,
            &mut self.stats,
            &mut sent,
        );
        let partition = self.victims[victim].partition.clone();
        // The stranger's message is sealed to the victim: the harness opens it with the victim's
        // key (a shortcut: the stranger could build the same message itself) and re-seals it
        // from the stranger with the big bundle in place of the real one.
        let victim_key = account_key(self.victims[victim].user);
        for mut inj in sent {
            if inj.message.content_topic != partition {
                continue;
            }
            let Ok((_, body)) = seal::open_from(&victim_key, &inj.message.payload) else { continue };
            let Ok(mut envelope) = X3dhEnvelope::decode(&body) else { continue };
            let Some(bundle) = self.sign_big_bundle(&stranger, &envelope, now) else { continue };
            envelope.bundles = vec![bundle];
            let Ok(payload) = seal::seal_to(&stranger.identity, &to, &envelope.encode(), &mut stranger.entropy) else {
                continue;
            };
            inj.message.payload = payload;
            out.push(inj);
        }
    }

    /// The stranger's own bundle entry plus `bundle_installations` fake ones, signed by the
    /// stranger's identity (a valid signature over fake prekeys).
    fn sign_big_bundle(&mut self, stranger: &Stranger, envelope: &X3dhEnvelope, now: SimTime) -> Option<proto::Bundle> {
        let mut prekeys = BTreeMap::new();
        for b in &envelope.bundles {
            for (id, spk) in &b.signed_pre_keys {
                let (Ok(id), Some(key)) = (InstallationId::parse(id), PublicKey::from_slice(&spk.signed_pre_key))
                else {
                    continue;
                };
                prekeys.insert(id, SignedPrekey { key, version: spk.version, protocol_version: spk.protocol_version });
            }
        }
        let mut seed = [0u8; 32];
        self.rng.fill(&mut seed);
        let mut entropy = SeededEntropy::from_seed(seed);
        while prekeys.len() < self.cfg.bundle_installations as usize {
            let id = InstallationId::generate(&mut entropy);
            let mut key = [0u8; 32];
            self.rng.fill(&mut key);
            let key = PublicKey::from_slice(&key)?;
            prekeys.insert(id, SignedPrekey { key, version: 1, protocol_version: PROTOCOL_VERSION });
        }
        let timestamp = Clock::default().now_ns(now);
        let signature = stranger.identity.sign(&signature_input(stranger.identity.public(), timestamp, &prekeys));
        Some(proto::Bundle {
            identity: stranger.identity.public().as_bytes().to_vec(),
            signed_pre_keys: prekeys
                .iter()
                .map(|(id, p)| {
                    let spk = proto::SignedPreKey {
                        signed_pre_key: p.key.as_bytes().to_vec(),
                        version: p.version,
                        protocol_version: p.protocol_version,
                    };
                    (id.as_str().to_owned(), spk)
                })
                .collect(),
            signature: signature.0.to_vec(),
            timestamp,
            suite: SUITE_D,
        })
    }

    fn burst(&mut self, now: SimTime, topics: &[String], out: &mut Vec<HostileInjection>) {
        if topics.is_empty() {
            return;
        }
        let topic = topics[self.rng.index(topics.len())].clone();
        let base = Clock::default().now_ns(now);
        for i in 0..u64::from(self.cfg.burst_messages) {
            let mut payload = vec![0u8; self.rng.range_inclusive(64, 512) as usize];
            self.rng.fill(&mut payload);
            let delay_ms = i * 20;
            let timestamp = base + i64::try_from(delay_ms).unwrap_or(0) * 1_000_000;
            let message = WakuMessage {
                payload,
                content_topic: topic.clone(),
                timestamp: Some(timestamp),
                ..WakuMessage::default()
            };
            out.push(HostileInjection { delay_ms, message, kind: HostileKind::Burst });
        }
    }

    /// Sees an honest publish (fault phase): feeds it to strangers listening on its topic and
    /// may reflect it onto a victim's partition topic.
    pub fn on_publish(&mut self, now: SimTime, message: &WakuMessage, out: &mut Vec<HostileInjection>) {
        for stranger in &mut self.strangers {
            if stranger.peer.subscriptions().contains(&message.content_topic) {
                let event = Event::Received { message: message.clone(), origin: Origin::Relay };
                Self::drive(stranger, now, event, HostileKind::Stranger, &mut self.stats, out);
            }
        }
        if self.victims.is_empty() || self.cfg.reflect <= 0.0 || !self.partitions.contains(&message.content_topic) {
            return;
        }
        if !self.rng.chance(self.cfg.reflect) {
            return;
        }
        let victim = &self.victims[self.rng.index(self.victims.len())];
        if victim.partition == message.content_topic {
            return;
        }
        let mut copy = message.clone();
        copy.content_topic = victim.partition.clone();
        let delay_ms = self.rng.range_inclusive(10, 3_000);
        out.push(HostileInjection { delay_ms, message: copy, kind: HostileKind::Reflection });
    }
}
