//! Bech32m (BIP 350): a BCH checksum over 5-bit symbols, used by the contact code.
//!
//! Why a BCH code rather than a truncated hash: it *guarantees* that any single substituted
//! character is detected, at any length (a one-symbol error changes the residue by `e·x^k mod
//! g(x)`, never zero because the generator has degree 6 and a non-zero constant term), and for
//! strings up to 89 characters any error in up to 4 characters; other errors escape with
//! probability about 2^-30. A 32-bit hash only makes a single change escape with probability
//! 2^-32. The alphabet is case-insensitive, so the upper-case form fits the QR alphanumeric mode.
//!
//! Unlike BIP 350 addresses, the length limit is the caller's: contact codes carry a prekey
//! bundle and are longer than 90 characters.

/// The 32 data characters, in symbol order.
pub const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
/// The Bech32m checksum constant.
const BECH32M_CONST: u32 = 0x2bc8_30a3;
/// Symbols in the checksum.
const CHECKSUM_LEN: usize = 6;
/// The limit BIP 350 puts on addresses (used by the test vectors).
pub const BIP350_MAX_LEN: usize = 90;

/// Why a string is not valid Bech32m.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Bech32mError {
    /// Longer than the caller's limit.
    #[error("{len} characters exceed the limit of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside printable ASCII (33..=126).
    #[error("character at {0} is not printable ASCII")]
    NotPrintable(usize),
    /// Both upper- and lower-case letters.
    #[error("mixed upper and lower case")]
    MixedCase,
    /// No `1` separates the prefix from the data.
    #[error("no '1' separator")]
    NoSeparator,
    /// Nothing before the separator.
    #[error("empty prefix")]
    EmptyPrefix,
    /// Fewer than 6 characters after the separator.
    #[error("data part shorter than the checksum")]
    TooShort,
    /// A data character outside the Bech32 alphabet.
    #[error("character {character:?} at {position} is not in the Bech32 alphabet")]
    NotInAlphabet {
        /// Its position in the string.
        position: usize,
        /// The character.
        character: char,
    },
    /// The checksum does not match: the text was mistyped or altered.
    #[error("checksum mismatch")]
    Checksum,
    /// Regrouping 5-bit symbols into bytes left more than 4 bits, or non-zero padding bits.
    #[error("invalid padding in the data part")]
    Padding,
}

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    hrp.bytes().map(|b| b >> 5).chain(std::iter::once(0)).chain(hrp.bytes().map(|b| b & 31))
}

/// Encodes a lower-case `hrp` and 5-bit `data` symbols (each below 32) as lower-case Bech32m.
pub fn encode(hrp: &str, data: &[u8]) -> String {
    let residue = polymod(hrp_expand(hrp).chain(data.iter().copied()).chain([0u8; CHECKSUM_LEN])) ^ BECH32M_CONST;
    let mut out = String::with_capacity(hrp.len() + 1 + data.len() + CHECKSUM_LEN);
    out.push_str(hrp);
    out.push('1');
    for symbol in data {
        out.push(char::from(CHARSET[usize::from(symbol & 31)]));
    }
    for i in 0..CHECKSUM_LEN {
        let symbol = (residue >> (5 * (5 - i))) & 31;
        out.push(char::from(CHARSET[symbol as usize]));
    }
    out
}

/// Decodes Bech32m of at most `max_len` characters into the lower-case prefix and the data
/// symbols (checksum removed).
pub fn decode(text: &str, max_len: usize) -> Result<(String, Vec<u8>), Bech32mError> {
    if text.len() > max_len {
        return Err(Bech32mError::TooLong { len: text.len(), max: max_len });
    }
    if let Some(position) = text.bytes().position(|b| !(33..=126).contains(&b)) {
        return Err(Bech32mError::NotPrintable(position));
    }
    if text.bytes().any(|b| b.is_ascii_lowercase()) && text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Bech32mError::MixedCase);
    }
    let lower = text.to_ascii_lowercase();
    let separator = lower.rfind('1').ok_or(Bech32mError::NoSeparator)?;
    if separator == 0 {
        return Err(Bech32mError::EmptyPrefix);
    }
    let (hrp, rest) = (&lower[..separator], &lower[separator + 1..]);
    if rest.len() < CHECKSUM_LEN {
        return Err(Bech32mError::TooShort);
    }
    let mut data = Vec::with_capacity(rest.len());
    for (i, c) in rest.bytes().enumerate() {
        let symbol = CHARSET
            .iter()
            .position(|&a| a == c)
            .ok_or(Bech32mError::NotInAlphabet { position: separator + 1 + i, character: char::from(c) })?;
        data.push(symbol as u8);
    }
    if polymod(hrp_expand(hrp).chain(data.iter().copied())) != BECH32M_CONST {
        return Err(Bech32mError::Checksum);
    }
    data.truncate(data.len() - CHECKSUM_LEN);
    Ok((hrp.to_owned(), data))
}

