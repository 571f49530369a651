//! A map whose values are shared between copies until one is written. The peer copies its state
//! before every event so that a refused event can be undone; with this map the copy shares every
//! value, a write copies only the value it touches (`Arc::make_mut`), and comparing the two
//! states after the event skips every value still shared. The cost of an event then follows the
//! entries it touched, not the number of contacts.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A `BTreeMap` of copy-on-write values.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SharedMap<K, V>(BTreeMap<K, Arc<V>>);

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: Ord, V> From<BTreeMap<K, V>> for SharedMap<K, V> {
    fn from(map: BTreeMap<K, V>) -> Self {
        Self(map.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

impl<K: Ord, V: Clone> SharedMap<K, V> {
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.0.get(key).map(|v| &**v)
    }

    /// The value to write, copied first if another copy of the map shares it.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0.get_mut(key).map(Arc::make_mut)
    }

    /// The value under `key` to write, inserted as `V::default()` if absent.
    pub(crate) fn entry_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        Arc::make_mut(self.0.entry(key).or_default())
    }

    pub(crate) fn remove(&mut self, key: &K) {
        self.0.remove(key);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, &**v))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.values().map(|v| &**v)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries with their shared handles: comparing two handles of one value is a pointer
    /// comparison (`Arc`'s equality checks identity first for `Eq` values).
    pub(crate) fn shared(&self) -> &BTreeMap<K, Arc<V>> {
        &self.0
    }
}
