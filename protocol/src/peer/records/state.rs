//! The peer state cut into records (the cut is documented in `docs/storage.md`): one record
//! per contact, blocked identity, Noise device, X3DH contact and outgoing message, and one for
//! each bounded part. A map's record key is the postcard encoding of the map key.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{RecordError, RecordKey, RecordKind, RecordValue, Records, decode_value, encode_value};
use crate::Timestamp;
use crate::identity::InstallationId;
use crate::peer::IdentityKey;
use crate::peer::{PeerState, RequestId};

/// All the records of a state, by key.
pub(crate) type RecordMap = BTreeMap<RecordKey, RecordValue>;

/// The small bookkeeping of [`PeerState`]: fixed size whatever the number of contacts.
#[derive(Serialize, serde::Deserialize, PartialEq)]
pub(super) struct PeerLocal {
    next_request: RequestId,
    last_online: Option<Timestamp>,
    timer: Option<Timestamp>,
}

impl PeerState {
    /// The `PeerLocal` record's value.
    pub(super) fn local(&self) -> PeerLocal {
        PeerLocal { next_request: self.next_request, last_online: self.last_online, timer: self.timer }
    }

    /// Every record of this state.
    pub(crate) fn to_records(&self) -> Result<RecordMap, postcard::Error> {
        let mut out = RecordMap::new();
        put(&mut out, RecordKind::Config, &self.config)?;
        put(&mut out, RecordKind::Me, &self.me)?;
        put_map(&mut out, RecordKind::Contact, &self.contacts)?;
        put(&mut out, RecordKind::Requests, &self.requests)?;
        put_set(&mut out, RecordKind::Blocked, &self.blocked)?;
        put(&mut out, RecordKind::Devices, &self.devices)?;
        put(&mut out, RecordKind::NoiseLocal, &self.noise)?;
        put_map(&mut out, RecordKind::NoiseSessions, &self.noise.sessions)?;
        put(&mut out, RecordKind::X3dhLocal, &self.x3dh)?;
        put_map(&mut out, RecordKind::X3dhContact, self.x3dh.contacts.iter())?;
        for (identity, contact) in self.x3dh.contacts.iter() {
            for (installation, sessions) in &contact.devices {
                put_entry(&mut out, RecordKind::X3dhSessions, &(identity, installation), sessions)?;
            }
        }
        put(&mut out, RecordKind::OutboxLocal, &self.outbox)?;
        put_map(&mut out, RecordKind::Outbox, &self.outbox.messages)?;
        put_map(&mut out, RecordKind::Dedup, self.dedup.entries())?;
        put(&mut out, RecordKind::Acks, &self.acks)?;
        put_map(&mut out, RecordKind::OpenMessage, &self.open)?;
        put_set(&mut out, RecordKind::Subscription, &self.subscriptions)?;
        put_map(&mut out, RecordKind::StoreQuery, &self.store_queries)?;
        put(&mut out, RecordKind::PeerLocal, &self.local())?;
        Ok(out)
    }

