//! Fingerprints for comparing identities by eye or out loud (55/STATUS-1TO1-CHAT "identity
//! verification"; 2/STATUS-ACCOUNT "Contact Verification"). The exact algorithm and every constant
//! are in `docs/profile.md` §3.2.
//!
//! Both displays derive from one per-identity digest, Signal's numeric-fingerprint construction
//! (libsignal `Fingerprint::get_fingerprint`, checked here against libsignal's own vector):
//!
//! ```text
//! D0 = SHA-512(0x0000 || K || ID || K);  D(i+1) = SHA-512(D(i) || K);  digest = D(5199)
//! K  = 0xed 0x01 || Ed25519 public key     (multicodec ed25519-pub: the chat key's bytes)
//! ID = "status-1to1 identity fingerprint v1"
//! ```
//!
//! * [`EmojiFingerprint`]: one key, 8 emoji from digest bytes 30..38 (64 bits), each byte
//!   indexing [`EMOJI`]; shown as two groups of four.
//! * [`SafetyNumber`]: a pair of keys, Signal's displayable fingerprint: each key gives 30 digits
//!   (6 groups of 5: bytes 5i..5i+5 of its digest, big-endian, modulo 100000, zero-padded); the
//!   two 30-digit halves are sorted and concatenated, so both sides see the same 60 digits.
//!
//! The 5200 iterations make a second key with a chosen fingerprint expensive to search for.

use sha2::{Digest, Sha512};

use super::IdentityKey;

/// SHA-512 iterations of the per-identity digest (Signal's value).
pub const FINGERPRINT_ITERATIONS: u32 = 5200;
/// The stable identifier hashed with every key: a domain and version string.
pub const FINGERPRINT_DOMAIN: &[u8] = b"status-1to1 identity fingerprint v1";
/// The 2-byte version prefix of the first hash (Signal's displayable-fingerprint version 0).
const DIGEST_VERSION: [u8; 2] = [0, 0];
/// Digest bytes that select the emoji.
const EMOJI_BYTES: std::ops::Range<usize> = 30..38;

/// The 256 emoji of the fingerprint, indexed by byte value: the "Visualizing hex bytes with
/// Unicode emoji" list (windytan, 2014), all from Unicode 6.0 "Miscellaneous Symbols and
/// Pictographs" in ascending code point order; the exact ranges are in the profile.
pub const EMOJI: [char; 256] = [
    '🌀', '🌂', '🌅', '🌈', '🌙', '🌞', '🌟', '🌠', '🌰', '🌱', '🌲', '🌳', '🌴', '🌵', '🌷', '🌸', '🌹', '🌺', '🌻',
    '🌼', '🌽', '🌾', '🌿', '🍀', '🍁', '🍂', '🍃', '🍄', '🍅', '🍆', '🍇', '🍈', '🍉', '🍊', '🍋', '🍌', '🍍', '🍎',
    '🍏', '🍐', '🍑', '🍒', '🍓', '🍔', '🍕', '🍖', '🍗', '🍘', '🍜', '🍝', '🍞', '🍟', '🍠', '🍡', '🍢', '🍣', '🍤',
    '🍥', '🍦', '🍧', '🍨', '🍩', '🍪', '🍫', '🍬', '🍭', '🍮', '🍯', '🍰', '🍱', '🍲', '🍳', '🍴', '🍵', '🍶', '🍷',
    '🍸', '🍹', '🍺', '🍻', '🍼', '🎀', '🎁', '🎂', '🎃', '🎄', '🎅', '🎈', '🎉', '🎊', '🎋', '🎌', '🎍', '🎎', '🎏',
    '🎒', '🎓', '🎠', '🎡', '🎢', '🎣', '🎤', '🎥', '🎦', '🎧', '🎨', '🎩', '🎪', '🎫', '🎬', '🎭', '🎮', '🎯', '🎰',
    '🎱', '🎲', '🎳', '🎴', '🎵', '🎷', '🎸', '🎹', '🎺', '🎻', '🎽', '🎾', '🎿', '🏀', '🏁', '🏂', '🏃', '🏄', '🏆',
    '🏇', '🏈', '🏉', '🏊', '🐀', '🐁', '🐂', '🐃', '🐄', '🐅', '🐆', '🐇', '🐈', '🐉', '🐊', '🐋', '🐌', '🐍', '🐎',
    '🐏', '🐐', '🐑', '🐒', '🐓', '🐔', '🐕', '🐖', '🐗', '🐘', '🐙', '🐚', '🐛', '🐜', '🐝', '🐞', '🐟', '🐠', '🐡',
    '🐢', '🐣', '🐤', '🐥', '🐦', '🐧', '🐨', '🐩', '🐪', '🐫', '🐬', '🐭', '🐮', '🐯', '🐰', '🐱', '🐲', '🐳', '🐴',
    '🐵', '🐶', '🐷', '🐸', '🐹', '🐺', '🐻', '🐼', '🐽', '🐾', '👀', '👂', '👃', '👄', '👅', '👆', '👇', '👈', '👉',
    '👊', '👋', '👌', '👍', '👎', '👏', '👐', '👑', '👒', '👓', '👔', '👕', '👖', '👗', '👘', '👙', '👚', '👛', '👜',
    '👝', '👞', '👟', '👠', '👡', '👢', '👣', '👤', '👥', '👦', '👧', '👨', '👩', '👪', '👮', '👯', '👺', '👻', '👼',
    '👽', '👾', '👿', '💀', '💁', '💂', '💃', '💄', '💅',
];

