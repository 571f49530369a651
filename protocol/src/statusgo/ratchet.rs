//! status-go's Double Ratchet (status-im/doubleratchet with `EthereumCrypto`): secp256k1 ratchet
//! keys, HKDF and HMAC constants of its own, AES-256-CTR + HMAC-SHA256 messages, and the 41-byte
//! header as the only associated data.
//!
//! Two differences from status-go, neither visible on the wire: a decrypt that fails changes
//! nothing (status-go also works on a copy), and a message key is deleted once its message is
//! decrypted, so a replayed message is refused (status-go keeps keys until the application
//! confirms, and decrypts a replay again); the peer commits the delivery and the deletion in one
//! change set, which gives the same at-least-once processing without replays.

use aes::cipher::{KeyIvInit, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::keys::{COMPRESSED_LEN, PublicKey, SecretKey};
use crate::crypto::hash::{HmacSha256, hkdf_sha256, hkdf_sha256_zero_salt};
use crate::entropy::Entropy;
use crate::ratchet::{ChainKey, MessageKey, RootKey};

/// `KDF_RK`'s HKDF info (`ethereum_crypto.go`).
pub const INFO_ROOT: &[u8] = b"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL";
/// The HKDF info that turns a message key into the AES key, HMAC key and IV.
pub const INFO_MESSAGE_KEYS: &[u8] = b"pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh";
/// `KDF_CK` input for the next chain key.
const CHAIN_KEY_INPUT: u8 = 0x0f;
/// `KDF_CK` input for the message key.
const MESSAGE_KEY_INPUT: u8 = 0x10;
/// Most message keys one header may make us skip (status-go `MaxSkip`).
pub const MAX_SKIP: u32 = 1000;
/// Most skipped keys kept per session (status-go `MaxMessageKeysPerSession`); the oldest go first.
pub const MAX_KEYS_PER_SESSION: usize = 2000;
/// Skipped keys older than this many derived keys are deleted (status-go `MaxKeep`).
pub const MAX_KEEP: u64 = 3000;
/// The IV carried in front of the ciphertext.
pub const IV_LEN: usize = 16;
/// The HMAC-SHA256 tag after it.
pub const TAG_LEN: usize = 32;
/// Length of the associated data: `LE32(N) ‖ LE32(PN) ‖ DH(33)`.
pub const AD_LEN: usize = 8 + COMPRESSED_LEN;

/// Why a message did not decrypt. The session is unchanged in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatchetError {
    /// The header asks us to skip more than [`MAX_SKIP`] keys (status-go "too many messages").
    #[error("message {n} is more than {MAX_SKIP} ahead of the receiving chain")]
    TooFarAhead {
        /// The header's message number.
        n: u32,
    },
    /// The message's key was used or dropped: a replay, or a message older than the stored keys
    /// (status-go "bad until").
    #[error("message key {n} is no longer held (replay or too old)")]
    KeyGone {
        /// The header's message number.
        n: u32,
    },
    /// Shorter than IV and tag (status-go panics here).
    #[error("ciphertext of {0} bytes is shorter than IV and tag")]
    TooShort(usize),
    /// The HMAC did not verify.
    #[error("message authentication failed")]
    BadMac,
}

/// The Double Ratchet header (the `DRHeader` fields the MAC covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The sender's ratchet public key.
    pub key: PublicKey,
    /// The message number in the sending chain.
    pub n: u32,
    /// The length of the previous sending chain.
    pub pn: u32,
}

impl Header {
    /// The associated data status-go's library builds: `LE32(N) ‖ LE32(PN) ‖ DH`.
    pub fn associated_data(&self) -> [u8; AD_LEN] {
        let mut ad = [0u8; AD_LEN];
        ad[..4].copy_from_slice(&self.n.to_le_bytes());
        ad[4..8].copy_from_slice(&self.pn.to_le_bytes());
        ad[8..].copy_from_slice(self.key.compressed());
        ad
    }
}