/// Regroups bytes into 5-bit symbols, zero-padding the last one.
pub fn bytes_to_symbols(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

/// Regroups 5-bit symbols into bytes; the padding must be under 5 bits and zero (BIP 173), so
/// each byte string has exactly one encoding.
pub fn symbols_to_bytes(symbols: &[u8]) -> Result<Vec<u8>, Bech32mError> {
    let mut out = Vec::with_capacity(symbols.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for s in symbols {
        acc = ((acc << 5) | u32::from(*s)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return Err(Bech32mError::Padding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BIP 350's valid Bech32m strings.
    const VALID: [&str; 7] = [
        "A1LQFN3A",
        "a1lqfn3a",
        "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
        "?1v759aa",
    ];

    #[test]
    fn bip350_valid_vectors_decode_and_re_encode() {
        for v in VALID {
            let (hrp, data) = decode(v, BIP350_MAX_LEN).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(encode(&hrp, &data), v.to_ascii_lowercase());
        }
    }

    #[test]
    fn bip350_invalid_vectors_are_refused_for_the_stated_reason() {
        use Bech32mError as E;
        type Reason = fn(&E) -> bool;
        let cases: [(&str, Reason); 15] = [
            ("\u{20}1xj0phk", |e| matches!(e, E::NotPrintable(0))),
            ("\u{7f}1g6xzxy", |e| matches!(e, E::NotPrintable(0))),
            ("\u{80}1vctc34", |e| matches!(e, E::NotPrintable(0))),
            ("an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", |e| {
                matches!(e, E::TooLong { .. })
            }),
            ("qyrz8wqd2c9m", |e| matches!(e, E::NoSeparator)),
            ("1qyrz8wqd2c9m", |e| matches!(e, E::EmptyPrefix)),
            ("y1b0jsk6g", |e| matches!(e, E::NotInAlphabet { character: 'b', .. })),
            ("lt1igcx5c0", |e| matches!(e, E::NotInAlphabet { character: 'i', .. })),
            ("in1muywd", |e| matches!(e, E::TooShort)),
            ("mm1crxm3i", |e| matches!(e, E::NotInAlphabet { character: 'i', .. })),
            ("au1s5cgom", |e| matches!(e, E::NotInAlphabet { character: 'o', .. })),
            ("M1VUXWEZ", |e| matches!(e, E::Checksum)),
            ("16plkw9", |e| matches!(e, E::EmptyPrefix)),
            ("1p2gdwpf", |e| matches!(e, E::EmptyPrefix)),
            ("A12UEL5L", |e| matches!(e, E::Checksum)), // a valid Bech32 (not Bech32m) string
        ];
        for (text, reason) in cases {
            let err = decode(text, BIP350_MAX_LEN).expect_err(text);
            assert!(reason(&err), "{text:?}: {err:?}");
        }
    }

    #[test]
    fn symbol_regrouping_round_trips_and_is_canonical() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(symbols_to_bytes(&bytes_to_symbols(&bytes)), Ok(bytes));
        }
        assert_eq!(symbols_to_bytes(&[0, 1]), Err(Bech32mError::Padding), "non-zero padding bits");
        assert_eq!(symbols_to_bytes(&[0; 9]).map(|b| b.len()), Err(Bech32mError::Padding), "5 padding bits");
    }
}
