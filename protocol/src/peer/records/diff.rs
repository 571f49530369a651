//! The records one event changed, found by comparing the state after the event with the state
//! before it (which the peer keeps anyway, to roll back a refused event): only what differs is
//! encoded, so the cost of a change set follows what the event touched, not the whole state.
//! `Peer::records()` (every record, encoded afresh) must always equal the records the change
//! sets built; the property tests check it after every event.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{RecordKey, RecordKind, RecordValue, Records, encode_value};
use crate::peer::PeerState;

/// The writes of one change set, by key.
type Writes = BTreeMap<RecordKey, Option<RecordValue>>;

/// Keys whose value differs between two sorted sequences, with the new value (`None`: gone).
pub(super) fn merge_changes<'a, K: Ord + 'a, V: PartialEq + 'a>(
    old: impl Iterator<Item = (&'a K, &'a V)>,
    new: impl Iterator<Item = (&'a K, &'a V)>,
) -> Vec<(&'a K, Option<&'a V>)> {
    let (mut old, mut new) = (old.peekable(), new.peekable());
    let mut out = Vec::new();
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(&(k, _)), None) => {
                out.push((k, None));
                old.next();
            }
            (None, Some(&(k, v))) => {
                out.push((k, Some(v)));
                new.next();
            }
            (Some(&(ko, vo)), Some(&(kn, vn))) => match ko.cmp(kn) {
                std::cmp::Ordering::Less => {
                    out.push((ko, None));
                    old.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push((kn, Some(vn)));
                    new.next();
                }
                std::cmp::Ordering::Equal => {
                    if vo != vn {
                        out.push((kn, Some(vn)));
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
    out
}

/// Collects writes, dropping those that would store what the store already holds.
struct Diff<'a> {
    persisted: &'a Records,
    writes: Writes,
}

impl Diff<'_> {
    fn put<T: Serialize>(&mut self, key: RecordKey, value: &T) -> Result<(), postcard::Error> {
        let value = encode_value(value)?;
        if self.persisted.get(&key) != Some(&value) {
            self.writes.insert(key, Some(value));
        }
        Ok(())
    }

    fn delete(&mut self, key: RecordKey) {
        if self.persisted.get(&key).is_some() {
            self.writes.insert(key, None);
        }
    }

    fn single<T: Serialize + PartialEq>(
        &mut self,
        kind: RecordKind,
        before: &T,
        after: &T,
    ) -> Result<(), postcard::Error> {
        if before == after { Ok(()) } else { self.put(RecordKey::new(kind, &[]), after) }
    }

    fn entry<K: Serialize, V: Serialize>(
        &mut self,
        kind: RecordKind,
        key: &K,
        value: Option<&V>,
    ) -> Result<(), postcard::Error> {
        let key = RecordKey::new(kind, &postcard::to_allocvec(key)?);
        match value {
            Some(v) => self.put(key, v),
            None => {
                self.delete(key);
                Ok(())
            }
        }
    }

    fn map<K: Serialize + Ord, V: Serialize + PartialEq>(
        &mut self,
        kind: RecordKind,
        before: &BTreeMap<K, V>,
        after: &BTreeMap<K, V>,
    ) -> Result<(), postcard::Error> {
        merge_changes(before.iter(), after.iter()).into_iter().try_for_each(|(k, v)| self.entry(kind, k, v))
    }

    fn set<K: Serialize + Ord>(
        &mut self,
        kind: RecordKind,
        before: &BTreeSet<K>,
        after: &BTreeSet<K>,
    ) -> Result<(), postcard::Error> {
        let unit = &();
        let changes = merge_changes(before.iter().map(|k| (k, unit)), after.iter().map(|k| (k, unit)));
        changes.into_iter().try_for_each(|(k, v)| self.entry(kind, k, v))
    }
}

impl PeerState {
    /// The records that differ between `before` (whose records `persisted` holds) and this
    /// state.
    pub(crate) fn changed_records(
        &self,
        before: &PeerState,
        persisted: &Records,
    ) -> Result<Vec<(RecordKey, Option<RecordValue>)>, postcard::Error> {
        let mut d = Diff { persisted, writes: Writes::new() };
        d.single(RecordKind::Config, &before.config, &self.config)?;
        d.single(RecordKind::Me, &before.me, &self.me)?;
        d.map(RecordKind::Contact, &before.contacts, &self.contacts)?;
        d.single(RecordKind::Requests, &before.requests, &self.requests)?;
        d.set(RecordKind::Blocked, &before.blocked, &self.blocked)?;
        d.single(RecordKind::Devices, &before.devices, &self.devices)?;
        if !self.noise.local_eq(&before.noise) {
            d.put(RecordKey::new(RecordKind::NoiseLocal, &[]), &self.noise)?;
        }
        d.map(RecordKind::NoiseSessions, &before.noise.sessions, &self.noise.sessions)?;
        if !self.x3dh.local_eq(&before.x3dh) {
            d.put(RecordKey::new(RecordKind::X3dhLocal, &[]), &self.x3dh)?;
        }
        self.x3dh_contact_changes(before, &mut d)?;
        if !self.outbox.local_eq(&before.outbox) {
            d.put(RecordKey::new(RecordKind::OutboxLocal, &[]), &self.outbox)?;
        }
        d.map(RecordKind::Outbox, &before.outbox.messages, &self.outbox.messages)?;
        d.map(RecordKind::Dedup, before.dedup.entries(), self.dedup.entries())?;
        d.single(RecordKind::Acks, &before.acks, &self.acks)?;
        d.map(RecordKind::OpenMessage, &before.open, &self.open)?;
        d.set(RecordKind::Subscription, &before.subscriptions, &self.subscriptions)?;
        d.map(RecordKind::StoreQuery, &before.store_queries, &self.store_queries)?;
        if before.local() != self.local() {
            d.put(RecordKey::new(RecordKind::PeerLocal, &[]), &self.local())?;
        }
        Ok(d.writes.into_iter().collect())
    }

    /// An X3DH contact's head record and its per-installation session records.
    fn x3dh_contact_changes(&self, before: &PeerState, d: &mut Diff<'_>) -> Result<(), postcard::Error> {
        let empty = BTreeMap::new();
        let (old_contacts, new_contacts) = (before.x3dh.contacts.shared(), self.x3dh.contacts.shared());
        for (identity, after) in merge_changes(old_contacts.iter(), new_contacts.iter()) {
            let after = after.map(|a| &**a);
            let old = before.x3dh.contacts.get(identity);
            if old.is_none_or(|o| after.is_none_or(|a| !a.head_eq(o))) {
                d.entry(RecordKind::X3dhContact, identity, after)?;
            }
            let old_devices = old.map_or(&empty, |o| &o.devices);
            let new_devices = after.map_or(&empty, |a| &a.devices);
            for (installation, sessions) in merge_changes(old_devices.iter(), new_devices.iter()) {
                d.entry(RecordKind::X3dhSessions, &(identity, installation), sessions)?;
            }
        }
        Ok(())
    }
}
