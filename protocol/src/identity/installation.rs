//! Installation ids: one per device of an account (2/STATUS-ACCOUNT, 54/WAKU2-X3DH-SESSIONS).
//! A random UUID version 4, lowercase and hyphenated (status-go's form).

use serde::{Deserialize, Serialize};

use crate::entropy::Entropy;

/// A device's installation id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstallationId(String);

/// Why a string is not an installation id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("installation id must be a lowercase hyphenated UUID v4, got {0:?}")]
pub struct InvalidInstallationId(pub String);

impl InstallationId {
    /// A fresh random UUID v4.
    pub fn generate(entropy: &mut dyn Entropy) -> Self {
        let mut b = [0u8; 16];
        entropy.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        Self(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
    }

    /// Parses a lowercase hyphenated UUID v4.
    pub fn parse(text: &str) -> Result<Self, InvalidInstallationId> {
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 36
            && bytes.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
            })
            && bytes[14] == b'4'
            && matches!(bytes[19], b'8' | b'9' | b'a' | b'b');
        if well_formed { Ok(Self(text.to_owned())) } else { Err(InvalidInstallationId(text.to_owned())) }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstallationId {
    type Error = InvalidInstallationId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<InstallationId> for String {
    fn from(id: InstallationId) -> String {
        id.0
    }
}

impl std::fmt::Display for InstallationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn generated_ids_parse_and_malformed_ones_do_not() {
        let mut e = SeededEntropy::from_u64(1);
        for _ in 0..50 {
            let id = InstallationId::generate(&mut e);
            assert_eq!(InstallationId::parse(id.as_str()), Ok(id.clone()));
        }
        for bad in [
            "none",
            "",
            "0123456789abcdef0123456789abcdef0123",
            "01234567-89ab-1def-8123-456789abcdef",
            "01234567-89AB-4DEF-8123-456789ABCDEF",
        ] {
            assert!(InstallationId::parse(bad).is_err(), "{bad}");
        }
    }
}
