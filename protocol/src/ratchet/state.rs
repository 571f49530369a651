//! The Double Ratchet state machine (Signal DR §3, profile §5.6, §5.7), with the sending ratchet key
//! generated lazily at the next send (DR §6.5) so that decryption needs no randomness and is a
//! pure function of state and message.
//!
//! Every operation computes its result on the side and commits only when nothing can fail any
//! more: a decryption commits only after the AEAD tag verifies (DR §3.5), so a refused message
//! leaves the state exactly as it was.

use serde::{Deserialize, Serialize};

use super::kdf::{ChainKey, MessageKey, RootKey};
use super::skipped::SkippedKeys;
use super::{Header, MAX_SKIP, RatchetError};
use crate::crypto::{KeyPair, PublicKey};
use crate::entropy::Entropy;

/// Largest associated data assembled on the stack (the session AD is at most 579 bytes).
const STACK_AAD: usize = 640;

/// The sending half of the ratchet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sending {
    /// A sending chain exists: messages go out under `ratchet`'s public key (cached with its
    /// secret, never re-derived per message).
    Active {
        /// Our current ratchet key pair DHs.
        ratchet: KeyPair,
        /// The sending chain key CKs.
        chain: ChainKey,
        /// The number of the next message (Ns).
        n: u32,
    },
    /// A new ratchet key of the peer was received: the next send draws a fresh key pair and
    /// starts a new sending chain (the second half of DR `DHRatchet`, deferred).
    Pending,
}

impl Sending {
    /// The state's name in [`SENDING_STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Active { .. } => "Active",
            Self::Pending => "Pending",
        }
    }
}

/// The sending half's transitions ([`crate::diagram`]): the deferred DH ratchet step.
pub const SENDING_STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "ratchet_sending",
        title: "Double Ratchet sending half (DR §3, profile §5.6)",
        code: "`ratchet::Sending` (`Ratchet::sending`), `protocol/src/ratchet/state.rs`",
        summary: "Whether a sending chain exists. A new ratchet key from the peer closes it (`Pending`); the next \
                  send draws a fresh key pair and opens a new one, so decryption needs no randomness. Decryption \
                  commits only after the AEAD tag verifies: a refused message leaves the ratchet as it was. The \
                  initiator's ratchet is built by `x3dh::initiate`, the responder's by `x3dh::respond`.",
        transitions: &[
            T::new(OUTSIDE, "initiator", "Active", "x3dh initiate"),
            T::new(OUTSIDE, "responder", "Pending", "x3dh respond"),
            T::new("Active", "encrypt", "Active", "next message key of the chain"),
            T::new("Active", "decrypt", "Active", "current receiving chain or a skipped key"),
            T::new("Active", "decrypt", "Pending", "a new ratchet key of the peer"),
            T::new("Pending", "encrypt", "Active", "fresh ratchet key pair, new sending chain"),
            T::new("Pending", "decrypt", "Pending", "current receiving chain or a skipped key"),
        ],
    }
};

/// The current receiving chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReceivingChain {
    /// The peer's ratchet key DHr.
    ratchet_key: PublicKey,
    /// The receiving chain key CKr.
    chain: ChainKey,
    /// The number of the next expected message (Nr).
    next: u32,
}

/// A Double Ratchet state. Encrypt and decrypt take the associated data `AD` of the session;
/// the AEAD authenticates `AD || header.encode()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratchet {
    root: RootKey,
    sending: Sending,
    /// PN: the length of our previous sending chain, sent in every header of the current one.
    previous_chain_length: u32,
    receiving: Option<ReceivingChain>,
    skipped: SkippedKeys,
}

/// Keys derived while skipping through a chain, before anything is committed.
struct Skip {
    /// The keys of the skipped messages, in order.
    skipped: Vec<(u32, MessageKey)>,
    /// The key of the target message.
    key: MessageKey,
    /// The chain key after the target message.
    chain: ChainKey,
}

impl Ratchet {
    /// The initiator's state (DR §3.3 `RatchetInitAlice`): a fresh ratchet key pair DHs,
    /// `RK, CKs = KDF_RK(SK, DH(DHs, SPK_B))`, no receiving chain yet.
    pub fn initiator(
        shared: RootKey,
        remote_prekey: &PublicKey,
        entropy: &mut dyn Entropy,
    ) -> Result<Self, RatchetError> {
        let ratchet = KeyPair::generate(entropy);
        let (root, chain) = shared.ratchet(&ratchet.diffie_hellman(remote_prekey)?);
        Ok(Self {
            root,
            sending: Sending::Active { ratchet, chain, n: 0 },
            previous_chain_length: 0,
            receiving: None,
            skipped: SkippedKeys::new(),
        })
    }

