//! The Waku transport model this library speaks to (10/WAKU2, 14/WAKU2-MESSAGE, 23/WAKU2-TOPICS).

pub mod message;
pub mod topic;

pub use message::{WakuMessage, WakuMessageError};
pub use topic::{ContentTopic, TopicError};