/// `KDF_RK(rk, dh)`: HKDF-SHA256 with the root key as salt; the third block (a header key) is
/// computed by status-go but never used.
pub fn kdf_rk(root: &RootKey, dh: &[u8; 32]) -> (RootKey, ChainKey) {
    let mut okm = hkdf_sha256::<96>(root.as_bytes(), &[dh], INFO_ROOT);
    let (mut next_root, mut chain) = ([0u8; 32], [0u8; 32]);
    next_root.copy_from_slice(&okm[..32]);
    chain.copy_from_slice(&okm[32..64]);
    okm.zeroize();
    (RootKey::from_bytes(next_root), ChainKey::from_bytes(chain))
}

/// `KDF_CK(ck)`: `(HMAC(ck, 0x0f), HMAC(ck, 0x10))` = (next chain key, message key).
pub fn kdf_ck(chain: &ChainKey) -> (ChainKey, MessageKey) {
    let mac = HmacSha256::new(chain.as_bytes());
    (ChainKey::from_bytes(mac.tag(&[&[CHAIN_KEY_INPUT]])), MessageKey::from_bytes(mac.tag(&[&[MESSAGE_KEY_INPUT]])))
}

/// The AES-256 key, HMAC key and IV of a message key: HKDF-SHA256, zero salt, 80 bytes.
struct MessageKeys {
    encryption: Zeroizing<[u8; 32]>,
    authentication: Zeroizing<[u8; 32]>,
    iv: [u8; IV_LEN],
}

impl MessageKeys {
    fn derive(key: &MessageKey) -> Self {
        let okm = Zeroizing::new(hkdf_sha256_zero_salt::<80>(&[key.as_bytes()], INFO_MESSAGE_KEYS));
        let (mut encryption, mut authentication, mut iv) =
            (Zeroizing::new([0u8; 32]), Zeroizing::new([0u8; 32]), [0u8; IV_LEN]);
        encryption.copy_from_slice(&okm[..32]);
        authentication.copy_from_slice(&okm[32..64]);
        iv.copy_from_slice(&okm[64..]);
        Self { encryption, authentication, iv }
    }

    /// AES-256-CTR with a 128-bit big-endian counter from `iv` (Go's `cipher.NewCTR`).
    fn apply_keystream(&self, iv: &[u8; IV_LEN], buffer: &mut [u8]) {
        let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new((&*self.encryption).into(), iv.into());
        cipher.apply_keystream(buffer);
    }

    fn tag(&self, ad: &[u8], iv: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
        HmacSha256::new(self.authentication.as_ref()).tag(&[ad, iv, body])
    }
}

/// `ENCRYPT(mk, plaintext, ad)`: `IV ‖ AES-256-CTR(plaintext) ‖ HMAC(ad ‖ IV ‖ body)`.
pub fn encrypt(key: &MessageKey, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let keys = MessageKeys::derive(key);
    let mut out = Vec::with_capacity(IV_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&keys.iv);
    out.extend_from_slice(plaintext);
    keys.apply_keystream(&keys.iv, &mut out[IV_LEN..]);
    let tag = keys.tag(ad, &keys.iv, &out[IV_LEN..]);
    out.extend_from_slice(&tag);
    out
}

/// `DECRYPT(mk, ciphertext, ad)`, comparing the tag in constant time. The IV is the one carried
/// in the message, as status-go reads it.
pub fn decrypt(key: &MessageKey, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, RatchetError> {
    let too_short = RatchetError::TooShort(ciphertext.len());
    let body_end = ciphertext.len().checked_sub(TAG_LEN).filter(|&end| end >= IV_LEN).ok_or(too_short)?;
    let (sealed, tag) = ciphertext.split_at(body_end);
    let (iv, body) = sealed.split_at(IV_LEN);
    let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| too_short)?;
    let keys = MessageKeys::derive(key);
    if !bool::from(keys.tag(ad, iv, body).ct_eq(tag)) {
        return Err(RatchetError::BadMac);
    }
    let mut plaintext = body.to_vec();
    keys.apply_keystream(iv, &mut plaintext);
    Ok(plaintext)
}

/// A symmetric chain: its key and the number of the next message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Chain {
    /// The chain key.
    pub key: ChainKey,
    /// The next message number.
    pub n: u32,
}

impl Chain {
    fn step(&mut self) -> MessageKey {
        let (next, message) = kdf_ck(&self.key);
        self.key = next;
        self.n += 1;
        message
    }
}

