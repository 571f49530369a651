//! Verifier for status-go's transcripts (`status-go/transcript/v1`, `vectors/status-go/README.md`):
//! every layer recomputed from the file's keys and recorded random draws through the public API
//! of `status_1to1::statusgo`, every received message opened, and every negative case refused.

mod application;
mod bundles;
mod draws;
mod negative;
mod replay;
mod waku;

use serde_json::Value;

use crate::json::{VectorError, str_at};
use crate::report::Report;

/// Verifies a `status-go/transcript/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    match str_at(doc, "kind")? {
        "bundle" => {
            bundles::verify(doc, report)?;
            replay_events(doc, report)?;
        }
        "session" | "dh-only" => replay_events(doc, report)?,
        "negative" => negative::verify(doc, report)?,
        other => report.skip(format!("kind {other}")),
    }
    Ok(())
}

/// Replays `events` with every draw of `random_draws`, all of which must be used.
fn replay_events(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    let mut world = replay::World::new(doc, "random_draws", report)?;
    world.run(doc, "events", report)?;
    report.value("random_draws (all used)", 0, world.draws.remaining());
    Ok(())
}
