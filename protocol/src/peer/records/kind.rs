//! Record kinds: the first byte of every record key (`docs/storage.md` lists each kind's key
//! and value). Bytes are fixed forever: a kind is never renumbered, only added.

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum RecordKind {
    /// Reserved for store metadata (never written by the peer).
    Meta = 0,
    /// The peer's configuration (empty key).
    Config = 1,
    /// Our identity and installation (empty key). Secret.
    Me = 2,
    /// One contact (key: its identity key, 32 bytes).
    Contact = 3,
    /// Pending contact requests (empty key; a bounded, evicting queue).
    Requests = 4,
    /// One blocked identity (key: its identity key).
    Blocked = 5,
    /// Our own devices and the pairing in progress (empty key). Secret.
    Devices = 6,
    /// The Noise path's handshakes and bounded bookkeeping (empty key). Secret.
    NoiseLocal = 7,
    /// Noise sessions with one device (key: identity ‖ installation id). Secret.
    NoiseSessions = 8,
    /// The X3DH path's prekeys, bundle and bounded bookkeeping (empty key). Secret.
    X3dhLocal = 9,
    /// One contact's X3DH bundles and bookkeeping (key: its identity key).
    X3dhContact = 10,
    /// One message being delivered (key: its message id, 16 bytes).
    Outbox = 11,
    /// The outbox's counters (empty key).
    OutboxLocal = 12,
    /// One id of a message already delivered to the application, with when (key: sender
    /// identity ‖ message id; a bounded window).
    Dedup = 13,
    /// Acknowledgements owed (empty key).
    Acks = 14,
    /// The request counter, last time online and timer (empty key).
    PeerLocal = 15,
    /// One content topic we listen on (key: the topic).
    Subscription = 16,
    /// One sent message whose chat is open (key: its message id).
    OpenMessage = 17,
    /// One store query in flight (key: its request id).
    StoreQuery = 18,
    /// The X3DH sessions with one contact installation (key: identity ‖ installation id). Secret.
    X3dhSessions = 19,
}

impl RecordKind {
    const ALL: [RecordKind; 20] = [
        RecordKind::Meta,
        RecordKind::Config,
        RecordKind::Me,
        RecordKind::Contact,
        RecordKind::Requests,
        RecordKind::Blocked,
        RecordKind::Devices,
        RecordKind::NoiseLocal,
        RecordKind::NoiseSessions,
        RecordKind::X3dhLocal,
        RecordKind::X3dhContact,
        RecordKind::Outbox,
        RecordKind::OutboxLocal,
        RecordKind::Dedup,
        RecordKind::Acks,
        RecordKind::PeerLocal,
        RecordKind::Subscription,
        RecordKind::OpenMessage,
        RecordKind::StoreQuery,
        RecordKind::X3dhSessions,
    ];

    /// The kind a key byte names, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.get(usize::from(byte)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_byte() {
        for (i, kind) in RecordKind::ALL.iter().enumerate() {
            assert_eq!(*kind as u8 as usize, i);
            assert_eq!(RecordKind::from_byte(*kind as u8), Some(*kind));
        }
        assert_eq!(RecordKind::from_byte(20), None);
    }
}
