//! Message nametags (35/WAKU2-NOISE "After-handshake"; js-noise `messagenametag.ts`).
//!
//! During the handshake a nametag is `HKDF(salt = h, ikm = "")[0..16]`. After it, each direction
//! has a secret and nametag #i is `SHA-256(secret || u64_le(i))[0..16]` (plain SHA-256, as every
//! implementation does, although their comments say HKDF). Message #i of a direction always uses
//! nametag #i and nonce i, which is what lets a receiver skip ahead without any wire change.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::payload::{MESSAGE_NAMETAG_LEN, MessageNametag};
use crate::crypto::hash::{hkdf_blocks, sha256};

/// How many upcoming inbound nametags a receiver recognises (js-noise and nwaku
/// `MessageNametagBufferSize`).
pub const NAMETAG_WINDOW: usize = 50;

/// How many skipped (lost or not yet arrived) inbound slots a tolerant receiver remembers so that
/// late messages still decrypt. Oldest slots are forgotten first.
pub const MAX_SKIPPED_NAMETAGS: usize = 50;

/// The handshake nametag for handshake hash `h`.
pub fn handshake_nametag(h: &[u8; 32]) -> MessageNametag {
    let [block] = hkdf_blocks::<1>(h, &[]);
    let mut tag = [0u8; MESSAGE_NAMETAG_LEN];
    tag.copy_from_slice(&block[..MESSAGE_NAMETAG_LEN]);
    MessageNametag(tag)
}

/// The secret from which one direction's nametags are derived.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
pub struct NametagSecret(#[serde(with = "crate::serde_bytes")] [u8; 32]);

impl NametagSecret {
    /// Wraps 32 secret bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes (vectors only).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Nametag number `index`.
    pub fn nametag(&self, index: u64) -> MessageNametag {
        let digest = sha256(&[&self.0, &index.to_le_bytes()]);
        let mut tag = [0u8; MESSAGE_NAMETAG_LEN];
        tag.copy_from_slice(&digest[..MESSAGE_NAMETAG_LEN]);
        MessageNametag(tag)
    }
}

impl std::fmt::Debug for NametagSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NametagSecret(<redacted>)")
    }
}

/// How a receiver treats a message whose nametag is not the next expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ReceivePolicy {
    /// Accept only the next nametag, exactly like js-noise and nwaku: a lost message stalls the
    /// direction until it arrives.
    Strict,
    /// Accept any nametag in the window (skipping ahead over lost or late messages) and keep the
    /// skipped slots, up to [`MAX_SKIPPED_NAMETAGS`], so late messages still decrypt.
    #[default]
    SkipAhead,
}

/// Where a received nametag sits among the expected ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Position in the upcoming window (0 = the next expected message).
    Window(usize),
    /// Position in the list of skipped slots.
    Skipped(usize),
}

/// The inbound side: the window of upcoming nametags and the skipped slots. The window covers
/// indexes `next..next + 50` below `u64::MAX` (Noise reserves nonce `2^64 - 1`), so it shrinks at
/// the very end of the counter instead of overflowing; readers refuse indexes above
/// [`MAX_NONCE`](super::symmetric::MAX_NONCE) long before.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredInbound", into = "StoredInbound")]
pub struct InboundNametags {
    secret: NametagSecret,
    /// Index of `window[0]`: the next expected message number.
    next: u64,
    window: VecDeque<MessageNametag>,
    skipped: VecDeque<(u64, MessageNametag)>,
}

impl InboundNametags {
    /// The window `#0..#49` for `secret`.
    pub fn new(secret: NametagSecret) -> Self {
        Self::starting_at(secret, 0)
    }

    /// The window `#next..#next+49` for `secret` (fewer near `u64::MAX`): a direction resumed
    /// at message `next` (an imported session), without hashing the skipped prefix.
    pub fn starting_at(secret: NametagSecret, next: u64) -> Self {
        let window = (next..window_end(next)).map(|i| secret.nametag(i)).collect();
        Self { secret, next, window, skipped: VecDeque::new() }
    }

    /// The nametag secret (session export only).
    pub fn secret(&self) -> &NametagSecret {
        &self.secret
    }

    /// Index of the next expected message.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// The upcoming nametags, next expected first.
    pub fn window(&self) -> impl Iterator<Item = &MessageNametag> {
        self.window.iter()
    }

