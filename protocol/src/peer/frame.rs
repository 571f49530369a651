//! Application frames: what travels inside an encrypted session, whichever key exchange carries
//! it. A protobuf of our own (documented in `docs/profile.md` §6.1), with message ids so that
//! duplicates from relay, store, retries and several devices are delivered once.

use prost::Message as _;

use crate::identity::IdentityKey;

/// Length of a message id.
pub const MESSAGE_ID_LEN: usize = 16;
/// Largest text body accepted (well inside the 150 KiB Waku limit after framing and padding).
pub const MAX_BODY_LEN: usize = 64 * 1024;
/// Most ids in one acknowledgement frame.
pub const MAX_ACK_IDS: usize = 256;

/// A message id: 16 random bytes chosen by the sender.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct MessageId(#[serde(with = "crate::serde_bytes")] pub [u8; MESSAGE_ID_LEN]);

impl std::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageId({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The protobuf of a frame.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameProto {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(uint64, tag = "2")]
    sent_at_ms: u64,
    #[prost(oneof = "BodyProto", tags = "3, 4, 5, 6, 7, 8, 9")]
    body: Option<BodyProto>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum BodyProto {
    #[prost(bytes, tag = "3")]
    Text(Vec<u8>),
    #[prost(message, tag = "4")]
    Ack(AckProto),
    #[prost(message, tag = "5")]
    SentSync(SentSyncProto),
    #[prost(bytes, tag = "6")]
    Terminate(Vec<u8>),
    #[prost(bytes, tag = "7")]
    StateSync(Vec<u8>),
    #[prost(message, tag = "8")]
    DeviceHello(DeviceHelloProto),
    #[prost(message, tag = "9")]
    Relay(SentSyncProto),
}

#[derive(Clone, PartialEq, prost::Message)]
struct DeviceHelloProto {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
    #[prost(bool, tag = "3")]
    answer: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct AckProto {
    #[prost(bytes = "vec", repeated, tag = "1")]
    ids: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SentSyncProto {
    #[prost(bytes = "vec", tag = "1")]
    to: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    body: Vec<u8>,
}

/// What a frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameBody {
    /// A chat message for the application.
    Text(Vec<u8>),
    /// Acknowledges the listed message ids (never acknowledged itself).
    Ack(Vec<MessageId>),
    /// A copy, for our own other devices, of a message we sent to `to`.
    SentSync {
        /// The contact the message was sent to.
        to: IdentityKey,
        /// The message body.
        body: Vec<u8>,
    },
    /// Private termination of a Noise session: the token `SHA-256(session-id)`.
    Terminate([u8; 32]),
    /// Session material for our own devices (N11M): an encoded session snapshot.
    StateSync(Vec<u8>),
    /// N11M: asks the device of ours that writes the shared session with `to` to send `body`.
    Relay {
        /// The contact.
        to: IdentityKey,
        /// The message body.
        body: Vec<u8>,
    },
    /// Sent over a freshly paired channel: which account and installation this device is.
    DeviceHello {
        /// The account identity (must be ours for the pairing to count).
        identity: IdentityKey,
        /// The device's installation id.
        installation: crate::identity::InstallationId,
        /// An answer to the other device's hello. A device repeats its own hello (not an
        /// answer) until it hears one; every such hello is answered, answers never are, so a
        /// lost answer is made up for by the next repeat and two devices cannot ping-pong.
        answer: bool,
    },
}

/// A frame: id, sender time and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message id.
    pub id: MessageId,
    /// The sender's clock when first sent (not trusted for ordering).
    pub sent_at_ms: u64,
    /// The content.
    pub body: FrameBody,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Not a valid protobuf.
    #[error("frame is not a valid protobuf: {0}")]
    Protobuf(String),
    /// The id is not 16 bytes.
    #[error("message id must be 16 bytes")]
    BadId,
    /// No body.
    #[error("frame has no body")]
    Empty,
    /// A body over the size limit.
    #[error("body of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// An acknowledgement with too many or malformed ids.
    #[error("malformed acknowledgement")]
    BadAck,
    /// A sync frame naming an invalid identity.
    #[error("sync frame names an invalid identity")]
    BadIdentity,
    /// A termination token that is not 32 bytes.
    #[error("termination token must be 32 bytes")]
    BadToken,
}

impl Frame {
    /// Serialises to protobuf.
    pub fn encode(&self) -> Vec<u8> {
        let body = match &self.body {
            FrameBody::Text(t) => BodyProto::Text(t.clone()),
            FrameBody::Ack(ids) => BodyProto::Ack(AckProto { ids: ids.iter().map(|i| i.0.to_vec()).collect() }),
            FrameBody::SentSync { to, body } => {
                BodyProto::SentSync(SentSyncProto { to: to.as_bytes().to_vec(), body: body.clone() })
            }
            FrameBody::Terminate(token) => BodyProto::Terminate(token.to_vec()),
            FrameBody::StateSync(bytes) => BodyProto::StateSync(bytes.clone()),
            FrameBody::Relay { to, body } => {
                BodyProto::Relay(SentSyncProto { to: to.as_bytes().to_vec(), body: body.clone() })
            }
            FrameBody::DeviceHello { identity, installation, answer } => BodyProto::DeviceHello(DeviceHelloProto {
                identity: identity.as_bytes().to_vec(),
                installation_id: installation.as_str().to_owned(),
                answer: *answer,
            }),
        };
        FrameProto { id: self.id.0.to_vec(), sent_at_ms: self.sent_at_ms, body: Some(body) }.encode_to_vec()
    }

    /// Parses and validates a frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let proto = FrameProto::decode(bytes).map_err(|e| FrameError::Protobuf(e.to_string()))?;
        let id = MessageId(proto.id.as_slice().try_into().map_err(|_| FrameError::BadId)?);
        let body = match proto.body.ok_or(FrameError::Empty)? {
            BodyProto::Text(t) if t.len() > MAX_BODY_LEN => return Err(FrameError::TooLarge(t.len())),
            BodyProto::Text(t) => FrameBody::Text(t),
            BodyProto::Ack(a) if a.ids.len() > MAX_ACK_IDS => return Err(FrameError::BadAck),
            BodyProto::Ack(a) => FrameBody::Ack(
                a.ids
                    .iter()
                    .map(|i| i.as_slice().try_into().map(MessageId).map_err(|_| FrameError::BadAck))
                    .collect::<Result<_, _>>()?,
            ),
            BodyProto::SentSync(s) if s.body.len() > MAX_BODY_LEN => return Err(FrameError::TooLarge(s.body.len())),
            BodyProto::SentSync(s) => FrameBody::SentSync {
                to: IdentityKey::from_slice(&s.to).map_err(|_| FrameError::BadIdentity)?,
                body: s.body,
            },
            BodyProto::Terminate(t) => FrameBody::Terminate(t.as_slice().try_into().map_err(|_| FrameError::BadToken)?),
            BodyProto::StateSync(bytes) => FrameBody::StateSync(bytes),
            BodyProto::Relay(s) if s.body.len() > MAX_BODY_LEN => return Err(FrameError::TooLarge(s.body.len())),
            BodyProto::Relay(s) => FrameBody::Relay {
                to: IdentityKey::from_slice(&s.to).map_err(|_| FrameError::BadIdentity)?,
                body: s.body,
            },
            BodyProto::DeviceHello(h) => FrameBody::DeviceHello {
                identity: IdentityKey::from_slice(&h.identity).map_err(|_| FrameError::BadIdentity)?,
                installation: crate::identity::InstallationId::parse(&h.installation_id)
                    .map_err(|_| FrameError::BadIdentity)?,
                answer: h.answer,
            },
        };
        Ok(Self { id, sent_at_ms: proto.sent_at_ms, body })
    }

    /// Whether the receiver acknowledges this frame (acknowledgements and hellos are not).
    pub fn wants_ack(&self) -> bool {
        !matches!(self.body, FrameBody::Ack(_) | FrameBody::DeviceHello { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    #[test]
    fn every_body_round_trips_and_malformed_frames_are_refused() {
        let who = *IdentityKeyPair::from_seed([1; 32]).public();
        let bodies = [
            FrameBody::Text(b"hi".to_vec()),
            FrameBody::Ack(vec![MessageId([1; 16]), MessageId([2; 16])]),
            FrameBody::SentSync { to: who, body: b"copy".to_vec() },
            FrameBody::Terminate([3; 32]),
            FrameBody::StateSync(vec![4; 10]),
            FrameBody::Relay { to: who, body: b"via the writer".to_vec() },
            FrameBody::DeviceHello {
                identity: who,
                installation: crate::identity::InstallationId::generate(&mut crate::SeededEntropy::from_u64(1)),
                answer: true,
            },
        ];
        for body in bodies {
            let frame = Frame { id: MessageId([9; 16]), sent_at_ms: 42, body };
            assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
        assert!(matches!(Frame::decode(&[0xff]), Err(FrameError::Protobuf(_))));
        let no_body = FrameProto { id: vec![1; 16], sent_at_ms: 0, body: None }.encode_to_vec();
        assert_eq!(Frame::decode(&no_body), Err(FrameError::Empty));
        let short_id =
            FrameProto { id: vec![1; 3], sent_at_ms: 0, body: Some(BodyProto::Text(vec![])) }.encode_to_vec();
        assert_eq!(Frame::decode(&short_id), Err(FrameError::BadId));
        let big = FrameProto { id: vec![1; 16], sent_at_ms: 0, body: Some(BodyProto::Text(vec![0; MAX_BODY_LEN + 1])) };
        assert_eq!(Frame::decode(&big.encode_to_vec()), Err(FrameError::TooLarge(MAX_BODY_LEN + 1)));
        let bad_sync = FrameProto {
            id: vec![1; 16],
            sent_at_ms: 0,
            body: Some(BodyProto::SentSync(SentSyncProto { to: vec![0; 32], body: vec![] })),
        };
        assert_eq!(Frame::decode(&bad_sync.encode_to_vec()), Err(FrameError::BadIdentity));
    }
}
