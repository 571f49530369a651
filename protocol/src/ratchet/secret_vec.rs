//! A `Vec` of secrets that leaves no copy behind: growth copies into a new buffer and zeroizes
//! the old one, removals zeroize the element and the slot vacated by the shift, and drop
//! zeroizes the whole buffer. A plain `Vec` reallocates and shifts without erasing.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// The smallest buffer allocated on first push.
const MIN_CAPACITY: usize = 4;

/// A growable array of secret values (`T` zeroizes itself).
#[derive(PartialEq, Eq)]
pub(crate) struct SecretVec<T: Zeroize + Clone>(Vec<T>);

impl<T: Zeroize + Clone> SecretVec<T> {
    /// An empty vector (no allocation).
    pub(crate) const fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends `item`, growing by copy-then-erase when full.
    pub(crate) fn push(&mut self, item: T) {
        if self.0.len() == self.0.capacity() {
            let mut grown = Vec::with_capacity(self.0.capacity().saturating_mul(2).max(MIN_CAPACITY));
            grown.extend(self.0.iter().cloned());
            let mut old = std::mem::replace(&mut self.0, grown);
            old.zeroize();
        }
        self.0.push(item);
    }

    /// Removes the element at `index` (no-op when out of range), erasing it and the stale copy
    /// the shift leaves past the end.
    pub(crate) fn remove(&mut self, index: usize) {
        let Some(item) = self.0.get_mut(index) else { return };
        item.zeroize();
        drop(self.0.remove(index));
        if let Some(slot) = self.0.spare_capacity_mut().first_mut() {
            slot.zeroize();
        }
    }

    /// Removes the first `count` elements (all of them if fewer), erasing them and the stale
    /// copies the shift leaves past the end.
    pub(crate) fn remove_front(&mut self, count: usize) {
        let count = count.min(self.0.len());
        if count == 0 {
            return;
        }
        self.0.iter_mut().take(count).for_each(Zeroize::zeroize);
        self.0.drain(..count);
        if let Some(stale) = self.0.spare_capacity_mut().get_mut(..count) {
            stale.zeroize();
        }
    }

    /// The elements.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Zeroize + Clone> Clone for SecretVec<T> {
    fn clone(&self) -> Self {
        // `Vec::clone` allocates exactly `len`, so no later growth of the source is implied.
        Self(self.0.clone())
    }
}

impl<T: Zeroize + Clone> Drop for SecretVec<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize + Clone + Serialize> Serialize for SecretVec<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Zeroize + Clone + Deserialize<'de>> Deserialize<'de> for SecretVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_remove_and_remove_front_keep_order() {
        let mut v = SecretVec::new();
        for i in 0u64..10 {
            v.push(i);
        }
        v.remove(3);
        v.remove(100);
        v.remove_front(2);
        assert_eq!(v.as_slice(), &[2, 4, 5, 6, 7, 8, 9]);
        v.remove_front(100);
        assert_eq!(v.len(), 0);
        let clone = v.clone();
        assert!(clone == v);
    }
}