/// A skipped message key, held until its message arrives or it is evicted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedKey {
    /// The ratchet key of its chain (`None`: the responder's chain before the first step).
    pub dh: Option<PublicKey>,
    /// Its message number.
    pub n: u32,
    /// The key.
    pub key: MessageKey,
    /// status-go's `seq_num`: the session's key count when it was derived (for `MAX_KEEP`).
    pub seq: u64,
}

/// One session's ratchet state, as status-go stores it in its `sessions` table.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// Our ratchet key pair (`DHs`).
    pub dhs: SecretKey,
    /// Their ratchet key (`DHr`); `None` for a responder before the first message.
    pub dhr: Option<PublicKey>,
    /// The root key.
    pub root: RootKey,
    /// The sending chain.
    pub send: Chain,
    /// The receiving chain.
    pub recv: Chain,
    /// The previous sending chain's length.
    pub pn: u32,
    /// Message keys derived on receipt so far (status-go `keys_count`).
    pub keys_count: u64,
    /// Skipped keys, oldest first.
    pub skipped: Vec<SkippedKey>,
}

/// What a decrypt changes, staged until the message authenticates.
struct Staged {
    dhs: Option<SecretKey>,
    dhr: Option<PublicKey>,
    root: RootKey,
    send: Chain,
    recv: Chain,
    pn: u32,
    new_skipped: Vec<(Option<PublicKey>, u32, MessageKey)>,
}

impl Session {
    /// The responder's session (status-go `dr.New(sk, SPK)`): `DHs = SPK`, and root, sending and
    /// receiving chains all start at SK.
    pub fn responder(sk: &[u8; 32], signed_pre_key: SecretKey) -> Self {
        Self {
            dhs: signed_pre_key,
            dhr: None,
            root: RootKey::from_bytes(*sk),
            send: Chain { key: ChainKey::from_bytes(*sk), n: 0 },
            recv: Chain { key: ChainKey::from_bytes(*sk), n: 0 },
            pn: 0,
            keys_count: 0,
            skipped: Vec::new(),
        }
    }

    /// The initiator's session (status-go `dr.NewWithRemoteKey(sk, SPK_B)`): a fresh ratchet key,
    /// `RK, CKs = KDF_RK(SK, DH(DHs, SPK_B))`, and the receiving chain at SK.
    pub fn initiator(sk: &[u8; 32], their_signed_pre_key: PublicKey, entropy: &mut dyn Entropy) -> Self {
        let dhs = SecretKey::generate(entropy);
        let (root, send) = kdf_rk(&RootKey::from_bytes(*sk), dhs.diffie_hellman(&their_signed_pre_key).as_bytes());
        Self {
            dhs,
            dhr: Some(their_signed_pre_key),
            root,
            send: Chain { key: send, n: 0 },
            recv: Chain { key: ChainKey::from_bytes(*sk), n: 0 },
            pn: 0,
            keys_count: 0,
            skipped: Vec::new(),
        }
    }

