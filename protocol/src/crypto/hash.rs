//! SHA-256 and the two HKDF shapes the Noise layer uses.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

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
}
