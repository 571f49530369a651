//! PKCS#7 padding to a multiple of 248 bytes, applied to every handshake payload and transport
//! message before encryption (35/WAKU2-NOISE "Padding"; js-noise `pkcs7.ts`).

use super::NoiseError;

/// The padding block: every padded payload is a non-zero multiple of this many bytes.
pub const PADDING_BLOCK: usize = 248;

/// Number of padding bytes for a payload of `len` bytes (1..=248, never 0).
pub const fn padding_len(len: usize) -> usize {
    PADDING_BLOCK - (len % PADDING_BLOCK)
}

/// Appends `payload` and its padding to `out`.
pub fn pad_into(payload: &[u8], out: &mut Vec<u8>) {
    let pad = padding_len(payload.len());
    out.reserve(payload.len() + pad);
    out.extend_from_slice(payload);
    // `pad` is at most 248, so it fits in a byte.
    out.resize(out.len() + pad, pad as u8);
}

/// The payload inside `padded`, after checking every padding byte.
pub fn unpad(padded: &[u8]) -> Result<&[u8], NoiseError> {
    if padded.is_empty() || !padded.len().is_multiple_of(PADDING_BLOCK) {
        return Err(NoiseError::InvalidPadding);
    }
    let pad = usize::from(padded[padded.len() - 1]);
    if pad == 0 || pad > PADDING_BLOCK || pad > padded.len() {
        return Err(NoiseError::InvalidPadding);
    }
    let (payload, padding) = padded.split_at(padded.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(NoiseError::InvalidPadding);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundaries() {
        for (len, padded) in [(0, 248), (1, 248), (247, 248), (248, 496), (249, 496), (495, 496)] {
            let mut out = Vec::new();
            pad_into(&vec![7u8; len], &mut out);
            assert_eq!(out.len(), padded, "len {len}");
            assert_eq!(unpad(&out).map(<[u8]>::len), Ok(len));
        }
    }

    #[test]
    fn malformed_padding_is_refused() {
        assert_eq!(unpad(&[]), Err(NoiseError::InvalidPadding));
        assert_eq!(unpad(&[1u8; 247]), Err(NoiseError::InvalidPadding));
        let mut zero_pad = vec![0u8; 248];
        assert_eq!(unpad(&zero_pad), Err(NoiseError::InvalidPadding));
        zero_pad[247] = 249;
        assert_eq!(unpad(&zero_pad), Err(NoiseError::InvalidPadding));
        let mut inconsistent = vec![3u8; 248];
        inconsistent[246] = 2;
        assert_eq!(unpad(&inconsistent), Err(NoiseError::InvalidPadding));
    }

    proptest! {
        #[test]
        fn pad_unpad_round_trips(payload in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let mut out = Vec::new();
            pad_into(&payload, &mut out);
            prop_assert_eq!(out.len() % PADDING_BLOCK, 0);
            prop_assert!(out.len() > payload.len());
            prop_assert_eq!(unpad(&out), Ok(payload.as_slice()));
        }
    }
}
