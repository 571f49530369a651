//! Values derived deterministically from persisted state, computed on first use and kept in
//! memory only: they are neither serialized nor compared, so a restored peer, which recomputes
//! them on demand, equals the original, and filling the cache is not a state change (it
//! triggers no snapshot).

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// A lazily computed value that is a pure function of the state around it.
#[derive(Default)]
pub(crate) struct Derived<T>(OnceLock<T>);

impl<T> Derived<T> {
    /// The value, computed by `derive` the first time. `derive` must be a pure function of
    /// persisted state, so that every computation gives the same value.
    pub(crate) fn get_or_init(&self, derive: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(derive)
    }
}

impl<T: Clone> Clone for Derived<T> {
    fn clone(&self) -> Self {
        let cell = OnceLock::new();
        if let Some(value) = self.0.get() {
            let _ = cell.set(value.clone());
        }
        Self(cell)
    }
}

/// Always equal: a derived value says nothing the state it derives from does not.
impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Derived<T> {}

/// A memo of facts that are pure functions of persisted state (`key → value`), refilled as a
/// whole when a lookup misses. Like [`Derived`], never serialized and never compared.
pub(crate) struct Memo<K, V>(Mutex<BTreeMap<K, V>>);

impl<K: Ord, V: Clone> Memo<K, V> {
    /// The value of `key`, if memoized.
    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.lock().ok().and_then(|map| map.get(key).cloned())
    }

    /// Adds or replaces one entry.
    pub(crate) fn insert(&self, key: K, value: V) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, value);
        }
    }

    /// Replaces every entry.
    pub(crate) fn replace(&self, entries: BTreeMap<K, V>) {
        if let Ok(mut map) = self.0.lock() {
            *map = entries;
        }
    }
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self(Mutex::new(BTreeMap::new()))
    }
}

impl<K: Clone, V: Clone> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Self(Mutex::new(self.0.lock().map(|map| map.clone()).unwrap_or_default()))
    }
}

/// Always equal, as [`Derived`].
impl<K, V> PartialEq for Memo<K, V> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K, V> Eq for Memo<K, V> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_once_cloned_with_its_value_and_never_compared() {
        let cell = Derived::default();
        assert_eq!(cell.get_or_init(|| 7), &7);
        assert_eq!(cell.get_or_init(|| 8), &7, "computed once");
        assert_eq!(cell.clone().get_or_init(|| 9), &7, "clones keep the value");
        assert!(cell == Derived::default(), "an empty cache equals a full one");
    }
}
