//! Values derived deterministically from persisted state, computed on first use and kept in
//! memory only: they are neither serialized nor compared, so a restored peer, which recomputes
//! them on demand, equals the original, and filling the cache is not a state change (it
//! triggers no snapshot).

use std::sync::OnceLock;

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