    /// Encrypts the next message of the sending chain.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> (Header, Vec<u8>) {
        let header = Header { key: self.dhs.public_key(), n: self.send.n, pn: self.pn };
        let key = self.send.step();
        (header, encrypt(&key, plaintext, &header.associated_data()))
    }

    /// Decrypts a message. On any error the session is exactly as it was.
    pub fn decrypt(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<u8>, RatchetError> {
        if let Some(index) = self.skipped.iter().position(|k| k.dh == Some(header.key) && k.n == header.n) {
            let plaintext = decrypt(&self.skipped[index].key, ciphertext, &header.associated_data())?;
            self.skipped.remove(index);
            return Ok(plaintext);
        }
        let mut staged = self.stage();
        if self.dhr != Some(header.key) {
            staged.skip_until(self.dhr, header.pn, header.n)?;
            staged.dh_ratchet(&self.dhs, header.key, entropy);
        }
        staged.skip_until(Some(header.key), header.n, header.n)?;
        let key = staged.recv.step();
        let plaintext = decrypt(&key, ciphertext, &header.associated_data())?;
        self.commit(staged);
        Ok(plaintext)
    }

    fn stage(&self) -> Staged {
        Staged {
            dhs: None,
            dhr: self.dhr,
            root: self.root.clone(),
            send: self.send.clone(),
            recv: self.recv.clone(),
            pn: self.pn,
            new_skipped: Vec::new(),
        }
    }

    fn commit(&mut self, staged: Staged) {
        if let Some(dhs) = staged.dhs {
            self.dhs = dhs;
        }
        self.dhr = staged.dhr;
        self.root = staged.root;
        self.send = staged.send;
        self.recv = staged.recv;
        self.pn = staged.pn;
        for (dh, n, key) in staged.new_skipped {
            self.skipped.push(SkippedKey { dh, n, key, seq: self.keys_count });
            self.keys_count += 1;
        }
        // The key just used counts too, as status-go stores it.
        self.keys_count += 1;
        self.evict();
    }

    /// status-go's `TruncateMks` (newest 2000 kept) and `DeleteOldMks` (seq ≤ count − 3000).
    fn evict(&mut self) {
        let excess = self.skipped.len().saturating_sub(MAX_KEYS_PER_SESSION);
        self.skipped.drain(..excess);
        let horizon = self.keys_count.saturating_sub(MAX_KEEP);
        if self.keys_count >= MAX_KEEP {
            self.skipped.retain(|k| k.seq > horizon);
        }
    }
}

impl Staged {
    /// Derives and stages the receiving chain's keys up to `until` (exclusive). `n` is the
    /// header's number, for the error.
    fn skip_until(&mut self, dh: Option<PublicKey>, until: u32, n: u32) -> Result<(), RatchetError> {
        if until < self.recv.n {
            return Err(RatchetError::KeyGone { n });
        }
        if until - self.recv.n > MAX_SKIP {
            return Err(RatchetError::TooFarAhead { n });
        }
        while self.recv.n < until {
            let index = self.recv.n;
            let key = self.recv.step();
            self.new_skipped.push((dh, index, key));
        }
        Ok(())
    }