    /// The state these records describe. Refused whole if a record is missing, malformed or
    /// one that no state writes (the records must be exactly what [`Self::to_records`] gives).
    pub(crate) fn from_records(records: &Records) -> Result<Self, RecordError> {
        let mut noise: crate::peer::noise_path::NoisePath = get(records, RecordKind::NoiseLocal)?;
        noise.sessions = get_map(records, RecordKind::NoiseSessions)?;
        let mut x3dh: crate::peer::x3dh_path::X3dhPath = get(records, RecordKind::X3dhLocal)?;
        let mut contacts: BTreeMap<IdentityKey, crate::peer::x3dh_path::ContactState> =
            get_map(records, RecordKind::X3dhContact)?;
        let sessions: BTreeMap<(IdentityKey, InstallationId), _> = get_map(records, RecordKind::X3dhSessions)?;
        for ((identity, installation), device) in sessions {
            let contact = contacts.get_mut(&identity).ok_or(RecordError::Inconsistent("sessions without a contact"))?;
            contact.devices.insert(installation, device);
        }
        x3dh.contacts = contacts.into();
        let mut outbox: crate::peer::Outbox = get(records, RecordKind::OutboxLocal)?;
        outbox.messages = get_map(records, RecordKind::Outbox)?;
        let local: PeerLocal = get(records, RecordKind::PeerLocal)?;
        let state = PeerState {
            config: get(records, RecordKind::Config)?,
            me: get(records, RecordKind::Me)?,
            contacts: get_map(records, RecordKind::Contact)?,
            requests: get(records, RecordKind::Requests)?,
            blocked: get_set(records, RecordKind::Blocked)?,
            devices: get(records, RecordKind::Devices)?,
            noise,
            x3dh,
            outbox,
            open: get_map(records, RecordKind::OpenMessage)?,
            dedup: crate::peer::Dedup::from_entries(get_map(records, RecordKind::Dedup)?),
            acks: get(records, RecordKind::Acks)?,
            subscriptions: get_set(records, RecordKind::Subscription)?,
            store_queries: get_map(records, RecordKind::StoreQuery)?,
            next_request: local.next_request,
            last_online: local.last_online,
            timer: local.timer,
        };
        let written = state.to_records().map_err(|_| RecordError::Inconsistent("the state does not encode"))?;
        if written.len() != records.len() || !written.iter().eq(records.iter()) {
            return Err(RecordError::Inconsistent("records that no state writes"));
        }
        Ok(state)
    }
}

fn put<T: Serialize>(out: &mut RecordMap, kind: RecordKind, value: &T) -> Result<(), postcard::Error> {
    out.insert(RecordKey::new(kind, &[]), encode_value(value)?);
    Ok(())
}

fn put_entry<K: Serialize, V: Serialize>(
    out: &mut RecordMap,
    kind: RecordKind,
    key: &K,
    value: &V,
) -> Result<(), postcard::Error> {
    out.insert(RecordKey::new(kind, &postcard::to_allocvec(key)?), encode_value(value)?);
    Ok(())
}

fn put_map<'a, K: Serialize + 'a, V: Serialize + 'a>(
    out: &mut RecordMap,
    kind: RecordKind,
    map: impl IntoIterator<Item = (&'a K, &'a V)>,
) -> Result<(), postcard::Error> {
    map.into_iter().try_for_each(|(key, value)| put_entry(out, kind, key, value))
}

/// A set as one empty-valued record per member.
fn put_set<K: Serialize>(out: &mut RecordMap, kind: RecordKind, set: &BTreeSet<K>) -> Result<(), postcard::Error> {
    set.iter().try_for_each(|key| put_entry(out, kind, key, &()))
}

fn get_set<K>(records: &Records, kind: RecordKind) -> Result<BTreeSet<K>, RecordError>
where
    K: Serialize + DeserializeOwned + Ord,
{
    let map: BTreeMap<K, ()> = get_map(records, kind)?;
    Ok(map.into_keys().collect())
}

fn get<T: Serialize + DeserializeOwned>(records: &Records, kind: RecordKind) -> Result<T, RecordError> {
    let key = RecordKey::new(kind, &[]);
    let value = records.get(&key).ok_or(RecordError::Inconsistent("a required record is missing"))?;
    decode_value(&key, value)
}

fn get_map<K, V>(records: &Records, kind: RecordKind) -> Result<BTreeMap<K, V>, RecordError>
where
    K: Serialize + DeserializeOwned + Ord,
    V: Serialize + DeserializeOwned,
{
    let mut map = BTreeMap::new();
    for (key, value) in records.of_kind(kind) {
        let malformed = || RecordError::Malformed(key.clone());
        let (k, rest): (K, &[u8]) = postcard::take_from_bytes(key.key()).map_err(|_| malformed())?;
        if !rest.is_empty() {
            return Err(malformed());
        }
        map.insert(k, decode_value(key, value)?);
    }
    Ok(map)
}
