//! The stand-in's wire frame: a 20-byte header bound as associated data, then a real
//! ChaCha20-Poly1305 ciphertext (from the protocol crate) under a pairwise toy key.
//!
//! The keys are derived from device ids, so this is not secure: it exists to give the network
//! model and the invariants something realistic to carry (ciphertext on the wire, tag checks
//! that reject tampering, per-direction nonces that must never repeat).

use sha2::{Digest, Sha256};
use status_1to1::crypto::chachapoly::{noise_nonce, open_into, seal_into};

use crate::node::RejectReason;

const MAGIC: &[u8; 3] = b"SC1";
/// Header length: magic, kind, from, to, seq.
pub const HEADER_LEN: usize = 3 + 1 + 4 + 4 + 8;

/// Frame kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An application message.
    Data = 1,
    /// An acknowledgement of the data frame with the same (from, to reversed) and seq.
    Ack = 2,
}

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Kind.
    pub kind: Kind,
    /// Sending device.
    pub from: u32,
    /// Receiving device.
    pub to: u32,
    /// Data: the per-direction sequence number (the nonce). Ack: the acknowledged seq.
    pub seq: u64,
}

impl Header {
    /// The encoded header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..3].copy_from_slice(MAGIC);
        h[3] = self.kind as u8;
        h[4..8].copy_from_slice(&self.from.to_le_bytes());
        h[8..12].copy_from_slice(&self.to.to_le_bytes());
        h[12..20].copy_from_slice(&self.seq.to_le_bytes());
        h
    }

    /// Splits a payload into header and ciphertext.
    pub fn parse(payload: &[u8]) -> Result<(Header, &[u8]), RejectReason> {
        let (head, body) = payload.split_at_checked(HEADER_LEN).ok_or(RejectReason::Malformed)?;
        if &head[..3] != MAGIC {
            return Err(RejectReason::Malformed);
        }
        let kind = match head[3] {
            1 => Kind::Data,
            2 => Kind::Ack,
            _ => return Err(RejectReason::Malformed),
        };
        let u32_at = |i: usize| head.get(i..i + 4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes);
        let seq = head.get(12..20).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
        Ok((Header { kind, from: u32_at(4), to: u32_at(8), seq }, body))
    }
}

/// The key for frames from `from` to `to` (toy: public derivation).
pub fn pair_key(from: u32, to: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"status-1to1-sim/standin/key");
    h.update(from.to_le_bytes());
    h.update(to.to_le_bytes());
    h.finalize().into()
}

/// The nonce of a frame: data frames use the Noise layout (4 zero bytes, LE counter); acks set
/// the first byte so the two spaces never collide under one key.
pub fn nonce(kind: Kind, seq: u64) -> [u8; 12] {
    let mut n = noise_nonce(seq);
    if kind == Kind::Ack {
        n[0] = 1;
    }
    n
}

/// Builds `header || ciphertext || tag`.
pub fn seal(header: &Header, plaintext: &[u8]) -> Vec<u8> {
    let head = header.encode();
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
    out.extend_from_slice(&head);
    seal_into(&pair_key(header.from, header.to), &nonce(header.kind, header.seq), &head, plaintext, &mut out);
    out
}

/// Authenticates and decrypts a frame body.
pub fn open(header: &Header, body: &[u8]) -> Result<Vec<u8>, RejectReason> {
    let mut out = Vec::with_capacity(body.len());
    open_into(&pair_key(header.from, header.to), &nonce(header.kind, header.seq), &header.encode(), body, &mut out)
        .map_err(|_| RejectReason::Unauthenticated)?;
    Ok(out)
}

/// Decrypts without checking the tag: the keystream is the encryption of zeros. Only the
/// `AcceptUnauthenticated` mutant uses this, to prove the checker catches tampered deliveries.
pub fn open_unauthenticated(header: &Header, body: &[u8]) -> Vec<u8> {
    let len = body.len().saturating_sub(16);
    let mut ks = Vec::with_capacity(len + 16);
    seal_into(
        &pair_key(header.from, header.to),
        &nonce(header.kind, header.seq),
        &header.encode(),
        &vec![0; len],
        &mut ks,
    );
    body.iter().zip(&ks).take(len).map(|(c, k)| c ^ k).collect()
}

/// Fingerprints for [`crate::node::Notification::KeyUse`]: SHA-256 of the key, and of the
/// associated data with the plaintext.
pub fn key_use(header: &Header, plaintext: &[u8]) -> ([u8; 32], [u8; 12], [u8; 32]) {
    let key: [u8; 32] = Sha256::digest(pair_key(header.from, header.to)).into();
    let mut h = Sha256::new();
    h.update(header.encode());
    h.update(plaintext);
    (key, nonce(header.kind, header.seq), h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let h = Header { kind: Kind::Data, from: 1, to: 2, seq: 7 };
        let frame = seal(&h, b"hello");
        let (parsed, body) = Header::parse(&frame).unwrap();
        assert_eq!(parsed, h);
        assert_eq!(open(&parsed, body).unwrap(), b"hello");
        assert_eq!(open_unauthenticated(&parsed, body), b"hello");
        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 1;
        let (ph, pb) = Header::parse(&bad).unwrap();
        assert_eq!(open(&ph, pb), Err(RejectReason::Unauthenticated));
        let mut header_flip = frame;
        header_flip[13] ^= 1;
        let (ph, pb) = Header::parse(&header_flip).unwrap();
        assert_eq!(open(&ph, pb), Err(RejectReason::Unauthenticated));
        assert_eq!(Header::parse(b"short"), Err(RejectReason::Malformed));
        assert_ne!(nonce(Kind::Data, 1), nonce(Kind::Ack, 1));
    }
}
