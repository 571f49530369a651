//! SHA-256, HMAC-SHA256, HKDF-SHA256, PBKDF2-HMAC-SHA256 and Keccak-256: the hash-based
//! functions of the Noise and X3DH profiles.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// SHA-256's block size, the size an HMAC key is padded to.
const BLOCK_LEN: usize = 64;

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// RFC 5869 HKDF-SHA256 with `salt`, `ikm` and empty info, returning `N` consecutive 32-byte
/// blocks. With `salt = ck` this is exactly the Noise `HKDF(ck, ikm)` function.
pub fn hkdf_blocks<const N: usize>(salt: &[u8], ikm: &[u8]) -> [[u8; 32]; N] {
    const { assert!(N >= 1 && N <= 8, "HKDF output is limited to 8 blocks here") };
    let mut okm = [0u8; 32 * 8];
    let out = &mut okm[..32 * N];
    // Expansion fails only above 255 blocks, excluded by the assertion above.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(&[], out);
    let mut blocks = [[0u8; 32]; N];
    for (block, chunk) in blocks.iter_mut().zip(out.chunks_exact(32)) {
        block.copy_from_slice(chunk);
    }
    zeroize::Zeroize::zeroize(&mut okm);
    blocks
}

/// The HMAC key block of RFC 2104: keys longer than a block are hashed first, then the key is
/// zero-padded to the block size. Building it ourselves makes every HMAC constructor infallible.
fn hmac_key_block(key: &[u8]) -> [u8; BLOCK_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        let mut digest = sha256(&[key]);
        block[..32].copy_from_slice(&digest);
        digest.zeroize();
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// A keyed HMAC-SHA256 state, to be cloned when one key authenticates several inputs
/// (KDF_CK derives two outputs from one chain key: the key schedule is computed once).
#[derive(Clone)]
pub struct HmacSha256(Hmac<Sha256>);

impl HmacSha256 {
    /// An HMAC keyed with `key` (any length).
    pub fn new(key: &[u8]) -> Self {
        let mut block = hmac_key_block(key);
        let mac = Hmac::<Sha256>::new(&block.into());
        block.zeroize();
        Self(mac)
    }

    /// The tag of the concatenation of `parts`, leaving `self` reusable.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256(<redacted>)")
    }
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    HmacSha256::new(key).tag(parts)
}

/// RFC 5869 HKDF-SHA256 returning `L` bytes, with the input keying material given as the
/// concatenation of `ikm_parts` (so secrets are never copied into a temporary buffer).
pub fn hkdf_sha256<const L: usize>(salt: &[u8], ikm_parts: &[&[u8]], info: &[u8]) -> [u8; L] {
    hkdf_with_extractor(&HmacSha256::new(salt), ikm_parts, info)
}

/// [`hkdf_sha256`] with a salt of 32 zero bytes (RFC 5869's default salt), the salt of every
/// per-message key derivation: the HMAC key schedule of that constant salt is computed once
/// per process instead of once per call, which saves two SHA-256 compressions per message.
pub fn hkdf_sha256_zero_salt<const L: usize>(ikm_parts: &[&[u8]], info: &[u8]) -> [u8; L] {
    static ZERO_SALT: std::sync::OnceLock<HmacSha256> = std::sync::OnceLock::new();
    hkdf_with_extractor(ZERO_SALT.get_or_init(|| HmacSha256::new(&[0; 32])), ikm_parts, info)
}

/// HKDF-Extract with the salt-keyed HMAC `extractor`, then HKDF-Expand (RFC 5869 §2.2, §2.3).
fn hkdf_with_extractor<const L: usize>(extractor: &HmacSha256, ikm_parts: &[&[u8]], info: &[u8]) -> [u8; L] {
    const { assert!(L <= 255 * 32, "HKDF-SHA256 output is limited to 255 blocks") };
    let mut prk = extractor.tag(ikm_parts);
    let expander = HmacSha256::new(&prk);
    prk.zeroize();
    let mut okm = [0u8; L];
    let mut previous = [0u8; 32];
    for (index, chunk) in okm.chunks_mut(32).enumerate() {
        // At most 255 blocks (asserted above), so the counter fits in a byte.
        let counter = [index as u8 + 1];
        let t_prev: &[u8] = if index == 0 { &[] } else { &previous };
        let block = expander.tag(&[t_prev, info, &counter]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        previous = block;
    }
    previous.zeroize();
    okm
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (RFC 8018 §5.2 with dkLen = hLen: one block).
pub fn pbkdf2_sha256_32(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mac = HmacSha256::new(password);
    let mut u = mac.tag(&[salt, &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..iterations {
        u = mac.tag(&[&u]);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    u.zeroize();
    out
}

/// Keccak-256 (the original Keccak padding, as Ethereum and Waku topics use; not SHA3-256).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    sha3::Keccak256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            hex::encode(sha256(&[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rfc5869_test_case_3_empty_salt_and_info() {
        // RFC 5869 A.3: IKM = 0x0b * 22, salt and info empty, L = 42.
        let [a, b] = hkdf_blocks::<2>(&[], &[0x0b; 22]);
        let okm = [a.as_slice(), b.as_slice()].concat();
        assert_eq!(
            hex::encode(&okm[..42]),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
    }

    #[test]
    fn rfc4231_test_case_2_and_long_key_case_6() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long_key = [0xaa; 131];
        assert_eq!(
            hex::encode(hmac_sha256(&long_key, &[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn rfc5869_test_case_1_with_split_ikm() {
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let ikm = [0x0b; 22];
        let okm = hkdf_sha256::<42>(&salt, &[&ikm[..5], &ikm[5..]], &info);
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn zero_salt_variant_equals_the_general_function_and_the_hkdf_crate() {
        for ikm in [&b""[..], b"short", &[7u8; 100]] {
            let ours = hkdf_sha256_zero_salt::<100>(&[ikm], b"info");
            assert_eq!(ours, hkdf_sha256::<100>(&[0; 32], &[ikm], b"info"));
            let mut reference = [0u8; 100];
            Hkdf::<Sha256>::new(Some(&[0; 32]), ikm).expand(b"info", &mut reference).unwrap();
            assert_eq!(ours, reference);
        }
    }

    #[test]
    fn pbkdf2_rfc7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64); the first 32 bytes.
        assert_eq!(
            hex::encode(pbkdf2_sha256_32(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        // RFC 7914 §11: ("Password", "NaCl", 80000), first 32 bytes.
        assert_eq!(
            hex::encode(pbkdf2_sha256_32(b"Password", b"NaCl", 80000)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
    }

    #[test]
    fn keccak256_is_not_sha3() {
        assert_eq!(hex::encode(keccak256(b"")), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    }
}
