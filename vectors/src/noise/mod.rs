//! Verifiers for the js-noise transcript schemas (`jsnoise-peer/*/v1`, described in
//! `vectors/noise/README.md`).

pub mod negative;
pub mod pairing;
pub mod primitives;
pub mod transcript;

use serde_json::Value;
use status_1to1::crypto::{KeyPair, SecretKey};
use status_1to1::noise::{HandshakePattern, MessageNametag, Token};

use crate::json::{VectorError, hex_n_at, str_at};

/// The pattern named by a full Noise protocol name.
pub(crate) fn pattern_by_name(name: &str) -> Option<HandshakePattern> {
    HandshakePattern::ALL.into_iter().find(|p| p.protocol_name() == name)
}

/// Our token table rendered like the vectors: `-> e, ee`.
pub(crate) fn render_message(m: &status_1to1::noise::pattern::MessagePattern) -> String {
    let arrow = match m.direction {
        status_1to1::noise::Direction::InitiatorToResponder => "->",
        status_1to1::noise::Direction::ResponderToInitiator => "<-",
    };
    let tokens: Vec<&str> = m
        .tokens
        .iter()
        .map(|t| match t {
            Token::E => "e",
            Token::S => "s",
            Token::Ee => "ee",
            Token::Es => "es",
            Token::Se => "se",
            Token::Ss => "ss",
            Token::Psk => "psk",
        })
        .collect();
    format!("{arrow} {}", tokens.join(", "))
}

pub(crate) fn key_pair_at(doc: &Value, path: &str) -> Result<KeyPair, VectorError> {
    Ok(KeyPair::from_secret(SecretKey::from_bytes(hex_n_at::<32>(doc, path)?)))
}

pub(crate) fn nametag_at(doc: &Value, path: &str) -> Result<MessageNametag, VectorError> {
    Ok(MessageNametag(hex_n_at::<16>(doc, path)?))
}

pub(crate) fn pattern_of(doc: &Value) -> Result<HandshakePattern, VectorError> {
    let name = str_at(doc, "pattern.name")?;
    pattern_by_name(name).ok_or_else(|| VectorError::Unsupported { path: "pattern.name".into(), value: name.into() })
}
