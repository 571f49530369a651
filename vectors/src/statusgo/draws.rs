//! The transcript's random draws as an [`Entropy`]: every byte status-go read from its random
//! source, handed out in the order it read them, so that our code consuming entropy in the same
//! order and shape reproduces every wire byte.

use serde_json::Value;
use status_1to1::Entropy;

use crate::json::{VectorError, array_at, hex_at, str_at};

/// Purposes of the draws that made the parties themselves (their identity keys and installation
/// ids); the verifier checks them against the parties instead of replaying them.
pub const SETUP_PURPOSES: [&str; 2] = ["identity_private_key", "installation_id_uuid_v4"];

/// One draw.
#[derive(Debug, Clone)]
pub struct Draw {
    /// Its index in the transcript.
    pub index: usize,
    /// What status-go drew it for.
    pub purpose: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The replayable draws, in order, and what went wrong handing them out.
#[derive(Debug, Default)]
pub struct DrawStream {
    draws: Vec<Draw>,
    next: usize,
    /// Requests whose length differed from the next draw's, or came after the last one.
    pub mismatches: Vec<String>,
}

impl DrawStream {
    /// Every draw of `path` (a `random_draws` array) except the setup ones.
    pub fn from_doc(doc: &Value, path: &str) -> Result<Self, VectorError> {
        let draws =
            all_draws(doc, path)?.into_iter().filter(|d| !SETUP_PURPOSES.contains(&d.purpose.as_str())).collect();
        Ok(Self { draws, next: 0, mismatches: Vec::new() })
    }

    /// A stream over the given draws.
    pub fn new(draws: Vec<Draw>) -> Self {
        Self { draws, next: 0, mismatches: Vec::new() }
    }

    /// Draws not handed out yet.
    pub fn remaining(&self) -> usize {
        self.draws.len() - self.next
    }
}

/// Every draw in `path`.
pub fn all_draws(doc: &Value, path: &str) -> Result<Vec<Draw>, VectorError> {
    let mut draws = Vec::new();
    for (i, _) in array_at(doc, path)?.iter().enumerate() {
        let p = format!("{path}.{i}");
        let index = crate::json::u64_at(doc, &format!("{p}.index"))? as usize;
        let purpose = str_at(doc, &format!("{p}.purpose"))?.to_owned();
        draws.push(Draw { index, purpose, bytes: hex_at(doc, &format!("{p}.bytes"))? });
    }
    Ok(draws)
}

impl Entropy for DrawStream {
    fn fill(&mut self, out: &mut [u8]) {
        match self.draws.get(self.next) {
            Some(draw) if draw.bytes.len() == out.len() => out.copy_from_slice(&draw.bytes),
            Some(draw) => {
                let message = format!(
                    "draw {} ({}) has {} bytes, {} requested",
                    draw.index,
                    draw.purpose,
                    draw.bytes.len(),
                    out.len()
                );
                self.mismatches.push(message);
                out.fill(0);
            }
            None => {
                self.mismatches.push(format!("{} bytes requested after the last draw", out.len()));
                out.fill(0);
            }
        }
        self.next += 1;
    }
}