    /// Message indexes skipped over and still accepted.
    pub fn skipped_indexes(&self) -> impl Iterator<Item = u64> + '_ {
        self.skipped.iter().map(|(i, _)| *i)
    }

    pub(crate) fn locate(&self, tag: &MessageNametag) -> Option<Slot> {
        if let Some(pos) = self.window.iter().position(|t| t == tag) {
            return Some(Slot::Window(pos));
        }
        self.skipped.iter().position(|(_, t)| t == tag).map(Slot::Skipped)
    }

    /// The message index (and nonce) of a slot.
    pub(crate) fn index_of(&self, slot: Slot) -> Option<u64> {
        match slot {
            Slot::Window(pos) => self.next.checked_add(u64::try_from(pos).ok()?),
            Slot::Skipped(pos) => self.skipped.get(pos).map(|(i, _)| *i),
        }
    }

    /// Consumes a slot after its message authenticated.
    pub(crate) fn consume(&mut self, slot: Slot) {
        match slot {
            Slot::Skipped(pos) => {
                self.skipped.remove(pos);
            }
            Slot::Window(pos) => {
                for _ in 0..pos {
                    if let Some(tag) = self.window.pop_front() {
                        self.remember_skipped(self.next, tag);
                        self.advance_one();
                    }
                }
                self.window.pop_front();
                self.advance_one();
            }
        }
    }

    /// Drops `count` upcoming slots without remembering them (harness-side recovery, as the
    /// js-noise interop tests do).
    pub fn skip(&mut self, count: usize) {
        for _ in 0..count {
            if self.window.pop_front().is_none() {
                return;
            }
            self.advance_one();
        }
    }

    fn remember_skipped(&mut self, index: u64, tag: MessageNametag) {
        if self.skipped.len() == MAX_SKIPPED_NAMETAGS {
            self.skipped.pop_front();
        }
        self.skipped.push_back((index, tag));
    }

    /// Moves past `window[0]`, already popped: the window gains the index after its end, if
    /// that index exists.
    fn advance_one(&mut self) {
        let end = window_end(self.next);
        self.next = self.next.saturating_add(1);
        if window_end(self.next) > end {
            self.window.push_back(self.secret.nametag(end));
        }
    }
}

/// What is stored of the inbound side: the window is a function of the secret and `next`, so
/// it is derived again on load rather than stored (50 nametags would be most of a session's
/// record, rewritten on every message).
#[derive(Serialize, Deserialize)]
struct StoredInbound {
    secret: NametagSecret,
    next: u64,
    skipped: VecDeque<(u64, MessageNametag)>,
}

impl From<InboundNametags> for StoredInbound {
    fn from(n: InboundNametags) -> Self {
        Self { secret: n.secret.clone(), next: n.next, skipped: n.skipped.clone() }
    }
}

impl From<StoredInbound> for InboundNametags {
    fn from(s: StoredInbound) -> Self {
        let mut nametags = InboundNametags::starting_at(s.secret.clone(), s.next);
        nametags.skipped = s.skipped.clone();
        nametags
    }
}

/// The first index after the window that starts at `next`: `u64::MAX` is never a message index.
fn window_end(next: u64) -> u64 {
    next.saturating_add(NAMETAG_WINDOW as u64)
}

impl std::fmt::Debug for InboundNametags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundNametags")
            .field("next", &self.next)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_and_remembers_skipped_slots() {
        let secret = NametagSecret::from_bytes([5; 32]);
        let mut inbound = InboundNametags::new(secret.clone());
        let tag3 = secret.nametag(3);
        let slot = inbound.locate(&tag3);
        assert_eq!(slot, Some(Slot::Window(3)));
        inbound.consume(Slot::Window(3));
        assert_eq!(inbound.next_index(), 4);
        assert_eq!(inbound.skipped_indexes().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(inbound.window().count(), NAMETAG_WINDOW);
        assert_eq!(inbound.window().last(), Some(&secret.nametag(53)));
        assert_eq!(inbound.locate(&tag3), None, "a consumed nametag is never accepted again");
        let late = inbound.locate(&secret.nametag(1));
        assert_eq!(late, Some(Slot::Skipped(1)));
        assert_eq!(late.and_then(|s| inbound.index_of(s)), Some(1));
    }

    #[test]
    fn starting_at_equals_consuming_the_prefix() {
        let secret = NametagSecret::from_bytes([7; 32]);
        let mut walked = InboundNametags::new(secret.clone());
        walked.skip(5);
        let resumed = InboundNametags::starting_at(secret, 5);
        assert_eq!(resumed.next_index(), 5);
        assert!(walked.window().eq(resumed.window()));
    }

    #[test]
    fn skipped_slots_are_bounded() {
        let secret = NametagSecret::from_bytes([6; 32]);
        let mut inbound = InboundNametags::new(secret.clone());
        inbound.consume(Slot::Window(49));
        inbound.consume(Slot::Window(49));
        assert_eq!(inbound.skipped_indexes().count(), MAX_SKIPPED_NAMETAGS);
        assert_eq!(inbound.skipped_indexes().next(), Some(48));
        assert_eq!(inbound.locate(&secret.nametag(0)), None);
    }

    #[test]
    fn the_window_never_reaches_index_u64_max() {
        let secret = NametagSecret::from_bytes([8; 32]);
        let mut inbound = InboundNametags::starting_at(secret.clone(), u64::MAX - NAMETAG_WINDOW as u64);
        assert_eq!(inbound.window().count(), NAMETAG_WINDOW);
        inbound.consume(Slot::Window(0));
        assert_eq!(inbound.window().count(), NAMETAG_WINDOW - 1, "no index past u64::MAX - 1 joins the window");
        assert_eq!(inbound.window().last(), Some(&secret.nametag(u64::MAX - 1)));
        assert_eq!(inbound.locate(&secret.nametag(u64::MAX)), None);
    }

    #[test]
    fn debug_output_names_the_type_and_hides_the_secret() {
        let secret = NametagSecret::from_bytes([0xab; 32]);
        assert_eq!(format!("{secret:?}"), "NametagSecret(<redacted>)");
        let inbound = format!("{:?}", InboundNametags::starting_at(secret, 7));
        assert!(inbound.starts_with("InboundNametags") && inbound.contains("next: 7"), "{inbound}");
        assert!(!inbound.contains("abab"), "{inbound}");
    }
}