/// The per-identity digest of Signal's numeric fingerprint, for any key encoding and identifier.
pub fn iterated_digest(key: &[u8], stable_id: &[u8], iterations: u32) -> [u8; 64] {
    let mut hasher = Sha512::new();
    hasher.update(DIGEST_VERSION);
    hasher.update(key);
    hasher.update(stable_id);
    hasher.update(key);
    let mut digest: [u8; 64] = hasher.finalize().into();
    for _ in 1..iterations {
        let mut hasher = Sha512::new();
        hasher.update(digest);
        hasher.update(key);
        digest = hasher.finalize().into();
    }
    digest
}

/// The digest of an identity under this profile.
pub fn identity_digest(key: &IdentityKey) -> [u8; 64] {
    let mut k = [0u8; 34];
    k[..2].copy_from_slice(&[0xed, 0x01]);
    k[2..].copy_from_slice(key.as_bytes());
    iterated_digest(&k, FINGERPRINT_DOMAIN, FINGERPRINT_ITERATIONS)
}

/// Eight emoji that stand for one identity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmojiFingerprint([char; 8]);

impl EmojiFingerprint {
    /// The fingerprint of `key`.
    pub fn of(key: &IdentityKey) -> Self {
        Self::from_digest(&identity_digest(key))
    }

    fn from_digest(digest: &[u8; 64]) -> Self {
        let mut emoji = [' '; 8];
        for (slot, byte) in emoji.iter_mut().zip(&digest[EMOJI_BYTES]) {
            *slot = EMOJI[usize::from(*byte)];
        }
        Self(emoji)
    }

    /// The eight emoji.
    pub fn emoji(&self) -> &[char; 8] {
        &self.0
    }
}

impl std::fmt::Display for EmojiFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = self.0.split_at(4);
        write!(f, "{} {}", a.iter().collect::<String>(), b.iter().collect::<String>())
    }
}

/// The 60-digit number two people compare for their pair of identities; the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafetyNumber(String);

impl SafetyNumber {
    /// The safety number of two identities (in either order).
    pub fn of(a: &IdentityKey, b: &IdentityKey) -> Self {
        Self(combined_digits(&identity_digest(a), &identity_digest(b)))
    }

    /// The 60 digits without separators.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The twelve groups of five digits.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.0.as_bytes().chunks(5).filter_map(|c| std::str::from_utf8(c).ok())
    }
}

impl std::fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.groups().collect::<Vec<_>>().join(" "))
    }
}

/// 30 digits from the first 30 digest bytes: six 40-bit big-endian chunks, each modulo 100000.
fn half_digits(digest: &[u8; 64]) -> String {
    digest[..30]
        .chunks(5)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!("{:05}", value % 100_000)
        })
        .collect()
}

/// Both halves, the smaller first (Signal's `DisplayableFingerprint`).
fn combined_digits(a: &[u8; 64], b: &[u8; 64]) -> String {
    let (a, b) = (half_digits(a), half_digits(b));
    if a <= b { a + &b } else { b + &a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    /// libsignal's `fingerprint_test_v1` vector (33-byte DJB keys, phone numbers as identifiers).
    #[test]
    fn reproduces_libsignal_displayable_fingerprint_v1() {
        let alice = hex::decode("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868").unwrap();
        let bob = hex::decode("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b").unwrap();
        let a = iterated_digest(&alice, b"+14152222222", 5200);
        let b = iterated_digest(&bob, b"+14153333333", 5200);
        let expected = "300354477692869396892869876765458257569162576843440918079131";
        assert_eq!(combined_digits(&a, &b), expected);
        assert_eq!(combined_digits(&b, &a), expected);
        // libsignal's scannable fingerprint carries the first 32 digest bytes.
        assert_eq!(hex::encode(&a[..32]), "1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df");
    }

    #[test]
    fn emoji_table_is_256_distinct_ascending_pictographs() {
        assert!(EMOJI.windows(2).all(|w| w[0] < w[1]), "ascending, hence distinct");
        assert!(EMOJI.iter().all(|c| ('\u{1F300}'..='\u{1F4FF}').contains(c)));
        let utf8: String = EMOJI.iter().collect();
        let pin = crate::crypto::hash::sha256(&[utf8.as_bytes()]);
        assert_eq!(hex::encode(pin), "4c1de04e5cca58abe21b30b81318e4de58784fa894a609944b45fb44d9201afa");
    }

    #[test]
    fn safety_number_is_order_independent_and_changes_with_either_key() {
        let a = *IdentityKeyPair::from_seed([1; 32]).public();
        let b = *IdentityKeyPair::from_seed([2; 32]).public();
        let c = *IdentityKeyPair::from_seed([3; 32]).public();
        let ab = SafetyNumber::of(&a, &b);
        assert_eq!(ab, SafetyNumber::of(&b, &a));
        assert_eq!(ab.digits().len(), 60);
        assert!(ab.digits().bytes().all(|d| d.is_ascii_digit()));
        assert_eq!(ab.groups().count(), 12);
        let ac = SafetyNumber::of(&a, &c);
        assert_ne!(ab, ac);
        let half_a = half_digits(&identity_digest(&a));
        assert!(ab.digits().contains(&half_a) && ac.digits().contains(&half_a), "a's half is stable");
        assert_ne!(EmojiFingerprint::of(&a), EmojiFingerprint::of(&b));
    }

    #[test]
    fn snapshots_for_fixed_keys() {
        let a = *IdentityKeyPair::from_seed([1; 32]).public();
        let b = *IdentityKeyPair::from_seed([2; 32]).public();
        insta::assert_snapshot!("emoji_fingerprint_seed_1", EmojiFingerprint::of(&a).to_string());
        insta::assert_snapshot!("safety_number_seeds_1_2", SafetyNumber::of(&a, &b).to_string());
    }
}
