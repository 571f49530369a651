//! `x3dh/topics/v1`: partitioned, contact-code and negotiated topics, content topics and keys.

use serde_json::Value;
use status_1to1::x3dh::topic;

use super::identity_at;
use crate::json::{VectorError, array_at, hex_at, str_at, u64_at};
use crate::report::Report;

/// Verifies a `x3dh/topics/v1` document.
pub fn verify(doc: &Value, report: &mut Report) -> Result<(), VectorError> {
    for (i, _) in array_at(doc, "identities")?.iter().enumerate() {
        let p = format!("identities.{i}");
        let identity = identity_at(doc, &format!("{p}.seed"))?;
        let ik = identity.public();
        let e = |f: &str| format!("{p}.expected.{f}");
        report.bytes(e("identity"), &hex_at(doc, &e("identity"))?, ik.as_bytes());
        report.value(e("partition"), u64_at(doc, &e("partition"))?, u64::from(topic::partition(ik)));
        let partitioned = topic::partitioned_topic(ik);
        report.value(e("partitioned_topic"), str_at(doc, &e("partitioned_topic"))?, partitioned.as_str());
        let content = topic::content_topic(&partitioned);
        report.value(e("partitioned_content_topic"), str_at(doc, &e("partitioned_content_topic"))?, content.as_str());
        let code = topic::contact_code_topic(ik);
        report.value(e("contact_code_topic"), str_at(doc, &e("contact_code_topic"))?, code.as_str());
        let content = topic::content_topic(&code);
        report.value(e("contact_code_content_topic"), str_at(doc, &e("contact_code_content_topic"))?, content.as_str());
        report.bytes(e("contact_code_key"), &hex_at(doc, &e("contact_code_key"))?, &topic::contact_code_key(ik));
    }
    for (i, _) in array_at(doc, "pairs")?.iter().enumerate() {
        let p = format!("pairs.{i}");
        let e = |f: &str| format!("{p}.expected.{f}");
        let ours = identity_at(doc, &format!("{p}.our_seed"))?;
        let theirs = identity_at(doc, &format!("{p}.their_seed"))?;
        let secret = match topic::NegotiatedSecret::new(&ours, theirs.public()) {
            Ok(s) => s,
            Err(error) => {
                report.step_failed(e("secret"), error);
                continue;
            }
        };
        report.bytes(e("secret"), &hex_at(doc, &e("secret"))?, secret.as_bytes());
        report.value(e("topic"), str_at(doc, &e("topic"))?, secret.topic().as_str());
        report.value(e("content_topic"), str_at(doc, &e("content_topic"))?, secret.content_topic().as_str());
        report.bytes(e("waku_key"), &hex_at(doc, &e("waku_key"))?, secret.waku_key().as_bytes());
    }
    Ok(())
}
