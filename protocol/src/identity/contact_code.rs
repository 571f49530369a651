//! Contact codes: everything a peer needs to start a chat, as one short checksummed string that
//! fits a QR code (55/STATUS-1TO1-CHAT: "A QR code serves two purposes simultaneously - identity
//! verification and initial key material retrieval").
//!
//! ```text
//! text    = bech32m(prefix "status", [version symbol] || base32(payload))      e.g. status1p…
//! payload = identity key (32, Ed25519) || installation id (16, UUID bytes) || field*
//! field   = tag (1) || length (2, big-endian) || value      tags strictly ascending, values non-empty
//!   tag 1 = display name: UTF-8, at most 64 bytes, no control characters
//!   tag 2 = prekey bundle: opaque bytes (the protobuf X3DH bundle), at most 2048 bytes
//! ```
//!
//! The version is the first data symbol (1 = `p`), so it is visible and checked before anything
//! else is interpreted. The text is lower case; [`ContactCode::to_qr_text`] gives the upper-case
//! form, which QR codes store in the denser alphanumeric mode. Parsing accepts either case (not a
//! mix), checks the Bech32m checksum (any single changed character is detected, see
//! [`super::bech32m`]), then the structure, with a typed error for each malformed input.

use super::bech32m::{self, Bech32mError};
use super::{IdentityError, IdentityKey, InstallationId};

/// The human-readable prefix.
pub const CONTACT_CODE_PREFIX: &str = "status";
/// The format version this crate writes and reads.
pub const CONTACT_CODE_VERSION: u8 = 1;
/// Longest display name, in UTF-8 bytes.
pub const MAX_DISPLAY_NAME_LEN: usize = 64;
/// Largest prekey bundle.
pub const MAX_BUNDLE_LEN: usize = 2048;
/// Longest contact code accepted (bounds work on hostile input; a maximal code is ~3500).
pub const MAX_CONTACT_CODE_LEN: usize = 4096;

const TAG_DISPLAY_NAME: u8 = 1;
const TAG_BUNDLE: u8 = 2;
const FIXED_LEN: usize = 32 + 16;

/// Why a string is not a contact code, or a value cannot be put in one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactCodeError {
    /// Not valid Bech32m (a typo, a truncation, a foreign string, a bad checksum...).
    #[error("not a valid contact code: {0}")]
    Encoding(#[from] Bech32mError),
    /// Another prefix than `status`.
    #[error("contact code prefix {0:?} is not \"status\"")]
    WrongPrefix(String),
    /// No data before the checksum.
    #[error("contact code has no version")]
    MissingVersion,
    /// A version this crate does not read.
    #[error("contact code version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The payload ends inside the fixed part or inside a field.
    #[error("contact code payload is truncated")]
    Truncated,
    /// The identity key is not a valid Ed25519 key.
    #[error("invalid identity key: {0}")]
    IdentityKey(#[from] IdentityError),
    /// The installation id bytes are not a UUID v4.
    #[error("invalid installation id")]
    InstallationId,
    /// A field tag this version does not define.
    #[error("unknown field tag {0}")]
    UnknownField(u8),
    /// A field repeated or out of order.
    #[error("field tag {0} out of order or repeated")]
    FieldOrder(u8),
    /// A field with an empty value (absent fields are omitted instead).
    #[error("field tag {0} is empty")]
    EmptyField(u8),
    /// The display name is longer than 64 bytes.
    #[error("display name of {0} bytes exceeds {MAX_DISPLAY_NAME_LEN}")]
    DisplayNameTooLong(usize),
    /// The display name is not UTF-8.
    #[error("display name is not UTF-8")]
    DisplayNameNotUtf8,
    /// The display name contains a control character.
    #[error("display name contains a control character")]
    DisplayNameControl,
    /// The prekey bundle is larger than 2048 bytes.
    #[error("prekey bundle of {0} bytes exceeds {MAX_BUNDLE_LEN}")]
    BundleTooLarge(usize),
}

/// What a peer needs to start a chat with us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCode {
    identity: IdentityKey,
    installation: InstallationId,
    display_name: Option<String>,
    prekey_bundle: Option<Vec<u8>>,
}

impl ContactCode {
    /// A code with an identity and an installation id only.
    pub fn new(identity: IdentityKey, installation: InstallationId) -> Self {
        Self { identity, installation, display_name: None, prekey_bundle: None }
    }

    /// Adds a display name (non-empty, at most 64 bytes, no control characters).
    pub fn with_display_name(mut self, name: impl Into<String>) -> Result<Self, ContactCodeError> {
        let name = name.into();
        check_display_name(&name)?;
        self.display_name = Some(name);
        Ok(self)
    }

    /// Adds an opaque prekey bundle (non-empty, at most 2048 bytes).
    pub fn with_prekey_bundle(mut self, bundle: Vec<u8>) -> Result<Self, ContactCodeError> {
        check_bundle(&bundle)?;
        self.prekey_bundle = Some(bundle);
        Ok(self)
    }

    /// The identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// The installation id.
    pub fn installation(&self) -> &InstallationId {
        &self.installation
    }

