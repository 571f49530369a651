//! Adversary hooks in the network layer: an on-path attacker that drops, tampers with, replays
//! and injects WakuMessages (waku-network-model.md §4.2 "adversary node", §4.5 authenticity).
//!
//! The world calls the hooks only during the fault phase. Injected and replayed messages enter
//! through the relay like any publish, so the relay's seen-cache and the store's timestamp rules
//! apply to them too (a byte-identical replay inside 2 minutes is dropped by gossipsub; an old
//! replay is refused by the store as too old but still delivered live).

use std::collections::VecDeque;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use status_1to1::waku::WakuMessage;

use super::envelope::Envelope;
use crate::ids::DeviceId;
use crate::rng::SimRng;
use crate::time::SimTime;

/// What happens to one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Deliver unchanged.
    Pass,
    /// Silently drop.
    Drop,
    /// Deliver this message instead.
    Replace(WakuMessage),
}

/// A message the adversary publishes later.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// Delay from now.
    pub delay_ms: u64,
    /// The message.
    pub message: WakuMessage,
}

/// The hook interface; implement it for targeted attacks.
pub trait Adversary {
    /// Sees every honest publish before fan-out; may schedule injections.
    fn on_publish(&mut self, now: SimTime, env: &Rc<Envelope>, rng: &mut SimRng, out: &mut Vec<Injection>);

    /// Decides the fate of one delivery to a device.
    fn on_delivery(&mut self, now: SimTime, to: DeviceId, env: &Rc<Envelope>, rng: &mut SimRng) -> Verdict;
}

/// Probabilities of the built-in adversary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AdversaryConfig {
    /// Per delivery: drop it.
    pub drop: f64,
    /// Per delivery: flip one payload bit.
    pub tamper: f64,
    /// Per publish: publish the identical bytes again later.
    pub replay: f64,
    /// Per publish: publish a forgery on the same topic (another message's payload spliced
    /// under this header, or random bytes).
    pub inject: f64,
}

impl AdversaryConfig {
    /// Whether any hook can fire.
    pub fn is_active(&self) -> bool {
        self.drop > 0.0 || self.tamper > 0.0 || self.replay > 0.0 || self.inject > 0.0
    }
}

/// The seeded, probabilistic adversary.
#[derive(Debug, Clone)]
pub struct SeededAdversary {
    cfg: AdversaryConfig,
    recent: VecDeque<Rc<Envelope>>,
}

/// How many past messages the adversary remembers for replays and splices.
const MEMORY: usize = 64;

impl SeededAdversary {
    /// An adversary with these probabilities.
    pub fn new(cfg: AdversaryConfig) -> Self {
        Self { cfg, recent: VecDeque::with_capacity(MEMORY) }
    }
}

impl Adversary for SeededAdversary {
    fn on_publish(&mut self, _now: SimTime, env: &Rc<Envelope>, rng: &mut SimRng, out: &mut Vec<Injection>) {
        if rng.chance(self.cfg.replay) {
            // Anywhere from inside the gossipsub seen TTL (dropped) to well after it.
            out.push(Injection { delay_ms: rng.range_inclusive(1_000, 300_000), message: env.message.clone() });
        }
        if rng.chance(self.cfg.inject) {
            let mut forged = env.message.clone();
            match self.recent.get(rng.index(self.recent.len().max(1))) {
                Some(other) if rng.chance(0.5) => forged.payload = other.message.payload.clone(),
                _ => rng.fill(&mut forged.payload),
            }
            out.push(Injection { delay_ms: rng.range_inclusive(10, 5_000), message: forged });
        }
        if self.recent.len() == MEMORY {
            self.recent.pop_front();
        }
        self.recent.push_back(Rc::clone(env));
    }

    fn on_delivery(&mut self, _now: SimTime, _to: DeviceId, env: &Rc<Envelope>, rng: &mut SimRng) -> Verdict {
        if rng.chance(self.cfg.drop) {
            return Verdict::Drop;
        }
        if rng.chance(self.cfg.tamper) {
            let mut m = env.message.clone();
            if m.payload.is_empty() {
                m.payload.push(0);
            }
            let i = rng.index(m.payload.len());
            m.payload[i] ^= 1 << rng.below(8);
            return Verdict::Replace(m);
        }
        Verdict::Pass
    }
}