    /// The DH ratchet step: a new receiving chain from their key, then a new sending chain from a
    /// fresh key of ours.
    fn dh_ratchet(&mut self, dhs: &SecretKey, their_key: PublicKey, entropy: &mut dyn Entropy) {
        self.pn = self.send.n;
        self.dhr = Some(their_key);
        let (root, recv) = kdf_rk(&self.root, dhs.diffie_hellman(&their_key).as_bytes());
        let fresh = SecretKey::generate(entropy);
        let (root, send) = kdf_rk(&root, fresh.diffie_hellman(&their_key).as_bytes());
        self.root = root;
        self.recv = Chain { key: recv, n: 0 };
        self.send = Chain { key: send, n: 0 };
        self.dhs = Some(fresh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The status-im/doubleratchet `DefaultCrypto` vector (research notes x3dh-ratchet.md §1.8,
    /// produced by running the Go library; its KDF and ENCRYPT are `EthereumCrypto`'s).
    #[test]
    fn doubleratchet_symmetric_known_answer() {
        let root = RootKey::from_bytes(unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
        let dh: [u8; 32] = unhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafa0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
        let (next_root, chain) = kdf_rk(&root, &dh);
        assert_eq!(
            hex::encode(next_root.as_bytes()),
            "3965e9f19cd3524bcaa51109ec710ae2cd5050a8f42eaf6343b265321c514096"
        );
        assert_eq!(hex::encode(chain.as_bytes()), "e7b92c2872ec024c1e03ff1330cf82e0bf304f7f739597296510f093bcc91728");
        let (next_chain, message) = kdf_ck(&chain);
        assert_eq!(
            hex::encode(next_chain.as_bytes()),
            "89c53dcc57443f6775cbec03cb243fe6dcc1184ee3ff087798f9c40ee4fd086d"
        );
        assert_eq!(hex::encode(message.as_bytes()), "8c934b67d002fe9939c3be1792ae2c2ea4f990f95f47686dca9a2bb02b951112");
        let ad =
            hex::decode("0100000002000000a0a1a2a3a4a5a6a7a8a9aaabacadaeafa0a1a2a3a4a5a6a7a8a9aaabacadaeaf").unwrap();
        let ciphertext = encrypt(&message, b"hello status", &ad);
        assert_eq!(
            hex::encode(&ciphertext),
            "7e1072c0dc3b42a7fe67d6f4e40a4de834484dbc70d81f6b2e66ea0595de13c5495adfb5672b6b0135186a1dfa64296a5a1f5e9082934ce1098d42e5"
        );
        assert_eq!(decrypt(&message, &ciphertext, &ad).unwrap(), b"hello status");
    }

    fn pair(entropy: &mut SeededEntropy) -> (Session, Session) {
        let prekey = SecretKey::generate(entropy);
        let sk = [7u8; 32];
        (Session::initiator(&sk, prekey.public_key(), entropy), Session::responder(&sk, prekey))
    }

    /// Every field, secrets included (the Debug form redacts them).
    fn fingerprint(session: &Session) -> String {
        let secrets = [session.dhs.to_bytes().to_vec(), session.root.as_bytes().to_vec()];
        let chains = [session.send.key.as_bytes(), session.recv.key.as_bytes()];
        format!("{secrets:?} {chains:?} {:?} {:?}", session.dhr, (session.send.n, session.recv.n, session.pn))
            + &format!(" {} {}", session.keys_count, session.skipped.len())
    }

    #[test]
    fn out_of_order_messages_decrypt_once_and_replays_are_refused() {
        let mut entropy = SeededEntropy::from_u64(1);
        let (mut alice, mut bob) = pair(&mut entropy);
        let sent: Vec<_> = (0..4u8).map(|i| alice.encrypt(&[i; 5])).collect();
        for index in [2, 0, 3, 1] {
            let (header, ciphertext) = &sent[index];
            assert_eq!(bob.decrypt(header, ciphertext, &mut entropy).unwrap(), vec![index as u8; 5]);
        }
        assert!(bob.skipped.is_empty());
        let (header, ciphertext) = &sent[1];
        assert_eq!(bob.decrypt(header, ciphertext, &mut entropy), Err(RatchetError::KeyGone { n: 1 }));
        let (reply_header, reply) = bob.encrypt(b"back");
        assert_eq!(alice.decrypt(&reply_header, &reply, &mut entropy).unwrap(), b"back");
        assert_eq!(alice.pn, 4);
    }

    #[test]
    fn failures_leave_the_session_unchanged() {
        let mut entropy = SeededEntropy::from_u64(2);
        let (mut alice, mut bob) = pair(&mut entropy);
        let (header, mut ciphertext) = alice.encrypt(b"hi");
        let before = fingerprint(&bob);
        *ciphertext.last_mut().unwrap() ^= 1;
        assert_eq!(bob.decrypt(&header, &ciphertext, &mut entropy), Err(RatchetError::BadMac));
        assert_eq!(bob.decrypt(&header, &ciphertext[..47], &mut entropy), Err(RatchetError::TooShort(47)));
        let far = Header { n: MAX_SKIP + 1, ..header };
        assert_eq!(bob.decrypt(&far, &ciphertext, &mut entropy), Err(RatchetError::TooFarAhead { n: MAX_SKIP + 1 }));
        assert_eq!(fingerprint(&bob), before);
        let exactly_max = Header { n: MAX_SKIP, ..header };
        assert_eq!(bob.decrypt(&exactly_max, &ciphertext, &mut entropy), Err(RatchetError::BadMac));
    }

    #[test]
    fn skipped_keys_are_bounded_per_session() {
        let mut entropy = SeededEntropy::from_u64(3);
        let (mut alice, mut bob) = pair(&mut entropy);
        for _ in 0..3 {
            for _ in 0..MAX_SKIP {
                alice.encrypt(b"lost");
            }
            let (header, ciphertext) = alice.encrypt(b"kept");
            bob.decrypt(&header, &ciphertext, &mut entropy).unwrap();
        }
        assert_eq!(bob.skipped.len(), MAX_KEYS_PER_SESSION);
        assert_eq!(bob.keys_count, 3 * (u64::from(MAX_SKIP) + 1));
        // 3000 keys were skipped (0..1000, 1001..2001, 2002..3002); the oldest 1000 went first.
        assert_eq!(bob.skipped.first().map(|k| k.n), Some(MAX_SKIP + 1));
    }
}