    /// The display name, if any.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The protobuf-encoded prekey bundle, if any (opaque here).
    pub fn prekey_bundle(&self) -> Option<&[u8]> {
        self.prekey_bundle.as_deref()
    }

    /// The upper-case form for QR codes (alphanumeric mode).
    pub fn to_qr_text(&self) -> String {
        self.to_string().to_ascii_uppercase()
    }

    /// Parses a contact code in lower or upper case.
    pub fn parse(text: &str) -> Result<Self, ContactCodeError> {
        let (prefix, symbols) = bech32m::decode(text, MAX_CONTACT_CODE_LEN)?;
        if prefix != CONTACT_CODE_PREFIX {
            return Err(ContactCodeError::WrongPrefix(prefix));
        }
        let (&version, rest) = symbols.split_first().ok_or(ContactCodeError::MissingVersion)?;
        if version != CONTACT_CODE_VERSION {
            return Err(ContactCodeError::UnsupportedVersion(version));
        }
        Self::from_payload(&bech32m::symbols_to_bytes(rest)?)
    }

    fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + 64);
        out.extend_from_slice(self.identity.as_bytes());
        out.extend_from_slice(&installation_bytes(&self.installation));
        if let Some(name) = &self.display_name {
            push_field(&mut out, TAG_DISPLAY_NAME, name.as_bytes());
        }
        if let Some(bundle) = &self.prekey_bundle {
            push_field(&mut out, TAG_BUNDLE, bundle);
        }
        out
    }

    fn from_payload(payload: &[u8]) -> Result<Self, ContactCodeError> {
        if payload.len() < FIXED_LEN {
            return Err(ContactCodeError::Truncated);
        }
        let (key, rest) = payload.split_at(32);
        let (installation, mut fields) = rest.split_at(16);
        let mut code = Self::new(IdentityKey::from_slice(key)?, installation_from_bytes(installation)?);
        let mut last_tag = 0u8;
        while let Some((tag, value, rest)) = next_field(fields)? {
            if tag <= last_tag {
                return Err(ContactCodeError::FieldOrder(tag));
            }
            if value.is_empty() {
                return Err(ContactCodeError::EmptyField(tag));
            }
            code = match tag {
                TAG_DISPLAY_NAME => {
                    let name = std::str::from_utf8(value).map_err(|_| ContactCodeError::DisplayNameNotUtf8)?;
                    code.with_display_name(name)?
                }
                TAG_BUNDLE => code.with_prekey_bundle(value.to_vec())?,
                other => return Err(ContactCodeError::UnknownField(other)),
            };
            (last_tag, fields) = (tag, rest);
        }
        Ok(code)
    }
}

impl std::fmt::Display for ContactCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut symbols = vec![CONTACT_CODE_VERSION];
        symbols.extend(bech32m::bytes_to_symbols(&self.payload()));
        f.write_str(&bech32m::encode(CONTACT_CODE_PREFIX, &symbols))
    }
}

impl std::str::FromStr for ContactCode {
    type Err = ContactCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn check_display_name(name: &str) -> Result<(), ContactCodeError> {
    if name.is_empty() {
        return Err(ContactCodeError::EmptyField(TAG_DISPLAY_NAME));
    }
    if name.len() > MAX_DISPLAY_NAME_LEN {
        return Err(ContactCodeError::DisplayNameTooLong(name.len()));
    }
    if name.chars().any(char::is_control) {
        return Err(ContactCodeError::DisplayNameControl);
    }
    Ok(())
}

fn check_bundle(bundle: &[u8]) -> Result<(), ContactCodeError> {
    if bundle.is_empty() {
        return Err(ContactCodeError::EmptyField(TAG_BUNDLE));
    }
    if bundle.len() > MAX_BUNDLE_LEN {
        return Err(ContactCodeError::BundleTooLarge(bundle.len()));
    }
    Ok(())
}

fn push_field(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    // Values are bounded by MAX_BUNDLE_LEN (checked on construction), far below u16::MAX.
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(value);
}

/// One field and the bytes after it.
type Field<'a> = (u8, &'a [u8], &'a [u8]);

/// The next `tag || length || value` and what follows, or `None` at the end.
fn next_field(bytes: &[u8]) -> Result<Option<Field<'_>>, ContactCodeError> {
    let Some((&tag, rest)) = bytes.split_first() else { return Ok(None) };
    let (len, rest) = rest.split_at_checked(2).ok_or(ContactCodeError::Truncated)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let (value, rest) = rest.split_at_checked(len).ok_or(ContactCodeError::Truncated)?;
    Ok(Some((tag, value, rest)))
}

fn installation_bytes(id: &InstallationId) -> [u8; 16] {
    let hex: String = id.as_str().chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    // A parsed InstallationId is always 32 hex digits.
    let _ = hex::decode_to_slice(hex, &mut out);
    out
}

fn installation_from_bytes(bytes: &[u8]) -> Result<InstallationId, ContactCodeError> {
    let h = hex::encode(bytes);
    let text = format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
    InstallationId::parse(&text).map_err(|_| ContactCodeError::InstallationId)
}

#[cfg(test)]
mod tests;
