//! The authorization code both users compare after the first pairing message: the first 8 bytes
//! of `HKDF(salt = h, ikm = "")` for the handshake hash `h` after that message. Implementations
//! format it differently (noise-interop §7.5): js-noise reads the bytes big-endian, takes the value
//! modulo 10^8 and zero-pads to 8 digits; nwaku reads them little-endian and does not pad; go-noise
//! formats like js but wraps the digits in single quotes. We show the js-noise form.

use crate::crypto::hash::hkdf_blocks;

/// An authcode, with the bytes it came from so the other formats can be shown for interop.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Authcode {
    first8: [u8; 8],
}

impl Authcode {
    /// The authcode for handshake hash `h`.
    pub fn for_hash(h: &[u8; 32]) -> Self {
        let [block] = hkdf_blocks::<1>(h, &[]);
        let mut first8 = [0u8; 8];
        first8.copy_from_slice(&block[..8]);
        Self { first8 }
    }

    /// The js-noise form: 8 zero-padded digits of the big-endian value modulo 10^8.
    pub fn digits(&self) -> String {
        format!("{:08}", u64::from_be_bytes(self.first8) % 100_000_000)
    }

    /// What an nwaku peer shows for the same handshake: little-endian, modulo 10^8, unpadded.
    pub fn nwaku_form(&self) -> String {
        (u64::from_le_bytes(self.first8) % 100_000_000).to_string()
    }

    /// What a go-noise peer shows: the js-noise digits in single quotes.
    pub fn go_noise_form(&self) -> String {
        format!("'{}'", self.digits())
    }
}

impl std::fmt::Display for Authcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digits())
    }
}

impl std::fmt::Debug for Authcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authcode({})", self.digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::authcode_for_hash;

    #[test]
    fn digits_agree_with_the_engine_and_pad_small_values() {
        for seed in 0u8..20 {
            let h = [seed; 32];
            assert_eq!(Authcode::for_hash(&h).digits(), authcode_for_hash(&h));
        }
        let small = Authcode { first8: [0, 0, 0, 0, 0, 0, 0, 42] };
        assert_eq!(small.digits(), "00000042");
        assert_eq!(small.go_noise_form(), "'00000042'");
        assert_eq!(small.nwaku_form(), (42u64 << 56).rem_euclid(100_000_000).to_string());
    }
}
