//! The Double Ratchet message header and its canonical 41-byte encoding, which is what the AEAD
//! authenticates (profile §5.6). The protobuf `DRHeader` carries the same fields, but protobuf is
//! not canonical, so the AAD is always recomputed from the parsed values.

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;

/// Version byte that starts the canonical header encoding.
pub const HEADER_VERSION: u8 = 0x01;
/// Length of the canonical header encoding: version, ratchet key, PN, N.
pub const HEADER_LEN: usize = 1 + 32 + 4 + 4;

/// A Double Ratchet header (Signal DR §3.1 `HEADER(dh_pair, pn, n)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The sender's current ratchet public key.
    pub ratchet_key: PublicKey,
    /// The number of messages in the sender's previous sending chain (PN).
    pub previous_chain_length: u32,
    /// The message number in the current sending chain (N).
    pub n: u32,
}

impl Header {
    /// `0x01 || ratchet_key(32) || u32be(PN) || u32be(N)`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = HEADER_VERSION;
        out[1..33].copy_from_slice(self.ratchet_key.as_bytes());
        out[33..37].copy_from_slice(&self.previous_chain_length.to_be_bytes());
        out[37..41].copy_from_slice(&self.n.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_encoding_layout() {
        let header =
            Header { ratchet_key: PublicKey::from_bytes([0xab; 32]), previous_chain_length: 2, n: 0x0102_0304 };
        let expected = format!("01{}0000000201020304", "ab".repeat(32));
        assert_eq!(hex::encode(header.encode()), expected);
    }
}
