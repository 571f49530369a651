//! The store contract.

use status_1to1::peer::{ChangeSet, Peer, Records};

use crate::StoreError;

/// A stored key and its (opened) value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One of the application's own rows (a delivery, a read marker, a cursor), committed in the
/// same transaction as the change set of the event that produced it. Sealed like records.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AppRow {
    /// Its key, unique in the application's table.
    pub key: Vec<u8>,
    /// Its value, or `None` to delete the row.
    pub value: Option<Vec<u8>>,
}

/// Where a peer's records live between runs.
pub trait Store {
    /// The records as of the last committed change set, or `None` for an empty store. Refused
    /// whole if any record is corrupt.
    fn load(&self) -> Result<Option<Records>, StoreError>;

    /// Applies `changes` and `app` atomically: all of it or, on any error, none of it.
    /// `changes.seq` must follow the last one committed.
    fn commit(&mut self, changes: &ChangeSet, app: &[AppRow]) -> Result<(), StoreError>;

    /// The application's row under `key`.
    fn app_row(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every application row whose key starts with `prefix`, in key order.
    fn app_rows(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError>;
}

/// The peer the store holds, if any.
pub fn load_peer(store: &impl Store) -> Result<Option<Peer>, StoreError> {
    match store.load()? {
        Some(records) => Ok(Some(Peer::from_records(&records)?)),
        None => Ok(None),
    }
}

/// Checks that `changes` follows `last`.
pub(crate) fn check_sequence(last: u64, changes: &ChangeSet) -> Result<(), StoreError> {
    if changes.seq == last.wrapping_add(1) {
        Ok(())
    } else {
        Err(StoreError::OutOfSequence { last, found: changes.seq })
    }
}