    /// The responder's state after the receiving half of its first DH ratchet step (DR §3.3
    /// `RatchetInitBob` with DHs = SPK_B, then `DHRatchet` on the initiator's first header):
    /// `RK, CKr = KDF_RK(SK, DH(SPK_B, DHr))`. Its sending chain starts at its first send.
    pub fn responder(shared: RootKey, prekey: &KeyPair, remote_ratchet: &PublicKey) -> Result<Self, RatchetError> {
        let (root, chain) = shared.ratchet(&prekey.diffie_hellman(remote_ratchet)?);
        let mut skipped = SkippedKeys::new();
        skipped.open_chain(*remote_ratchet);
        Ok(Self {
            root,
            sending: Sending::Pending,
            previous_chain_length: 0,
            receiving: Some(ReceivingChain { ratchet_key: *remote_ratchet, chain, next: 0 }),
            skipped,
        })
    }

    /// Encrypts `plaintext` (DR §3.4 `RatchetEncrypt`), advancing the sending chain, and draws a
    /// new ratchet key pair from `entropy` first if a DH ratchet step is pending.
    pub fn encrypt(
        &mut self,
        plaintext: &[u8],
        ad: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<(Header, Vec<u8>), RatchetError> {
        let mut new_root = None;
        let mut fresh = None;
        let (ratchet, chain, n) = match &self.sending {
            Sending::Active { ratchet, chain, n } => (ratchet, chain, *n),
            Sending::Pending => {
                let remote = self.receiving.as_ref().ok_or(RatchetError::NoRemoteRatchetKey)?.ratchet_key;
                let ratchet = KeyPair::generate(entropy);
                let (root, chain) = self.root.ratchet(&ratchet.diffie_hellman(&remote)?);
                new_root = Some(root);
                let (ratchet, chain) = fresh.insert((ratchet, chain));
                (&*ratchet, &*chain, 0)
            }
        };
        let after = n.checked_add(1).ok_or(RatchetError::ChainExhausted)?;
        let (next_chain, key) = chain.step();
        let header = Header { ratchet_key: *ratchet.public(), previous_chain_length: self.previous_chain_length, n };
        let mut ciphertext = Vec::new();
        with_aad(ad, &header, |aad| key.seal_into(aad, plaintext, &mut ciphertext));
        let ratchet = match fresh {
            Some((ratchet, _)) => ratchet,
            None => match std::mem::replace(&mut self.sending, Sending::Pending) {
                Sending::Active { ratchet, .. } => ratchet,
                Sending::Pending => return Err(RatchetError::NoRemoteRatchetKey),
            },
        };
        if let Some(root) = new_root {
            self.root = root;
        }
        self.sending = Sending::Active { ratchet, chain: next_chain, n: after };
        Ok((header, ciphertext))
    }

    /// Authenticates and decrypts a message (DR §3.5 `RatchetDecrypt`): from a stored skipped
    /// key, from the current receiving chain, or after a DH ratchet step for a new ratchet key.
    /// On any error the state is unchanged.
    pub fn decrypt(&mut self, header: &Header, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let current = self.receiving.as_ref().filter(|r| r.ratchet_key == header.ratchet_key);
        if let Some(current) = current
            && header.n >= current.next
        {
            return self.decrypt_current(header, ciphertext, ad);
        }
        if self.skipped.knows(&header.ratchet_key) {
            return self.decrypt_skipped(header, ciphertext, ad);
        }
        self.decrypt_new_chain(header, ciphertext, ad)
    }

    fn decrypt_skipped(&mut self, header: &Header, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let (slot, key) =
            self.skipped.find(&header.ratchet_key, header.n).ok_or(RatchetError::DuplicateMessage { n: header.n })?;
        let plaintext = open(key, header, ciphertext, ad)?;
        self.skipped.take(slot);
        Ok(plaintext)
    }

    fn decrypt_current(&mut self, header: &Header, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let Some(current) = self.receiving.as_mut() else { return Err(RatchetError::NoRemoteRatchetKey) };
        let after = header.n.checked_add(1).ok_or(RatchetError::ChainExhausted)?;
        check_skip(current.next, header.n)?;
        let skip = skip_to(&current.chain, current.next, header.n);
        let plaintext = open(&skip.key, header, ciphertext, ad)?;
        current.chain = skip.chain;
        current.next = after;
        self.skipped.store(&header.ratchet_key, skip.skipped);
        self.skipped.count_derivations(1);
        self.skipped.enforce_limits();
        Ok(plaintext)
    }

    fn decrypt_new_chain(&mut self, header: &Header, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let Sending::Active { ratchet, n: sent, .. } = &self.sending else {
            return Err(RatchetError::UnexpectedRatchetKey);
        };
        let after = header.n.checked_add(1).ok_or(RatchetError::ChainExhausted)?;
        if let Some(old) = &self.receiving {
            check_skip(old.next, header.previous_chain_length)?;
        }
        check_skip(0, header.n)?;
        let dh = ratchet.diffie_hellman(&header.ratchet_key)?;
        let (root, chain) = self.root.ratchet(&dh);
        let new = skip_to(&chain, 0, header.n);
        let plaintext = open(&new.key, header, ciphertext, ad)?;
        // Authenticated: commit the rest of the old chain, then the new chain.
        let sent = *sent;
        if let Some(old) = self.receiving.take() {
            let rest = skip_to(&old.chain, old.next, header.previous_chain_length);
            self.skipped.store(&old.ratchet_key, rest.skipped);
        }
        self.skipped.open_chain(header.ratchet_key);
        self.skipped.store(&header.ratchet_key, new.skipped);
        self.skipped.count_derivations(1);
        self.skipped.enforce_limits();
        self.root = root;
        self.receiving = Some(ReceivingChain { ratchet_key: header.ratchet_key, chain: new.chain, next: after });
        self.previous_chain_length = sent;
        self.sending = Sending::Pending;
        Ok(plaintext)
    }

    /// Our current sending ratchet key, if a sending chain exists.
    pub fn sending_ratchet_key(&self) -> Option<&PublicKey> {
        match &self.sending {
            Sending::Active { ratchet, .. } => Some(ratchet.public()),
            Sending::Pending => None,
        }
    }

    /// The sending half (for inspection and tests).
    pub fn sending(&self) -> &Sending {
        &self.sending
    }

    /// The peer's current ratchet key, if we have received from it.
    pub fn receiving_ratchet_key(&self) -> Option<&PublicKey> {
        self.receiving.as_ref().map(|r| &r.ratchet_key)
    }

    /// Whether `ratchet_key` is the current or a recorded previous receiving chain.
    pub fn knows_ratchet_key(&self, ratchet_key: &PublicKey) -> bool {
        self.receiving_ratchet_key() == Some(ratchet_key) || self.skipped.knows(ratchet_key)
    }

    /// Number of stored skipped message keys.
    pub fn stored_skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Number of recorded receiving chains (at most [`super::MAX_RECEIVING_CHAINS`]).
    pub fn receiving_chains(&self) -> usize {
        self.skipped.chain_count()
    }

    /// Number of receive-side message keys derived so far (the age counter).
    pub fn receive_derivations(&self) -> u64 {
        self.skipped.derived()
    }
}

/// Refuses to skip more than [`MAX_SKIP`] keys to reach message `until` from `next`.
fn check_skip(next: u32, until: u32) -> Result<(), RatchetError> {
    let skip = u64::from(until).saturating_sub(u64::from(next));
    if skip > u64::from(MAX_SKIP) {
        return Err(RatchetError::TooManySkipped { skip });
    }
    Ok(())
}

/// Derives the keys of messages `from..target` (skipped) and of `target`, without touching
/// any state. The caller bounds `target - from` with [`check_skip`]; when `target < from` only
/// `target`'s slot is computed from `from` (callers never use it then).
fn skip_to(chain: &ChainKey, from: u32, target: u32) -> Skip {
    let count = target.saturating_sub(from) as usize;
    let mut skipped = Vec::with_capacity(count);
    let (mut chain, mut key) = chain.step();
    for n in from..target {
        skipped.push((n, key));
        (chain, key) = chain.step();
    }
    Skip { skipped, key, chain }
}

fn open(key: &MessageKey, header: &Header, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
    with_aad(ad, header, |aad| key.open(aad, ciphertext)).map_err(|_| RatchetError::AuthenticationFailed)
}

/// Calls `f` with `ad || header.encode()`, assembled on the stack when it fits.
fn with_aad<R>(ad: &[u8], header: &Header, f: impl FnOnce(&[u8]) -> R) -> R {
    let encoded = header.encode();
    let total = ad.len() + encoded.len();
    if total <= STACK_AAD {
        let mut buffer = [0u8; STACK_AAD];
        buffer[..ad.len()].copy_from_slice(ad);
        buffer[ad.len()..total].copy_from_slice(&encoded);
        f(&buffer[..total])
    } else {
        f(&[ad, &encoded[..]].concat())
    }
}
