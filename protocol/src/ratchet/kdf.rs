//! The three key derivation functions of the Double Ratchet (Signal DR spec §5.2, profile §5.6):
//! `KDF_RK` (root chain), `KDF_CK` (symmetric chains) and the AEAD key and nonce derived from a
//! message key. The secret types zeroize on drop and print as `<redacted>`.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{INFO_MESSAGE_KEYS, INFO_ROOT};
use crate::crypto::SharedSecret;
use crate::crypto::hash::{HmacSha256, hkdf_sha256, hkdf_sha256_zero_salt};

macro_rules! secret_key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "crate::serde_bytes")] [u8; 32]);

        impl $name {
            /// Wraps 32 secret bytes (test vectors and persistence).
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The secret bytes (test vectors only).
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_key_type!(
    /// The root key RK. The X3DH output SK is the first one.
    RootKey
);
secret_key_type!(
    /// A sending or receiving chain key CK.
    ChainKey
);
secret_key_type!(
    /// A message key MK: used for exactly one message, then deleted.
    MessageKey
);

/// `KDF_CK` input byte for the message key (Signal DR §5.2).
const CK_MESSAGE_INPUT: u8 = 0x01;
/// `KDF_CK` input byte for the next chain key (Signal DR §5.2).
const CK_CHAIN_INPUT: u8 = 0x02;

impl RootKey {
    /// `KDF_RK(rk, dh_out)`: `HKDF-SHA256(salt = rk, ikm = dh_out, info = "WAKU2-1TO1-v1/Root",
    /// L = 64)`, split into the next root key and a new chain key.
    pub fn ratchet(&self, dh_out: &SharedSecret) -> (RootKey, ChainKey) {
        let mut okm = hkdf_sha256::<64>(&self.0, &[dh_out.as_bytes()], INFO_ROOT);
        let (mut root, mut chain) = ([0u8; 32], [0u8; 32]);
        root.copy_from_slice(&okm[..32]);
        chain.copy_from_slice(&okm[32..]);
        okm.zeroize();
        (RootKey(root), ChainKey(chain))
    }
}

impl ChainKey {
    /// `KDF_CK(ck)`: `MK = HMAC-SHA256(ck, 0x01)`, `CK' = HMAC-SHA256(ck, 0x02)`. The HMAC key
    /// schedule is computed once for both outputs.
    pub fn step(&self) -> (ChainKey, MessageKey) {
        let mac = HmacSha256::new(&self.0);
        let message = mac.tag(&[&[CK_MESSAGE_INPUT]]);
        let next = mac.tag(&[&[CK_CHAIN_INPUT]]);
        (ChainKey(next), MessageKey(message))
    }
}

/// The AES-256-GCM key and nonce of one message, zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct AeadKeys {
    /// The AES-256 key.
    pub key: [u8; 32],
    /// The 96-bit GCM nonce.
    pub nonce: [u8; 12],
}

impl std::fmt::Debug for AeadKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKeys(<redacted>)")
    }
}

impl MessageKey {
    /// `HKDF-SHA256(salt = 0x00×32, ikm = mk, info = "WAKU2-1TO1-v1/MessageKeys", L = 44)`:
    /// key = okm[0..32], nonce = okm[32..44]. Both are derived, so no nonce travels on the wire,
    /// and a fresh key per message makes the nonce unique per key.
    pub fn aead_keys(&self) -> AeadKeys {
        let mut okm = hkdf_sha256_zero_salt::<44>(&[&self.0], INFO_MESSAGE_KEYS);
        let mut keys = AeadKeys { key: [0; 32], nonce: [0; 12] };
        keys.key.copy_from_slice(&okm[..32]);
        keys.nonce.copy_from_slice(&okm[32..]);
        okm.zeroize();
        keys
    }

    /// Encrypts with AES-256-GCM under this key, appending `ciphertext || tag` to `out`.
    pub fn seal_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let keys = self.aead_keys();
        crate::crypto::aesgcm::seal_into(&keys.key, &keys.nonce, aad, plaintext, out);
    }

    /// Authenticates and decrypts `ciphertext || tag`, returning the plaintext.
    pub fn open(&self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, crate::crypto::CryptoError> {
        let keys = self.aead_keys();
        let mut out = Vec::with_capacity(ciphertext.len());
        crate::crypto::aesgcm::open_into(&keys.key, &keys.nonce, aad, ciphertext, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::crypto::hash::hmac_sha256;

    #[test]
    fn chain_step_is_two_hmacs_with_the_signal_constants() {
        let ck = ChainKey::from_bytes([7; 32]);
        let (next, mk) = ck.step();
        assert_eq!(*mk.as_bytes(), hmac_sha256(&[7; 32], &[&[1]]));
        assert_eq!(*next.as_bytes(), hmac_sha256(&[7; 32], &[&[2]]));
    }

    #[test]
    fn root_ratchet_splits_one_hkdf_output() {
        let secret = SecretKey::from_bytes([3; 32]);
        let dh = secret.diffie_hellman(&SecretKey::from_bytes([4; 32]).public_key()).unwrap();
        let (root, chain) = RootKey::from_bytes([5; 32]).ratchet(&dh);
        let okm = hkdf_sha256::<64>(&[5; 32], &[dh.as_bytes()], b"WAKU2-1TO1-v1/Root");
        assert_eq!(root.as_bytes()[..], okm[..32]);
        assert_eq!(chain.as_bytes()[..], okm[32..]);
    }

    #[test]
    fn message_keys_seal_and_open_and_print_nothing_secret() {
        let mk = MessageKey::from_bytes([0x5a; 32]);
        let mut ct = Vec::new();
        mk.seal_into(b"aad", b"hello", &mut ct);
        assert_eq!(ct.len(), 5 + 16);
        assert_eq!(mk.open(b"aad", &ct).unwrap(), b"hello");
        assert!(mk.open(b"other", &ct).is_err());
        let shown = format!("{mk:?} {:?} {:?}", mk.aead_keys(), RootKey::from_bytes([0x5a; 32]));
        assert_eq!(shown, "MessageKey(<redacted>) AeadKeys(<redacted>) RootKey(<redacted>)");
    }
}
