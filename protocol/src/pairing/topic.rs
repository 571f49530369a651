//! The pairing content topic `/{application-name}/{application-version}/wakunoise/1/sessions_shard-{shard-id}/proto`
//! (WAKU2-DEVICE-PAIRING; js-noise 0.0.3 `WakuPairing.toContentTopic`, nwaku's test). The
//! unreleased js-noise master changed it to `/{app}/{version}/{shard}/proto`; we follow the
//! released package and the spec.

use crate::waku::{ContentTopic, TopicError};

/// js-noise's default content topic.
const JS_DEFAULT_TOPIC: &str = "/waku-noise-sessions/0.1/wakunoise/1/sessions_shard-10/proto";

/// Why content topic parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicParamError {
    /// A parameter is empty or contains `/`, which would change the topic's structure.
    #[error("content topic parameter `{0}` must be non-empty and contain no '/'")]
    Invalid(&'static str),
    /// The resulting content topic does not parse.
    #[error("invalid pairing content topic: {0}")]
    Topic(#[from] TopicError),
}

/// The three content topic parameters a pairing QR carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ContentTopicParams {
    application_name: String,
    application_version: String,
    shard_id: String,
    topic: String,
}

impl ContentTopicParams {
    /// Validates the parameters and builds the topic.
    pub fn new(application_name: &str, application_version: &str, shard_id: &str) -> Result<Self, TopicParamError> {
        for (value, name) in [
            (application_name, "application name"),
            (application_version, "application version"),
            (shard_id, "shard id"),
        ] {
            if value.is_empty() || value.contains('/') {
                return Err(TopicParamError::Invalid(name));
            }
        }
        let topic = format!("/{application_name}/{application_version}/wakunoise/1/sessions_shard-{shard_id}/proto");
        ContentTopic::parse(&topic)?;
        Ok(Self {
            application_name: application_name.to_owned(),
            application_version: application_version.to_owned(),
            shard_id: shard_id.to_owned(),
            topic,
        })
    }

    /// js-noise's `ResponderParameters` defaults: `waku-noise-sessions`, `0.1`, shard `10`.
    pub fn js_default() -> Self {
        Self {
            application_name: "waku-noise-sessions".into(),
            application_version: "0.1".into(),
            shard_id: "10".into(),
            topic: JS_DEFAULT_TOPIC.into(),
        }
    }

    /// The application name.
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// The application version.
    pub fn application_version(&self) -> &str {
        &self.application_version
    }

    /// The shard id (free text in the QR).
    pub fn shard_id(&self) -> &str {
        &self.shard_id
    }

    /// The content topic every pairing message is published on.
    pub fn content_topic(&self) -> &str {
        &self.topic
    }

    /// Whether another party's parameters name the same application and version (the scanner's
    /// check: the shard may differ).
    pub fn same_application(&self, other: &Self) -> bool {
        self.application_name == other.application_name && self.application_version == other.application_version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_has_the_spec_shape() {
        let p = ContentTopicParams::new("myapp", "2", "7").unwrap();
        assert_eq!(p.content_topic(), "/myapp/2/wakunoise/1/sessions_shard-7/proto");
        assert_eq!(
            ContentTopicParams::js_default(),
            ContentTopicParams::new("waku-noise-sessions", "0.1", "10").unwrap()
        );
        assert_eq!(ContentTopicParams::new("", "1", "1"), Err(TopicParamError::Invalid("application name")));
        assert_eq!(ContentTopicParams::new("a", "1/2", "1"), Err(TopicParamError::Invalid("application version")));
    }
}
